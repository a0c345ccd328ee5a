"""The one HTTP client that the CLI and the GUI use to reach a daemon.

Async (httpx): the CLI drives it with asyncio.run, the GUI inside Qt's loop with
qasync. Errors come back as ClientError carrying the server's message and hint.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8765"


class ClientError(Exception):
    """The daemon refused a request or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None,
                 field: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.hint = hint
        self.field = field
        self.body = body


@dataclass
class Connection:
    url: str
    token: str | None
    workspace: str = "main"


def connection_from_env(home: Path | None = None) -> Connection:
    """TIDEMILL_URL / TIDEMILL_TOKEN win; else what the local daemon wrote in its home."""
    from desktop_app.daemon.home import HomeLayout, default_home

    layout = HomeLayout(home or default_home())
    url = os.environ.get("TIDEMILL_URL")
    if not url:
        try:
            url = json.loads(layout.daemon_info.read_text())["url"]
        except (OSError, ValueError, KeyError):
            url = DEFAULT_URL
    token = os.environ.get("TIDEMILL_TOKEN")
    if not token:
        try:
            token = layout.admin_token.read_text().strip() or None
        except OSError:
            token = None
    return Connection(url=url.rstrip("/"), token=token,
                      workspace=os.environ.get("TIDEMILL_WORKSPACE", "main"))


@dataclass
class RunOutcome:
    job_id: str
    success: bool
    result: Any


class TidemillClient:
    def __init__(self, conn: Connection, *, timeout: float = 900.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.conn = conn
        headers = {"Authorization": f"Bearer {conn.token}"} if conn.token else {}
        # Plain-HTTP daemons (the local one) need no CA bundle: loading it costs ~50 ms of
        # every start of the CLI and the desktop app.
        verify = not conn.url.startswith("http://")
        self._http = httpx.AsyncClient(base_url=conn.url, headers=headers, timeout=timeout,
                                       transport=transport, verify=verify)

    async def __aenter__(self) -> TidemillClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _w(self, rest: str) -> str:
        return f"/api/w/{self.conn.workspace}/{rest}"

    async def _request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, url, **kw)
        except httpx.ConnectError as exc:
            raise ClientError(
                f"cannot reach the Tidemill daemon at {self.conn.url}",
                hint="start it with `tidemill daemon start` (or set TIDEMILL_URL)") from exc
        except httpx.TimeoutException as exc:
            raise ClientError(f"the daemon at {self.conn.url} did not answer in time") from exc
        if resp.status_code >= 400:
            raise _error_from(resp)
        return resp

    # -- meta ------------------------------------------------------------------------
    async def version(self) -> str:
        return (await self._request("GET", "/api/version")).text

    async def health(self) -> dict[str, Any]:
        """`{"status": "ok"|"degraded", "database": {"state": "up"|"down"|"restarting",
        "last_error", "down_for_s", "restarts", …}}`; a 503 (database down) is an answer
        here, not an error."""
        try:
            resp = await self._http.get("/api/health")
        except httpx.ConnectError as exc:
            raise ClientError(f"cannot reach the Tidemill daemon at {self.conn.url}",
                              hint="start it with `tidemill daemon start`") from exc
        except httpx.TimeoutException as exc:
            raise ClientError(f"the daemon at {self.conn.url} did not answer in time") from exc
        if resp.status_code not in (200, 503):
            raise _error_from(resp)
        return dict(resp.json())

    async def whoami(self) -> dict[str, Any]:
        """The caller: username, email, role, is_admin, operator (bool), folders…; the GUI
        hides editors when `operator` is true (the API refuses them anyway)."""
        return (await self._request("GET", self._w("users/whoami"))).json()

    async def create_token(self, label: str = "", scope: str = "admin",
                           username: str | None = None) -> str:
        body: dict[str, Any] = {"label": label, "scope": scope}
        if username:
            body["username"] = username  # admins: a token for another user
        return (await self._request("POST", "/api/users/tokens/create", json=body)).text

    # -- users, folders, audit ---------------------------------------------------------
    async def list_users(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("users/list"))).json()

    async def add_user(self, username: str, role: str = "developer",
                       email: str | None = None) -> str:
        body = {"username": username, "role": role, "email": email}
        return (await self._request("POST", self._w("users/add"), json=body)).text

    async def set_role(self, username: str, role: str) -> str:
        return (await self._request("POST", self._w(f"users/update/{quote(username)}"),
                                    json={"role": role})).text

    async def delete_user(self, username: str) -> str:
        return (await self._request("DELETE", self._w(f"users/delete/{quote(username)}"))).text

    async def create_folder(self, name: str, *, summary: str | None = None,
                            owners: list[str] | None = None,
                            extra_perms: dict[str, bool] | None = None) -> str:
        body = {"name": name, "summary": summary, "owners": owners or [],
                "extra_perms": extra_perms or {}}
        return (await self._request("POST", self._w("folders/create"), json=body)).text

    async def update_folder(self, name: str, **fields: Any) -> str:
        """fields: summary, display_name, owners, extra_perms ({"u/bob": true|false})."""
        return (await self._request("POST", self._w(f"folders/update/{quote(name)}"),
                                    json=fields)).text

    async def get_folder(self, name: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"folders/get/{quote(name)}"))).json()

    async def list_folders(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("folders/list"))).json()

    async def delete_folder(self, name: str) -> str:
        return (await self._request("DELETE", self._w(f"folders/delete/{quote(name)}"))).text

    async def list_audit(self, **filters: Any) -> list[dict[str, Any]]:
        """filters: username, operation (a prefix), resource, action_kind, per_page, page."""
        params = {k: v for k, v in filters.items() if v is not None}
        return (await self._request("GET", self._w("audit/list"), params=params)).json()

    # -- scripts ---------------------------------------------------------------------
    async def deploy_script(self, path: str, content: str, language: str, *,
                            summary: str = "", description: str = "",
                            **fields: Any) -> str:
        body = {"path": path, "content": content, "language": language, "summary": summary,
                "description": description, **fields}
        return (await self._request("POST", self._w("scripts/create"), json=body)).text

    async def get_script(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"scripts/get/p/{quote(path)}"))).json()

    async def get_script_form(self, path: str) -> dict[str, Any]:
        """Summary, description and argument schema without the code (operators too)."""
        return (await self._request("GET", self._w(f"scripts/get_form/p/{quote(path)}"))).json()

    async def list_scripts(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("scripts/list"))).json()

    # -- flows -----------------------------------------------------------------------
    async def deploy_flow(self, path: str, flow: dict[str, Any]) -> str:
        body = {**flow, "path": path}
        return (await self._request("POST", self._w("flows/create"), json=body)).text

    async def get_flow(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"flows/get/{quote(path)}"))).json()

    async def get_flow_form(self, path: str) -> dict[str, Any]:
        """Summary, description and input schema without the steps (operators too)."""
        return (await self._request("GET", self._w(f"flows/get_form/{quote(path)}"))).json()

    async def list_flows(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("flows/list"))).json()

    async def kind_of(self, path: str) -> str | None:
        """'script' or 'flow' for what lives at `path`, None if nothing does (a script first
        when both do: ask `kinds_at` to tell the two apart)."""
        kinds = await self.kinds_at(path)
        return kinds[0] if kinds else None

    async def kinds_at(self, path: str) -> list[str]:
        """What lives at `path`: [], ['script'], ['flow'] or both (Windmill keeps the two
        kinds apart, so one path may hold one of each)."""
        kinds = []
        if (await self._request("GET", self._w(f"scripts/exists/p/{quote(path)}"))).json():
            kinds.append("script")
        if (await self._request("GET", self._w(f"flows/exists/{quote(path)}"))).json():
            kinds.append("flow")
        return kinds

    async def archive_script(self, path: str) -> str:
        """Windmill's delete of a script: it no longer lists or runs; versions and runs stay."""
        return (await self._request("POST", self._w(f"scripts/archive/p/{quote(path)}"))).text

    async def archive_flow(self, path: str) -> str:
        return (await self._request("POST", self._w(f"flows/archive/{quote(path)}"))).text

    # -- apps ------------------------------------------------------------------------
    async def create_app(self, path: str, document: dict[str, Any]) -> str:
        body = {**document, "path": path}
        return (await self._request("POST", self._w("apps/create"), json=body)).text

    async def update_app(self, path: str, document: dict[str, Any]) -> str:
        return (await self._request("POST", self._w(f"apps/update/{quote(path)}"),
                                    json=document)).text

    async def save_app(self, path: str, document: dict[str, Any]) -> str:
        """Create the app at `path`, or store a new version of it."""
        if await self.app_exists(path):
            return await self.update_app(path, {**document, "path": path})
        return await self.create_app(path, document)

    async def get_app(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"apps/get/p/{quote(path)}"))).json()

    async def app_exists(self, path: str) -> bool:
        return bool((await self._request("GET", self._w(f"apps/exists/{quote(path)}"))).json())

    async def list_apps(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("apps/list"))).json()

    async def delete_app(self, path: str) -> str:
        return (await self._request("DELETE", self._w(f"apps/delete/{quote(path)}"))).text

    async def execute_component(self, app_path: str, runnable_id: str,
                                args: dict[str, Any]) -> RunOutcome:
        """Run one runnable of the deployed app and wait for its result."""
        resp = await self._request(
            "POST", self._w(f"apps_u/execute_component/{quote(app_path)}"),
            params={"wait": "true"}, json={"component": runnable_id, "args": args})
        return RunOutcome(resp.headers.get("x-tidemill-job-id", ""),
                          resp.headers.get("x-tidemill-job-status", "success") == "success",
                          resp.json())

    # -- jobs ------------------------------------------------------------------------
    async def run_async(self, path: str, args: dict[str, Any], kind: str = "script") -> str:
        p = "p" if kind == "script" else "f"
        return (await self._request("POST", self._w(f"jobs/run/{p}/{quote(path)}"),
                                    json=args)).text

    async def run_wait(self, path: str, args: dict[str, Any], kind: str = "script") -> RunOutcome:
        p = "p" if kind == "script" else "f"
        resp = await self._request("POST", self._w(f"jobs/run_wait_result/{p}/{quote(path)}"),
                                   json=args)
        return RunOutcome(resp.headers.get("x-tidemill-job-id", ""),
                          resp.headers.get("x-tidemill-job-status", "success") == "success",
                          resp.json())

    async def run_preview(self, content: str, language: str, args: dict[str, Any]) -> RunOutcome:
        body = {"content": content, "language": language, "args": args}
        resp = await self._request("POST", self._w("jobs/run_wait_result/preview"), json=body)
        return RunOutcome(resp.headers.get("x-tidemill-job-id", ""),
                          resp.headers.get("x-tidemill-job-status", "success") == "success",
                          resp.json())

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return (await self._request("GET", self._w("jobs/list"), params=params)).json()

    async def search_logs(self, text: str, **filters: Any) -> list[dict[str, Any]]:
        """Jobs whose log contains `text` (any case), newest first, each with `log_match`
        (its first such line); the other filters are `list_jobs`'s."""
        return await self.list_jobs(log_search=text, **filters)

    async def save_logs(self, job_id: str, dest: Path) -> int:
        """Write the job's whole log to `dest` as it streams in; the bytes written."""
        url = self._w(f"jobs_u/get_logs/{job_id}")
        written = 0
        async with self._http.stream("GET", url, params={"download": "true"}) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise _error_from(resp)
            with open(dest, "wb") as out:
                async for part in resp.aiter_bytes():
                    out.write(part)
                    written += len(part)
        return written

    async def prune_jobs(self) -> dict[str, Any]:
        """Delete the finished jobs the workspace's retention policy no longer keeps."""
        return (await self._request("POST", self._w("jobs/prune"))).json()

    async def database_usage(self) -> dict[str, Any]:
        """`{"database_bytes", "tables": [{"table", "total_bytes", "table_bytes",
        "rows_estimate"}]}`, largest first."""
        return (await self._request("GET", "/api/database/usage")).json()

    async def get_job(self, job_id: str, logs: bool = True) -> dict[str, Any]:
        params = None if logs else {"no_logs": "true"}
        return (await self._request("GET", self._w(f"jobs_u/get/{job_id}"),
                                    params=params)).json()

    async def get_logs(self, job_id: str) -> str:
        return (await self._request("GET", self._w(f"jobs_u/get_logs/{job_id}"))).text

    async def result_maybe(self, job_id: str) -> dict[str, Any]:
        return (await self._request(
            "GET", self._w(f"jobs_u/completed/get_result_maybe/{job_id}"))).json()

    async def resume_urls(self, step_job_id: str, resume_id: int = 0,
                          approver: str | None = None) -> dict[str, str]:
        """Signed {approvalPage, resume, cancel} URLs for the suspended step's job."""
        params = {"approver": approver} if approver else None
        return (await self._request("GET", self._w(f"jobs/resume_urls/{step_job_id}/{resume_id}"),
                                    params=params)).json()

    async def answer_approval(self, step_job_id: str, approve: bool, payload: Any = None,
                              approver: str | None = None) -> Any:
        """Approve (resume, with `payload` as the resume value) or reject (cancel) the flow
        waiting after the step whose job is `step_job_id`."""
        urls = await self.resume_urls(step_job_id, approver=approver)
        resp = await self._request("POST", urls["resume" if approve else "cancel"],
                                   json=payload)
        return resp.json()

    async def cancel(self, job_id: str, reason: str | None = None) -> str:
        return (await self._request("POST", self._w(f"jobs_u/queue/cancel/{job_id}"),
                                    json={"reason": reason})).text

    # -- the script editor -------------------------------------------------------------
    async def parse_schema(self, content: str, language: str,
                           schema: dict[str, Any] | None = None) -> dict[str, Any]:
        """{schema, has_preprocessor, no_main_func} of code that is not deployed."""
        body = {"content": content, "language": language, "schema": schema}
        return (await self._request("POST", self._w("scripts/parse_schema"), json=body)).json()

    async def script_history(self, path: str) -> list[dict[str, Any]]:
        """Versions of a script, newest first: {script_hash, deployment_msg, created_at}."""
        return (await self._request("GET", self._w(f"scripts/history/p/{quote(path)}"))).json()

    async def get_script_by_hash(self, hash_: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"scripts/get/h/{quote(hash_)}"))).json()

    async def run_preview_async(self, content: str, language: str, args: dict[str, Any],
                                path: str | None = None) -> str:
        """Queue a test run of unsaved code; returns the job id (follow it with job_updates)."""
        body = {"content": content, "language": language, "args": args, "path": path}
        return (await self._request("POST", self._w("jobs/run/preview"), json=body)).text

    async def job_updates(self, job_id: str, log_offset: int = 0
                          ) -> AsyncGenerator[dict[str, Any], None]:
        """The job's server-sent updates ({new_logs, running, completed, job…}) until it ends."""
        url = self._w(f"jobs_u/getupdate_sse/{job_id}")
        try:
            async with self._http.stream("GET", url, params={"log_offset": log_offset},
                                         timeout=httpx.Timeout(None, connect=10)) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error_from(resp)
                async for line in resp.aiter_lines():
                    if line.startswith("data: "):
                        yield json.loads(line[6:])
        except httpx.ConnectError as exc:
            raise ClientError(f"cannot reach the Tidemill daemon at {self.conn.url}",
                              hint="start it with `tidemill daemon start`") from exc
        except httpx.TransportError as exc:  # the daemon went away mid-stream
            raise ClientError(f"the daemon at {self.conn.url} closed the live log stream") from exc

    async def list_resources(self, resource_type: str | None = None) -> list[dict[str, Any]]:
        params = {"resource_type": resource_type} if resource_type else {}
        return (await self._request("GET", self._w("resources/list"), params=params)).json()

    async def get_resource_type(self, name: str) -> dict[str, Any] | None:
        """{name, schema, description} of a resource type, None if the workspace has none."""
        try:
            return (await self._request("GET", self._w(f"resources/type/get/{quote(name)}"))).json()
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise

    async def create_resource(self, path: str, resource_type: str, value: Any,
                              description: str = "") -> str:
        body = {"path": path, "resource_type": resource_type, "value": value,
                "description": description}
        return (await self._request("POST", self._w("resources/create"), json=body)).text

    async def get_resource(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"resources/get/{quote(path)}"))).json()

    async def resource_value(self, path: str) -> Any:
        """The value with its secret fields read from the daemon's keyring."""
        return (await self._request("GET", self._w(f"resources/get_value/{quote(path)}"))).json()

    async def update_resource(self, path: str, value: Any, description: str | None = None) -> str:
        body: dict[str, Any] = {"value": value}
        if description is not None:
            body["description"] = description
        return (await self._request("POST", self._w(f"resources/update/{quote(path)}"),
                                    json=body)).text

    async def list_resource_types(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("resources/type/list"))).json()

    async def list_variables(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("variables/list"))).json()

    async def variable_value(self, path: str) -> str:
        """A variable's value; a secret one is read from the daemon's keyring."""
        return str((await self._request(
            "GET", self._w(f"variables/get_value/{quote(path)}"))).json())

    async def create_variable(self, path: str, value: str, is_secret: bool = False,
                              description: str = "") -> str:
        body = {"path": path, "value": value, "is_secret": is_secret, "description": description}
        return (await self._request("POST", self._w("variables/create"), json=body)).text

    async def update_variable(self, path: str, **fields: Any) -> str:
        return (await self._request("POST", self._w(f"variables/update/{quote(path)}"),
                                    json=fields)).text

    # -- schedules -------------------------------------------------------------------
    async def list_schedules(self) -> list[dict[str, Any]]:
        return (await self._request("GET", self._w("schedules/list"))).json()

    async def get_schedule(self, path: str) -> dict[str, Any]:
        return (await self._request("GET", self._w(f"schedules/get/{quote(path)}"))).json()

    async def create_schedule(self, body: dict[str, Any]) -> str:
        return (await self._request("POST", self._w("schedules/create"), json=body)).text

    async def update_schedule(self, path: str, body: dict[str, Any]) -> str:
        return (await self._request("POST", self._w(f"schedules/update/{quote(path)}"),
                                    json=body)).text

    async def delete_schedule(self, path: str) -> str:
        return (await self._request("DELETE", self._w(f"schedules/delete/{quote(path)}"))).text

    async def set_schedule_enabled(self, path: str, enabled: bool) -> str:
        return (await self._request("POST", self._w(f"schedules/setenabled/{quote(path)}"),
                                    json={"enabled": enabled})).text

    async def schedule_preview(self, schedule: str, timezone: str, count: int = 5) -> list[str]:
        """The next `count` fire times (UTC ISO 8601) of a cron expression in `timezone`."""
        body = {"schedule": schedule, "timezone": timezone, "count": count}
        return (await self._request("POST", self._w("schedules/preview"), json=body)).json()

    # -- workers ---------------------------------------------------------------------
    async def list_workers(self) -> list[dict[str, Any]]:
        """The workers alive in the last minute, on every machine of the database."""
        return (await self._request("GET", "/api/workers/list")).json()

    async def list_tokens(self) -> list[dict[str, Any]]:
        """Your API tokens (labels and prefixes, never the tokens)."""
        return (await self._request("GET", "/api/users/tokens/list")).json()

    async def worker_status(self) -> dict[str, Any]:
        return (await self._request("GET", "/api/workers/status")).json()

    async def pause_workers(self, paused: bool = True) -> str:
        return (await self._request("POST", f"/api/workers/{'pause' if paused else 'resume'}")).text

    # -- triggers --------------------------------------------------------------------
    #: `kind`: websocket, postgres, mqtt, nats, email (Windmill's {kind}_triggers endpoints)
    async def list_all_triggers(self) -> list[dict[str, Any]]:
        """Every trigger (HTTP routes too): kind, path, target, mode, status, last error."""
        return list((await self._request("GET", self._w("triggers/list"))).json())

    async def list_triggers(self, kind: str) -> list[dict[str, Any]]:
        return list((await self._request("GET", self._w(f"{kind}_triggers/list"))).json())

    async def get_trigger(self, kind: str, path: str) -> dict[str, Any]:
        return dict((await self._request("GET", self._w(f"{kind}_triggers/get/{path}"))).json())

    async def create_trigger(self, kind: str, body: dict[str, Any]) -> str:
        return (await self._request("POST", self._w(f"{kind}_triggers/create"), json=body)).text

    async def update_trigger(self, kind: str, path: str, body: dict[str, Any]) -> str:
        return (await self._request("POST", self._w(f"{kind}_triggers/update/{path}"),
                                    json=body)).text

    async def delete_trigger(self, kind: str, path: str) -> str:
        return (await self._request("DELETE", self._w(f"{kind}_triggers/delete/{path}"))).text

    async def set_trigger_enabled(self, kind: str, path: str, enabled: bool) -> str:
        if kind == "http":
            return (await self._request("POST", self._w(f"http_triggers/setmode/{path}"),
                                        json={"mode": "enabled" if enabled else
                                              "disabled"})).text
        return (await self._request("POST", self._w(f"{kind}_triggers/setenabled/{path}"),
                                    json={"enabled": enabled})).text

    # -- Git sync --------------------------------------------------------------------
    async def sync(self, action: str, remote: str | None = None) -> dict[str, Any]:
        """`action`: push or pull; a conflict comes back as ClientError (409)."""
        return (await self._request("POST", self._w(f"sync/{action}"),
                                    json={"remote": remote})).json()

    async def sync_status(self, wait: bool = False) -> dict[str, Any]:
        return (await self._request("GET", self._w("sync/status"),
                                    params={"wait": str(wait).lower()})).json()

    async def import_files(self, files: dict[str, str]) -> dict[str, Any]:
        return (await self._request("POST", self._w("sync/import"), json={"files": files})).json()

    async def set_secret(self, path: str, value: str, field: str | None = None) -> str:
        body = {"path": path, "value": value, "field": field}
        return str((await self._request("POST", self._w("sync/secret"), json=body)).json())


def _error_from(resp: httpx.Response) -> ClientError:
    try:
        body = resp.json()
    except ValueError:
        return ClientError(resp.text or f"HTTP {resp.status_code}", status=resp.status_code)
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        return ClientError(str(err.get("message")), status=resp.status_code, hint=err.get("hint"),
                           field=err.get("field"), body=body)
    return ClientError(str(body), status=resp.status_code, body=body)
