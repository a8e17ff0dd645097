"""Optimistic concurrency: ``if_match`` on save/put/patch and ``update_with``."""

from __future__ import annotations

import pytest

from pylxd import exceptions
from pylxd.testing import FakeLXD


@pytest.fixture
def profile(client):
    return client.profiles.create("p1", config={"limits.cpu": "1"})


def _other_writer(fake: FakeLXD, key: str, value: str) -> None:
    """Another process's edit: a plain PUT through a second client."""
    other = fake.client().profiles.get("p1")
    other.config[key] = value
    other.save()


def test_get_and_sync_keep_the_etag_without_an_extra_request(client, fake, profile):
    before = len(fake.requests)
    loaded = client.profiles.get("p1")
    assert len(fake.requests) == before + 1
    assert loaded.etag and loaded.etag.startswith('"')
    first = loaded.etag
    _other_writer(fake, "a", "1")
    loaded.sync()
    assert loaded.etag != first


def test_default_is_last_writer_wins_and_sends_no_if_match(client, fake, profile):
    mine = client.profiles.get("p1")
    _other_writer(fake, "a", "1")
    mine.config["b"] = "2"
    mine.save()  # the other writer's "a" is lost: pylxd's documented behaviour
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "b": "2"}


def test_stale_save_raises_names_the_object_and_changes_nothing(client, fake, profile):
    mine = client.profiles.get("p1")
    _other_writer(fake, "a", "1")
    mine.config["b"] = "2"
    with pytest.raises(exceptions.PreconditionFailed) as caught:
        mine.save(if_match=True)
    assert isinstance(caught.value, exceptions.LXDAPIException)
    assert str(caught.value).startswith("Profile 'p1': changed on the server")
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "a": "1"}


def test_fresh_save_succeeds_and_reloads_the_new_etag(client, fake, profile):
    mine = client.profiles.get("p1")
    old = mine.etag
    mine.config["b"] = "2"
    mine.save(if_match=True)
    assert mine.etag not in (None, old)
    mine.description = "again"
    mine.save(if_match=True)  # the reloaded ETag is current
    assert client.profiles.get("p1").description == "again"


def test_client_switch_guards_every_save_and_a_call_can_opt_out(fake, profile):
    client = fake.client(if_match=True)
    mine = client.profiles.get("p1")
    _other_writer(fake, "a", "1")
    mine.config["b"] = "2"
    with pytest.raises(exceptions.PreconditionFailed):
        mine.save()
    mine.save(if_match=False)
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "b": "2"}


def test_put_and_patch_take_if_match(client, fake, profile):
    mine = client.profiles.get("p1")
    _other_writer(fake, "a", "1")
    with pytest.raises(exceptions.PreconditionFailed):
        mine.patch({"config": {"b": "2"}}, if_match=True)
    with pytest.raises(exceptions.PreconditionFailed):
        mine.put({"config": {}, "devices": {}}, if_match=True)
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "a": "1"}
    mine.sync()
    mine.patch({"config": {"b": "2"}}, if_match=True)
    assert mine.config == {"limits.cpu": "1", "a": "1", "b": "2"}


def test_an_object_from_a_list_has_no_etag_and_if_match_says_so(client, profile):
    listed = next(p for p in client.profiles.all() if p.name == "p1")
    assert listed.etag is None
    listed.config["b"] = "2"
    with pytest.raises(exceptions.InvalidArgument, match="no ETag.*sync"):
        listed.save(if_match=True)
    listed.sync()
    listed.config["b"] = "2"
    listed.save(if_match=True)
    assert client.profiles.get("p1").config["b"] == "2"


def test_update_with_retries_after_a_concurrent_change(client, fake, profile):
    calls = []

    def edit(obj):
        calls.append(dict(obj.config))
        if len(calls) == 1:  # someone else writes between our read and write
            _other_writer(fake, "a", "1")
        obj.config["b"] = "2"

    client.profiles.get("p1").update_with(edit)
    assert len(calls) == 2 and calls[1]["a"] == "1"
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "a": "1", "b": "2"}


def test_update_with_gives_up_after_its_retries(client, fake, profile):
    def always_raced(obj):
        _other_writer(fake, "n", str(len(fake.requests)))
        obj.config["b"] = "2"

    with pytest.raises(exceptions.PreconditionFailed):
        client.profiles.get("p1").update_with(always_raced, retries=2)
    assert "b" not in client.profiles.get("p1").config
    with pytest.raises(exceptions.InvalidArgument, match="retries"):
        client.profiles.get("p1").update_with(always_raced, retries=-1)


def test_network_save_takes_if_match(client, fake):
    client.networks.create("br9", type="bridge")
    mine = client.networks.get("br9")
    other = fake.client().networks.get("br9")
    other.description = "theirs"
    other.save()
    mine.config["ipv4.nat"] = "true"
    with pytest.raises(exceptions.PreconditionFailed, match="br9"):
        mine.save(if_match=True)
    assert client.networks.get("br9").description == "theirs"


@pytest.fixture
def instance(client, fake):
    fake.add_root_disk()
    client.instances.create({"name": "c1", "source": {"type": "none"}}, wait=True)
    return client.instances.get("c1")


def _server_sets(fake: FakeLXD, key: str, value: str) -> None:
    with fake.lock:
        fake.store("instances")["c1"]["config"][key] = value


def test_instance_save_survives_volatile_keys_the_server_rewrote(
    client, fake, instance
):
    _server_sets(fake, "volatile.last_state.power", "RUNNING")
    instance.description = "mine"
    instance.config["user.a"] = "1"
    instance.save(if_match=True)
    stored = client.instances.get("c1")
    assert stored.description == "mine" and stored.config["user.a"] == "1"
    # the server's new volatile value was sent back, not the stale one
    assert stored.config["volatile.last_state.power"] == "RUNNING"


def test_instance_save_still_refuses_a_real_concurrent_change(client, fake, instance):
    _server_sets(fake, "volatile.last_state.power", "RUNNING")
    _server_sets(fake, "user.theirs", "1")
    instance.config["user.a"] = "1"
    with pytest.raises(exceptions.PreconditionFailed, match="Instance 'c1'"):
        instance.save(if_match=True)
    assert "user.a" not in client.instances.get("c1").config


def test_instance_save_refuses_when_a_scalar_changed(client, fake, instance):
    other = fake.client().instances.get("c1")
    other.ephemeral = True
    other.save()
    instance.description = "mine"
    with pytest.raises(exceptions.PreconditionFailed):
        instance.save(if_match=True)


class RacyLXD(FakeLXD):
    """LXD 5.0's non-atomic If-Match: a write that passed the check together
    with ours lands just after it, undoing our edit (once)."""

    undo_next = True

    def _after(self, request, reply):
        super()._after(request, reply)
        if (
            self.undo_next
            and request.method == "PUT"
            and request.path == "/1.0/profiles/p1"
            and reply.status == 200
        ):
            self.undo_next = False
            with self.lock:
                self.store("profiles")["p1"]["config"] = {"limits.cpu": "1", "z": "9"}


def test_update_with_reapplies_an_edit_a_concurrent_write_undid():
    fake = RacyLXD()
    client = fake.client()
    client.profiles.create("p1", config={"limits.cpu": "1"})
    seen = []

    def edit(obj):
        seen.append(dict(obj.config))
        obj.config["b"] = "2"

    client.profiles.get("p1").update_with(edit)
    assert len(seen) == 2 and seen[1]["z"] == "9"
    assert client.profiles.get("p1").config == {"limits.cpu": "1", "z": "9", "b": "2"}


def test_update_with_retries_an_overlapping_instance_update(client, fake, instance):
    fake.fail_operation_next(
        "Failed to create instance update operation: A matching non-reusable "
        "operation has now succeeded",
        method="PUT",
        path="/1.0/instances/c1",
    )
    instance.update_with(lambda obj: obj.config.__setitem__("user.a", "1"))
    assert client.instances.get("c1").config["user.a"] == "1"


def test_update_with_does_not_retry_other_errors(client, fake, profile):
    fake.fail_next(400, "Invalid config key", method="PUT", path="/1.0/profiles/p1")
    with pytest.raises(exceptions.LXDAPIException, match="Invalid config key"):
        client.profiles.get("p1").update_with(lambda p: p.config.update(b="2"))
    assert len([r for r in fake.requests if r.method == "PUT"]) == 1


def test_server_config_save_takes_if_match(client, fake):
    mine = client.server.get()
    assert mine.etag
    fake.client().server.patch_config({"user.theirs": "1"})
    mine.config["user.mine"] = "1"
    with pytest.raises(exceptions.PreconditionFailed, match="Server configuration"):
        mine.save(if_match=True)
    assert "user.mine" not in client.server.get().config
    mine.sync()
    mine.config["user.mine"] = "1"
    mine.save(if_match=True)
    assert client.server.get().config["user.mine"] == "1"


def test_storage_volume_from_get_carries_its_etag(client, fake):
    pool = client.storage_pools.create({"name": "p9", "driver": "dir", "config": {}})
    pool.volumes.create({"name": "v1", "type": "custom", "config": {}})
    mine = pool.volumes.get("custom", "v1")
    assert mine.etag
    other = fake.client().storage_pools.get("p9").volumes.get("custom", "v1")
    other.description = "theirs"
    other.save()
    mine.description = "mine"
    with pytest.raises(exceptions.PreconditionFailed):
        mine.save(if_match=True)
    assert pool.volumes.get("custom", "v1").description == "theirs"
