"""Runs one Python job inside the job's venv. Standalone: imports nothing of Tidemill.

Usage: python python_wrapper.py JOB_DIR
JOB_DIR holds main.py (the script) and args.marshal ({"args": {...}, "convert": {name: kind}}).
On success it writes result.marshal (plain values; the worker turns them into JSON) or,
for values marshal cannot hold (datetimes, dataclasses, ...), result.json. On failure it
writes error.json ({"name", "message", "stack"}).

Every job pays this file's start-up time, so it imports almost nothing: `marshal` is
built in, while `json` (which pulls in `re` and `enum`) and `inspect` cost ~10 ms.
"""

import marshal
import os
import sys


class _TidemillAlias:
    """`import tidemill` gives the `wmill` SDK (same functions, Tidemill's name)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tidemill":
            return None
        import importlib.util

        return importlib.util.spec_from_loader(name, self)  # type: ignore[arg-type]

    def create_module(self, spec):
        import wmill

        return wmill

    def exec_module(self, module):
        return None


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
    import json

    err = {"name": name, "message": message}
    if stack:
        err["stack"] = stack
    _write(os.path.join(job_dir, "error.json"), json.dumps(err))


def _accepted_kwargs(fn, kwargs):
    # Windmill ignores arguments that main does not take (unless it has **kwargs).
    code = getattr(fn, "__code__", None)
    if code is None or code.co_flags & 0x08:  # CO_VARKEYWORDS
        return kwargs
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return {k: v for k, v in kwargs.items() if k in names}


def _write_result(job_dir, result):
    try:
        data = marshal.dumps(result, 4)
    except ValueError:
        data = None  # not plain data: serialise it here, with conversions
    if data is not None:
        tmp = os.path.join(job_dir, "result.marshal.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(job_dir, "result.marshal"))
        return
    import json

    try:
        text = json.dumps(result, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        _fail(job_dir, "ResultNotSerializable", str(exc))
        return
    _write(os.path.join(job_dir, "result.json"), text)


def _user_stack(exc):
    import traceback

    # Drop this wrapper's own frames: the user wants to see their script.
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.endswith(("python_wrapper.py", "python_zygote.py"))]
    lines = traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "Traceback (most recent call last):\n" + "".join(lines)


def main():
    job_dir = sys.argv[1]
    script = os.path.join(job_dir, "main.py")
    with open(os.path.join(job_dir, "args.marshal"), "rb") as f:
        spec = marshal.load(f)
    entry = spec.get("entrypoint") or "main"
    sys.path.insert(0, job_dir)
    sys.meta_path.insert(0, _TidemillAlias())
    try:
        with open(script, encoding="utf-8") as f:
            code = compile(f.read(), script, "exec")
        namespace = {"__name__": "__tidemill_main__", "__file__": script}
        exec(code, namespace)
        fn = namespace.get(entry)
        if not callable(fn):
            _fail(job_dir, "MainNotFound", f"the script defines no function '{entry}'")
            return
        args = spec.get("args") or {}
        if "__tidemill_event" in args and callable(namespace.get("preprocessor")):
            # a trigger's request: preprocessor(event) gives main's arguments
            args = namespace["preprocessor"](args["__tidemill_event"])
            if hasattr(args, "__await__"):
                import asyncio

                args = asyncio.run(_await(args))
            if not isinstance(args, dict):
                raise TypeError(f"preprocessor must return a dict of main's arguments, not"
                                f" {type(args).__name__}")
        kwargs = _convert(args, spec.get("convert") or {})
        if getattr(fn, "_is_workflow", False):
            _run_workflow_round(job_dir, fn, spec.get("wac_checkpoint") or {}, kwargs)
            return
        result = fn(**_accepted_kwargs(fn, kwargs))
        if hasattr(result, "__await__"):
            import asyncio

            result = asyncio.run(_await(result))
    except BaseException as exc:  # the script's failure is the job's result, whatever it is
        sys.stdout.flush()
        _fail(job_dir, type(exc).__name__, str(exc), _user_stack(exc))
        return
    sys.stdout.flush()
    _write_result(job_dir, result)


class NondeterminismError(BaseException):
    """A BaseException so a broad `except Exception` in the workflow cannot hide it."""


def _run_workflow_round(job_dir, fn, checkpoint, kwargs):
    # Windmill's workflow-as-code: the wmill SDK replays the body with the checkpoint and
    # says what to do next; the worker acts on it. The keys the body allocates, in order,
    # let the server detect a replay that calls its steps differently (nondeterminism).
    import json

    import wmill.client as sdk

    keys: list[str] = []
    allocate = sdk.WorkflowCtx._alloc_key
    # A task's job replays the body up to its own step; the keys the workflow allocated
    # before are known, so a body that now calls other steps is caught here instead of
    # waiting forever for a step it never reaches.
    expected = checkpoint.get("_tidemill_order")

    def recording_alloc(self, name="step"):
        key = allocate(self, name)
        if expected is not None and len(keys) < len(expected) and key != expected[len(keys)]:
            raise NondeterminismError(
                f"the workflow's replay diverged at step {len(keys) + 1}: expected "
                f"{expected[len(keys)]!r}, got {key!r}. Steps must be called in the same order "
                "on every replay; put time, randomness and I/O inside step().")
        keys.append(key)
        return key

    sdk.WorkflowCtx._alloc_key = recording_alloc
    # The SDK's round for an approval drops `self_approval_disabled` (its suspend info has
    # it): keep it, so the server can refuse the starter as Windmill does.
    asked: dict = {}
    wait = sdk.WorkflowCtx._wait_for_approval

    async def recording_wait(self, *args, **kw):
        try:
            return await wait(self, *args, **kw)
        except sdk._StepSuspend as suspend:
            asked.update(suspend.dispatch_info)
            raise

    sdk.WorkflowCtx._wait_for_approval = recording_wait
    outcome = sdk._run_workflow(fn, checkpoint, kwargs)
    if outcome.get("type") == "approval" and asked.get("key") == outcome.get("key"):
        outcome["self_approval_disabled"] = bool(asked.get("self_approval_disabled"))
    sys.stdout.flush()
    _write(os.path.join(job_dir, "wac_round.json"),
           json.dumps({"round": outcome, "keys": keys}, default=_json_default))


async def _await(awaitable):
    return await awaitable


if __name__ == "__main__":
    main()
