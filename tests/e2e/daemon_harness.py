"""A real daemon in a subprocess, for end-to-end tests, and the CLI run against it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningDaemon:
    home: Path
    port: int
    database_url: str | None
    workers: int = 2
    heartbeat: float = 1.0
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return (self.home / "admin.token").read_text().strip()

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"TIDEMILL_HOME": str(self.home), "TIDEMILL_URL": self.url,
                    "PYTHONWARNINGS": "ignore"})
        env.pop("TIDEMILL_TOKEN", None)
        env.pop("TIDEMILL_DATABASE_URL", None)
        # email triggers' SMTP listener on any free port, never the machine's 2525
        env["TIDEMILL_SMTP_PORT"] = "0"
        # Tests' scripts keep counters and markers in the test's folder: jobs may use it
        # (the daemon's home inside it stays hidden from them).
        env["TIDEMILL_SANDBOX_SHARE"] = str(self.home.parent)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> RunningDaemon:
        cmd = [sys.executable, "-m", "desktop_app.cli.main", "daemon", "--home", str(self.home),
               "--port", str(self.port), "--workers", str(self.workers),
               "--heartbeat", str(self.heartbeat)]
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        self.home.mkdir(parents=True, exist_ok=True)
        log = open(self.home.parent / f"daemon-{self.home.name}.log", "ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/version", timeout=0.5).status_code == 200 and \
                        (self.home / "daemon.json").exists():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        log = self.log()
        self.stop(timeout=10)  # a start given up on leaves no daemon behind
        raise RuntimeError(f"daemon did not answer in {timeout}s:\n{log}")

    def log(self) -> str:
        path = self.home.parent / f"daemon-{self.home.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill9(self) -> None:
        """Kill the daemon the hard way; its workers die with it (parent-death signal)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def cli(self, *args: str, check: bool = False, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        res = subprocess.run([sys.executable, "-m", "desktop_app.cli.main", *args], env=self.env(),
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"tidemill {' '.join(args)} failed ({res.returncode}):\n"
                                 f"{res.stdout}\n{res.stderr}")
        return res

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120,
                            headers={"Authorization": f"Bearer {token or self.token}"})

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.http() as c:
            return c.request(method, f"/api/w/main/{path}", **kw)

    def deploy(self, path: str, content: str, language: str = "python3", **fields: Any) -> str:
        r = self.api("POST", "scripts/create",
                     json={"path": path, "content": content, "language": language, **fields})
        assert r.status_code == 201, r.text
        return r.text

    def run_wait(self, path: str, args: dict[str, Any] | None = None) -> tuple[str, Any]:
        r = self.api("POST", f"jobs/run_wait_result/p/{path}", json=args or {})
        assert r.status_code == 200, r.text
        return r.headers["x-tidemill-job-status"], r.json()

    def wait_job(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.api("GET", f"jobs_u/get/{job_id}")
            if r.status_code == 200 and r.json()["type"] == "CompletedJob":
                return r.json()
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} not completed in {timeout}s: {r.text}")

    def worker_pids(self) -> list[int]:
        return list(json.loads((self.home / "daemon.json").read_text())["worker_pids"])
