"""/api/w/{ws}/postgres_triggers/{slot,publication}/…/{resource} and
…/is_valid_postgres_configuration/{resource}: Windmill's management of the replication
slots and publications in the database of a `postgresql` resource.

The caller acts on that database with the resource's credentials, so they must be allowed
to read the resource's secret value; changing anything there (a slot keeps WAL, a
publication decides what leaves the database) also takes the role that creates postgres
triggers (developer). Each change is in the audit log (AuditFallback: the route and the
resource path).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from psycopg import AsyncConnection

from desktop_app.api import access, inputs
from desktop_app.api.access import Action
from desktop_app.api.auth import Identity, authenticate
from desktop_app.api.inputs import ItemPath
from desktop_app.api.routes_resources import strip_prefix
from desktop_app.core import pgoutput
from desktop_app.core.errors import TidemillError, UsageError
from desktop_app.db import references
from desktop_app.triggers import pg_slots, store
from desktop_app.triggers.listeners import CONNECT_TIMEOUT_S, pg_conninfo

router = APIRouter(prefix="/api/w/{workspace}/postgres_triggers", tags=["postgres_triggers"])
_PUBLICATION_DOC = {"transaction_to_track": {"type": ["array", "null"]},
                    "table_to_track": {"type": ["array", "null"]}}


@asynccontextmanager
async def _database(request: Request, workspace: str, path: str, who: Identity,
                    changes: str | None = None) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection to the resource's database, with the caller's rights to the resource;
    `changes` (what the caller does) also needs a developer."""
    path = strip_prefix(path)
    if changes:
        access.require_role(who, "developer", changes)
    await access.require(request, who, Action.READ_SECRET, path, "resource", workspace)
    state = request.app.state.tidemill
    async with state.pool.connection() as conn:
        value = await references.resolve(
            conn, workspace, "$res:" + path,
            references.ReadsAs(who.username, who.role, in_job=who.scope == "job"),
            getattr(state.secrets, "get", None))
    conninfo = pg_conninfo(value, path, "(slot and publication management)")
    try:
        async with await AsyncConnection.connect(conninfo, autocommit=True,
                                                 connect_timeout=int(CONNECT_TIMEOUT_S)) as db:
            yield db
    except TidemillError:
        raise
    except psycopg.Error as exc:  # unreachable, wrong password, a statement refused
        raise UsageError(f"the database of {path} said: {str(exc).strip()}",
                         hint="check the resource's connection and the user's rights"
                              " (a slot needs the REPLICATION attribute)") from exc


def _name(body: dict[str, Any]) -> str:
    return pgoutput.slot_name(body.get("name"), "name")


@router.get("/is_valid_postgres_configuration/{path:path}")
async def is_valid(workspace: str, path: ItemPath, request: Request,
                   who: Identity = Depends(authenticate)) -> bool:
    """Whether the database has wal_level = logical (what replication triggers need)."""
    async with _database(request, workspace, path, who) as db:
        return await pg_slots.wal_is_logical(db)


@router.get("/slot/list/{path:path}")
async def list_slots(workspace: str, path: ItemPath, request: Request,
                     who: Identity = Depends(authenticate)) -> list[dict[str, Any]]:
    async with _database(request, workspace, path, who) as db:
        return await pg_slots.list_slots(db)


@router.post("/slot/create/{path:path}", status_code=201, response_class=PlainTextResponse,
             openapi_extra=inputs.documented({"name": inputs.STRING}, ("name",)))
async def create_slot(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    async with _database(request, workspace, path, who, "create a replication slot") as db:
        name = _name(await inputs.json_object(request))
        await pg_slots.create_slot(db, name)
    return f"replication slot {name} created"


@router.delete("/slot/delete/{path:path}", response_class=PlainTextResponse,
               openapi_extra=inputs.documented({"name": inputs.STRING}, ("name",)))
async def delete_slot(workspace: str, path: ItemPath, request: Request,
                      who: Identity = Depends(authenticate)) -> str:
    async with _database(request, workspace, path, who, "delete a replication slot") as db:
        name = _name(await inputs.json_object(request))
        await pg_slots.delete_slot(db, name, await _readers(request, workspace, path, name))
    return f"replication slot {name} deleted"


@router.get("/publication/list/{path:path}")
async def list_publications(workspace: str, path: ItemPath, request: Request,
                            who: Identity = Depends(authenticate)) -> list[str]:
    async with _database(request, workspace, path, who) as db:
        return await pg_slots.list_publications(db)


@router.get("/publication/get/{publication}/{path:path}")
async def get_publication(workspace: str, publication: str, path: ItemPath, request: Request,
                          who: Identity = Depends(authenticate)) -> dict[str, Any]:
    name = pgoutput.publication_name(publication, "publication")
    async with _database(request, workspace, path, who) as db:
        return await pg_slots.get_publication(db, name)


@router.post("/publication/create/{publication}/{path:path}", status_code=201,
             response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_PUBLICATION_DOC, ()))
async def create_publication(workspace: str, publication: str, path: ItemPath,
                             request: Request, who: Identity = Depends(authenticate)) -> str:
    name = pgoutput.publication_name(publication, "publication")
    async with _database(request, workspace, path, who, "create a publication") as db:
        spec = pgoutput.check_publication(await inputs.json_object(request))
        await pg_slots.create_publication(db, name, spec)
    return f"publication {name} created"


@router.post("/publication/update/{publication}/{path:path}", response_class=PlainTextResponse,
             openapi_extra=inputs.documented(_PUBLICATION_DOC, ()))
async def update_publication(workspace: str, publication: str, path: ItemPath,
                             request: Request, who: Identity = Depends(authenticate)) -> str:
    name = pgoutput.publication_name(publication, "publication")
    async with _database(request, workspace, path, who, "change a publication") as db:
        spec = pgoutput.check_publication(await inputs.json_object(request))
        await pg_slots.update_publication(db, name, spec)
    return f"publication {name} updated"


@router.delete("/publication/delete/{publication}/{path:path}",
               response_class=PlainTextResponse)
async def delete_publication(workspace: str, publication: str, path: ItemPath,
                             request: Request, who: Identity = Depends(authenticate)) -> str:
    name = pgoutput.publication_name(publication, "publication")
    async with _database(request, workspace, path, who, "delete a publication") as db:
        await pg_slots.delete_publication(db, name)
    return f"publication {name} deleted"


async def _readers(request: Request, workspace: str, path: str, slot: str) -> list[str]:
    """The workspace's postgres triggers that read `slot` on this resource."""
    async with request.app.state.tidemill.pool.connection() as conn:
        rows = await store.list_all(conn, workspace, "postgres")
    return [r["path"] for r in rows
            if (r["config"] or {}).get("replication_slot_name") == slot
            and strip_prefix(str((r["config"] or {}).get("postgres_resource_path")))
            == strip_prefix(path)]

