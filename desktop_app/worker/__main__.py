"""`python -m desktop_app.worker`: one worker process (the daemon starts N of these)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from desktop_app.core.errors import TidemillError
from desktop_app.worker import completion_handlers
from desktop_app.worker.worker import DEFAULT_TAGS, Worker


async def run_worker(database_url: str, home: Path, *, name: str | None, base_url: str | None,
                     tags: tuple[str, ...], heartbeat_s: float) -> None:
    completion_handlers.install()  # a finished flow step moves its flow on
    worker = Worker(database_url, home, name=name, tags=tags, base_url=base_url,
                    heartbeat_s=heartbeat_s)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.run(stop)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="tidemill-worker")
    p.add_argument("--database-url", required=True)
    p.add_argument("--home", required=True, type=Path)
    p.add_argument("--name")
    p.add_argument("--base-url")
    p.add_argument("--tags", default=",".join(DEFAULT_TAGS))
    p.add_argument("--heartbeat", type=float, default=2.0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(run_worker(a.database_url, a.home, name=a.name, base_url=a.base_url,
                               tags=tuple(t for t in a.tags.split(",") if t),
                               heartbeat_s=a.heartbeat))
    except TidemillError as exc:  # e.g. this name already runs on this home
        print(f"tidemill worker: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
