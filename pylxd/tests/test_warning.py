"""Unit tests of LXD warnings, against the fake LXD."""

from __future__ import annotations

import pytest

from pylxd import Client, exceptions
from pylxd.models import Warning as LXDWarning
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import LXD_5_0_2_EXTENSIONS
from pylxd.testing._fake_warnings import add_warning


@pytest.fixture
def uuid(lxd: FakeLXD) -> str:
    return add_warning(lxd, "Couldn't find the CGroup blkio.weight", "disk priority")


def test_all_is_one_request_with_every_field(
    client: Client, lxd: FakeLXD, uuid: str
) -> None:
    second = add_warning(lxd, project="default", severity="moderate")
    before = len(lxd.requests)
    warnings = client.warnings.all()
    assert len(lxd.requests) == before + 1
    assert lxd.last("GET", "/1.0/warnings").query == {"recursion": "1"}
    assert [w.uuid for w in warnings] == [uuid, second]
    first = warnings[0]
    assert isinstance(first, LXDWarning)
    assert (first.type, first.last_message, first.status, first.count) == (
        "Couldn't find the CGroup blkio.weight",
        "disk priority",
        "new",
        1,
    )
    assert first.severity == "low" and first.first_seen_at and first.entity_url == ""


def test_all_filters_by_status(client: Client, lxd: FakeLXD, uuid: str) -> None:
    other = add_warning(lxd)
    client.warnings.get(other).acknowledge()
    assert [w.uuid for w in client.warnings.all(status="new")] == [uuid]
    assert [w.uuid for w in client.warnings.all(status="acknowledged")] == [other]


def test_get_and_exists(client: Client, uuid: str) -> None:
    assert client.warnings.get(uuid).uuid == uuid
    assert client.warnings.exists(uuid)
    assert not client.warnings.exists("00000000-0000-0000-0000-000000000000")
    with pytest.raises(exceptions.NotFound, match="Warning not found"):
        client.warnings.get("00000000-0000-0000-0000-000000000000")


def test_acknowledge_puts_the_status(client: Client, lxd: FakeLXD, uuid: str) -> None:
    warning = client.warnings.get(uuid)
    warning.acknowledge()
    assert lxd.last_body("PUT", f"/1.0/warnings/{uuid}") == {"status": "acknowledged"}
    assert warning.status == "acknowledged" and not warning.dirty
    assert client.warnings.get(uuid).status == "acknowledged"
    warning.set_status("new")
    assert lxd.last_body("PUT", f"/1.0/warnings/{uuid}") == {"status": "new"}
    assert client.warnings.get(uuid).status == "new"


def test_set_status_refuses_what_lxd_refuses(
    client: Client, lxd: FakeLXD, uuid: str
) -> None:
    warning = client.warnings.get(uuid)
    with pytest.raises(ValueError, match="'new' or 'acknowledged', not 'resolved'"):
        warning.set_status("resolved")
    assert not lxd.calls("PUT")
    with pytest.raises(exceptions.Forbidden, match="may only be set"):
        warning.raw_put({"status": "resolved"})


def test_save_and_patch_send_the_status(
    client: Client, lxd: FakeLXD, uuid: str
) -> None:
    warning = client.warnings.get(uuid)
    warning.status = "acknowledged"
    warning.save()
    assert lxd.last_body("PUT", f"/1.0/warnings/{uuid}") == {"status": "acknowledged"}
    warning.patch({"status": "new"})
    assert lxd.last_body("PATCH", f"/1.0/warnings/{uuid}") == {"status": "new"}
    assert warning.status == "new"


def test_delete(client: Client, lxd: FakeLXD, uuid: str) -> None:
    client.warnings.get(uuid).delete()
    assert lxd.calls("DELETE", f"/1.0/warnings/{uuid}")
    assert client.warnings.all() == []


def test_warnings_need_the_extension() -> None:
    extensions = [e for e in LXD_5_0_2_EXTENSIONS if e != "warnings"]
    client = FakeLXD(extensions=extensions).client()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="warnings"):
        client.warnings.all()
