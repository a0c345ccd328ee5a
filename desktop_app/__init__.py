"""Tidemill: a desktop automation platform compatible with Windmill."""

__version__ = "0.1.0"
