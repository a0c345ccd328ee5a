"""Event triggers: definitions, listeners, the SMTP listener, the daemon's manager."""
