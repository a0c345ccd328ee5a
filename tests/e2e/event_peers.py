"""Real local peers for the event trigger tests: a WebSocket server, an MQTT broker
(mosquitto) and a NATS server the tests start and stop themselves."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.daemon_harness import free_port


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0,
             interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def wait_listening(what: str, port: int, timeout: float) -> None:
    """Wait until something accepts TCP connections on 127.0.0.1:`port`."""
    import socket

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False
    wait_for(f"{what} to listen on port {port}", up, timeout=timeout)


class WebSocketPeer:
    """A websockets server in its own thread: records what clients send, counts
    connections, broadcasts to the connected clients, and can drop them all."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.connects = 0
        self.clients: set[Any] = set()
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/feed"

    def _run(self, ready: threading.Event) -> None:
        from websockets.asyncio.server import serve

        async def handler(ws: Any) -> None:
            self.connects += 1
            self.clients.add(ws)
            try:
                async for m in ws:
                    self.received.append(m if isinstance(m, str) else m.decode())
            except Exception:
                pass
            finally:
                self.clients.discard(ws)

        async def main() -> None:
            self.stopping = asyncio.Event()
            async with serve(handler, "127.0.0.1", 0, close_timeout=1) as server:
                self.port = server.sockets[0].getsockname()[1]
                ready.set()
                await self.stopping.wait()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(main())
        self.loop.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def send(self, message: str) -> int:
        async def go() -> int:
            for ws in list(self.clients):
                await ws.send(message)
            return len(self.clients)
        return int(self._call(go()))

    def drop_all(self) -> None:
        """Cut every client's TCP connection without a closing handshake (a dead peer)."""
        async def go() -> None:
            for ws in list(self.clients):
                ws.transport.abort()
        self._call(go())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


class Mosquitto:
    """A real MQTT broker on a free port (`.ci/run` installs mosquitto)."""

    def __init__(self, log_dir: Path, users: dict[str, str] | None = None) -> None:
        """With `users`, the broker refuses anyone without one of these passwords."""
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise AssertionError("mosquitto is not installed: apt-get install mosquitto"
                                 " (.ci/run installs it)")
        self.port = free_port()
        self.users = users or {}
        self.log = open(log_dir / "mosquitto.log", "ab")
        cmd = [exe, "-p", str(self.port)]
        if users:
            passwords = log_dir / "mosquitto.passwd"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run([shutil.which("mosquitto_passwd") or "mosquitto_passwd", "-b",
                                str(passwords), user, password], check=True)
            conf = log_dir / "mosquitto.conf"
            # as root, mosquitto would switch to its own user, who cannot read our files
            stay = "user root\n" if os.geteuid() == 0 else ""
            conf.write_text(f"{stay}listener {self.port} 127.0.0.1\nallow_anonymous false\n"
                            f"password_file {passwords}\n")
            cmd = [exe, "-c", str(conf)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening("mosquitto", self.port, timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def publish(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        import paho.mqtt.publish as publish

        auth = None
        if self.users:
            user, password = next(iter(self.users.items()))
            auth = {"username": user, "password": password}
        publish.single(topic, payload, qos=qos, hostname="127.0.0.1", port=self.port, auth=auth)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class NatsServer:
    """A real nats-server (Debian's package; `.ci/run` installs it) on a free port, with
    JetStream and, given `user`/`password`, refusing anyone else. `restart()` keeps the port."""

    def __init__(self, work_dir: Path, user: str | None = None,
                 password: str | None = None) -> None:
        exe = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(exe).exists():
            raise AssertionError("nats-server is not installed: apt-get install nats-server"
                                 " (.ci/run installs it)")
        self.exe, self.dir, self.port = exe, work_dir, free_port()
        self.user, self.password = user, password
        self.log = open(work_dir / "nats-server.log", "ab")
        self.start()

    def start(self) -> None:
        cmd = [self.exe, "-a", "127.0.0.1", "-p", str(self.port), "-js",
               "-sd", str(self.dir / "jetstream")]
        if self.user:
            cmd += ["--user", self.user, "--pass", str(self.password)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening("nats-server", self.port, timeout=20)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def _run(self, coro: Callable[[Any], Any]) -> Any:
        import nats

        async def go() -> Any:
            nc = await nats.connect(self.url, user=self.user, password=self.password,
                                    connect_timeout=10, allow_reconnect=False)
            try:
                return await coro(nc)
            finally:
                await nc.close()
        return asyncio.run(go())

    def publish(self, subject: str, payload: bytes,
                headers: dict[str, str] | None = None) -> None:
        async def go(nc: Any) -> None:
            await nc.publish(subject, payload, headers=headers)
            await nc.flush()
        self._run(go)

    def add_stream(self, name: str, subjects: list[str]) -> None:
        async def go(nc: Any) -> None:
            await nc.jetstream().add_stream(name=name, subjects=subjects)
        self._run(go)

    def js_publish(self, subject: str, payload: bytes) -> None:
        async def go(nc: Any) -> None:
            await nc.jetstream().publish(subject, payload)
        self._run(go)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        self.stop()
        self.log.close()
