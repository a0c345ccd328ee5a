"""What the tray says and shows, from the daemon's activity (no Qt, no daemon)."""

from __future__ import annotations

from desktop_app.client.activity import Activity, failure_message


def test_level_picks_the_most_urgent_state() -> None:
    assert Activity(reachable=False).level == "down"
    assert Activity(reachable=True, failures=[{"id": "1"}], paused=True).level == "failed"
    assert Activity(reachable=True, paused=True, running=2).level == "paused"
    assert Activity(reachable=True, running=2).level == "busy"
    assert Activity(reachable=True).level == "idle"


def test_tooltip_counts_what_a_user_checks() -> None:
    a = Activity(reachable=True, running=2, queued=5, paused=True, failures=[{"id": "x"}])
    assert a.tooltip() == ("Tidemill: 2 running, 5 waiting, 1 failed since you last looked,"
                           " workers paused")
    assert Activity(reachable=False, error="connection refused").tooltip() == \
        "Tidemill: daemon not answering (connection refused)"


def test_failure_message_names_the_script_and_its_error() -> None:
    job = {"script_path": "f/x/y", "result": {"error": {"name": "ValueError",
                                                         "message": "disk full"}}}
    assert failure_message(job) == ("f/x/y failed", "disk full")
    assert failure_message({"job_kind": "preview", "result": None}) == \
        ("a preview failed", "see its logs")


def test_database_outage_shows_as_down_with_its_cause() -> None:
    a = Activity(reachable=True, database="database restarting for 3 s (server not running)")
    assert a.level == "down"
    assert a.tooltip() == ("Tidemill: database restarting for 3 s (server not running);"
                           " jobs wait until it is back")
