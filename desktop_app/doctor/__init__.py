"""`tidemill doctor`: what on this machine stands between the user and a working Tidemill,
each finding with its fix. `checks.py` is the list; each capability adds its own check."""
