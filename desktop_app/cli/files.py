"""Reading a script file from disk for deploy/schema: language from its name."""

from __future__ import annotations

from pathlib import Path

from desktop_app.cli.output import fail


def read_script(file: Path, language: str | None) -> tuple[str, str]:
    from desktop_app.parsing import language_from_filename

    if not file.exists():
        fail(f"no such file: {file}")
    if file.is_dir():
        fail(f"{file} is a folder; give a script file", "flows (folders) come with flow support")
    lang = language or language_from_filename(file.name)
    if lang is None:
        fail(f"cannot tell the language of {file.name} from its name",
             "name it .py, .sh, .ts, .pg.sql or .go, or pass --language")
    try:
        return file.read_text(encoding="utf-8"), lang
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
