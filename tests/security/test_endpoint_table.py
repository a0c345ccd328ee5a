"""Every endpoint, for each of {no token, run-only token, operator, developer without grants}, against
a table of expected statuses.

The endpoints come from the app's own OpenAPI spec at test time, so a new endpoint without
a row fails here until someone decides who may call it. The API is served in-process on
this test's database (the `api_server` fixture): ~650 requests, no daemon.

The callers hold no grant on the folder `t`, where every item lives (owned by the admin);
the run-only token's scope is `run:f/t/*`. Path parameters name items that exist, so an
answer is the permission check's, not a 404. No worker runs: a run-only token's
`run_wait_result` on its own glob waits for the (short) sync timeout and answers 504.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from desktop_app.api.auth import RUN_SCOPE_ROUTES
from tests.support.api_server import ApiServer

CALLERS = ("none", "run", "operator", "developer")

#: method, path template, then the status for each caller in CALLERS' order.
EXPECTED = """
#      endpoint                                                              none  run   op  dev
# a developer without grants gets the archive of what they may see (here: nothing)
GET    /api/database/usage                                                   401  403  403  403
GET    /api/health                                                           200  200  200  200
DELETE /api/r/{route_path}                                                   404  404  404  404
GET    /api/r/{route_path}                                                   404  404  404  404
PATCH  /api/r/{route_path}                                                   404  404  404  404
POST   /api/r/{route_path}                                                   404  404  404  404
PUT    /api/r/{route_path}                                                   404  404  404  404
POST   /api/schedules/preview                                                401  403  400  400
POST   /api/users/tokens/create                                              401  403  201  201
GET    /api/users/tokens/list                                                401  403  200  200
GET    /api/users/whoami                                                     401  403  200  200
GET    /api/version                                                          200  200  200  200
POST   /api/w/{workspace}/apps/create                                        401  403  400  400
DELETE /api/w/{workspace}/apps/delete/{path}                                 401  403  403  403
GET    /api/w/{workspace}/apps/exists/{path}                                 401  403  403  403
GET    /api/w/{workspace}/apps/get/p/{path}                                  401  404  403  403
GET    /api/w/{workspace}/apps/list                                          401  403  200  200
POST   /api/w/{workspace}/apps/update/{path}                                 401  403  403  403
POST   /api/w/{workspace}/apps_u/execute_component/{path}                    401  400  400  400
GET    /api/w/{workspace}/audit/get/{id_}                                    401  403  403  403
GET    /api/w/{workspace}/audit/list                                         401  403  403  403
POST   /api/w/{workspace}/email_triggers/create                              401  403  403  400
DELETE /api/w/{workspace}/email_triggers/delete/{path}                       401  403  403  403
GET    /api/w/{workspace}/email_triggers/exists/{path}                       401  403  403  403
GET    /api/w/{workspace}/email_triggers/get/{path}                          401  403  403  403
GET    /api/w/{workspace}/email_triggers/list                                401  403  200  200
POST   /api/w/{workspace}/email_triggers/setenabled/{path}                   401  403  400  400
POST   /api/w/{workspace}/email_triggers/setmode/{path}                      401  403  400  400
POST   /api/w/{workspace}/email_triggers/update/{path}                       401  403  403  403
POST   /api/w/{workspace}/flows/archive/{path}                               401  403  403  403
POST   /api/w/{workspace}/flows/create                                       401  403  403  400
DELETE /api/w/{workspace}/flows/delete/{path}                                401  403  403  403
GET    /api/w/{workspace}/flows/exists/{path}                                401  403  403  403
GET    /api/w/{workspace}/flows/get/{path}                                   401  403  403  403
GET    /api/w/{workspace}/flows/get_form/{path}                              401  403  403  403
GET    /api/w/{workspace}/flows/history/p/{path}                             401  403  403  403
GET    /api/w/{workspace}/flows/list                                         401  403  200  200
POST   /api/w/{workspace}/flows/update/{path}                                401  403  403  403
POST   /api/w/{workspace}/folders/create                                     401  403  403  400
DELETE /api/w/{workspace}/folders/delete/{name}                              401  403  403  403
GET    /api/w/{workspace}/folders/get/{name}                                 401  403  403  403
GET    /api/w/{workspace}/folders/list                                       401  403  200  200
POST   /api/w/{workspace}/folders/update/{name}                              401  403  403  403
GET    /api/w/{workspace}/groups/list                                        401  403  200  200
POST   /api/w/{workspace}/http_triggers/create                               401  403  403  400
DELETE /api/w/{workspace}/http_triggers/delete/{path}                        401  403  403  403
GET    /api/w/{workspace}/http_triggers/exists/{path}                        401  403  403  403
GET    /api/w/{workspace}/http_triggers/get/{path}                           401  403  403  403
GET    /api/w/{workspace}/http_triggers/list                                 401  403  200  200
POST   /api/w/{workspace}/http_triggers/setmode/{path}                       401  403  403  403
POST   /api/w/{workspace}/http_triggers/update/{path}                        401  403  403  403
GET    /api/w/{workspace}/job_metrics/get_progress/{job_id}                  401  403  403  403
POST   /api/w/{workspace}/job_metrics/set_progress/{job_id}                  401  403  400  400
GET    /api/w/{workspace}/jobs/completed/list                                401  403  200  200
GET    /api/w/{workspace}/jobs/list                                          401  403  200  200
POST   /api/w/{workspace}/jobs/prune                                         401  403  403  403
GET    /api/w/{workspace}/jobs/queue/list                                    401  403  200  200
POST   /api/w/{workspace}/jobs/restart/f/{job_id}/from/{step_id}             401  403  403  403
GET    /api/w/{workspace}/jobs/resume_urls/{job_id}/{resume_id}              401  403  403  403
POST   /api/w/{workspace}/jobs/run/batch_rerun_jobs                          401  403  400  400
POST   /api/w/{workspace}/jobs/run/dependencies_async                        401  403  403  400
POST   /api/w/{workspace}/jobs/run/f/{path}                                  401  201  403  403
POST   /api/w/{workspace}/jobs/run/flow_dependencies_async                   401  403  403  400
POST   /api/w/{workspace}/jobs/run/h/{hash_}                                 401  201  403  403
POST   /api/w/{workspace}/jobs/run/p/{path}                                  401  201  403  403
POST   /api/w/{workspace}/jobs/run/preview                                   401  403  403  400
POST   /api/w/{workspace}/jobs/run/preview_flow                              401  403  403  400
POST   /api/w/{workspace}/jobs/run_wait_result/f/{path}                      401  200  403  403
POST   /api/w/{workspace}/jobs/run_wait_result/h/{hash_}                     401  504  403  403
GET    /api/w/{workspace}/jobs/run_wait_result/p/{path}                      401  504  403  403
POST   /api/w/{workspace}/jobs/run_wait_result/p/{path}                      401  504  403  403
POST   /api/w/{workspace}/jobs/run_wait_result/preview                       401  403  403  400
POST   /api/w/{workspace}/jobs/wac/inline_checkpoint/{job_id}                401  403  400  400
GET    /api/w/{workspace}/jobs/wac_approval_urls/{job_id}/{step_key}         401  403  403  403
GET    /api/w/{workspace}/jobs_u/cancel/{job_id}/{resume_id}/{signature}     403  403  403  403
POST   /api/w/{workspace}/jobs_u/cancel/{job_id}/{resume_id}/{signature}     403  403  403  403
GET    /api/w/{workspace}/jobs_u/completed/get/{job_id}                      401  403  403  403
GET    /api/w/{workspace}/jobs_u/completed/get_result/{job_id}               401  403  403  403
GET    /api/w/{workspace}/jobs_u/completed/get_result_maybe/{job_id}         401  403  403  403
GET    /api/w/{workspace}/jobs_u/get/{job_id}                                401  403  403  403
GET    /api/w/{workspace}/jobs_u/get_logs/{job_id}                           401  403  403  403
GET    /api/w/{workspace}/jobs_u/getupdate/{job_id}                          401  403  403  403
GET    /api/w/{workspace}/jobs_u/getupdate_sse/{job_id}                      401  403  403  403
POST   /api/w/{workspace}/jobs_u/queue/cancel/{job_id}                       401  403  403  403
GET    /api/w/{workspace}/jobs_u/resume/{job_id}/{resume_id}/{signature}     403  403  403  403
POST   /api/w/{workspace}/jobs_u/resume/{job_id}/{resume_id}/{signature}     403  403  403  403
GET    /api/w/{workspace}/jobs_u/wac_cancel/{job_id}/{step_key}/{signature}  403  403  403  403
POST   /api/w/{workspace}/jobs_u/wac_cancel/{job_id}/{step_key}/{signature}  403  403  403  403
GET    /api/w/{workspace}/jobs_u/wac_resume/{job_id}/{step_key}/{signature}  403  403  403  403
POST   /api/w/{workspace}/jobs_u/wac_resume/{job_id}/{step_key}/{signature}  403  403  403  403
POST   /api/w/{workspace}/mqtt_triggers/create                               401  403  403  400
DELETE /api/w/{workspace}/mqtt_triggers/delete/{path}                        401  403  403  403
GET    /api/w/{workspace}/mqtt_triggers/exists/{path}                        401  403  403  403
GET    /api/w/{workspace}/mqtt_triggers/get/{path}                           401  403  403  403
GET    /api/w/{workspace}/mqtt_triggers/list                                 401  403  200  200
POST   /api/w/{workspace}/mqtt_triggers/setenabled/{path}                    401  403  400  400
POST   /api/w/{workspace}/mqtt_triggers/setmode/{path}                       401  403  400  400
POST   /api/w/{workspace}/mqtt_triggers/update/{path}                        401  403  403  403
POST   /api/w/{workspace}/nats_triggers/create                               401  403  403  400
DELETE /api/w/{workspace}/nats_triggers/delete/{path}                        401  403  403  403
GET    /api/w/{workspace}/nats_triggers/exists/{path}                        401  403  403  403
GET    /api/w/{workspace}/nats_triggers/get/{path}                           401  403  403  403
GET    /api/w/{workspace}/nats_triggers/list                                 401  403  200  200
POST   /api/w/{workspace}/nats_triggers/setenabled/{path}                    401  403  400  400
POST   /api/w/{workspace}/nats_triggers/setmode/{path}                       401  403  400  400
POST   /api/w/{workspace}/nats_triggers/update/{path}                        401  403  403  403
POST   /api/w/{workspace}/postgres_triggers/create                           401  403  403  400
DELETE /api/w/{workspace}/postgres_triggers/delete/{path}                    401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/exists/{path}                    401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/get/{path}                       401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/list                             401  403  200  200
POST   /api/w/{workspace}/postgres_triggers/setenabled/{path}                401  403  400  400
POST   /api/w/{workspace}/postgres_triggers/setmode/{path}                   401  403  400  400
POST   /api/w/{workspace}/postgres_triggers/update/{path}                    401  403  403  403
# slots and publications in a postgresql resource's database: the caller needs the
# resource's secret (no grant here), and a developer's role to change them
GET    /api/w/{workspace}/postgres_triggers/is_valid_postgres_configuration/{path} 401  403  403  403
DELETE /api/w/{workspace}/postgres_triggers/publication/delete/{publication}/{path} 401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/publication/get/{publication}/{path} 401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/publication/list/{path}          401  403  403  403
POST   /api/w/{workspace}/postgres_triggers/publication/create/{publication}/{path} 401  403  403  403
POST   /api/w/{workspace}/postgres_triggers/publication/update/{publication}/{path} 401  403  403  403
DELETE /api/w/{workspace}/postgres_triggers/slot/delete/{path}               401  403  403  403
GET    /api/w/{workspace}/postgres_triggers/slot/list/{path}                 401  403  403  403
POST   /api/w/{workspace}/postgres_triggers/slot/create/{path}               401  403  403  403
POST   /api/w/{workspace}/resources/create                                   401  403  403  400
DELETE /api/w/{workspace}/resources/delete/{path}                            401  403  403  403
GET    /api/w/{workspace}/resources/exists/{path}                            401  403  403  403
GET    /api/w/{workspace}/resources/get/{path}                               401  403  403  403
GET    /api/w/{workspace}/resources/get_value/{path}                         401  403  403  403
GET    /api/w/{workspace}/resources/get_value_interpolated/{path}            401  403  403  403
GET    /api/w/{workspace}/resources/list                                     401  403  200  200
POST   /api/w/{workspace}/resources/type/create                              401  403  403  400
GET    /api/w/{workspace}/resources/type/exists/{name}                       401  403  200  200
GET    /api/w/{workspace}/resources/type/get/{name}                          401  403  404  404
GET    /api/w/{workspace}/resources/type/list                                401  403  200  200
POST   /api/w/{workspace}/resources/update/{path}                            401  403  403  403
POST   /api/w/{workspace}/resources/update_value/{path}                      401  403  403  403
POST   /api/w/{workspace}/schedules/create                                   401  403  403  400
DELETE /api/w/{workspace}/schedules/delete/{path}                            401  403  403  403
GET    /api/w/{workspace}/schedules/exists/{path}                            401  403  403  403
GET    /api/w/{workspace}/schedules/fires/{path}                             401  403  403  403
GET    /api/w/{workspace}/schedules/get/{path}                               401  403  403  403
GET    /api/w/{workspace}/schedules/list                                     401  403  200  200
POST   /api/w/{workspace}/schedules/preview                                  401  403  400  400
POST   /api/w/{workspace}/schedules/setenabled/{path}                        401  403  403  403
POST   /api/w/{workspace}/schedules/update/{path}                            401  403  403  403
POST   /api/w/{workspace}/scripts/archive/p/{path}                           401  403  403  403
POST   /api/w/{workspace}/scripts/create                                     401  403  403  400
GET    /api/w/{workspace}/scripts/exists/p/{path}                            401  403  403  403
GET    /api/w/{workspace}/scripts/get/h/{hash_}                              401  403  403  403
GET    /api/w/{workspace}/scripts/get/p/{path}                               401  403  403  403
GET    /api/w/{workspace}/scripts/get_form/p/{path}                          401  403  403  403
GET    /api/w/{workspace}/scripts/history/p/{path}                           401  403  403  403
GET    /api/w/{workspace}/scripts/list                                       401  403  200  200
POST   /api/w/{workspace}/scripts/parse_schema                               401  403  400  400
POST   /api/w/{workspace}/sync/import                                        401  403  403  403
POST   /api/w/{workspace}/sync/pull                                          401  403  403  403
POST   /api/w/{workspace}/sync/push                                          401  403  403  403
POST   /api/w/{workspace}/sync/secret                                        401  403  403  400
GET    /api/w/{workspace}/sync/status                                        401  403  403  200
GET    /api/w/{workspace}/triggers/list                                      401  403  200  200
POST   /api/w/{workspace}/users/add                                          401  403  403  403
DELETE /api/w/{workspace}/users/delete/{username}                            401  403  403  403
GET    /api/w/{workspace}/users/list                                         401  403  200  200
POST   /api/w/{workspace}/users/update/{username}                            401  403  403  403
GET    /api/w/{workspace}/users/whoami                                       401  403  200  200
POST   /api/w/{workspace}/variables/create                                   401  403  403  400
DELETE /api/w/{workspace}/variables/delete/{path}                            401  403  403  403
GET    /api/w/{workspace}/variables/exists/{path}                            401  403  403  403
GET    /api/w/{workspace}/variables/get/{path}                               401  403  403  403
GET    /api/w/{workspace}/variables/get_value/{path}                         401  403  403  403
GET    /api/w/{workspace}/variables/list                                     401  403  200  200
POST   /api/w/{workspace}/variables/update/{path}                            401  403  403  403
POST   /api/w/{workspace}/websocket_triggers/create                          401  403  403  400
DELETE /api/w/{workspace}/websocket_triggers/delete/{path}                   401  403  403  403
GET    /api/w/{workspace}/websocket_triggers/exists/{path}                   401  403  403  403
GET    /api/w/{workspace}/websocket_triggers/get/{path}                      401  403  403  403
GET    /api/w/{workspace}/websocket_triggers/list                            401  403  200  200
POST   /api/w/{workspace}/websocket_triggers/setenabled/{path}               401  403  400  400
POST   /api/w/{workspace}/websocket_triggers/setmode/{path}                  401  403  400  400
POST   /api/w/{workspace}/websocket_triggers/update/{path}                   401  403  403  403
POST   /api/w/{workspace}/workspaces/edit_job_settings                       401  403  403  403
GET    /api/w/{workspace}/workspaces/job_settings                            401  403  200  200
GET    /api/w/{workspace}/workspaces/tarball                                 401  403  403  200
POST   /api/workers/pause                                                    401  403  403  403
POST   /api/workers/resume                                                   401  403  403  403
GET    /api/workers/status                                                   401  403  200  200
GET    /api/workers/list                                                     401  403  200  200
POST   /api/workspaces/exists                                                401  403  400  400
GET    /approve/{workspace}/{job_id}/{resume_id}/{signature}                 403  403  403  403
GET    /approve/{workspace}/wac/{job_id}/{step_key}/{signature}              403  403  403  403
"""


def _table() -> dict[tuple[str, str], tuple[int, ...]]:
    rows = {}
    for line in EXPECTED.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, path, *codes = line.split()
        rows[(method, path)] = tuple(int(c) for c in codes)
    return rows


@dataclass
class Api:
    client: httpx.Client
    tokens: dict[str, str | None]
    values: dict[str, str]


def _seed(server: ApiServer) -> tuple[dict[str, str | None], dict[str, str]]:
    def post(path: str, body: Any, expect: int = 201) -> str:
        with server.http() as c:
            r = c.post(path if path.startswith("/") else f"/api/w/main/{path}", json=body)
        assert r.status_code == expect, (path, r.text)
        return r.text

    post("folders/create", {"name": "t", "summary": "nobody's but the admin's"})
    script_hash = post("scripts/create", {
        "path": "f/t/item", "language": "python3", "content": "def main(x=None):\n    return x\n"})
    post("flows/create", {"path": "f/t/item", "summary": "f", "value": {"modules": []},
                          "schema": {"type": "object", "properties": {}}})
    post("variables/create", {"path": "f/t/item", "value": "v", "is_secret": False})
    post("resources/type/create", {"name": "t_type", "schema": {"type": "object"}})
    post("resources/create", {"path": "f/t/item", "resource_type": "t_type", "value": {"a": 1}})
    job = post("jobs/run/p/f/t/item", {"x": 1})
    tokens: dict[str, str | None] = {"none": None}
    for name, role in (("olga", "operator"), ("dev1", "developer")):
        post("users/add", {"username": name, "role": role})
        tokens[role] = post("/api/users/tokens/create", {"username": name, "label": name})
    tokens["run"] = post("/api/users/tokens/create", {"label": "hook", "scope": "run:f/t/*"})
    values = {"workspace": "main", "path": "f/t/item", "job_id": job, "hash_": script_hash,
              "name": "t", "username": "admin", "id_": "1", "resume_id": "0",
              "signature": "0" * 64, "step_key": "k", "step_id": "a", "route_path": "nothing",
              "publication": "p"}
    return tokens, values


@pytest.fixture
def api(api_server: ApiServer) -> Iterator[Api]:
    assert api_server.state is not None
    api_server.state.sync_timeout_s = 0.2  # no worker: a run_wait_result answers 504 at once
    tokens, values = _seed(api_server)
    with httpx.Client(base_url=api_server.url, timeout=30) as client:
        yield Api(client, tokens, values)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in spec["paths"].items()
                  for method in item if method in ("get", "post", "put", "patch", "delete"))


def _status(api: Api, method: str, template: str, caller: str) -> int:
    url = re.sub(r"\{(\w+)(:path)?\}", lambda m: api.values[m.group(1)], template)
    token = api.tokens[caller]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    r = api.client.request(method, url, json=body, headers=headers)
    return r.status_code


def test_every_endpoint_answers_each_caller_as_the_table_says(api: Api) -> None:
    spec = api.client.get("/api/openapi.json").json()
    expected = _table()
    seen: dict[tuple[str, str], tuple[int, ...]] = {}
    for op in _operations(spec):
        seen[op] = tuple([_status(api, *op, caller) for caller in CALLERS])
    missing = [f"{m:6} {p:70} {' '.join(map(str, seen[(m, p)]))}" for m, p in seen
               if (m, p) not in expected]
    wrong = [f"{m} {p}: expected {expected[(m, p)]}, got {got}" for (m, p), got in seen.items()
             if (m, p) in expected and expected[(m, p)] != got]
    gone = [f"{m} {p}" for m, p in expected if (m, p) not in seen]
    assert not missing, ("endpoints without a row in EXPECTED (statuses as answered now for "
                         f"{', '.join(CALLERS)}; check each, then add it):\n" + "\n".join(missing))
    assert not wrong, "\n".join(wrong)
    assert not gone, "rows for endpoints that no longer exist:\n" + "\n".join(gone)
    # whatever the table says: a run-only token gets only the run and job-read endpoints
    run_routes = {re.sub(r":path\}", "}", r) for r in RUN_SCOPE_ROUTES}
    opened = [f"{m} {p}" for (m, p), got in seen.items()
              if p not in run_routes and got[0] == 401 and got[1] != 403]
    assert not opened, "a run-only token reaches more than runs and its jobs:\n" + "\n".join(opened)
