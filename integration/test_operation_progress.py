"""Operation progress against the real LXD: metadata reaches the callback."""

from __future__ import annotations

from typing import Any

from integration.conftest import force_delete_instance, unique_name
from pylxd.client import Client
from pylxd.models.operation import operation_progress


def test_instance_creation_reports_unpack_progress(
    client: Client, image_alias: str
) -> None:
    name = unique_name()
    seen: list[dict[str, Any]] = []
    try:
        response = client.api.instances.post(
            json={"name": name, "source": {"type": "image", "alias": image_alias}}
        )
        operation = client.operations.wait_for_operation(
            response.json()["operation"], timeout=120, progress=seen.append
        )
        assert operation.status == "Success"
        assert seen, "no progress metadata was reported"
        assert seen[-1]["progress"]["stage"] == "create_instance_from_image_unpack"
        assert seen[-1]["progress"]["percent"] == "100"
    finally:
        force_delete_instance(client, name)


def test_a_long_operation_is_waited_on_in_slices(
    client: Client, running_container: Any
) -> None:
    response = running_container.api.exec.post(
        json={
            "command": ["sleep", "2"],
            "wait-for-websocket": False,
            "interactive": False,
        }
    )
    seen: list[dict[str, Any]] = []
    operation = client.operations.wait_for_operation(
        response.json()["operation"], timeout=60, progress=seen.append
    )
    assert operation.metadata["return"] == 0
    assert seen[-1] == operation.metadata


def test_operation_progress_reports_model_waits(
    client: Client, image_alias: str
) -> None:
    name = unique_name()
    seen: list[dict[str, Any]] = []
    try:
        with operation_progress(seen.append):
            client.instances.create(
                {"name": name, "source": {"type": "image", "alias": image_alias}},
                wait=True,
            )
        stages = [m.get("progress", {}).get("stage") for m in seen]
        assert "create_instance_from_image_unpack" in stages
    finally:
        force_delete_instance(client, name)
