"""Schedules: cron rules (pure), and the loop that turns fire times into queued runs."""
