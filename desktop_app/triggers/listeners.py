"""The listeners of the owned kinds: a WebSocket client, a Postgres LISTEN connection, an
MQTT subscriber and a NATS subscriber (nats_listener.py). Each runs until cancelled, reconnecting with exponential back-off;
every failure is reported (the trigger's `last_error` and `status`), none escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.conninfo import make_conninfo

from desktop_app.core import event_triggers as rules
from desktop_app.core.errors import TidemillError, UsageError
from desktop_app.triggers import runs

log = logging.getLogger("tidemill.triggers")

#: Seconds to wait for a peer to accept a connection.
CONNECT_TIMEOUT_S = 10.0
#: A Postgres LISTEN connection is probed this often, so a silently dead one is noticed.
PG_PROBE_S = 5.0


@dataclass
class ListenerContext:
    """What a listener gets: its trigger row and the ways to report and fire."""

    row: dict[str, Any]
    state: Any  # ApiState: the pool and the secret store
    server_id: str

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.row["config"] or {})

    async def status(self, status: str) -> None:
        await runs.set_status(self.state.pool, self.row, status, self.server_id)

    async def failed(self, message: str) -> None:
        await runs.record_error(self.state.pool, self.row, message)
        await runs.set_status(self.state.pool, self.row, "error", self.server_id)

    async def fire(self, args: dict[str, Any],
                   event: dict[str, Any] | None = None) -> uuid.UUID | None:
        return await runs.fire(self.state.pool, self.row, args,
                               event if event is not None else args)

    async def resource(self, path: str) -> Any:
        """A resource's value with its secret fields read from the keyring and the `$var:`
        and `$res:` references inside it resolved, with the rights of the trigger's editor
        (the user its runs act as): a trigger connects only with what they may read."""
        from desktop_app.db import references

        reader = references.ReadsAs.permissioned_as(self.row["permissioned_as"])
        async with self.state.pool.connection() as conn:
            return await references.resolve(conn, self.row["workspace_id"], "$res:" + path,
                                            reader, getattr(self.state.secrets, "get", None))


def describe(exc: BaseException) -> str:
    if isinstance(exc, TidemillError):
        return exc.message
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "timed out connecting"
    text = " ".join(str(exc).split()) if str(exc).strip() else ""
    if text and _speaks_for_itself(exc):
        return text[:500]
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _speaks_for_itself(exc: BaseException) -> bool:
    """Errors whose message already says what failed (a refused connection, a closed
    link): shown without the exception's class name."""
    import psycopg
    from websockets.exceptions import WebSocketException

    kinds: tuple[type[BaseException], ...] = (OSError, psycopg.Error, WebSocketException)
    try:
        import aiomqtt

        kinds += (aiomqtt.MqttError,)
    except ImportError:  # pragma: no cover
        pass
    try:
        import nats.errors

        kinds += (nats.errors.Error,)
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, kinds)


Session = Callable[[ListenerContext], Awaitable[str]]


async def reconnecting(ctx: ListenerContext, session: Session) -> None:
    """Run `session` (one connection's life; returns why it ended) again and again, waiting
    longer after each failure in a row (a session that connected resets the wait)."""
    backoff = rules.Backoff()
    while True:
        await ctx.status("connecting")
        try:
            reason = await session(_Connected(ctx, backoff))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = describe(exc)
        delay = backoff.next()
        await ctx.failed(f"{reason}; reconnecting in {delay:.1f} s")
        await asyncio.sleep(delay)


class _Connected(ListenerContext):
    """The context a session sees: `connected()` marks the link up and resets the wait."""

    def __init__(self, ctx: ListenerContext, backoff: rules.Backoff) -> None:
        super().__init__(ctx.row, ctx.state, ctx.server_id)
        self._backoff = backoff

    async def connected(self) -> None:
        self._backoff.reset()
        await self.status("connected")


# -- WebSocket -----------------------------------------------------------------------------

async def websocket_session(ctx: Any) -> str:
    from websockets.asyncio.client import connect

    cfg = ctx.config
    url = cfg["url"]
    runnable = rules.runnable_of(url)
    if runnable is not None:  # Windmill's $script:/$flow: URL: whatever it returns
        url = await run_for_result(ctx, *runnable, cfg.get("url_runnable_args") or {})
        problem = rules.websocket_url_problem(url) if isinstance(url, str) else "is not text"
        if problem:
            raise UsageError(f"the URL {url!r} that {cfg['url']} returned {problem}")
    replies: set[asyncio.Task[None]] = set()
    try:
        async with connect(url, open_timeout=CONNECT_TIMEOUT_S, max_size=16 * 1024 * 1024,
                           proxy=None) as ws:
            await ctx.connected()
            for m in cfg.get("initial_messages") or []:
                if "runnable_result" in m:
                    r = m["runnable_result"]
                    await ws.send(rules.reply_text(await run_for_result(
                        ctx, r["path"], bool(r.get("is_flow")), r.get("args") or {})))
                else:
                    await ws.send(m["raw_message"])
            async for msg in ws:
                text = msg if isinstance(msg, str) else msg.decode("utf-8", "replace")
                if not rules.message_passes(cfg.get("filters") or [],
                                            cfg.get("filter_logic", "and"), text):
                    continue
                job = await ctx.fire({"msg": text, "url": url})
                if job is not None and cfg.get("can_return_message"):
                    # the reply waits for the run, the next messages do not
                    task = asyncio.create_task(_reply(ctx, ws, job, cfg))
                    replies.add(task)
                    task.add_done_callback(replies.discard)
    finally:
        for task in replies:
            task.cancel()
    return "the server closed the connection"


async def run_for_result(ctx: Any, path: str, is_flow: bool, args: dict[str, Any]) -> Any:
    """Run a script or flow (as the trigger's owner) and return its result; UsageError
    saying so when it fails."""
    from desktop_app.queue.waiter import wait_completed
    from desktop_app.scheduler.jobs import push_item

    row = ctx.row
    async with ctx.state.pool.connection() as conn, conn.transaction():
        job = await push_item(conn, workspace=row["workspace_id"], path=path, is_flow=is_flow,
                              args=args, created_by=row["edited_by"],
                              permissioned_as=row["permissioned_as"],
                              trigger_path=f"{row['kind']}/{row['path']}", schedule_path=None,
                              trigger_kind=None,
                              extra={"trigger_setup_of": f"{row['kind']}/{row['path']}"})
    done = await wait_completed(ctx.state, row["workspace_id"], job)
    if done["status"] != "success":
        error = done["result"].get("error", done["result"]) \
            if isinstance(done["result"], dict) else done["result"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise UsageError(f"{'flow' if is_flow else 'script'} {path} (job {job}) failed:"
                         f" {message}")
    return done["result"]


async def _reply(ctx: Any, ws: Any, job: uuid.UUID, cfg: dict[str, Any]) -> None:
    """`can_return_message`: send the run's result back on the WebSocket (a failed run's
    error only with `can_return_error_result`)."""
    from desktop_app.queue.waiter import wait_completed

    with contextlib.suppress(Exception):  # the link may be gone; the run is recorded anyway
        row = await wait_completed(ctx.state, ctx.row["workspace_id"], job)
        if row["status"] == "success" or cfg.get("can_return_error_result"):
            await ws.send(rules.reply_text(row["result"]))


# -- Postgres LISTEN -----------------------------------------------------------------------

def pg_conninfo(value: Any, path: str, trigger_path: str = "") -> str:
    """A libpq connection string from Windmill's `postgresql` resource; the session's
    application_name names the trigger (pg_stat_activity shows who listens)."""
    if not isinstance(value, dict) or not value.get("host"):
        raise UsageError(f"the postgresql resource {path!r} has no 'host'")
    keys = {"host": value.get("host"), "port": value.get("port"), "user": value.get("user"),
            "password": value.get("password"), "dbname": value.get("dbname"),
            "sslmode": value.get("sslmode"),
            "application_name": f"tidemill trigger {trigger_path}"[:63]}
    return make_conninfo(**{k: str(v) for k, v in keys.items() if v not in (None, "")})


async def postgres_session(ctx: Any) -> str:
    cfg = ctx.config
    res_path, channel = cfg["postgres_resource_path"], cfg.get("channel")
    conninfo = pg_conninfo(await ctx.resource(res_path), res_path, ctx.row["path"])
    if channel is None:  # table changes through a replication slot
        from desktop_app.triggers.pg_replication import replication_session

        return await replication_session(ctx, conninfo, int(CONNECT_TIMEOUT_S))
    async with await AsyncConnection.connect(conninfo, autocommit=True,
                                             connect_timeout=int(CONNECT_TIMEOUT_S)) as conn:
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        await ctx.connected()
        while True:
            async for n in conn.notifies(timeout=PG_PROBE_S):
                await ctx.fire({"channel": n.channel, "payload": n.payload, "pid": n.pid})
            await conn.execute("SELECT 1")  # a connection that died quietly shows here


# -- MQTT ----------------------------------------------------------------------------------

async def mqtt_session(ctx: Any) -> str:
    import aiomqtt

    cfg = ctx.config
    if cfg.get("broker_url"):
        broker = rules.parse_broker_url(cfg["broker_url"])
    else:
        res_path = cfg["mqtt_resource_path"]
        broker = rules.broker_from_resource(await ctx.resource(res_path), res_path)
    v5 = cfg.get("client_version", "v5") == "v5"
    kwargs: dict[str, Any] = {}
    if not v5 and isinstance(cfg.get("v3_config"), dict) and \
            isinstance(cfg["v3_config"].get("clean_session"), bool):
        kwargs["clean_session"] = cfg["v3_config"]["clean_session"]
    if broker.tls:
        kwargs["tls_params"] = aiomqtt.TLSParameters()
    client = aiomqtt.Client(broker.host, broker.port, username=broker.username,
                            password=broker.password, identifier=cfg.get("client_id") or None,
                            protocol=aiomqtt.ProtocolVersion.V5 if v5 else
                            aiomqtt.ProtocolVersion.V311, timeout=CONNECT_TIMEOUT_S, **kwargs)
    async with client:
        for t in cfg["subscribe_topics"]:
            await client.subscribe(t["topic"], qos=rules.QOS[t["qos"]])
        await ctx.connected()
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, (bytes, bytearray)):
                data = bytes(payload)
            else:
                data = b"" if payload is None else str(payload).encode()
            await ctx.fire(rules.mqtt_payload_args(str(message.topic), data, message.qos,
                                                   bool(message.retain)))
    return "the broker closed the connection"


def _nats(ctx: Any) -> Awaitable[str]:
    from desktop_app.triggers.nats_listener import nats_session

    return nats_session(ctx)


SESSIONS: dict[str, Session] = {"websocket": websocket_session, "postgres": postgres_session,
                                "mqtt": mqtt_session, "nats": _nats}


async def run_listener(ctx: ListenerContext) -> None:
    await reconnecting(ctx, SESSIONS[ctx.row["kind"]])
