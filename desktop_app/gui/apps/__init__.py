"""Apps in the desktop app: the run window (what operators use) and the builder."""
