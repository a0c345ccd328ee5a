"""The permission rule (pure): roles, folder grants and actions."""

from __future__ import annotations

import pytest

from desktop_app.api.audit import operation_of
from desktop_app.core.errors import Forbidden, UsageError
from desktop_app.core.permissions import (
    Access,
    Action,
    Folder,
    Principal,
    check,
    check_role,
    folder_name,
    path_access,
    readable_folders,
    require_role,
)

ADMIN = Principal("root", "admin")
DEV = Principal("dora", "developer")
OP = Principal("olga", "operator")
TEAM = Folder("team", owners=("u/owner",), extra_perms={"u/dora": True, "u/olga": False})


def test_folder_and_owner_of_a_path() -> None:
    assert folder_name("f/team/x/y") == "team"
    assert folder_name("u/dora/x") is None and folder_name("f/") is None


@pytest.mark.parametrize(("who", "path", "folder", "access"), [
    (ADMIN, "f/other/x", None, Access.WRITE),
    (DEV, "u/dora/x", None, Access.WRITE),
    (DEV, "u/dan/x", None, Access.NONE),
    (DEV, "f/team/x", TEAM, Access.WRITE),
    (OP, "f/team/x", TEAM, Access.READ),
    (Principal("dan", "developer"), "f/team/x", TEAM, Access.NONE),
    (Principal("owner", "developer"), "f/team/x", TEAM, Access.WRITE),
    (Principal("dan", "developer"), "f/pub/x", Folder("pub", extra_perms={"g/all": False}),
     Access.READ),
    (DEV, "f/team/x", None, Access.NONE),  # a folder row missing: no grants
])
def test_path_access(who: Principal, path: str, folder: Folder | None, access: Access) -> None:
    assert path_access(who, path, folder) == access


def test_operator_runs_and_reads_but_never_edits_or_sees_code_or_secrets() -> None:
    check(OP, Action.RUN, "f/team/s", TEAM)
    check(OP, Action.READ, "f/team/s", TEAM)
    for action in (Action.WRITE, Action.READ_CODE, Action.READ_SECRET):
        with pytest.raises(Forbidden) as e:
            check(OP, action, "f/team/s", TEAM, "script")
        assert "operator" in e.value.message and "developer or admin" in e.value.message
        assert e.value.http_status == 403
    with pytest.raises(Forbidden, match="read grant on folder other"):
        check(OP, Action.RUN, "f/other/s", Folder("other"))


def test_an_operators_job_uses_secrets_of_granted_folders_only() -> None:
    check(OP, Action.READ_SECRET, "f/team/key", TEAM, "variable", in_job=True)
    with pytest.raises(Forbidden, match="read grant on folder other"):
        check(OP, Action.READ_SECRET, "f/other/key", Folder("other"), in_job=True)
    for action in (Action.WRITE, Action.READ_CODE):
        with pytest.raises(Forbidden, match="operator"):
            check(OP, action, "f/team/s", TEAM, in_job=True)


def test_developer_needs_write_to_write_and_read_to_read() -> None:
    ro = Folder("ro", extra_perms={"u/dora": False})
    check(DEV, Action.READ_CODE, "f/ro/s", ro)
    check(DEV, Action.READ_SECRET, "f/ro/v", ro)
    with pytest.raises(Forbidden, match="write grant on folder ro") as e:
        check(DEV, Action.WRITE, "f/ro/s", ro)
    assert "folder.meta.yaml" in (e.value.hint or "")
    with pytest.raises(Forbidden, match="only u/dan owns"):
        check(DEV, Action.READ, "u/dan/x", None)
    check(ADMIN, Action.WRITE, "u/dan/x", None)


def test_roles() -> None:
    require_role(DEV, "developer", "x")
    with pytest.raises(Forbidden, match="olga is an operator: deploying needs the developer"):
        require_role(OP, "developer", "deploying")
    with pytest.raises(Forbidden, match="needs the admin role"):
        require_role(DEV, "admin", "adding users")
    with pytest.raises(UsageError, match="admin, developer or operator"):
        check_role("boss")
    assert readable_folders(Principal("dan", "developer"), [TEAM, Folder("pub", extra_perms={
        "g/all": False})]) == ["pub"]


@pytest.mark.parametrize(("route", "expected"), [
    ("/api/w/{workspace}/scripts/create", ("scripts.create", "Created")),
    ("/api/w/{workspace}/scripts/archive/p/{path}", ("scripts.archive", "Delete")),
    ("/api/w/{workspace}/variables/update/{path}", ("variables.update", "Updated")),
    ("/api/users/tokens/create", ("users.tokens.create", "Created")),
    ("/api/w/{workspace}/folders/delete/{name}", ("folders.delete", "Delete")),
])
def test_audit_operation_names(route: str, expected: tuple[str, str]) -> None:
    assert operation_of(route) == expected
