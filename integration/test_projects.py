"""Projects against a real LXD, and what ``Client(project=)`` scopes.

Each test makes its own project (unique name). The fixture empties it of what
the test put there (it is the test's own project, so listing it is safe) and
deletes it, even when the test fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from integration.conftest import force_delete_instance, unique_name
from integration.test_images import build_unified
from pylxd import Client, exceptions
from pylxd.models import Project


def drop_project(client: Client, name: str) -> None:
    """Delete project ``name`` with the instances, images and profiles in it.

    Images and profiles are listed only when the project has its own (its
    ``features.*`` on): otherwise LXD lists the default project's, which are
    not this test's to delete.
    """
    with contextlib.suppress(exceptions.NotFound):
        scoped = client.with_project(name)
        config = client.projects.get(name).config
        for url in scoped.api.instances.get().json()["metadata"]:
            force_delete_instance(scoped, url.split("?")[0].rsplit("/", 1)[-1])
        if config.get("features.images") == "true":
            for image in scoped.images.all():
                image.delete(wait=True)
        if config.get("features.profiles") == "true":
            for profile in scoped.profiles.all():
                if profile.name != "default":
                    profile.delete()
        client.projects.get(name).delete()


@pytest.fixture
def project(client: Client) -> Iterator[Project]:
    name = unique_name("pylxd-it-proj")
    try:
        yield client.projects.create(name, description="made by pylxd tests")
    finally:
        drop_project(client, name)


def test_create_get_all_exists(client: Client, project: Project) -> None:
    assert project.description == "made by pylxd tests"
    assert project.config["features.images"] == "true"
    assert project.config["features.profiles"] == "true"
    assert project.used_by == [f"/1.0/profiles/default?project={project.name}"]
    assert project.name in [p.name for p in client.projects.all()]
    assert client.projects.exists(project.name)
    assert not client.projects.exists(unique_name())
    with pytest.raises(exceptions.NotFound, match="Project not found"):
        client.projects.get(unique_name())


def test_create_with_config(client: Client) -> None:
    name = unique_name("pylxd-it-proj")
    try:
        made = client.projects.create(
            name, config={"features.images": "false", "limits.instances": "3"}
        )
        assert made.config["features.images"] == "false"
        assert made.config["limits.instances"] == "3"
    finally:
        drop_project(client, name)


def test_duplicate_is_a_conflict(client: Client, project: Project) -> None:
    # Incus finds the clash in its database only
    with pytest.raises(
        exceptions.Conflict, match="already exists|UNIQUE constraint failed"
    ):
        client.projects.create(project.name)


def test_save(client: Client, project: Project) -> None:
    project.config["limits.instances"] = "4"
    project.description = "The four horsemen"
    project.save()
    again = client.projects.get(project.name)
    assert again.config["limits.instances"] == "4"
    assert again.description == "The four horsemen"


def test_rename_and_delete(client: Client) -> None:
    old, new = unique_name("pylxd-it-proj"), unique_name("pylxd-it-proj")
    try:
        renamed = client.projects.create(old).rename(new)
        assert renamed.name == new
        assert client.projects.exists(new) and not client.projects.exists(old)
        renamed.delete()
        assert not client.projects.exists(new)
    finally:
        drop_project(client, old)
        drop_project(client, new)


def test_rename_onto_an_existing_project_is_a_conflict(
    client: Client, project: Project
) -> None:
    other = unique_name("pylxd-it-proj")
    try:
        made = client.projects.create(other)
        with pytest.raises(exceptions.Conflict, match="already exists"):
            made.rename(project.name)
    finally:
        drop_project(client, other)


def test_default_project_is_protected(client: Client) -> None:
    with pytest.raises(exceptions.LXDAPIException):
        client.projects.get("default").delete()


def test_state(project: Project) -> None:
    state = project.state()
    assert state.resources["instances"] == {"Limit": -1, "Usage": 0}
    assert {"containers", "cpu", "disk", "memory"} <= set(state.resources)


def _scoped_setup(scoped: Client, tarball: Path) -> str:
    """Give the project a root disk in its default profile and an image."""
    profile = scoped.profiles.get("default")
    profile.devices = {"root": {"type": "disk", "path": "/", "pool": "default"}}
    profile.save()
    return scoped.images.create(str(tarball)).fingerprint


def test_client_project_scopes_managers_and_api(
    client: Client,
    lxd_env: dict[str, Any],
    project: Project,
    tmp_path: Path,
) -> None:
    scoped = Client(endpoint=lxd_env["main"]["socket"], project=project.name)
    tarball = build_unified(
        lxd_env["image_tarball"], tmp_path / "p.tar.gz", uuid.uuid4().hex
    )
    fingerprint = _scoped_setup(scoped, tarball)
    assert fingerprint == hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert scoped.images.exists(fingerprint)
    assert not client.images.exists(fingerprint)

    profile_name = unique_name("pylxd-it-prof")
    scoped.profiles.create(profile_name, config={"limits.cpu": "1"})
    assert not client.profiles.exists(profile_name)

    name = unique_name()
    scoped.instances.create(
        {
            "name": name,
            "source": {"type": "image", "fingerprint": fingerprint},
            "profiles": ["default", profile_name],
        },
        wait=True,
    )
    assert scoped.instances.exists(name)
    assert not client.instances.exists(name)
    urls = scoped.api.instances.get().json()["metadata"]
    assert urls == [f"/1.0/instances/{name}?project={project.name}"]
    assert project.state().resources["instances"]["Usage"] == 1
    assert client.with_project(project.name).instances.exists(name)
    force_delete_instance(scoped, name)


def test_with_project_reaches_another_project(client: Client, project: Project) -> None:
    scoped = client.with_project(project.name)
    name = unique_name("pylxd-it-prof")
    scoped.profiles.create(name)
    assert scoped.profiles.exists(name)
    assert not client.profiles.exists(name)
    assert client.project is None and scoped.project == project.name


def test_with_project_on_a_missing_project_raises_not_found(client: Client) -> None:
    missing = unique_name("pylxd-it-noproj")
    # LXD 5.0.2 itself lists no instances in a missing project, without error.
    assert (
        client.api.instances.get(params={"project": missing}).json()["metadata"] == []
    )
    with pytest.raises(exceptions.NotFound, match=f"Project '{missing}'"):
        client.with_project(missing)


def test_client_for_a_missing_project_fails_on_first_use(
    lxd_env: dict[str, Any],
) -> None:
    scoped = Client(endpoint=lxd_env["main"]["socket"], project=unique_name())
    with pytest.raises(exceptions.NotFound, match="(?i)project not found"):
        scoped.profiles.all()
