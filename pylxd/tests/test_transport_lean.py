"""The lean request path of our own sessions builds what requests would build."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import requests

from pylxd import _transport
from pylxd.client import Client
from pylxd.testing import FakeLXD

BASE = "http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket/1.0/instances"


def _reference(url: str, params: Any, json: Any = None) -> requests.PreparedRequest:
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method="post", url=url, headers={"A": "b"}, params=params, json=json
    )
    return prepared


@pytest.mark.parametrize(
    "url, params",
    [
        (BASE, None),
        (BASE, {}),
        (BASE, {"recursion": 1, "project": "p 1"}),
        (BASE, {"filter": ["a", "b"], "skipped": None}),
        (BASE + "?recursion=1", {"project": "p"}),
        (BASE + "/a%2Fb", {"path": "/root/x y"}),
        (BASE + "/with space", None),
        (BASE + "#frag", {"x": 1}),
        (BASE, "raw=1"),
    ],
)
def test_prepare_matches_requests(url: str, params: Any) -> None:
    lean = _transport._prepare("post", url, {"A": "b"}, params, None, {"k": [1]})
    reference = _reference(url, params, json={"k": [1]})
    assert (lean.method, lean.url, lean.body) == (
        reference.method,
        reference.url,
        reference.body,
    )
    assert dict(lean.headers) == dict(reference.headers)


def test_session_get_takes_the_lean_path() -> None:
    """``Session.get`` passes ``allow_redirects``: it must not force the slow path."""
    with FakeLXD() as fake:
        client = Client(endpoint=fake.endpoint)  # a session of our own making
        with mock.patch.object(
            requests.Session, "request", side_effect=AssertionError("slow path")
        ):
            assert client.profiles.get("default").name == "default"
            assert client.instances.exists("missing") is False


def test_unusual_arguments_take_requests_full_path() -> None:
    full = requests.Session.request
    calls = []

    def spy(session: requests.Session, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return full(session, *args, **kwargs)

    with FakeLXD() as fake:
        client = Client(endpoint=fake.endpoint)
        with mock.patch.object(requests.Session, "request", spy):
            client.api.profiles.default.get(cookies={"a": "b"})
    assert len(calls) == 1
