"""Unit tests of projects and project scoping against the fake LXD."""

from __future__ import annotations

import pytest

from pylxd import Client, exceptions
from pylxd.models.project import Project
from pylxd.testing import FakeLXD

DEFAULT_FEATURES = {
    "features.images": "true",
    "features.profiles": "true",
    "features.storage.volumes": "true",
}


def test_create(client: Client, lxd: FakeLXD) -> None:
    project = client.projects.create(
        "p1", description="first", config={"limits.instances": "4"}
    )
    assert lxd.last_body("POST", "/1.0/projects") == {
        "name": "p1",
        "description": "first",
        "config": {"limits.instances": "4"},
    }
    assert project.config == {"limits.instances": "4", **DEFAULT_FEATURES}
    assert (project.name, project.description) == ("p1", "first")
    assert project.used_by == ["/1.0/profiles/default?project=p1"]
    client.projects.create("p2")
    assert lxd.last_body("POST", "/1.0/projects") == {"name": "p2"}


def test_duplicate_is_a_conflict(client: Client) -> None:
    client.projects.create("p1")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.projects.create("p1")


def test_create_refuses_a_config_that_is_not_strings(
    client: Client, lxd: FakeLXD
) -> None:
    # LXD refuses it too (its project config is strings to strings); the
    # refusal is now made before sending, as for networks and zones.
    before = len(lxd.requests)
    with pytest.raises(exceptions.InvalidArgumentType, match=r"Project 'p1'"):
        client.projects.create("p1", config={"limits.instances": 4})  # type: ignore[dict-item]
    assert len(lxd.requests) == before
    assert not client.projects.exists("p1")


def test_all_get_exists(client: Client, lxd: FakeLXD) -> None:
    client.projects.create("p1")
    before = len(lxd.requests)
    assert [p.name for p in client.projects.all()] == ["default", "p1"]
    assert len(lxd.requests) == before + 1
    assert client.projects.exists("p1") and not client.projects.exists("nope")
    with pytest.raises(exceptions.NotFound, match="Project not found"):
        client.projects.get("nope")


def test_save(client: Client, lxd: FakeLXD) -> None:
    project = client.projects.create("p1")
    project.config["limits.instances"] = "4"
    project.description = "The four horsemen"
    project.save()
    assert lxd.last_body("PUT", "/1.0/projects/p1") == {
        "description": "The four horsemen",
        "config": {**DEFAULT_FEATURES, "limits.instances": "4"},
    }
    assert client.projects.get("p1").config["limits.instances"] == "4"


def test_rename_waits(client: Client, lxd: FakeLXD) -> None:
    renamed = client.projects.create("p1").rename("p2")
    assert lxd.last_body("POST", "/1.0/projects/p1") == {"name": "p2"}
    assert any(r.path.endswith("/wait") for r in lxd.requests)
    assert renamed.name == "p2"
    assert [p.name for p in client.projects.all()] == ["default", "p2"]


def test_rename_onto_an_existing_project_is_a_conflict(client: Client) -> None:
    client.projects.create("p1")
    client.projects.create("p2")
    with pytest.raises(exceptions.Conflict, match='A project named "p2"'):
        client.projects.get("p1").rename("p2")


def test_state(client: Client, lxd: FakeLXD) -> None:
    state = client.projects.create("p1").state()
    assert lxd.requests[-1].path == "/1.0/projects/p1/state"
    assert state.resources.instances == {"Limit": -1, "Usage": 0}
    assert state.resources["cpu"]["Limit"] == -1


def test_delete(client: Client, lxd: FakeLXD) -> None:
    client.projects.create("p1").delete()
    assert lxd.calls("DELETE")[-1].path == "/1.0/projects/p1"
    assert not client.projects.exists("p1")
    with pytest.raises(exceptions.Forbidden, match="cannot be deleted"):
        client.projects.get("default").delete()


def test_projects_are_not_scoped_by_the_client_project(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    scoped = lxd.client(project="p1")
    assert [p.name for p in scoped.projects.all()] == ["default", "p1"]
    assert lxd.requests[-1].query == {"recursion": "1"}
    scoped.projects.get("p1").save()
    assert lxd.last("PUT", "/1.0/projects/p1").query == {}


def test_client_project_scopes_the_api_tree(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    scoped = lxd.client(project="p1")
    scoped.api.profiles.get()
    scoped.api.images.aliases.get()
    assert [r.query for r in lxd.requests[-2:]] == [{"project": "p1"}] * 2


def test_with_project_checks_the_project_once_and_shares_the_session(
    client: Client, lxd: FakeLXD
) -> None:
    client.projects.create("p1")
    before = len(lxd.requests)
    scoped = client.with_project("p1")
    assert [(r.method, r.path) for r in lxd.requests[before:]] == [
        ("GET", "/1.0/projects/p1")
    ]
    assert scoped.api.session is client.api.session
    assert (scoped.project, client.project) == ("p1", None)
    assert scoped.host_info is client.host_info
    scoped.profiles.all()
    client.profiles.all()
    assert [r.query for r in lxd.requests[-2:]] == [
        {"recursion": "1", "project": "p1"},
        {"recursion": "1"},
    ]
    assert client.with_project(None).api._project is None


def test_with_project_on_a_missing_project_raises_not_found(
    client: Client, lxd: FakeLXD
) -> None:
    with pytest.raises(exceptions.NotFound, match="Project 'nope'"):
        client.with_project("nope")
    assert [r.method for r in lxd.requests if "nope" in r.path] == ["GET"]


def test_with_project_default_or_none_sends_nothing(
    client: Client, lxd: FakeLXD
) -> None:
    before = len(lxd.requests)
    assert client.with_project("default").project == "default"
    assert client.with_project(None).project is None
    assert len(lxd.requests) == before


def test_with_project_refuses_a_bad_name_before_sending(
    client: Client, lxd: FakeLXD
) -> None:
    before = len(lxd.requests)
    with pytest.raises(exceptions.InvalidArgument, match="Project name '..'"):
        client.with_project("..")
    assert len(lxd.requests) == before


def test_with_project_on_a_restricted_certificate_skips_the_check(
    client: Client, lxd: FakeLXD
) -> None:
    lxd.reply_next(lxd.error(403, "not authorized"), "GET", "/1.0/projects/p9")
    assert client.with_project("p9").project == "p9"


def test_model_is_exported() -> None:
    from pylxd import models

    assert models.Project is Project
