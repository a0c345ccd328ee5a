"""Whether the desktop app can open, decided before Qt can abort."""

from __future__ import annotations

import pytest

from desktop_app.cli.display import missing_display


@pytest.mark.parametrize("env", [
    {"DISPLAY": ":0"},
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "minimal"},
    {"QT_QPA_PLATFORM": "vnc:size=800x600"},
    {"QT_QPA_PLATFORM": "wayland;offscreen"},
    {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99"},
])
def test_a_usable_platform_opens(env: dict[str, str]) -> None:
    assert missing_display(env, "linux") is None


@pytest.mark.parametrize(("env", "named"), [
    ({}, "DISPLAY or WAYLAND_DISPLAY"),
    ({"DISPLAY": ""}, "DISPLAY or WAYLAND_DISPLAY"),
    # xcb asked for by name needs an X server even when a Wayland one exists.
    ({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "DISPLAY"),
    ({"QT_QPA_PLATFORM": "wayland"}, "WAYLAND_DISPLAY"),
])
def test_no_display_is_one_line_with_the_way_out(env: dict[str, str], named: str) -> None:
    line = missing_display(env, "linux")
    assert line is not None and "\n" not in line
    assert f"({named} is not set)" in line
    assert "tidemill daemon start" in line


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_need_no_display_variable(platform: str) -> None:
    assert missing_display({}, platform) is None
