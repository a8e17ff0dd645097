"""Structure tests: every model has an endpoint, every manager resolves,
and pylxd 2.4.2's public names keep their signatures."""

from __future__ import annotations

import importlib
import inspect

import pytest

from pylxd import managers, models


@pytest.mark.parametrize("name", models.__all__)
def test_every_model_has_an_endpoint_or_api(name: str) -> None:
    try:
        cls = getattr(models, name)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"pylxd.models.{name} does not import: {err}")
    own_api = "api" in vars(cls) or any(
        "api" in vars(base) for base in cls.__mro__[1:] if base.__name__ != "Model"
    )
    assert getattr(cls, "_endpoint", None) or own_api or name == "Operation"


@pytest.mark.parametrize(
    "manager",
    [
        m
        for m in vars(managers).values()
        if isinstance(m, type)
        and issubclass(m, managers.BaseManager)
        and m is not managers.BaseManager
    ],
    ids=lambda m: m.__name__,
)
def test_every_manager_resolves(manager: type) -> None:
    assert inspect.isclass(manager(None).model)


SIGNATURES = {
    "pylxd.client.Client.__init__": "(self, endpoint=None, version='1.0', cert=None, verify=True, "
    "timeout=None, project=None, session=None)",
    "pylxd.client.Client.has_api_extension": "(self, name)",
    "pylxd.client.Client.assert_has_api_extension": "(self, name)",
    "pylxd.models._model.Attribute.__init__": "(self, validator=None, readonly=False, optional=False)",
    "pylxd.models._model.Model.__init__": "(self, client, **kwargs)",
    "pylxd.models._model.Model.save": "(self, wait=False)",
    "pylxd.models._model.Model.delete": "(self, wait=False)",
    "pylxd.models._model.Model.sync": "(self, rollback=False)",
    "pylxd.models.operation.Operation.get": "(client, operation_id)",
    "pylxd.models.profile.Profile.create": "(client, name, config=None, devices=None, description=None, "
    "wait=False)",
    "pylxd.models.profile.Profile.rename": "(self, new_name, wait=False)",
    "pylxd.models.project.Project.create": "(client, name, description=None, config=None)",
}


def _plain(sig: inspect.Signature) -> str:
    # Our keyword-only additions (if_match=, retry=) cannot be passed by
    # 2.4.2 code, so they are not part of its signature.
    return str(
        sig.replace(
            parameters=[
                p.replace(annotation=inspect.Parameter.empty)
                for p in sig.parameters.values()
                if p.name not in ("if_match", "retry")
            ],
            return_annotation=inspect.Signature.empty,
        )
    )


@pytest.mark.parametrize("dotted, expected", SIGNATURES.items())
def test_public_signatures(dotted: str, expected: str) -> None:
    module, cls_name, attr = dotted.rsplit(".", 2)
    obj = getattr(getattr(importlib.import_module(module), cls_name), attr)
    assert _plain(inspect.signature(obj)) == expected


def test_client_seams_are_reachable() -> None:
    from pylxd import client

    for name in (
        "Client",
        "_APINode",
        "get_session_for_url",
        "EventType",
        "DEFAULT_CERTS",
        "Cert",
        "_is_a_token",
        "requests",
    ):
        assert hasattr(client, name), name
