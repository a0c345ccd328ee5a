"""The NATS listener: one connection (nats-py) subscribed to the trigger's subjects, core
NATS or a JetStream durable consumer. nats-py's own reconnecting is off: the shared loop in
listeners.py reconnects with its back-off and reports each failure in the trigger's status.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from desktop_app.core import nats_triggers as rules
from desktop_app.core.errors import UsageError

#: Seconds to wait for the server to accept a connection.
CONNECT_TIMEOUT_S = 10


async def nats_session(ctx: Any) -> str:
    import nats
    import nats.errors

    cfg = ctx.config
    res_path = cfg["nats_resource_path"]
    conn = rules.connection_from_resource(await ctx.resource(res_path), res_path)
    ended = asyncio.Event()
    why: list[str] = []

    async def on_error(exc: Exception) -> None:
        why.append(" ".join(str(exc).split()) or type(exc).__name__)

    async def on_closed() -> None:
        ended.set()

    kwargs: dict[str, Any] = {}
    if conn.tls:
        kwargs["tls"] = ssl.create_default_context()
    try:
        # one attempt per server (nats-py counts from 0; 1 = no retry), no reconnecting
        nc = await nats.connect(conn.servers, user=conn.user, password=conn.password,
                                token=conn.token, connect_timeout=CONNECT_TIMEOUT_S,
                                allow_reconnect=False, max_reconnect_attempts=1,
                                reconnect_time_wait=0, error_cb=on_error,
                                closed_cb=on_closed, disconnected_cb=on_closed,
                                name=f"tidemill trigger {ctx.row['path']}", **kwargs)
    except nats.errors.NoServersError as exc:  # its message hides why: say the last error
        raise UsageError(f"cannot connect to {', '.join(conn.servers)}:"
                         f" {why[-1] if why else exc}") from exc
    try:
        if cfg.get("use_jetstream"):
            await _jetstream(ctx, nc, cfg)
        else:
            async def fire(msg: Any) -> None:  # nats-py wants a coroutine function
                await _fire(ctx, msg)
            for subject in cfg["subjects"]:
                await nc.subscribe(subject, cb=fire)
        await nc.flush(timeout=CONNECT_TIMEOUT_S)  # the server has the subscriptions now
        await ctx.connected()
        await ended.wait()
    finally:
        if not nc.is_closed:
            await nc.close()
    return f"the server closed the connection{': ' + why[-1] if why else ''}"


async def _jetstream(ctx: Any, nc: Any, cfg: dict[str, Any]) -> None:
    """A durable push consumer per subject on `stream_name`: a message is acknowledged
    once its run is queued, so one queued while the daemon was down is delivered later."""
    js = nc.jetstream()
    subjects = cfg["subjects"]
    consumer = cfg.get("consumer_name") or f"tidemill_{ctx.row['path'].replace('/', '_')}"
    for i, subject in enumerate(subjects):
        durable = consumer if len(subjects) == 1 else f"{consumer}_{i}"

        async def acked(msg: Any) -> None:
            if await _fire(ctx, msg):
                await msg.ack()
        await js.subscribe(subject, stream=cfg["stream_name"], durable=durable, cb=acked,
                           manual_ack=True)


async def _fire(ctx: Any, msg: Any) -> bool:
    """Queue a run; False when it could not be queued (the trigger's last_error says why)."""
    args = rules.message_args(msg.subject, bytes(msg.data or b""), msg.headers,
                              msg.reply or None)
    return await ctx.fire(args) is not None
