"""Unit tests of the security guarantees: verification settings, websockets'
TLS, client certificates loaded once, secrets kept out of logs, reprs and
messages, and bounded websocket handshakes.

The real refusals (wrong pinned certificate, unrelated CA) are shown against
the daemon in ``integration/test_security.py``; here each setting is checked
where it is decided, with no network.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import ssl
import threading
import time
import types
from pathlib import Path
from typing import Any, Iterator

import pytest

from pylxd import Client, _websocket, exceptions
from pylxd._transport import _APINode, get_session_for_url, pinned_fingerprint
from pylxd.models.certificate import TrustRefused
from pylxd.testing import FakeLXD
from pylxd.tests._certs import write_cert

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
URL = "https://lxd.example:8443"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    return write_cert(tmp_path, "client")


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Both CA variables set to a bundle of their own (as on these machines)."""
    bundle = write_cert(tmp_path, "env-bundle")[0]
    for name in CA_VARIABLES:
        monkeypatch.setenv(name, bundle)
    return bundle


def https_client(verify: Any, cert: Any = None) -> Any:
    """What ``tls_for`` reads from a client, without connecting anywhere."""
    api = _APINode(f"{URL}/1.0", cert=cert, verify=verify)
    return types.SimpleNamespace(
        api=api, cert=cert, websocket_url="wss://lxd.example:8443"
    )


def effective_verify(session: Any) -> Any:
    settings = session.merge_environment_settings(URL, {}, None, None, None)
    return settings["verify"]


# -- verify= ---------------------------------------------------------------------------
def test_verify_is_on_by_default() -> None:
    assert get_session_for_url(URL).verify is True
    assert _APINode(f"{URL}/1.0").session.verify is True


@pytest.mark.parametrize("explicit", ["pinned", False])
def test_explicit_verify_beats_the_ca_variables(
    explicit: Any, pair: tuple[str, str], hostile_env: str
) -> None:
    verify = pair[0] if explicit == "pinned" else False
    session = get_session_for_url(URL, verify=verify)
    assert effective_verify(session) == verify


def test_a_per_request_verify_still_wins(
    pair: tuple[str, str], hostile_env: str
) -> None:
    session = get_session_for_url(URL, verify=pair[0])
    settings = session.merge_environment_settings(URL, {}, None, False, None)
    assert settings["verify"] is False


@pytest.mark.parametrize("explicit", ["pinned", False])
def test_websockets_verify_like_the_session_despite_the_environment(
    explicit: Any, pair: tuple[str, str], hostile_env: str
) -> None:
    verify = pair[0] if explicit == "pinned" else False
    context, options = _websocket.tls_for(https_client(verify, pair))
    assert context is not None and options is not None
    if verify is False:
        assert context.verify_mode == ssl.CERT_NONE
        assert "cert_reqs" not in options
    else:  # one certificate, not a CA: pinned, whatever the environment says
        assert context.pin == pinned_fingerprint(pair[0])  # type: ignore[attr-defined]
        assert options["cert_reqs"] == ssl.CERT_REQUIRED
        assert options["ca_certs"] == pair[0] != hostile_env


def test_websockets_with_default_verify_require_a_valid_chain() -> None:
    context, options = _websocket.tls_for(https_client(True))
    assert context is not None and options is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert options["cert_reqs"] == ssl.CERT_REQUIRED


def test_no_tls_on_the_unix_socket() -> None:
    client = types.SimpleNamespace(api=_APINode("http+unix://%2Fs/1.0", session=1))
    assert _websocket.tls_for(client) == (None, None)  # type: ignore[arg-type]


def test_verify_false_warns_on_every_https_request() -> None:
    """requests/urllib3 warn for unverified HTTPS; pylxd never silences it."""
    import warnings

    import urllib3

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not any(
            f[2] is urllib3.exceptions.InsecureRequestWarning and f[0] == "ignore"
            for f in warnings.filters
        )


# -- client certificates ------------------------------------------------------------
def test_websocket_context_loads_the_client_certificate_once(
    pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Any] = []
    original = ssl.SSLContext.load_cert_chain

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args)
        original(self, *args, **kwargs)

    _websocket._ssl_context.cache_clear()
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", counting)
    client = https_client(pair[0], pair)
    contexts = {id(_websocket.tls_for(client)[0]) for _ in range(20)}
    assert len(contexts) == 1 and len(loads) == 1


def test_client_certificate_files_are_not_read_for_plain_http(
    pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A certificate means nothing on http:// or a socket: ignored, as pylxd did."""
    lxd = FakeLXD()
    opened: list[str] = []
    real_open = open

    def watching(path: Any, *args: Any, **kwargs: Any) -> Any:
        if str(path) in pair:
            opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", watching)
    client = Client(endpoint=lxd.endpoint, cert=pair, session=lxd.session())
    for _ in range(10):
        client.api.get()
    assert opened == []
    assert client.ssl_options is None


def test_key_material_is_never_logged(
    pair: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    key_text = Path(pair[1]).read_text().splitlines()[1]
    lxd = FakeLXD()
    with caplog.at_level(logging.DEBUG):
        client = Client(endpoint=lxd.endpoint, cert=pair, session=lxd.session())
        client.profiles.get("default")
        _websocket.tls_for(https_client(pair[0], pair))
    assert key_text not in caplog.text


# -- secrets: password and token -------------------------------------------------------
@pytest.fixture
def untrusted(pair: tuple[str, str]) -> Iterator[tuple[FakeLXD, Client]]:
    lxd = FakeLXD(trusted=False)
    lxd.config["core.trust_password"] = "pw-0123456789-secret"
    client = Client(endpoint=lxd.endpoint, cert=pair, session=lxd.session())
    client.api.session.cert = pair
    yield lxd, client


def _every_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records
    )


def test_secrets_never_logged_shown_or_raised(
    untrusted: tuple[FakeLXD, Client],
    pair: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    lxd, client = untrusted
    password = "pw-0123456789-secret"
    wrong = "wrong-9876543210-secret"
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(TrustRefused) as refused:
            client.authenticate(wrong)
        texts += [str(refused.value), repr(refused.value)]
        client.authenticate(password)
        lxd.trusted = True
        token = client.certificates.create_token("newcomer")
        other = Path(write_cert(tmp_path, "other")[0]).read_bytes()
        added = client.certificates.create(password, other, name="other")
        texts += [repr(client), repr(added), repr(client.certificates)]
        with pytest.raises(exceptions.Forbidden) as refused_token:
            lxd.trusted = False
            third = Path(write_cert(tmp_path, "third")[0]).read_bytes()
            forged = json.loads(base64.b64decode(token)) | {"secret": wrong}
            forged_token = base64.b64encode(json.dumps(forged).encode()).decode()
            client.certificates.create(forged_token, third, token_auth=True)
        texts += [str(refused_token.value), repr(refused_token.value)]
    secret = json.loads(base64.b64decode(token))["secret"]
    logged = _every_text(caplog)
    assert "POST /1.0/certificates" in logged  # the requests were logged...
    for value in (password, wrong, token, secret, forged_token):
        assert value not in logged  # ...but never their secrets
        assert all(value not in text for text in texts)


def test_redacted_query_parameters(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeLXD().client()
    with caplog.at_level(logging.DEBUG, logger="pylxd"):
        with pytest.raises(exceptions.LXDAPIException):
            client.api.operations["x"].websocket.get(
                params={"secret": "ws-secret-42", "password": "p-42", "token": "t-42"}
            )
    assert "<redacted>" in caplog.text
    for value in ("ws-secret-42", "p-42", "t-42"):
        assert value not in caplog.text


def test_websocket_repr_hides_the_operation_secret() -> None:
    ws = _websocket._LXDWebSocket("ws+unix:///var/lib/lxd/unix.socket")
    ws.resource = "/1.0/operations/abc/websocket?secret=0123456789abcdef"
    try:
        assert "0123456789abcdef" not in repr(ws)
        assert "/1.0/operations/abc/websocket" in repr(ws)
    finally:
        ws.close_connection()


# -- bounded handshakes ---------------------------------------------------------------
@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts and never answers (nothing leaves the host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    yield server.getsockname()[1]
    server.close()


def test_websocket_handshake_is_bounded(
    silent_listener: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_websocket._LXDWebSocket, "handshake_timeout", 0.3)
    ws = _websocket._LXDWebSocket(f"ws://127.0.0.1:{silent_listener}")
    ws.resource = "/1.0/events?secret=s3cr3t"
    outcome: dict[str, Any] = {}

    def connect() -> None:
        started = time.monotonic()
        try:
            ws.connect()
        except exceptions.ClientConnectionFailed as err:
            outcome["err"] = err
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the handshake hangs"
    message = str(outcome["err"])
    assert "no answer within 0.3 s" in message and "/1.0/events" in message
    assert "s3cr3t" not in message
    assert outcome["took"] < 5


def test_a_connected_websocket_has_no_leftover_timeout() -> None:
    lxd = FakeLXD()
    client = lxd.client()
    with client.events_iter(timeout=0.05) as events:
        assert events._ws is not None
        sock = events._ws.sock
        assert sock is not None and sock.gettimeout() in (None, 0.05)
        assert list(events) == [] and events.timed_out
