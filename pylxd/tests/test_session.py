"""The Unix-socket session: what ``requests.Session()`` builds, requests' own adapters on demand."""

from __future__ import annotations

import copy
import gc
from unittest import mock

import requests
import requests.adapters

from pylxd import _transport
from pylxd._session import SOCKET_PREFIX, _SocketSession
from pylxd._unix import _UnixAdapter

URL = "http+unix://%2Fvar%2Flib%2Flxd%2Funix.socket"


def _adapter() -> mock.Mock:
    return mock.Mock(spec=requests.adapters.BaseAdapter)


def test_it_has_every_attribute_requests_gives_a_session() -> None:
    reference = requests.Session()
    reference.mount(SOCKET_PREFIX, _UnixAdapter())
    session = _transport.get_session_for_url(URL)
    assert isinstance(session, _SocketSession)
    assert set(requests.Session.__attrs__) <= set(vars(reference))
    for name in vars(reference):
        ours, theirs = getattr(session, name), getattr(reference, name)
        assert type(ours) is type(theirs), name
        if name not in ("headers", "trust_env", "cookies", "adapters"):
            assert ours == theirs, name
    # A socket's own values: no environment, no compression.
    assert session.trust_env is False
    assert dict(session.headers) == {
        "User-Agent": reference.headers["User-Agent"],
        "Accept-Encoding": "identity",
    }
    assert list(session.cookies) == []
    assert list(session.adapters) == list(reference.adapters)


def test_requests_adapters_are_built_only_when_asked_for() -> None:
    unix = _adapter()
    session = _SocketSession(unix)
    with mock.patch.object(
        requests.adapters, "HTTPAdapter", side_effect=AssertionError("built")
    ):
        assert session.get_adapter(URL + "/1.0") is unix
        assert session.get_adapter("HTTP+UNIX://%2Fother/1.0") is unix
        session.close()
    unix.close.assert_called_once_with()
    http = session.get_adapter("http://example.com/")
    assert type(http) is requests.adapters.HTTPAdapter
    assert list(session.adapters) == [SOCKET_PREFIX, "https://", "http://"]
    assert session.adapters["http://"] is http


def test_a_longer_prefix_mounted_later_wins_as_in_requests() -> None:
    session = _SocketSession(_adapter())
    special = _adapter()
    session.mount(URL, special)
    assert session.get_adapter(URL + "/1.0") is special
    assert session.get_adapter("http+unix://%2Felsewhere/1.0") is not special
    assert list(session.adapters)[0] == URL


def test_adapters_can_be_replaced() -> None:
    session = _SocketSession(_adapter())
    other = _adapter()
    session.adapters = {"http+unix://": other}
    assert session.get_adapter(URL) is other
    assert list(session.adapters) == ["http+unix://"]


def test_a_dropped_session_closes_its_adapters_and_a_copy_leaves_them() -> None:
    unix = _adapter()
    session = _SocketSession(unix)
    duplicate = copy.copy(session)
    assert duplicate.get_adapter(URL) is unix
    del duplicate
    gc.collect()
    unix.close.assert_not_called()
    del session  # no cyclic garbage collection needed
    unix.close.assert_called_once_with()
