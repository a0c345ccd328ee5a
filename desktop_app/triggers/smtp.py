"""The local SMTP listener (aiosmtpd, in the daemon's event loop): a mail to
`<local_part>@<any host>` or `<trigger path>@<any host>` runs each email trigger it names.
The port is open while the workspace has an email trigger.

Every daemon serves mail (no owner is needed: a mail arrives at one daemon, which queues
its runs in the shared database). A recipient no trigger serves, or a disabled one, is
refused at RCPT with a 550 saying so, before the mail is sent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from psycopg.rows import dict_row

from desktop_app.core import event_triggers as rules
from desktop_app.triggers import runs

log = logging.getLogger("tidemill.triggers.smtp")

MAX_MAIL_BYTES = 25 * 1024 * 1024


class MailHandler:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _triggers_for(self, address: str) -> list[dict[str, Any]]:
        local = address.rpartition("@")[0] if "@" in address else address
        local = local.strip("<>").lower()
        async with self.state.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute("SELECT * FROM event_triggers WHERE kind = 'email'")
            rows = await cur.fetchall()
        return [r for r in rows
                if local in rules.email_local_parts(r["workspace_id"], r["path"], r["config"])]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            found = await self._triggers_for(address)
        except Exception as exc:
            log.warning("cannot look up email triggers: %s", exc)
            return "451 Tidemill cannot read its email triggers right now; try again later"
        if not found:
            return (f"550 no Tidemill email trigger receives mail for {address}"
                    " (check the trigger's local_part)")
        if not any(r["mode"] == "enabled" for r in found):
            return (f"550 the Tidemill email trigger {found[0]['path']} receiving mail for"
                    f" {address} is disabled")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        recipients = list(envelope.rcpt_tos)
        try:
            args = rules.email_args(raw, envelope.mail_from or "", recipients)
        except Exception as exc:  # a mail Python's parser cannot read at all
            log.warning("unreadable mail from %s: %s", envelope.mail_from, exc)
            return "554 the message could not be parsed"
        started = 0
        seen: set[tuple[str, str]] = set()
        for address in recipients:
            for row in await self._triggers_for(address):
                if row["mode"] != "enabled":
                    continue
                key = (row["workspace_id"], row["path"])
                if key in seen:
                    continue
                seen.add(key)
                if await runs.fire(self.state.pool, row, args, args) is not None:
                    started += 1
        if not started:
            return "451 no run could be started (see the email trigger's last_error)"
        return "250 Message accepted"


class SmtpListener:
    """Starts and stops the SMTP server; remembers why it could not listen."""

    def __init__(self, state: Any, host: str, port: int) -> None:
        self.state, self.host, self.port = state, host, port
        self.server: asyncio.base_events.Server | None = None
        self.error: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> bool:
        if self.server is not None:
            return True
        from aiosmtpd.smtp import SMTP

        handler = MailHandler(self.state)
        loop = asyncio.get_running_loop()
        try:
            self.server = await loop.create_server(
                lambda: SMTP(handler, hostname="tidemill", data_size_limit=MAX_MAIL_BYTES,
                             enable_SMTPUTF8=True), self.host, self.port)
        except OSError as exc:
            self.error = (f"the SMTP listener cannot listen on {self.address}:"
                          f" {exc.strerror or exc}; set another port with TIDEMILL_SMTP_PORT")
            return False
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        self.error = None
        log.info("SMTP listener for email triggers on %s", self.address)
        return True

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
