"""Names that are not one URL path segment, against the real LXD 5.0.2.

LXD 5.0.2 took a snapshot named ``..``: it wrote it over the pool's
``containers-snapshots/`` directory, emptied the container's ``logs/`` (exec
broke) and deleting it removed the whole directory. pylxd now refuses such
names before any request (the unit matrix is ``pylxd/tests/test_bad_input_names.py``);
here the refusals are shown on a running container that keeps working, and an
image alias holding ``/`` still round-trips.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from integration.conftest import unique_name
from pylxd import Client, exceptions
from pylxd._transport import _APINode

BAD = [".", "..", "", "a/b"]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request sent through ``_APINode._send`` (the one send path)."""
    seen: list[tuple[str, str]] = []
    send = _APINode._send

    def recording(self: _APINode, verb: str, *args: Any, **kwargs: Any) -> Any:
        seen.append((verb, self._api_endpoint))
        return send(self, verb, *args, **kwargs)

    monkeypatch.setattr(_APINode, "_send", recording)
    return seen


def _snapshot_verbs(box: Any) -> list[tuple[str, Callable[[str], Any]]]:
    good = box.snapshots.get("keep")
    return [
        ("create", lambda n: box.snapshots.create(n, wait=True)),
        ("get", lambda n: box.snapshots.get(n)),
        ("exists", lambda n: box.snapshots.exists(n)),
        ("rename", lambda n: good.rename(n, wait=True)),
        ("restore", lambda n: box.restore_snapshot(n, wait=True)),
    ]


def test_snapshot_dot_names_are_refused_and_the_container_still_works(
    running_container: Any, sent: list[tuple[str, str]]
) -> None:
    box = running_container
    box.snapshots.create("keep", wait=True)
    logs_before = sorted(box.logs.all())
    assert logs_before, "LXD keeps log files of a running container"
    for verb, call in _snapshot_verbs(box):
        for name in BAD:
            sent.clear()
            with pytest.raises(exceptions.InvalidArgument, match="Snapshot name"):
                call(name)
            assert sent == [], f"{verb}({name!r}) sent {sent}"
    # Nothing reached LXD: the snapshots, the logs and exec are as they were.
    assert [s.name for s in box.snapshots.all()] == ["keep"]
    assert box.snapshots.get("keep").name == "keep"
    assert sorted(box.logs.all()) == logs_before
    result = box.execute(["sh", "-c", "echo alive"])
    assert (result.exit_code, result.stdout) == (0, "alive\n")
    box.snapshots.get("keep").delete(wait=True)
    assert box.snapshots.all() == []


@pytest.mark.parametrize("name", BAD + [7])
def test_other_families_refuse_before_sending(
    client: Client, container: Any, sent: list[tuple[str, str]], name: Any
) -> None:
    pool = client.storage_pools.get("default")
    calls = [
        lambda: client.instances.get(name),
        lambda: container.rename(name),
        lambda: container.backups.create(name),
        lambda: client.profiles.create(name),
        lambda: client.projects.exists(name),
        lambda: client.networks.get(name),
        lambda: pool.volumes.create("custom", name),
        lambda: client.images.get_by_alias("." if name == "a/b" else name),
    ]
    for call in calls:
        sent.clear()
        with pytest.raises(exceptions.LXDAPIException) as info:
            call()
        assert isinstance(
            info.value, (exceptions.InvalidArgument, exceptions.InvalidArgumentType)
        )
        assert sent == []


def test_image_alias_with_a_slash_round_trips(
    client: Client, lxd_env: dict[str, Any]
) -> None:
    image = client.images.get(lxd_env["image_fingerprint"])
    alias = f"{unique_name()}/22.04"
    image.add_alias(alias, "an alias with a slash")
    try:
        assert client.images.exists(alias, alias=True) is True
        assert client.images.get_by_alias(alias).fingerprint == image.fingerprint
        stored = client.images.aliases.get(alias)
        assert (stored.name, stored.target) == (alias, image.fingerprint)
    finally:
        image.delete_alias(alias)
    assert client.images.exists(alias, alias=True) is False
    with pytest.raises(exceptions.InvalidArgument, match="Image alias name '..'"):
        image.add_alias("..", "")
