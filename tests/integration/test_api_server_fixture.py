"""The in-process API fixture answers like a daemon: auth, a deploy, a 400 naming its
field, and a job that stays queued because no worker runs here."""

from __future__ import annotations

from tests.support.api_server import ApiServer


def test_in_process_api_serves_the_real_app(api_server: ApiServer) -> None:
    with api_server.http("not-a-token") as c:
        assert c.get("/api/w/main/scripts/list").status_code == 401
    api_server.deploy("f/x/hello", "def main(name: str):\n    return name\n")
    r = api_server.api("POST", "jobs/run/p/f/x/hello", json={"name": 3})
    assert r.status_code == 400 and r.json()["error"]["field"] == "name"
    job = api_server.api("POST", "jobs/run/p/f/x/hello", json={"name": "Ada"}).text.strip('"')
    r = api_server.api("GET", f"jobs_u/get/{job}")
    assert r.status_code == 200 and r.json()["type"] == "QueuedJob"
    # the CLI reaches it like any daemon
    out = api_server.cli("jobs", check=True).stdout
    assert job[:8] in out
