"""What every process that completes jobs registers at start (the daemon, each worker):
when a job ends, its flow takes the next step and its workflow records the task. Both go
through the queue's one completion function (`queue.complete` calls its `on_complete`
handlers in the completing transaction), so neither engine imports the other."""

from __future__ import annotations

from desktop_app.durable import engine as durable
from desktop_app.flows import engine as flows
from desktop_app.queue import limits, queue


def install() -> None:
    queue.on_complete(flows.on_child_finished)
    queue.on_complete(durable.on_child_finished)
    queue.on_complete(limits.on_job_finished)
