"""The approval page in a real browser: Debian's Chromium driven by Playwright opens a
flow's `approvalPage` link from a real daemon, fills the step's resume form and clicks
Approve (the flow goes on with the values) or Reject (the flow ends canceled); a step with
approver rules refuses an anonymous, a self- and a wrong-group approver with the reason on
the page, and takes a user it allows. The page holds nothing but the form: no flow input,
a strict CSP, and the link's signature and Host checks.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon_harness import RunningDaemon
from tests.e2e.flow_helpers import flow, js, py

# Each test deploys and runs its own flows (distinct paths, its own users) and judges only
# its own jobs: one daemon serves the module (tests/e2e/conftest.py `module_daemon`).
pytestmark = pytest.mark.shared_daemon

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FORM = {"schema": {"type": "object", "order": ["note", "amount", "urgent", "level"],
                   "required": ["note"],
                   "properties": {"note": {"type": "string", "description": "Why"},
                                  "amount": {"type": "integer", "default": 1},
                                  "urgent": {"type": "boolean"},
                                  "level": {"type": "string", "enum": ["low", "high"]}}}}
USE = "def main(r, a):\n    return {'resume': r, 'approvers': a}\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        raise AssertionError("chromium is not installed: apt-get install chromium"
                             " (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def _flow(d: RunningDaemon, path: str, **suspend: Any) -> None:
    ask = py("ask", "def main(secret_input: str = ''):\n    return 'asked'\n",
             secret_input=js("flow_input.secret_input"))
    ask["suspend"] = {"required_events": 1, "timeout": 600, "resume_form": FORM, **suspend}
    r = d.api("POST", "flows/create", json={"path": path, **flow(
        ask, py("use", USE, r=js("resume"), a=js("approvers")))})
    assert r.status_code == 201, r.text


def _suspended(d: RunningDaemon, path: str, approver: str | None) -> tuple[str, dict[str, str]]:
    job_id = d.api("POST", f"jobs/run/f/{path}", json={"secret_input": "hunter2-secret"}).text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = d.api("GET", f"jobs_u/get/{job_id}").json()["flow_status"]
        if status["modules"][0]["type"] == "WaitingForEvents":
            step = status["modules"][0]["job"]
            urls = d.api("GET", f"jobs/resume_urls/{step}/0",
                         params={"approver": approver} if approver else {}).json()
            return job_id, urls
        time.sleep(0.2)
    raise AssertionError(f"flow {path} never suspended")


def _outcome(page: Any, starts: str) -> str:
    page.wait_for_function(
        "s => document.getElementById('outcome').textContent.startsWith(s)", arg=starts,
        timeout=60_000)
    return str(page.locator("#outcome").text_content())


def _token(d: RunningDaemon, name: str, role: str) -> str:
    assert d.api("POST", "users/add", json={"username": name, "role": role}).status_code == 201
    with d.http() as c:
        r = c.post("/api/users/tokens/create", json={"username": name, "label": name})
    assert r.status_code == 201, r.text
    return r.text


def test_approve_and_reject_in_chromium(daemon: RunningDaemon, browser: Any,
                                        tmp_path: Path) -> None:
    _flow(daemon, "f/ok/expense")
    job_id, urls = _suspended(daemon, "f/ok/expense", "ops")
    assert urls["approvalPage"].startswith(f"{daemon.url}/approve/main/")
    page = browser.new_page()
    response = page.goto(urls["approvalPage"])
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp and "connect-src 'self'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "hunter2-secret" not in page.content()  # the flow's inputs are not on the page
    assert page.locator("#who").text_content() == "Approving as ops"
    assert page.locator("label[for=f-note]").text_content() == "Why"
    assert page.locator("#f-amount").input_value() == "1"
    page.fill("#f-note", "team dinner")
    page.fill("#f-amount", "42")
    page.check("#f-urgent")
    page.select_option("#f-level", "high")
    # (docs/screenshots/approval_page.png is this page, taken here once and looked at)
    page.screenshot(path=str(tmp_path / "approval_page.png"))
    page.click("#approve")
    assert _outcome(page, "Approved").startswith("Approved. The flow goes on")
    done = daemon.wait_job(job_id, timeout=90)
    assert done["success"], done
    assert done["result"] == {"resume": {"note": "team dinner", "amount": 42, "urgent": True,
                                         "level": "high"}, "approvers": ["ops"]}
    # the link is spent: the page says so
    again = page.goto(urls["approvalPage"])
    assert again.status == 404 and "Nothing to approve" in page.content()

    # Reject: the flow ends canceled, naming who rejected it
    job_id, urls = _suspended(daemon, "f/ok/expense", "ops")
    page.goto(urls["approvalPage"])
    page.click("#reject")
    assert _outcome(page, "Rejected").startswith("Rejected. The flow was canceled")
    done = daemon.wait_job(job_id, timeout=60)
    assert done["status"] == "canceled" and "approval denied by ops" in \
        done["result"]["error"]["message"]

    # The link's checks hold for the page: an altered signature, a foreign Host
    job_id, urls = _suspended(daemon, "f/ok/expense", "ops")
    forged = urls["approvalPage"].replace("approver=ops", "approver=mallory")
    assert httpx.get(forged).status_code == 403
    r = httpx.get(urls["approvalPage"], headers={"Host": "evil.example"})
    assert r.status_code == 421, r.text
    page.close()


def test_approver_rules_refuse_with_reasons_on_the_page(daemon: RunningDaemon,
                                                        browser: Any) -> None:
    _flow(daemon, "f/ok/payout", self_approval_disabled=True,
          user_groups_required={"type": "static", "value": ["admin", "developer"]})
    bob = _token(daemon, "bob", "developer")
    olga = _token(daemon, "olga", "operator")
    job_id, urls = _suspended(daemon, "f/ok/payout", None)  # started by admin
    page = browser.new_page()
    page.goto(urls["approvalPage"])
    assert page.locator("#who").text_content() == \
        "Approving as the user whose token you enter below"
    assert "approvers must be in: admin, developer" in page.content()
    assert "admin, who started this flow, may not approve it" in page.content()
    page.fill("#f-note", "payout")
    attempts = [("", "needs a signed-in approver"),
                (daemon.token, "self-approval is disabled for this step: admin started"),
                (olga, "olga (operator) is not in a group allowed to approve this step")]
    for token, says in attempts:
        page.fill("#tm-token", token)
        page.click("#approve")
        text = _outcome(page, "Refused")
        assert says in text, text
        page.evaluate("document.getElementById('outcome').textContent = ''")
    # Reject is held to the same rules
    page.fill("#tm-token", olga)
    page.click("#reject")
    assert "not in a group" in _outcome(page, "Refused")
    page.evaluate("document.getElementById('outcome').textContent = ''")
    assert daemon.api("GET", f"jobs_u/get/{job_id}").json()["type"] == "QueuedJob"
    page.fill("#tm-token", bob)
    page.click("#approve")
    assert _outcome(page, "Approved").startswith("Approved")
    done = daemon.wait_job(job_id, timeout=90)
    assert done["success"] and done["result"]["approvers"] == ["bob"], done
    assert done["result"]["resume"]["note"] == "payout"
    page.close()

    # a token for someone else than the link names is refused before anything happens
    job_id, urls = _suspended(daemon, "f/ok/payout", "carol")
    r = httpx.post(urls["resume"], json={}, headers={"Authorization": f"Bearer {bob}"})
    assert r.status_code == 403 and "this approval link is for carol" in r.text


WAC = ("import wmill\nfrom wmill import workflow\n\n"
       "@workflow\nasync def main():\n"
       "    return await wmill.wait_for_approval(key='mgr', timeout=300,"
       " description='Ship the release?',"
       " form={'properties': {'version': {'type': 'string', 'default': '1.0'}}})\n")


def test_a_workflow_approval_page_approves_in_chromium(daemon: RunningDaemon,
                                                       browser: Any) -> None:
    daemon.deploy("f/ok/release", WAC)
    job_id = daemon.api("POST", "jobs/run/p/f/ok/release", json={}).text
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the workflow waits for its approval
        urls = daemon.api("GET", f"jobs/wac_approval_urls/{job_id}/mgr",
                          params={"approver": "lead"}).json()
        if httpx.get(urls["approvalPage"]).status_code == 200:
            break
        time.sleep(0.5)
    assert "/approve/main/wac/" in urls["approvalPage"]
    page = browser.new_page()
    page.goto(urls["approvalPage"])
    assert "Ship the release?" in page.content() and "f/ok/release" in page.content()
    assert page.locator("#f-version").input_value() == "1.0"
    page.fill("#f-version", "2.0")
    page.click("#approve")
    assert _outcome(page, "Approved").startswith("Approved")
    done = daemon.wait_job(job_id, timeout=90)
    assert done["success"] and done["result"] == {"value": {"version": "2.0"},
                                                  "approver": "lead", "approved": True}, done
    forged = urls["approvalPage"].replace("/mgr/", "/other/")
    assert httpx.get(forged).status_code == 403
    page.close()
