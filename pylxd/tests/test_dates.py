"""``Model.datetime_of``: LXD's time strings as aware datetimes (python-dateutil)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import Instance
from pylxd.models._dates import parse_time
from pylxd.testing import FakeLXD
from pylxd.tests.test_instance import FP, IMAGE, seeded


@pytest.fixture
def lxd() -> FakeLXD:
    """A fake LXD holding instance c1."""
    fake = seeded()
    fake.client().instances.create({"name": "c1", "source": IMAGE}, wait=True)
    return fake


@pytest.fixture
def instance(client: Any, lxd: FakeLXD) -> Any:
    fetched = client.instances.get("c1")
    lxd.requests.clear()
    return fetched


def stored(lxd: FakeLXD, **fields: str) -> None:
    """Make the fake LXD send ``fields`` for instance c1."""
    lxd.store("instances")["c1"].update(fields)


def test_created_at_stays_the_string_and_parses_to_an_aware_datetime(
    instance: Any,
) -> None:
    assert isinstance(instance.created_at, str)
    created = instance.datetime_of("created_at")
    assert created.tzinfo is not None
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(hours=1)


def test_nanoseconds_as_lxd_writes_them_are_read_to_microseconds(
    client: Any, lxd: FakeLXD, instance: Any
) -> None:
    stored(lxd, created_at="2024-05-01T10:20:30.123456789Z")
    fetched = client.instances.get("c1")
    assert fetched.created_at == "2024-05-01T10:20:30.123456789Z"
    assert fetched.datetime_of("created_at") == datetime(
        2024, 5, 1, 10, 20, 30, 123456, tzinfo=timezone.utc
    )


def test_an_offset_is_kept_and_compares_as_the_same_instant(
    client: Any, lxd: FakeLXD, instance: Any
) -> None:
    stored(lxd, last_used_at="2024-05-01T12:20:30+02:00")
    used = client.instances.get("c1").datetime_of("last_used_at")
    assert used.utcoffset() == timedelta(hours=2)
    assert used == datetime(2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc)


def test_lxd_zero_time_means_never(client: Any, lxd: FakeLXD, instance: Any) -> None:
    stored(lxd, last_used_at="0001-01-01T00:00:00Z")
    assert client.instances.get("c1").datetime_of("last_used_at") is None


def test_a_field_the_server_does_not_send_is_none(
    client: Any, lxd: FakeLXD, instance: Any
) -> None:
    del lxd.store("instances")["c1"]["last_used_at"]
    fetched = client.instances.get("c1")
    assert not fetched.last_used_at  # pylxd's MISSING
    assert fetched.datetime_of("last_used_at") is None


def test_image_never_used_and_never_expiring(client: Any) -> None:
    image = client.images.get(FP)
    assert image.last_used_at == "0001-01-01T00:00:00Z"
    assert image.datetime_of("last_used_at") is None
    assert isinstance(image.datetime_of("uploaded_at"), datetime)


def test_snapshot_without_expiry_has_none(instance: Any) -> None:
    snapshot = instance.snapshots.create("s1", wait=True)
    assert snapshot.datetime_of("expires_at") is None
    assert snapshot.datetime_of("created_at").tzinfo is not None


def test_a_lazy_object_is_read_first(client: Any, lxd: FakeLXD, instance: Any) -> None:
    stored(lxd, created_at="2024-05-01T10:20:30Z")
    lazy = Instance(client, name="c1")
    lxd.requests.clear()
    assert lazy.datetime_of("created_at") == datetime(
        2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc
    )
    assert [(r.method, r.path) for r in lxd.requests] == [("GET", "/1.0/instances/c1")]


def test_a_field_newer_than_this_version_is_parsed_too(
    client: Any, lxd: FakeLXD, instance: Any
) -> None:
    stored(lxd, rebuilt_at="2024-05-01T10:20:30Z")
    with pytest.warns(UserWarning, match="rebuilt_at"):
        fetched = client.instances.get("c1")
    assert fetched.datetime_of("rebuilt_at") == datetime(
        2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc
    )


def test_an_unknown_attribute_is_refused_without_a_request(
    instance: Any, lxd: FakeLXD
) -> None:
    with pytest.raises(
        exceptions.InvalidArgument, match="Instance has no attribute 'born'"
    ):
        instance.datetime_of("born")
    assert lxd.requests == []


def test_an_attribute_that_is_no_time_is_named(instance: Any) -> None:
    with pytest.raises(
        exceptions.InvalidArgument, match="Instance 'c1' name is not a time"
    ):
        instance.datetime_of("name")
    with pytest.raises(exceptions.InvalidArgumentType, match="stateful is not a time"):
        instance.datetime_of("stateful")


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("", None),
        ("0001-01-01T00:00:00Z", None),
        ("2024-05-01T10:20:30Z", datetime(2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc)),
        ("2024-05-01T10:20:30", datetime(2024, 5, 1, 10, 20, 30, tzinfo=timezone.utc)),
        (
            "2024-05-01T10:20:30.5-01:00",
            datetime(2024, 5, 1, 11, 20, 30, 500000, tzinfo=timezone.utc),
        ),
    ],
)
def test_parse_time(value: str | None, expected: datetime | None) -> None:
    parsed = parse_time(value, "created_at")
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01T00:00:00Z"])
def test_parse_time_refuses_what_is_no_time(value: str) -> None:
    with pytest.raises(exceptions.InvalidArgument, match="created_at is not a time"):
        parse_time(value, "created_at")
    with pytest.raises(ValueError):
        parse_time(value, "created_at")


# -- the times a client sends: every ``expires_at=`` of a create ---------------
def _instance(fake: FakeLXD) -> Any:
    client = fake.client()
    client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    return client.instances.get("c1")


def _volume(fake: FakeLXD) -> Any:
    pool = fake.client().storage_pools.create({"name": "p1", "driver": "zfs"})
    return pool.volumes.create({"name": "v1", "config": {"size": "1GiB"}})


def _bucket(fake: FakeLXD) -> Any:
    return fake.client().storage_pools.get("default").buckets.create("b1")


def _incus() -> FakeLXD:
    fake = FakeLXD(server="incus")
    fake.add_root_disk()
    return fake


_VOL = "/1.0/storage-pools/p1/volumes/custom/v1"
#: (what errors call the expiry, the fake, the parent, create(parent, expiry),
#: the path ``POST`` goes to).
_EXPIRING: dict[str, tuple[str, Any, Any, Any, str]] = {
    "instance snapshot": (
        "Snapshot",
        seeded,
        _instance,
        lambda c1, at: c1.snapshots.create("s1", expires_at=at, wait=True),
        "/1.0/instances/c1/snapshots",
    ),
    "instance backup": (
        "Instance backup",
        seeded,
        _instance,
        lambda c1, at: c1.backups.create("b1", expires_at=at),
        "/1.0/instances/c1/backups",
    ),
    "volume snapshot": (
        "Storage volume snapshot",
        FakeLXD,
        _volume,
        lambda v1, at: v1.snapshots.create("s1", expires_at=at),
        f"{_VOL}/snapshots",
    ),
    "volume backup": (
        "Storage volume backup",
        FakeLXD,
        _volume,
        lambda v1, at: v1.backups.create("b1", expires_at=at),
        f"{_VOL}/backups",
    ),
    "bucket backup": (
        "Storage bucket backup",
        _incus,
        _bucket,
        lambda b1, at: b1.backups.create("bk1", expires_at=at),
        "/1.0/storage-pools/default/buckets/b1/backups",
    ),
}


@pytest.mark.parametrize("case", _EXPIRING)
@pytest.mark.parametrize(
    "expiry, sent",
    [
        (datetime(2030, 1, 2, 3, 4, 5), "2030-01-02T03:04:05+00:00"),
        (
            datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2030-01-02T03:04:05+02:00",
        ),
        ("2030-01-02T03:04:05Z", "2030-01-02T03:04:05Z"),
    ],
)
def test_every_expiry_takes_a_datetime_naive_meaning_utc_or_a_string(
    case: str, expiry: Any, sent: str
) -> None:
    _, make_fake, parent_of, create, path = _EXPIRING[case]
    fake = make_fake()
    create(parent_of(fake), expiry)
    assert fake.last_body("POST", path)["expires_at"] == sent


@pytest.mark.parametrize("case", _EXPIRING)
def test_an_expiry_of_another_type_is_refused_before_a_request(case: str) -> None:
    what, make_fake, parent_of, create, _ = _EXPIRING[case]
    fake = make_fake()
    parent = parent_of(fake)
    fake.requests.clear()
    message = f"{what} expires_at must be a datetime or an RFC 3339 string, not int"
    with pytest.raises(exceptions.InvalidArgumentType, match=message):
        create(parent, 1893456000)
    with pytest.raises(TypeError):  # InvalidArgumentType is one
        create(parent, 1893456000)
    assert fake.requests == []


# -- the times a client saves: a datetime set on a model's attribute -----------
def _image(fake: FakeLXD) -> Any:
    return fake.client().images.get(FP)


#: model(fake), the path ``save()`` sends to.
_SAVED: dict[str, tuple[Any, Any, str]] = {
    "instance snapshot": (
        seeded,
        lambda fake: _instance(fake).snapshots.create("s1", wait=True),
        "/1.0/instances/c1/snapshots/s1",
    ),
    "volume snapshot": (
        FakeLXD,
        lambda fake: _volume(fake).snapshots.create("s1"),
        f"{_VOL}/snapshots/s1",
    ),
    "image": (seeded, _image, f"/1.0/images/{FP}"),
}


@pytest.mark.parametrize("case", _SAVED)
@pytest.mark.parametrize(
    "expiry, sent",
    [
        (datetime(2030, 1, 2, 3, 4, 5), "2030-01-02T03:04:05+00:00"),
        (
            datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
            "2030-01-02T03:04:05-05:00",
        ),
    ],
)
def test_a_datetime_set_as_expires_at_is_kept_and_saved_as_rfc_3339(
    case: str, expiry: datetime, sent: str
) -> None:
    make_fake, model_of, path = _SAVED[case]
    fake = make_fake()
    model = model_of(fake)
    model.expires_at = expiry
    assert model.expires_at == sent  # attributes hold what LXD sends: strings
    assert model.datetime_of("expires_at") == expiry.replace(
        tzinfo=expiry.tzinfo or timezone.utc
    )
    assert model.dirty
    model.save(wait=True)
    assert fake.last_body("PUT", path)["expires_at"] == sent
    assert not model.dirty
    model.sync()
    assert model.expires_at == sent  # what the server kept
