"""Profiles against a real LXD: create, read, save, rename, delete, errors.

Every profile has a unique name and is deleted by its fixture.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, Callable, Iterator

import pytest

from integration.conftest import unique_name
from pylxd import Client, exceptions
from pylxd.models import Profile


@pytest.fixture
def names(client: Client) -> Iterator[Callable[[], str]]:
    """Hand out unique profile names; delete whatever exists under them after."""
    made: list[str] = []

    def make() -> str:
        made.append(unique_name("pylxd-it-prof"))
        return made[-1]

    yield make
    for name in made:
        with contextlib.suppress(exceptions.NotFound):
            client.api.profiles[name].delete()


def test_create_get_all_exists(client: Client, names: Callable[[], str]) -> None:
    name = names()
    created = client.profiles.create(
        name,
        config={"limits.cpu": "1"},
        devices={"tmp": {"type": "disk", "source": "/tmp", "path": "/mnt/tmp"}},
        description="made by pylxd",
    )
    assert isinstance(created, Profile)
    assert created.config == {"limits.cpu": "1"}
    assert created.devices["tmp"]["path"] == "/mnt/tmp"
    assert (created.description, created.used_by) == ("made by pylxd", [])
    assert name in [p.name for p in client.profiles.all()]
    assert client.profiles.exists(name)
    assert not client.profiles.exists(unique_name())
    assert client.profiles.get(name).config == {"limits.cpu": "1"}


def test_duplicate_is_a_conflict(client: Client, names: Callable[[], str]) -> None:
    name = names()
    client.profiles.create(name)
    with pytest.raises(exceptions.Conflict, match="already exists"):
        client.profiles.create(name)


def test_bad_input(client: Client, names: Callable[[], str]) -> None:
    with pytest.raises(exceptions.NotFound):
        client.profiles.get(unique_name())
    with pytest.raises(exceptions.InvalidArgument, match="Profile name 'a/b'"):
        client.profiles.create("a/b")
    name = names()
    with pytest.raises(exceptions.LXDAPIException, match="Unknown configuration key"):
        client.profiles.create(name, config={"no.such.key": "1"})
    assert not client.profiles.exists(name)


def test_save_replaces_the_profile(client: Client, names: Callable[[], str]) -> None:
    profile = client.profiles.create(names(), config={"limits.cpu": "1"})
    profile.config.update({"security.nesting": "true"})
    profile.devices = {"tmp": {"type": "disk", "source": "/tmp", "path": "/mnt"}}
    profile.description = "edited"
    assert profile.dirty
    profile.save()
    assert not profile.dirty
    again = client.profiles.get(profile.name)
    assert again.config == {"limits.cpu": "1", "security.nesting": "true"}
    assert (again.description, list(again.devices)) == ("edited", ["tmp"])
    profile.config = {}
    profile.save()
    assert client.profiles.get(profile.name).config == {}


def test_a_body_json_cannot_carry_is_refused_and_nothing_changes(
    client: Client, names: Callable[[], str]
) -> None:
    name = names()
    with pytest.raises(exceptions.InvalidArgumentType, match=r"\['user.when'\]"):
        client.profiles.create(name, config={"user.when": datetime.date(2030, 1, 1)})
    assert not client.profiles.exists(name)
    profile = client.profiles.create(name, config={"user.a": "1"})
    profile.config["user.b"] = {"a", "set"}
    with pytest.raises(TypeError, match=r"\['config'\]\['user.b'\] is a set"):
        profile.save()
    assert client.profiles.get(name).config == {"user.a": "1"}
    profile.rollback()
    profile.config["user.b"] = "2"
    profile.save()
    assert client.profiles.get(name).config == {"user.a": "1", "user.b": "2"}


def test_rename(client: Client, names: Callable[[], str]) -> None:
    old, new, other = names(), names(), names()
    client.profiles.create(other)
    profile = client.profiles.create(old)
    with pytest.raises(exceptions.Conflict, match="already (in use|exists)"):
        profile.rename(other)
    renamed = profile.rename(new)
    assert renamed.name == new
    assert client.profiles.exists(new) and not client.profiles.exists(old)
    with pytest.raises(exceptions.Forbidden):
        client.profiles.get("default").rename(unique_name())


def test_used_by_and_delete(
    client: Client, names: Callable[[], str], make_container: Any
) -> None:
    profile = client.profiles.create(names(), config={"limits.cpu": "1"})
    container = make_container(profiles=["default", profile.name])
    profile.sync()
    assert [u.split("?")[0] for u in profile.used_by] == [
        f"/1.0/instances/{container.name}"
    ]
    with pytest.raises(exceptions.LXDAPIException, match="(?i)in use"):
        profile.delete()
    container.delete(wait=True)
    profile.delete()
    assert not client.profiles.exists(profile.name)
