"""Runs one Python job inside the job's venv. Standalone: imports nothing of Tidemill.

Usage: python python_wrapper.py JOB_DIR
JOB_DIR holds main.py (the script) and args.json ({"args": {...}, "convert": {name: kind}}).
On success it writes result.json (the JSON result); on failure error.json
({"name", "message", "stack"}). Imports are kept to the minimum because this file's
start-up time is paid by every job.
"""

import json
import os
import sys

MAX_RESULT_BYTES = int(os.environ.get("TIDEMILL_MAX_RESULT_BYTES", str(8 * 1024 * 1024)))


def _convert(args, convert):
    # Windmill passes bytes as base64 and datetimes as ISO strings; main gets real objects.
    for name, kind in convert.items():
        value = args.get(name)
        if value is None:
            continue
        if kind == "bytes":
            import base64

            args[name] = base64.b64decode(value)
        elif kind in ("datetime", "date"):
            import datetime

            text = value[:-1] + "+00:00" if value.endswith("Z") else value
            parsed = datetime.datetime.fromisoformat(text)
            args[name] = parsed.date() if kind == "date" else parsed
    return args


def _json_default(value):
    # Values a script commonly returns that JSON lacks; anything else is an error.
    import datetime
    import decimal

    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray):
        import base64

        return base64.b64encode(value).decode()
    if hasattr(value, "model_dump"):
        return value.model_dump()
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"main returned a value of type {type(value).__name__} that cannot be "
                    f"turned into JSON: {value!r:.200}")


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _fail(job_dir, name, message, stack=None):
    err = {"name": name, "message": message}
    if stack:
        err["stack"] = stack
    _write(os.path.join(job_dir, "error.json"), json.dumps(err))


def _user_stack(exc):
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    # Drop this wrapper's own frames: the user wants to see their script.
    frames = [f for f in frames if not f.filename.endswith("python_wrapper.py")]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "Traceback (most recent call last):\n" + "".join(lines)


def main():
    job_dir = sys.argv[1]
    script = os.path.join(job_dir, "main.py")
    with open(os.path.join(job_dir, "args.json"), encoding="utf-8") as f:
        spec = json.load(f)
    entry = spec.get("entrypoint") or "main"
    sys.path.insert(0, job_dir)
    try:
        with open(script, encoding="utf-8") as f:
            code = compile(f.read(), script, "exec")
        namespace = {"__name__": "__tidemill_main__", "__file__": script}
        exec(code, namespace)
        fn = namespace.get(entry)
        if not callable(fn):
            _fail(job_dir, "MainNotFound", f"the script defines no function '{entry}'")
            return
        kwargs = _convert(spec.get("args") or {}, spec.get("convert") or {})
        import inspect

        params = inspect.signature(fn).parameters
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            # Windmill ignores arguments that main does not take.
            kwargs = {k: v for k, v in kwargs.items() if k in params}
        result = fn(**kwargs)
        if inspect.isawaitable(result):
            import asyncio

            result = asyncio.run(_await(result))
    except BaseException as exc:  # the script's failure is the job's result, whatever it is
        sys.stdout.flush()
        _fail(job_dir, type(exc).__name__, str(exc), _user_stack(exc))
        return
    sys.stdout.flush()
    try:
        text = json.dumps(result, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _fail(job_dir, "ResultNotSerializable", str(exc))
        return
    if len(text) > MAX_RESULT_BYTES:
        _fail(job_dir, "ResultTooLarge",
              f"the result is {len(text) / 1e6:.1f} MB, over the limit of "
              f"{MAX_RESULT_BYTES / 1e6:.1f} MB; write large outputs to a file or object "
              "storage and return a reference instead")
        return
    _write(os.path.join(job_dir, "result.json"), text)


async def _await(awaitable):
    return await awaitable


if __name__ == "__main__":
    main()
