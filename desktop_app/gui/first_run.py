"""The first-run window: shown by `tidemill` when this home has never had a daemon.

It says where the data will live, whether secrets can go to the OS keyring (and offers the
encrypted-file store with a passphrase when there is none), takes an optional Git remote
and offers a sample workspace (a script with a form, a flow with a branch and an approval,
a disabled schedule), then shows progress while the daemon creates its database and while
the sample's dependencies install.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.client.http import ClientError, Connection, TidemillClient

SAMPLE_SCRIPT = '''\
def main(name: str, times: int = 1, shout: bool = False):
    """Greets someone: the form has a text field, a number and a switch."""
    text = " ".join([f"hello {name}"] * times)
    return text.upper() if shout else text
'''

#: A flow with a branch and an approval: refunds over 100 wait for someone to approve.
SAMPLE_FLOW: dict[str, Any] = {
    "summary": "Sample: refund with approval",
    "description": "A refund over 100 waits for an approval; smaller ones go through.",
    "value": {"modules": [
        {"id": "check", "value": {"type": "rawscript", "language": "python3",
                                  "content": "def main(amount: float):\n"
                                             "    return {'amount': amount}\n",
                                  "input_transforms": {"amount": {
                                      "type": "javascript", "expr": "flow_input.amount"}}}},
        {"id": "decide", "value": {"type": "branchone", "branches": [
            {"summary": "over 100: ask for approval", "expr": "results.check.amount > 100",
             "modules": [{"id": "approve", "suspend": {"required_events": 1, "timeout": 86400},
                          "value": {"type": "rawscript", "language": "python3",
                                    "content": "def main():\n"
                                               "    return 'waiting for an approval'\n",
                                    "input_transforms": {}}}]}],
            "default": [{"id": "auto", "value": {
                "type": "rawscript", "language": "python3",
                "content": "def main():\n    return 'refunded without approval'\n",
                "input_transforms": {}}}]}}]},
    "schema": {"type": "object", "properties": {"amount": {"type": "number", "default": 50}},
               "required": ["amount"]},
}

SAMPLE_SCHEDULE: dict[str, Any] = {
    "path": "f/samples/every_morning", "schedule": "0 0 9 * * 1-5", "timezone": "UTC",
    "script_path": "f/samples/hello", "is_flow": False, "args": {"name": "team"},
    "enabled": False, "summary": "Sample: greets the team on weekday mornings (disabled)",
}


def is_first_run(home: Path) -> bool:
    """No daemon ever ran for this home (it writes admin.token on its first start), and the
    user did not point the app at another daemon."""
    return not (home / "admin.token").exists() and not os.environ.get("TIDEMILL_URL")


def keyring_status(home: Path) -> tuple[bool, str]:
    """(works, what to say) for the OS keyring, probed as the daemon will."""
    from desktop_app.core.errors import TidemillError
    from desktop_app.secrets.store import KeyringSecretStore

    store = KeyringSecretStore("first-run")
    try:
        store.probe()
    except TidemillError as exc:
        return False, f"No OS keyring answers here ({exc.message})."
    return True, f"Secrets go to your OS keyring: {store.describe()}."


class FirstRunWindow(QWidget):
    def __init__(self, home: Path, keyring: tuple[bool, str] | None = None) -> None:
        super().__init__()
        self.home = home
        self.on_close: Any = None  # called when the user closes the window before Start
        self.setWindowTitle("Welcome to Tidemill")
        self.setMinimumWidth(620)
        lay = QVBoxLayout(self)
        title = QLabel("Welcome to Tidemill")
        title.setObjectName("heading")
        lay.addWidget(title)
        form = QFormLayout()
        form.setVerticalSpacing(12)
        self.where = where = QLabel(f"{home}\n(set TIDEMILL_HOME to keep it elsewhere)")
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Your data", where)

        self.keyring_ok, said = keyring if keyring is not None else keyring_status(home)
        self.keyring_label = QLabel(said)
        self.keyring_label.setWordWrap(True)
        secrets = QVBoxLayout()
        secrets.addWidget(self.keyring_label)
        self.use_file = QCheckBox("Keep secrets in an encrypted file instead, with a passphrase"
                                  if self.keyring_ok else
                                  "Keep secrets in an encrypted file, with a passphrase")
        self.passphrase, self.passphrase_again = QLineEdit(), QLineEdit()
        for field, hint in ((self.passphrase, "passphrase"),
                            (self.passphrase_again, "the passphrase again")):
            field.setEchoMode(QLineEdit.EchoMode.Password)
            field.setPlaceholderText(hint)
        secrets.addWidget(self.use_file)
        secrets.addWidget(self.passphrase)
        secrets.addWidget(self.passphrase_again)
        # Without a keyring the file is the only way: checked, and it stays checked.
        self.use_file.setChecked(not self.keyring_ok)
        self.use_file.setEnabled(self.keyring_ok)
        self.use_file.toggled.connect(self._show_passphrase)
        self._show_passphrase(self.use_file.isChecked())
        form.addRow("Secrets", secrets)

        self.remote = QLineEdit()
        self.remote.setPlaceholderText("optional: git@github.com:team/automations.git")
        form.addRow("Git remote", self.remote)
        self.sample = QCheckBox("A sample workspace")
        self.sample.setChecked(True)
        what = QLabel("a script with a form, a flow with a branch and an approval, "
                      "a disabled schedule: something to run in a minute")
        what.setObjectName("muted")
        what.setWordWrap(True)
        sample = QVBoxLayout()
        sample.addWidget(self.sample)
        sample.addWidget(what)
        form.addRow("Start with", sample)
        lay.addLayout(form)

        self.message = QLabel("")
        self.message.setObjectName("fieldError")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 3)
        self.progress.setVisible(False)
        self.step = QLabel("")
        self.step.setObjectName("muted")
        self.start_button = QPushButton("Start Tidemill")
        self.start_button.setDefault(True)
        for w in (self.message, self.progress, self.step):
            lay.addWidget(w)
        lay.addWidget(self.start_button, alignment=Qt.AlignmentFlag.AlignRight)

    def closeEvent(self, event: Any) -> None:
        if self.on_close is not None:
            self.on_close()
        super().closeEvent(event)

    def _show_passphrase(self, on: bool) -> None:
        self.passphrase.setVisible(on)
        self.passphrase_again.setVisible(on)

    def choices(self) -> dict[str, Any] | None:
        """What the user chose, or None (and a message beside the button) if it won't do."""
        self.message.setText("")
        passphrase = None
        if self.use_file.isChecked():
            passphrase = self.passphrase.text()
            if len(passphrase) < 8:
                self.message.setText("Choose a passphrase of at least 8 characters: it "
                                     "protects every secret in the file.")
                return None
            if passphrase != self.passphrase_again.text():
                self.message.setText("The two passphrases differ: type the same one twice.")
                return None
        remote = self.remote.text().strip() or None
        return {"passphrase": passphrase, "remote": remote, "sample": self.sample.isChecked()}

    def show_step(self, done: int, text: str) -> None:
        self.progress.setVisible(True)
        self.progress.setValue(done)
        self.step.setText(text)


async def first_run(home: Path, conn: Connection) -> Connection:
    """Show the window, wait for Start (closing it quits), set up; the window then closes."""
    import asyncio

    window = FirstRunWindow(home)
    from desktop_app.client.daemon_process import DaemonStartError

    started: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()

    def start() -> None:
        chosen = window.choices()
        if chosen is not None and not started.done():
            started.set_result(chosen)

    def closed() -> None:
        if not started.done():
            started.set_result(None)

    window.start_button.clicked.connect(start)
    window.on_close = closed
    window.show()
    try:
        chosen = await started
        if chosen is None:
            raise DaemonStartError("Tidemill was not set up: the welcome window was closed.",
                                   "run `tidemill` again to set it up")
        window.on_close = None
        return await set_up(window, conn, chosen)
    finally:
        window.close()
        window.deleteLater()


async def set_up(window: FirstRunWindow, conn: Connection, choices: dict[str, Any]) -> Connection:
    """Start the daemon for the first time with the chosen secret store, then add the
    remote and the sample. Returns the connection to it; DaemonStartError and ClientError
    say what failed."""
    from desktop_app.gui.startup import start_local_daemon

    window.start_button.setEnabled(False)
    if choices["passphrase"]:
        # The daemon started below inherits these (it reads them at start).
        os.environ["TIDEMILL_SECRETS"] = "encrypted-file"
        os.environ["TIDEMILL_SECRETS_PASSPHRASE"] = choices["passphrase"]
    window.show_step(0, "Starting the daemon: creating the database (a few seconds the "
                        "first time)…")
    conn = await start_local_daemon(window.home, conn)
    async with TidemillClient(conn, timeout=600) as client:
        if choices["remote"]:
            window.show_step(1, f"Pushing the workspace to {choices['remote']}…")
            try:
                await client.sync("push", choices["remote"])
            except ClientError as exc:  # the app still opens; the remote can be set later
                window.message.setText(f"The Git remote did not take: {exc.message}")
        if choices["sample"]:
            window.show_step(2, "Adding the sample workspace and installing its "
                                "dependencies (uv)…")
            await add_sample(client)
    window.show_step(3, "Ready.")
    return conn


async def add_sample(client: TidemillClient) -> None:
    await client.deploy_script("f/samples/hello", SAMPLE_SCRIPT, "python3",
                               summary="Sample: hello with a form")
    await client.deploy_flow("f/samples/refund", SAMPLE_FLOW)
    await client.create_schedule(SAMPLE_SCHEDULE)
    # Running it once builds its environment now rather than on the user's first click.
    await client.run_wait("f/samples/hello", {"name": "Tidemill"})
