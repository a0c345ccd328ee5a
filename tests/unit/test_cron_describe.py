"""Cron expressions explained in words (the schedule editor shows these under the field)."""

from __future__ import annotations

import pytest

from desktop_app.scheduler.describe import CronDescribeError, describe


@pytest.mark.parametrize(("expr", "words"), [
    ("* * * * *", "Every minute"),
    ("*/5 * * * *", "Every 5 minutes"),
    ("0 */5 * * * *", "Every 5 minutes"),  # Windmill's 6 fields, seconds first
    ("*/10 * * * * *", "Every 10 seconds"),
    ("* * * * * *", "Every second"),
    ("0 * * * *", "Every hour, on the hour"),
    ("15 * * * *", "At 15 minutes past every hour"),
    ("0 0 */2 * * *", "Every 2 hours, on the hour"),
    ("30 */3 * * *", "Every 3 hours, at 30 minutes past the hour"),
    ("30 9 * * *", "At 09:30, every day"),
    ("0 30 9 * * *", "At 09:30, every day"),
    ("15 30 9 * * *", "At 09:30:15, every day"),
    ("0 9,17 * * *", "At 09:00 and 17:00, every day"),
    ("0 9 * * 1-5", "At 09:00, Monday through Friday"),
    ("0 0 9 * * MON-FRI", "At 09:00, Monday through Friday"),
    ("0 12 * * 0,6", "At 12:00, on Sunday and Saturday"),
    ("5 4 * * sun", "At 04:05, on Sunday"),
    ("0 0 1 * *", "At 00:00, on day 1 of the month"),
    ("30 8 1,15 * *", "At 08:30, on days 1 and 15 of the month"),
    ("0 0 0 L * *", "At 00:00, on the last day of the month"),
    ("0 0 1 1 *", "At 00:00, on day 1 of the month, in January"),
    ("0 0 * 1-3 *", "At 00:00, in January through March"),
    ("0 0 1 * 1", "At 00:00, on day 1 of the month or on Monday"),
    ("*/15 9-17 * * 1-5", "Every 15 minutes, between 09:00 and 17:59, Monday through Friday"),
    ("0 9-17 * * *", "Every hour, on the hour, between 09:00 and 17:00"),
    ("1-10 * * * *", "At minutes 1 through 10 past every hour"),
])
def test_describes_common_expressions(expr: str, words: str) -> None:
    assert describe(expr) == words


def test_unknown_tokens_are_quoted_not_guessed() -> None:
    assert "“1#2”" in describe("0 9 * * 1#2")


@pytest.mark.parametrize("expr", ["", "* * *", "0 0 0 0 0 0 0"])
def test_wrong_number_of_fields_says_what_is_expected(expr: str) -> None:
    with pytest.raises(CronDescribeError, match=r"6 fields .* or 5"):
        describe(expr)
