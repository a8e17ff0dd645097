"""Unit tests of the model base: attributes, lazy sync, dirty, save, unknown fields."""

from __future__ import annotations

import warnings

import pytest

from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin, name_from_url
from pylxd.testing import FakeLXD


class Item(CollectionMixin, model.Model):
    _endpoint = "profiles"

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    devices = model.Attribute[dict[str, dict[str, str]]]()
    used_by = model.Attribute[list[str]](readonly=True)
    size = model.Attribute(validator=int, optional=True)


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "_seen_attribute_warnings", set())
    monkeypatch.delenv("PYLXD_WARNINGS", raising=False)


def test_slots_and_attributes_are_collected() -> None:
    assert set(Item.__attributes__) == {
        "name",
        "description",
        "config",
        "devices",
        "used_by",
        "size",
    }
    item = Item(None, name="x")
    with pytest.raises(AttributeError):
        item.not_an_attribute = 1  # type: ignore[attr-defined]


def test_subclasses_inherit_attributes() -> None:
    class Sub(Item):
        extra = model.Attribute[str]()

    assert "config" in Sub.__attributes__ and "extra" in Sub.__attributes__
    assert "config" not in Sub.__slots__


def test_reading_an_unloaded_attribute_syncs_once(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    item = Item(client, name="default")
    assert item.description == "Default LXD profile"
    assert item.config == {}
    assert len(lxd.calls("GET", "/1.0/profiles/default")) == 1
    # Not sent by the server: MISSING, as in pylxd (no second request).
    assert item.size is model.MISSING
    assert "size" not in item.marshall()
    assert len(lxd.calls("GET", "/1.0/profiles/default")) == 1


def test_the_key_never_triggers_sync(client) -> None:  # type: ignore[no-untyped-def]
    item = Item(client)
    with pytest.raises(AttributeError):
        item.name
    assert repr(item) == "Item()"


def test_all_is_one_request_and_fully_loaded(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    client.profiles.create("p2")
    before = len(lxd.requests)
    items = Item.all(client)
    assert [i.description for i in items] == ["Default LXD profile", ""]
    assert len(lxd.requests) == before + 1


def test_validator_converts() -> None:
    item = Item(None, name="x", size="12")
    assert item.size == 12


def test_dirty_tracks_assignment_and_in_place_edits(client) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    assert not item.dirty
    item.config["limits.cpu"] = "2"
    assert item.dirty
    item.rollback()
    assert not item.dirty and item.config == {}
    item.description = "new"
    assert item.dirty


def test_sync_keeps_local_edits_unless_rollback(client) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    item.description = "local"
    item.sync()
    assert item.description == "local"
    item.rollback()
    assert item.description == "Default LXD profile"


def test_save_puts_every_writable_attribute(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    item.description = "edited"
    item.save()
    assert lxd.last_body("PUT", "/1.0/profiles/default") == {
        "description": "edited",
        "config": {},
        "devices": {},
    }
    assert not item.dirty


def test_unknown_server_field_warns_once_and_stays_readable(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.warns(UserWarning, match='unknown attribute "brand_new"'):
        first = Item(client, name="a", brand_new=1)
    assert first.brand_new == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = Item(client, name="b", brand_new=2)
    assert second.brand_new == 2
    assert "brand_new" in dir(second)


def test_pylxd_warnings_none_and_always(client, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PYLXD_WARNINGS", "none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Item(client, name="a", other=1)
    monkeypatch.setenv("PYLXD_WARNINGS", "always")
    with pytest.warns(UserWarning):
        Item(client, name="a", other=1)
    with pytest.warns(UserWarning):
        Item(client, name="a", other=1)


def test_sync_applies_the_same_policy(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    lxd.store("profiles")["default"]["future_field"] = "x"
    item = Item(client, name="default")
    with pytest.warns(UserWarning, match="future_field"):
        item.sync()
    assert item.future_field == "x"


def test_equality_and_iteration(client) -> None:  # type: ignore[no-untyped-def]
    a = Item.get(client, "default")
    b = Item.get(client, "default")
    assert a == b
    assert a != Item.get(client, "default").__class__
    assert dict(a)["description"] == "Default LXD profile"


def test_delete_forgets_the_client(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    client.profiles.create("gone")
    item = Item.get(client, "gone")
    item.delete()
    assert item.client is None
    assert not Item.exists(client, "gone")


def test_a_deleted_object_says_so(client) -> None:  # type: ignore[no-untyped-def]
    client.profiles.create("twice")
    item = Item.get(client, "twice")
    item.delete()
    with pytest.raises(AttributeError, match="it was deleted"):
        item.delete()


def test_state_change_forgets_server_values_but_keeps_edits(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    item.description = "mine"
    item._invalidate("description", "config", "devices")
    assert item.description == "mine"
    lxd.store("profiles")["default"]["config"] = {"volatile.x": "1"}
    assert item.config == {"volatile.x": "1"}


def test_put_and_patch_sync_back(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    item.patch({"config": {"a": "1"}})
    assert item.config == {"a": "1"}
    item.put({"description": "whole", "config": {}, "devices": {}})
    assert item.description == "whole" and item.config == {}
    item.raw_patch({"description": "raw"})
    assert item.description == "whole"


def test_wait_for_async_answers(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("Updating")
    lxd.reply_next(lxd.async_reply(op), method="PUT")
    item = Item.get(client, "default")
    item.save(wait=True)
    assert lxd.calls("GET", f"/1.0/operations/{op.id}/wait")


def test_failed_async_save_raises_lxd_error(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    from pylxd import exceptions

    op = lxd.operation("Updating", err="Invalid devices: root disk missing")
    lxd.reply_next(lxd.async_reply(op), method="PUT")
    with pytest.raises(exceptions.LXDAPIException, match="root disk missing"):
        Item.get(client, "default").save(wait=True)


def test_attribute_dict() -> None:
    state = model.AttributeDict(
        {"memory": {"usage": 1}, "network": {"eth0": {"addresses": []}}}
    )
    assert state.memory["usage"] == 1
    assert state.network["eth0"]["addresses"] == []
    assert state["memory"].usage == 1
    with pytest.raises(AttributeError):
        state.nothing


def test_name_from_url() -> None:
    assert name_from_url("/1.0/instances/c1?project=p") == "c1"
    assert name_from_url("/1.0/storage-pools/default/volumes/custom/v%201") == "v 1"


def test_manager_declarations_are_lazy() -> None:
    built = []

    class WithChild(model.Model):
        name = model.Attribute[str]()
        children = model.Manager(lambda obj: built.append(obj) or "manager")  # type: ignore[func-returns-value]

    obj = WithChild(None, name="x")
    assert built == []
    assert obj.children == "manager"
    assert obj.children == "manager"
    assert len(built) == 1


def test_model_without_endpoint_says_so() -> None:
    class Bare(model.Model):
        name = model.Attribute[str]()

    with pytest.raises(TypeError, match="Bare does not define its API endpoint"):
        Bare(None, name="x").api


def test_in_place_edits_deep_inside_a_loaded_value_are_dirty(client) -> None:  # type: ignore[no-untyped-def]
    item = Item.get(client, "default")
    item.devices["extra"] = {"type": "disk", "paths": ["/a"]}
    item.save()
    assert not item.dirty
    item.devices["extra"]["paths"].append("/b")  # a list in a dict in a dict
    assert item.dirty
    item.rollback()
    assert item.devices["extra"] == {"type": "disk", "paths": ["/a"]}
