"""Start Tidemill at login: the daemon and its tray icon, installed the platform's way
(`files.py` writes the entries, `manage.py` puts them in place and reads them back)."""
