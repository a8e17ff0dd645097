"""Operation progress: ``wait_for_operation(..., progress=)`` reports metadata."""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import _model, operation
from pylxd.testing import FakeLXD


def running(lxd: FakeLXD, steps: list[Any], fail: str = "") -> Any:
    """A Running operation whose metadata takes the next of ``steps`` per wait.

    After the last step it ends (``Success``, or ``Failure`` with ``fail``).
    """
    pending = list(steps)
    holder: list[Any] = []

    def advance() -> None:
        op = holder[0]
        if pending:
            op.metadata = pending.pop(0)
            return
        op.status, op.err = ("Failure", fail) if fail else ("Success", "")

    op = lxd.operation("Creating instance", status="Running", on_wait=advance)
    holder.append(op)
    return op


def unpack(percent: str) -> dict[str, Any]:
    return {
        "progress": {"stage": "create_instance_from_image_unpack", "percent": percent}
    }


def test_progress_gets_each_new_metadata_then_the_final_one(lxd: FakeLXD) -> None:
    op = running(lxd, [unpack("10"), unpack("10"), unpack("60"), unpack("100")])
    seen: list[Any] = []
    client = lxd.client()

    done = client.operations.wait_for_operation(op.id, progress=seen.append)

    assert done.status == "Success"
    assert seen == [unpack("10"), unpack("60"), unpack("100")]
    waits = lxd.calls("GET", f"/1.0/operations/{op.id}/wait")
    assert len(waits) == 5
    assert all(call.query == {"timeout": "1"} for call in waits)


def test_without_progress_one_wait_without_timeout(lxd: FakeLXD) -> None:
    op = lxd.operation("Creating instance")
    lxd.client().operations.wait_for_operation(op.id)
    (call,) = lxd.calls("GET", f"/1.0/operations/{op.id}/wait")
    assert call.query == {}


def test_progress_with_a_timeout_that_passes(lxd: FakeLXD) -> None:
    op = running(lxd, [unpack("10")] * 1000)
    with pytest.raises(exceptions.OperationTimeout) as caught:
        lxd.client().operations.wait_for_operation(
            op.id, timeout=0, progress=lambda metadata: None
        )
    assert caught.value.timeout == 0
    (call,) = lxd.calls("GET", f"/1.0/operations/{op.id}/wait")
    assert call.query == {"timeout": "0"}


def test_failed_operation_raises_after_reporting(lxd: FakeLXD) -> None:
    op = running(lxd, [unpack("10")], fail="Failed to unpack")
    seen: list[Any] = []
    with pytest.raises(exceptions.LXDAPIException, match="Failed to unpack"):
        lxd.client().operations.wait_for_operation(op.id, progress=seen.append)
    assert seen == [unpack("10")]


def test_operation_wait_reports_progress(lxd: FakeLXD) -> None:
    op = running(lxd, [unpack("50")])
    client = lxd.client()
    got = client.operations.get(op.id)  # a read of a Running op advances it too
    seen: list[Any] = []
    assert got.wait(timeout=30, progress=seen.append) is got
    assert got.status == "Success"
    assert seen == [unpack("50")]


def test_wait_for_passes_progress_on(lxd: FakeLXD) -> None:
    op = running(lxd, [unpack("30")])
    client = lxd.client()
    response = client.api.operations.get()  # any response object will do
    response._content = (  # an async answer naming the operation
        b'{"type": "async", "operation": "/1.0/operations/' + op.id.encode() + b'"}'
    )
    seen: list[Any] = []
    finished = _model.wait_for(client, response, True, progress=seen.append)
    assert finished is not None and finished.status == "Success"
    assert seen == [unpack("30")]


def test_progress_interval_is_one_second() -> None:
    assert operation.PROGRESS_INTERVAL == 1


def test_operation_progress_block_reaches_waits_without_an_argument(
    lxd: FakeLXD,
) -> None:
    op = running(lxd, [unpack("40")])
    client = lxd.client()
    seen: list[Any] = []
    with operation.operation_progress(seen.append):
        client.operations.wait_for_operation(op.id)
    assert seen == [unpack("40")]
    after = lxd.operation("Creating instance", metadata=unpack("70"))
    client.operations.wait_for_operation(after.id)  # outside: one plain wait
    assert seen == [unpack("40")]
    (call,) = lxd.calls("GET", f"/1.0/operations/{after.id}/wait")
    assert call.query == {}


def test_operation_progress_reaches_model_waits(lxd: FakeLXD) -> None:
    lxd.add_root_disk()
    lxd.add_image("busybox")
    client = lxd.client()
    seen: list[Any] = []
    with operation.operation_progress(seen.append):
        client.instances.create(
            {"name": "c1", "source": {"type": "image", "alias": "busybox"}},
            wait=True,
        )
    (create,) = [
        op for op in client.operations.all() if op.description == "Creating instance"
    ]
    waits = lxd.calls("GET", f"/1.0/operations/{create.id}/wait")
    assert [call.query for call in waits] == [{"timeout": "1"}]
