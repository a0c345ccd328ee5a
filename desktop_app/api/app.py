"""The FastAPI application: Windmill's paths under /api, plus error translation."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import desktop_app
from desktop_app.api import (
    approval_page,
    routes_apps,
    routes_audit,
    routes_dependencies,
    routes_durable,
    routes_event_triggers,
    routes_flows,
    routes_folders,
    routes_http_triggers,
    routes_jobs,
    routes_pg_replication,
    routes_progress,
    routes_rerun,
    routes_resources,
    routes_retention,
    routes_schedules,
    routes_scripts,
    routes_users,
    routes_variables,
    routes_workers,
    routes_workspace_settings,
    routes_workspaces,
)
from desktop_app.api import routes_gitsync as gitsync
from desktop_app.api.audit import AuditFallback
from desktop_app.api.host_check import HostCheck
from desktop_app.api.state import ApiState
from desktop_app.core.errors import ArgumentError, ScriptSyntaxError, TidemillError


def create_app(state: ApiState) -> FastAPI:
    app = FastAPI(
        title="Tidemill",
        version=desktop_app.__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.tidemill = state

    @app.exception_handler(TidemillError)
    async def tidemill_error(_request: Request, exc: TidemillError) -> JSONResponse:
        # Windmill answers errors as text; we add a JSON body with the details a client
        # (the CLI, the GUI) shows: which field or line is wrong and what to do.
        body: dict[str, Any] = {"error": {"name": type(exc).__name__, "message": exc.message}}
        if exc.hint:
            body["error"]["hint"] = exc.hint
        if isinstance(exc, ArgumentError) and exc.field:
            body["error"]["field"] = exc.field
        if isinstance(exc, ScriptSyntaxError) and exc.line:
            body["error"]["line"] = exc.line
        return JSONResponse(body, status_code=exc.http_status)

    @app.exception_handler(psycopg.errors.UniqueViolation)
    async def duplicate(_request: Request, exc: psycopg.errors.UniqueViolation) -> JSONResponse:
        detail = exc.diag.message_detail or "an item with this key already exists"
        return JSONResponse({"error": {"name": "AlreadyExists", "message": detail}},
                            status_code=400)

    @app.exception_handler(psycopg.DataError)
    async def bad_value(_request: Request, exc: psycopg.DataError) -> JSONResponse:
        # A value PostgreSQL cannot take (a NUL character, a malformed date, an out-of-range
        # number) came from the request: the client's to fix.
        message = exc.diag.message_primary or str(exc).splitlines()[0]
        return JSONResponse({"error": {"name": "BadRequest",
                                       "message": f"invalid value in the request: {message}"}},
                            status_code=400)

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(_request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # The daemon reconnects by itself; the client should simply retry.
        return JSONResponse({"error": {"name": "DatabaseUnavailable",
                                       "message": "the database is unavailable right now; retry"
                                                  " in a moment"}},
                            status_code=503, headers={"retry-after": "1"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return JSONResponse({"error": {"name": "HttpError", "message": message}},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return JSONResponse({"error": {"name": "BadRequest", "message": problems}}, status_code=400)

    @app.get("/api/version", response_class=PlainTextResponse, tags=["meta"])
    async def version() -> str:
        # "v<major>.<minor>" first: wmill reads it as Windmill's version (see __init__).
        return f"v{desktop_app.WINDMILL_API_VERSION} (Tidemill {desktop_app.__version__})"

    @app.get("/api/health", tags=["meta"])
    async def health() -> JSONResponse:
        """The daemon answers; its database's state (the daemon's watch of it, or a query
        when there is none). 503 while the database is down, so a probe needs no parsing."""
        if state.database_health is not None:
            database = state.database_health.as_dict()
        else:
            try:
                async with state.pool.connection(timeout=5) as conn:
                    await conn.execute("SELECT 1")
                database = {"state": "up"}
            except psycopg.OperationalError as exc:
                database = {"state": "down", "last_error": str(exc).strip().splitlines()[0]}
        up = database["state"] == "up"
        return JSONResponse({"status": "ok" if up else "degraded", "database": database},
                            status_code=200 if up else 503)

    app.include_router(routes_users.router)
    app.include_router(routes_users.global_router)
    app.include_router(routes_folders.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_scripts.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_rerun.router)
    app.include_router(routes_dependencies.router)
    app.include_router(routes_flows.router)
    app.include_router(approval_page.router)
    app.include_router(routes_durable.router)
    app.include_router(routes_progress.router)
    app.include_router(routes_variables.router)
    app.include_router(routes_resources.router)
    app.include_router(routes_schedules.router)
    app.include_router(routes_schedules.global_router)
    app.include_router(routes_http_triggers.router)
    app.include_router(routes_http_triggers.serve_router)
    app.include_router(routes_apps.router)
    app.include_router(routes_pg_replication.router)  # before the triggers' {path:path}
    for router in routes_event_triggers.routers:
        app.include_router(router)
    app.include_router(routes_event_triggers.overview_router)
    app.include_router(routes_workers.router)
    app.include_router(routes_workspace_settings.router)
    app.include_router(routes_workspaces.router)
    app.include_router(routes_retention.router)
    app.include_router(routes_retention.global_router)
    app.include_router(gitsync.router)
    app.include_router(gitsync.tarball_router)
    app.add_middleware(AuditFallback)
    app.add_middleware(HostCheck, allowed=state.allowed_hosts)  # outermost: first to run
    return app
