"""Unit tests of operations: get, list, wait (server-side), failures, timeouts, cancel."""

from __future__ import annotations

import warnings

import pytest

from pylxd import exceptions
from pylxd.models import operation
from pylxd.testing import FakeLXD


def test_get_and_repr(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("Creating instance", {"instances": ["/1.0/instances/c1"]})
    got = client.operations.get(op.id)
    assert got.id == op.id
    assert got.status == "Success"
    assert got.resources == {"instances": ["/1.0/instances/c1"]}
    assert (
        repr(got)
        == f"Operation(id='{op.id}', description='Creating instance', status='Success')"
    )


def test_get_accepts_a_url(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("x")
    assert client.operations.get(f"/1.0/operations/{op.id}?project=p").id == op.id


def test_all_lists_every_status(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    done = lxd.operation("done")
    running = lxd.operation("running", status="Running")
    ids = {op.id: op.status for op in client.operations.all()}
    assert ids == {done.id: "Success", running.id: "Running"}
    assert lxd.last("GET", "/1.0/operations").query == {"recursion": "1"}


def test_wait_blocks_on_the_wait_endpoint(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("x", metadata={"fingerprint": "abc"})
    result = client.operations.wait_for_operation(f"/1.0/operations/{op.id}")
    assert result.metadata == {"fingerprint": "abc"}
    assert [r.path for r in lxd.requests[1:]] == [f"/1.0/operations/{op.id}/wait"]


def test_wait_timeout_is_passed_to_lxd(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("x")
    client.operations.wait_for_operation(op.id, timeout=7)
    assert lxd.last("GET", f"/1.0/operations/{op.id}/wait").query == {"timeout": "7"}


def test_wait_that_runs_out_raises_operation_timeout(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("Slow thing", status="Running")
    with pytest.raises(exceptions.OperationTimeout) as info:
        client.operations.get(op.id).wait(timeout=1)
    assert (
        str(info.value)
        == f"Operation {op.id} (Slow thing) did not finish within 1 seconds"
    )
    assert isinstance(info.value, exceptions.LXDAPIException)


def test_failed_operation_raises_with_lxd_text(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("Creating", err="Failed creating instance: no root device")
    with pytest.raises(exceptions.LXDAPIException) as info:
        client.operations.wait_for_operation(op.id)
    assert str(info.value) == "Failed creating instance: no root device"


def test_wait_updates_the_object(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("x", status="Running")
    got = client.operations.get(op.id)

    def finish() -> None:
        op.status = "Success"

    op.on_wait = finish
    assert got.wait() is got
    assert got.status == "Success" and got.succeeded


def test_cancel(client, lxd: FakeLXD) -> None:  # type: ignore[no-untyped-def]
    op = lxd.operation("token", status="Running")
    client.operations.get(op.id).cancel()
    assert lxd.operations[op.id].status == "Cancelled"
    with pytest.raises(exceptions.LXDAPIException, match="Only running operations"):
        client.operations.get(op.id).cancel()


def test_missing_operation(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(exceptions.NotFound):
        client.operations.get("nope")


def test_unknown_fields_use_their_own_warning_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(operation, "_seen_attribute_warnings", set())
    monkeypatch.delenv("PYLXD_WARNINGS", raising=False)
    with pytest.warns(UserWarning, match='"new_field" on instance of "Operation"'):
        op = operation.Operation(id="1", new_field=3)
    assert op.new_field == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        operation.Operation(id="2", new_field=3)
    assert op.err is None  # a known field the server did not send


def test_a_wait_without_timeout_is_not_cut_by_the_client_timeout(lxd: FakeLXD) -> None:
    from unittest import mock

    client = lxd.client(timeout=5)
    op = lxd.operation("Unpacking a large image")
    with mock.patch.object(
        client.api.session, "get", wraps=client.api.session.get
    ) as get:
        client.operations.wait_for_operation(op.id)
    assert get.call_args.kwargs["timeout"] == (5, None)


@pytest.mark.parametrize("key", ["_client", "__extra__"])
def test_a_server_key_named_as_a_private_slot_is_kept_as_an_unknown_field(
    client, lxd: FakeLXD, key: str  # type: ignore[no-untyped-def]
) -> None:
    op = lxd.operation("x")
    path = f"/1.0/operations/{op.id}"
    body = {"id": op.id, "status": "Success", key: "from the server"}
    reads = {
        path: lambda: client.operations.get(op.id),
        path + "/wait": lambda: client.operations.wait_for_operation(op.id),
        "/1.0/operations": lambda: client.operations.all()[0],
    }
    for read_path, read in reads.items():
        answer = {"success": [body]} if read_path == "/1.0/operations" else body
        lxd.reply_next(FakeLXD.sync(answer), "GET", read_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = read()
        assert got._client is client  # still this client's operation
        assert got.status == "Success"
        assert got.__extra__ == {key: "from the server"}
        assert got.wait() is got  # through this client, to the fake


@pytest.mark.parametrize(
    "listed", [{"success": "op"}, {"success": ["op"]}, {"running": [1]}]
)
def test_a_listing_of_operations_that_are_not_objects_is_malformed(
    client, lxd: FakeLXD, listed: dict  # type: ignore[no-untyped-def]
) -> None:
    lxd.reply_next(FakeLXD.sync(listed), "GET", "/1.0/operations")
    with pytest.raises(exceptions.MalformedResponse) as info:
        client.operations.all()
    assert "/1.0/operations?recursion=1" in str(info.value)
    assert "statuses not listing objects" in str(info.value)


def test_wait_keeps_a_field_this_version_does_not_know(
    client, lxd: FakeLXD  # type: ignore[no-untyped-def]
) -> None:
    op = client.operations.get(lxd.operation("x").id)
    answer = {"id": op.id, "status": "Success", "requestor": {"username": "u"}}
    lxd.reply_next(FakeLXD.sync(answer), "GET", f"/1.0/operations/{op.id}/wait")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        op.wait()
    assert op.requestor == {"username": "u"}
