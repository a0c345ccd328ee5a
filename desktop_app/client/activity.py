"""What the tray shows, without Qt: running jobs, failures since the user last looked,
whether the workers are paused, and which failures are new since the previous poll (each
becomes one notification)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from desktop_app.client.http import ClientError, TidemillClient


@dataclass
class Activity:
    reachable: bool = False
    running: int = 0
    queued: int = 0
    paused: bool = False
    failures: list[dict[str, Any]] = field(default_factory=list)  # since the last look
    error: str | None = None
    database: str | None = None  # what is wrong with the daemon's database; None: it is up

    def tooltip(self) -> str:
        if not self.reachable:
            return f"Tidemill: daemon not answering{f' ({self.error})' if self.error else ''}"
        if self.database:
            return f"Tidemill: {self.database}; jobs wait until it is back"
        parts = [f"{self.running} running", f"{self.queued} waiting"]
        if self.failures:
            parts.append(f"{len(self.failures)} failed since you last looked")
        if self.paused:
            parts.append("workers paused")
        return "Tidemill: " + ", ".join(parts)

    @property
    def level(self) -> str:
        """The icon to show: down, failed, paused, busy or idle."""
        if not self.reachable or self.database:
            return "down"
        if self.failures:
            return "failed"
        if self.paused:
            return "paused"
        return "busy" if self.running else "idle"


class ActivityWatch:
    """Polled by the tray; `poll()` returns the activity and the failures not seen before."""

    def __init__(self, client: TidemillClient, since: datetime | None = None) -> None:
        self.client = client
        self.last_look = since or datetime.now(UTC)
        self._notified: set[str] = set()
        self.activity = Activity()

    def mark_seen(self) -> None:
        """The user opened the app or the menu: failures so far are no longer news."""
        self.last_look = datetime.now(UTC)
        self.activity.failures = []

    async def poll(self) -> list[dict[str, Any]]:
        try:
            database = (await self.client.health()).get("database") or {}
            if database.get("state") not in (None, "up"):
                self.activity = Activity(reachable=True, database=_database_problem(database))
                return []
            status = await self.client.worker_status()
            failed = await self.client.list_jobs(
                status="failure", created_after=self.last_look.isoformat(), per_page=100)
        except ClientError as exc:
            self.activity = Activity(reachable=False, error=exc.message)
            return []
        failed = [j for j in failed if not j.get("parent_job")]  # a flow fails as one run
        self.activity = Activity(reachable=True, running=status["running_jobs"],
                                 queued=status["queued_jobs"], paused=status["paused"],
                                 failures=failed)
        new = [j for j in failed if j["id"] not in self._notified]
        self._notified.update(j["id"] for j in new)
        return new


def _database_problem(database: dict[str, Any]) -> str:
    state = "restarting" if database.get("state") == "restarting" else "down"
    since = database.get("down_for_s")
    return (f"database {state}" + (f" for {since:g} s" if isinstance(since, int | float) else "")
            + (f" ({database['last_error']})" if database.get("last_error") else ""))


def failure_message(job: dict[str, Any]) -> tuple[str, str]:
    """Title and text of the notification for a failed job."""
    result = job.get("result")
    err = result.get("error") if isinstance(result, dict) else None
    message = (err.get("message") if isinstance(err, dict) else None) or "see its logs"
    what = job.get("script_path") or f"a {job.get('job_kind') or 'job'}"
    return f"{what} failed", str(message)[:200]
