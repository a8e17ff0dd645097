"""Unit tests of profiles against the fake LXD."""

from __future__ import annotations

import pytest

from pylxd import Client, exceptions
from pylxd.models.profile import Profile
from pylxd.testing import FakeLXD


def test_create_sends_only_what_is_given(client: Client, lxd: FakeLXD) -> None:
    created = client.profiles.create("web")
    assert lxd.last_body("POST", "/1.0/profiles") == {"name": "web"}
    assert (created.name, created.config, created.devices) == ("web", {}, {})
    nic = {"eth0": {"type": "nic", "nictype": "bridged", "parent": "br0"}}
    full = client.profiles.create(
        "db", config={"limits.cpu": "1"}, devices=nic, description="database"
    )
    assert lxd.last_body("POST", "/1.0/profiles") == {
        "name": "db",
        "config": {"limits.cpu": "1"},
        "devices": nic,
        "description": "database",
    }
    assert (full.config, full.devices, full.description, full.used_by) == (
        {"limits.cpu": "1"},
        nic,
        "database",
        [],
    )


def test_duplicate_is_a_conflict(client: Client) -> None:
    client.profiles.create("web")
    with pytest.raises(exceptions.Conflict, match="The profile already exists"):
        client.profiles.create("web")


def test_bad_name_is_an_lxd_error_not_a_conflict(client: Client) -> None:
    with pytest.raises(
        exceptions.LXDAPIException, match="Profile name 'a/b' is not allowed"
    ) as err:
        client.profiles.create("a/b")
    assert not isinstance(err.value, exceptions.Conflict)


def test_all_get_exists(client: Client, lxd: FakeLXD) -> None:
    client.profiles.create("web")
    before = len(lxd.requests)
    assert [p.name for p in client.profiles.all()] == ["default", "web"]
    assert len(lxd.requests) == before + 1
    assert client.profiles.get("web").description == ""
    assert client.profiles.exists("web") and not client.profiles.exists("nope")
    with pytest.raises(exceptions.NotFound, match="Profile not found"):
        client.profiles.get("nope")


def test_save_puts_the_whole_profile(client: Client, lxd: FakeLXD) -> None:
    profile = client.profiles.create("web", config={"a": "1"})
    profile.config.update({"security.nesting": "true"})
    assert profile.dirty
    profile.description = "edited"
    profile.save()
    assert lxd.last_body("PUT", "/1.0/profiles/web") == {
        "description": "edited",
        "config": {"a": "1", "security.nesting": "true"},
        "devices": {},
    }
    assert not profile.dirty
    assert client.profiles.get("web").config == {"a": "1", "security.nesting": "true"}


def test_rename(client: Client, lxd: FakeLXD) -> None:
    profile = client.profiles.create("web")
    renamed = profile.rename("www")
    assert lxd.last_body("POST", "/1.0/profiles/web") == {"name": "www"}
    assert renamed.name == "www" and profile.name == "www"
    assert not client.profiles.exists("web")


def test_rename_errors(client: Client) -> None:
    client.profiles.create("a")
    client.profiles.create("b")
    with pytest.raises(exceptions.Conflict, match='Name "b" already in use'):
        client.profiles.get("a").rename("b")
    with pytest.raises(exceptions.Forbidden, match="cannot be renamed"):
        client.profiles.get("default").rename("other")


def test_delete(client: Client, lxd: FakeLXD) -> None:
    client.profiles.create("web").delete()
    assert lxd.calls("DELETE")[-1].path == "/1.0/profiles/web"
    assert not client.profiles.exists("web")
    with pytest.raises(exceptions.Forbidden):
        client.profiles.get("default").delete()


def test_a_real_409_stays_a_conflict(client: Client, lxd: FakeLXD) -> None:
    lxd.fail_next(409, "exists", method="POST", path="/1.0/profiles")
    with pytest.raises(exceptions.Conflict, match="exists"):
        client.profiles.create("web")


def test_profiles_follow_the_project(lxd: FakeLXD) -> None:
    lxd.client().projects.create("p1")
    scoped = lxd.client(project="p1")
    scoped.profiles.create("web")
    assert lxd.last("POST", "/1.0/profiles").query == {"project": "p1"}
    assert [p.name for p in scoped.profiles.all()] == ["default", "web"]
    assert not lxd.client().profiles.exists("web")
    other = lxd.client().with_project("p1")
    assert other.profiles.get("web").name == "web"
    assert lxd.requests[-1].query == {"project": "p1"}


def test_model_is_exported() -> None:
    from pylxd import models

    assert models.Profile is Profile
