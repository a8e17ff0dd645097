"""Every model reads an answer's metadata through ``metadata_of``: an answer
whose metadata has the wrong shape is a ``MalformedResponse`` naming the URL,
never a ``KeyError``/``TypeError`` from deep inside a model."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from pylxd import Client, exceptions
from pylxd.testing import FakeLXD

_C1 = "/1.0/instances/c1"
_POOL = "/1.0/storage-pools/default"


def _c1(client: Client) -> Any:
    return client.instances.get("c1")


def _pool(client: Client) -> Any:
    return client.storage_pools.get("default")


#: (what is read, the URL it reads, the call) for reads that once indexed
#: ``response.json()["metadata"]`` directly, and reads that load objects.
READS: dict[str, tuple[str, Callable[[Client], Any]]] = {
    "project state": (
        "/1.0/projects/default/state",
        lambda c: c.projects.get("default").state(),
    ),
    "network state": (
        "/1.0/networks/br9/state",
        lambda c: c.networks.get("br9").state(),
    ),
    "network leases": (
        "/1.0/networks/br9/leases",
        lambda c: c.networks.get("br9").leases(),
    ),
    "pool resources": (
        "/1.0/storage-pools/default/resources",
        lambda c: c.storage_pools.get("default").resources.get(),
    ),
    "instance logs": (
        "/1.0/instances/c1/logs",
        lambda c: c.instances.get("c1").logs.all(),
    ),
    "instances": ("/1.0/instances", lambda c: c.instances.all()),
    "instance": ("/1.0/instances/c1", lambda c: c.instances.get("c1")),
    "profiles": ("/1.0/profiles", lambda c: c.profiles.all()),
    "profile": ("/1.0/profiles/default", lambda c: c.profiles.get("default")),
    "images": ("/1.0/images", lambda c: c.images.all()),
    "networks": ("/1.0/networks", lambda c: c.networks.all()),
    "snapshots": (f"{_C1}/snapshots", lambda c: _c1(c).snapshots.all()),
    "volumes": (f"{_POOL}/volumes", lambda c: _pool(c).volumes.all()),
}


@pytest.fixture
def fake() -> FakeLXD:
    fake = FakeLXD()
    fake.add_root_disk()
    fake.add_image("busybox")
    client = fake.client()
    client.networks.create("br9")
    source = {"type": "image", "alias": "busybox"}
    client.instances.create({"name": "c1", "source": source}, wait=True)
    return fake


@pytest.mark.parametrize("case", list(READS))
@pytest.mark.parametrize("metadata", ["a string", 42])
def test_metadata_of_the_wrong_shape_is_malformed_response(
    fake: FakeLXD, case: str, metadata: Any
) -> None:
    path, read = READS[case]
    client = fake.client()
    read(client)  # the well-formed answer works
    fake.reply_next(FakeLXD.sync(metadata), "GET", path)
    with pytest.raises(exceptions.MalformedResponse) as info:
        read(client)
    assert path in str(info.value)


#: The reads that load objects: each object must carry its key (``name``,
#: ``fingerprint``), or it could not be addressed again.
KEYED = ["instances", "instance", "profiles", "profile", "images", "networks"]
KEYED += ["snapshots", "volumes"]


@pytest.mark.parametrize("case", list(KEYED))
@pytest.mark.parametrize("key", [None, "", 5])
def test_an_object_without_its_key_is_malformed_response(
    fake: FakeLXD, case: str, key: Any
) -> None:
    path, read = READS[case]
    client = fake.client()
    good = read(client)  # the well-formed answer works
    record = {"description": "no key"}
    if key is not None:
        record.update({"name": key, "fingerprint": key})
    fake.reply_next(
        FakeLXD.sync([record] if isinstance(good, list) else record),
        "GET",
        path,
    )
    with pytest.raises(exceptions.MalformedResponse, match="without its") as info:
        read(client)
    assert path in str(info.value)


#: The reads that take names from a listing of URLs (no recursion).
LISTED: dict[str, tuple[str, Callable[[Client], Any]]] = {
    "instance names": (
        "/1.0/instances",
        lambda c: c.instances.all(recursion=0),
    ),
    "instance logs": READS["instance logs"],
    "volume snapshot names": (
        f"{_POOL}/volumes/custom/v1/snapshots",
        lambda c: _pool(c).volumes.get("custom", "v1").snapshots.all(),
    ),
}


@pytest.mark.parametrize("case", list(LISTED))
@pytest.mark.parametrize("url", ["", "/1.0/instances/", "/1.0/instances/..", "."])
def test_a_listed_url_without_a_name_is_malformed_response(
    fake: FakeLXD, case: str, url: str
) -> None:
    path, read = LISTED[case]
    client = fake.client()
    client.storage_pools.get("default").volumes.create("custom", {"name": "v1"})
    assert read(client) is not None  # the well-formed answer works
    fake.reply_next(FakeLXD.sync(["/1.0/instances/ok", url]), "GET", path)
    with pytest.raises(exceptions.MalformedResponse, match="a listing holding") as info:
        read(client)
    assert path in str(info.value) and repr(url) in str(info.value)
