"""Security against the real LXD: verified TLS everywhere, secrets kept out of
logs and messages, and file transfers that never leave their roots.

TLS: a server whose certificate is not the expected one (wrong pinned
certificate, unrelated CA, the system CAs for a self-signed daemon) is refused
on HTTP *and* on each websocket (exec, console, events), whatever
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` say; ``verify=False`` works, with a
warning; a pinned certificate path works everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import ssl
import warnings
from pathlib import Path
from typing import Any, Iterator

import pytest
from ws4py.client import WebSocketBaseClient

from integration.conftest import (
    ON_INCUS,
    WAIT,
    busybox_container,
    https_client_for,
    trust_secret,
    unique_name,
)
from pylxd import Client, exceptions
from pylxd._websocket_exec import _ExecSession
from pylxd.models.exec_streams import InteractiveSession
from pylxd.models.files import UnsafePathWarning
from pylxd.tests._certs import fingerprint, write_cert

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


# -- helpers -------------------------------------------------------------------
@pytest.fixture
def unrelated_ca(tmp_path: Path) -> str:
    """A CA certificate that signed nothing LXD serves."""
    return write_cert(tmp_path, "unrelated-ca", ca=True)[0]


WRONG = ["other daemon's pinned cert", "unrelated CA", "system CAs"]


def wrong_verify(
    which: str,
    lxd_env: dict[str, Any],
    unrelated_ca: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """The ``verify`` a test uses, with the CA variables set against it.

    For an explicit path, both variables point at the daemon's *real*
    certificate: were they allowed to override ``verify``, the connection
    would succeed. ``verify=True`` means requests' default bundle, which the
    variables define, so they are removed for that case.
    """
    verify = wrong_verify_choices(lxd_env, unrelated_ca)[which]
    for name in CA_VARIABLES:
        if verify is True:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(lxd_env["main"]["server_cert"]))
    return verify


def wrong_verify_choices(lxd_env: dict[str, Any], unrelated_ca: str) -> dict[str, Any]:
    return {
        "other daemon's pinned cert": lxd_env["second"]["server_cert"],
        "unrelated CA": unrelated_ca,
        "system CAs": True,
    }


def misverifying_client(lxd_env: dict[str, Any], verify: Any) -> Client:
    """A trusted HTTPS client whose session now verifies with ``verify``.

    The client connects with the right certificate (so the daemon trusts it);
    only then is ``verify`` swapped, so that each websocket has to make its
    own decision from the session, as a man-in-the-middle would force it to.
    """
    wrong = https_client_for(lxd_env, "main")
    wrong.api.session.verify = verify
    return wrong


def assert_tls_refusal(err: BaseException, where: str) -> None:
    """``err`` is a TLS refusal naming ``where`` (an https URL or host:port)."""
    assert isinstance(err, exceptions.ClientConnectionFailed)
    text = str(err)
    assert where.split("//")[-1].split("/")[0] in text
    assert "certificate verify failed" in text or "CERTIFICATE_VERIFY_FAILED" in text


@pytest.fixture(scope="module")
def box(client: Client, image_alias: str) -> Iterator[Any]:
    """One running busybox container for this module (deleted after)."""
    with busybox_container(client, image_alias, "pylxd-it-sec", start=True) as name:
        yield client.instances.get(name)


# -- TLS over HTTP ---------------------------------------------------------------
@pytest.mark.parametrize("which", WRONG)
def test_http_refuses_a_server_cert_that_does_not_match(
    lxd_env: dict[str, Any],
    unrelated_ca: str,
    which: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verify = wrong_verify(which, lxd_env, unrelated_ca, monkeypatch)
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        Client(endpoint=lxd_env["main"]["https"], verify=verify)
    assert_tls_refusal(info.value, lxd_env["main"]["https"])


def test_pinned_path_wins_over_ca_variables(
    lxd_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CA_VARIABLES:  # a bundle that would refuse the daemon
        monkeypatch.setenv(name, str(lxd_env["second"]["server_cert"]))
    pinned = Client(
        endpoint=lxd_env["main"]["https"], verify=lxd_env["main"]["server_cert"]
    )
    assert pinned.host_info["api_version"] == "1.0"
    assert pinned.api.get().status_code == 200


def test_verify_false_works_with_a_warning_whatever_the_environment(
    lxd_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CA_VARIABLES:
        monkeypatch.setenv(name, str(lxd_env["second"]["server_cert"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        insecure = Client(endpoint=lxd_env["main"]["https"], verify=False)
        assert insecure.api.get().json()["metadata"]["api_version"] == "1.0"
    assert any("Unverified HTTPS request" in str(w.message) for w in caught)


# -- TLS on every websocket ----------------------------------------------------
# Each operation is started over HTTP by the correctly pinned client; only the
# websockets are then opened by a client whose session verifies differently,
# so the refusal shown is the websocket's own.
@pytest.fixture(params=WRONG)
def wrong(
    request: pytest.FixtureRequest,
    lxd_env: dict[str, Any],
    unrelated_ca: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Client:
    """A trusted HTTPS client whose session verifies the server wrongly (each way)."""
    verify = wrong_verify(request.param, lxd_env, unrelated_ca, monkeypatch)
    return misverifying_client(lxd_env, verify)


def _operation(answer: Any) -> tuple[str, dict[str, str]]:
    body = answer.json()
    return body["operation"].rsplit("/", 1)[-1], body["metadata"]["metadata"]["fds"]


def test_exec_websockets_refuse_a_wrong_server_cert(
    box: Any, https_client: Client, wrong: Client
) -> None:
    instance = https_client.instances.get(box.name)
    operation_id, fds = instance._start_exec(["echo", "leaked"], interactive=False)
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        _ExecSession(wrong, operation_id, fds).open()
    assert_tls_refusal(info.value, wrong.api.netloc)
    # The right pin reads the very same command's output.
    session = _ExecSession(https_client, operation_id, fds).open()
    https_client.operations.wait_for_operation(operation_id, timeout=WAIT)
    assert session.drain(30) == ("leaked\n", "")


def test_interactive_exec_websockets_refuse_a_wrong_server_cert(
    box: Any, https_client: Client, wrong: Client
) -> None:
    instance = https_client.instances.get(box.name)
    operation_id, fds = instance._start_exec(["cat"], interactive=True)
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        InteractiveSession(wrong, operation_id, fds).open()
    assert_tls_refusal(info.value, wrong.api.netloc)
    session = InteractiveSession(https_client, operation_id, fds).open()
    session.write("typed\n")
    assert b"typed" in session.read_until("typed", timeout=30)
    session.close()
    https_client.operations.wait_for_operation(operation_id, timeout=WAIT)


def test_console_websockets_refuse_a_wrong_server_cert(
    box: Any, https_client: Client, wrong: Client
) -> None:
    answer = https_client.api.instances[box.name].console.post(
        json={"type": "console", "width": 80, "height": 24}
    )
    operation_id, fds = _operation(answer)
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        InteractiveSession(wrong, operation_id, fds, console=True).open()
    assert_tls_refusal(info.value, wrong.api.netloc)
    session = InteractiveSession(https_client, operation_id, fds, console=True)
    with session.open():
        assert session.data is not None and session.data.sock is not None


def test_events_websocket_refuses_a_wrong_server_cert(wrong: Client) -> None:
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        wrong.events_iter(timeout=5)
    assert_tls_refusal(info.value, wrong.api.netloc)
    ws = wrong.events()
    with pytest.raises(exceptions.ClientConnectionFailed) as info:
        ws.connect()
    assert_tls_refusal(info.value, wrong.api.netloc)


class _PlainWs4py(WebSocketBaseClient):  # type: ignore[misc]
    """A user's own ws4py class (not one of pylxd's), as pylxd 2.4.2 allowed."""


def test_a_users_plain_ws4py_events_class_also_verifies(
    lxd_env: dict[str, Any], https_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CA_VARIABLES:
        monkeypatch.setenv(name, str(lxd_env["main"]["server_cert"]))
    wrong = misverifying_client(lxd_env, lxd_env["second"]["server_cert"])
    ws = wrong.events(websocket_client=_PlainWs4py)
    with pytest.raises((ssl.SSLError, exceptions.ClientConnectionFailed)):
        ws.connect()
    ws.close_connection()
    good = https_client.events(websocket_client=_PlainWs4py)
    good.connect()
    good.close_connection()


def test_pinned_cert_works_on_every_websocket(
    https_client: Client, box: Any, client: Client
) -> None:
    instance = https_client.instances.get(box.name)
    with https_client.events_iter(timeout=WAIT) as events:
        assert instance.execute(["echo", "pinned"], timeout=30).stdout == "pinned\n"
        event = events.until(lambda e: e.get("type") == "operation", timeout=30)
    assert event["type"] == "operation"
    with instance.interactive_console() as console:
        assert console.control is not None


def test_verify_false_websockets_work(lxd_env: dict[str, Any], box: Any) -> None:
    cert = (lxd_env["client_cert"], lxd_env["client_key"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        insecure = Client(endpoint=lxd_env["main"]["https"], cert=cert, verify=False)
        assert insecure.instances.get(box.name).execute(["echo", "x"]).stdout == "x\n"
        with insecure.events_iter(timeout=1) as events:
            list(events)
        assert events.timed_out


# -- client certificates and secrets ------------------------------------------------
def test_client_certificate_is_loaded_once_for_many_requests_and_websockets(
    lxd_env: dict[str, Any], box: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[tuple[Any, ...]] = []
    original = ssl.SSLContext.load_cert_chain

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", counting)
    fresh = https_client_for(lxd_env, "main")
    for _ in range(20):
        fresh.api.get()
    instance = fresh.instances.get(box.name)
    for _ in range(3):
        assert instance.execute(["true"], timeout=30).exit_code == 0
    # One HTTP keep-alive connection (one load) and one cached websocket context.
    assert len(loads) <= 2, loads


@pytest.fixture
def fresh_identity(tmp_path: Path, client: Client) -> Iterator[tuple[str, str]]:
    """An untrusted client certificate, removed from the trust store afterwards."""
    pair = write_cert(tmp_path, unique_name("pylxd-it-sec-cert"))
    yield pair
    with contextlib.suppress(exceptions.NotFound):
        client.api.certificates[fingerprint(pair[0])].delete()


def _leaks(secret: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    found = []
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args!r} {record.__dict__!r}"
        if secret in text:
            found.append(text[:300])
    return found


def test_secrets_never_reach_logs_reprs_or_messages(
    lxd_env: dict[str, Any],
    https_client: Client,
    fresh_identity: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: pylxd, urllib3, ws4py
    password = lxd_env["main"]["trust_password"]  # None on Incus (tokens only)
    first_secret = trust_secret(lxd_env)
    wrong_password = "pylxd-it-wrong-" + unique_name()
    url = lxd_env["main"]["https"]
    untrusted = Client(
        endpoint=url, cert=fresh_identity, verify=lxd_env["main"]["server_cert"]
    )
    assert not untrusted.trusted

    with pytest.raises(exceptions.LXDAPIException) as refused:
        untrusted.authenticate(wrong_password)
    for text in (str(refused.value), repr(refused.value)):
        assert wrong_password not in text
        assert "refused" in text.lower()

    untrusted.authenticate(first_secret)
    assert untrusted.trusted

    token = https_client.certificates.create_token(unique_name("pylxd-it-sec-tok"))
    other = write_cert(tmp_path, unique_name("pylxd-it-sec-other"))
    added = write_cert(tmp_path, unique_name("pylxd-it-sec-add"))[0]
    try:
        newcomer = Client(
            endpoint=url, cert=other, verify=lxd_env["main"]["server_cert"]
        )
        newcomer.authenticate(token)
        assert newcomer.trusted
        created = https_client.certificates.create(
            password or "", Path(added).read_bytes()
        )
        texts = [str(refused.value), repr(untrusted), repr(newcomer), repr(created)]
    finally:
        for crt in (other[0], added):
            with contextlib.suppress(exceptions.NotFound):
                https_client.api.certificates[fingerprint(crt)].delete()

    secret_of_token = json.loads(base64.b64decode(token))["secret"]
    secrets = (password, first_secret, wrong_password, token, secret_of_token)
    for secret in filter(None, secrets):
        assert _leaks(secret, caplog) == []
        assert all(secret not in text for text in texts)
    assert any(r.name.startswith("pylxd") for r in caplog.records)


def test_refused_authentication_message_does_not_echo_the_secret(
    lxd_env: dict[str, Any], fresh_identity: tuple[str, str]
) -> None:
    secret = "s3cr3t-" + unique_name()
    untrusted = Client(
        endpoint=lxd_env["main"]["https"],
        cert=fresh_identity,
        verify=lxd_env["main"]["server_cert"],
    )
    if ON_INCUS:  # no trust password there: refused before anything is sent
        with pytest.raises(exceptions.InvalidArgument) as refused:
            untrusted.authenticate(secret, use_token_auth=True)
        assert secret not in str(refused.value) and secret not in repr(refused.value)
        return
    with pytest.raises(exceptions.Forbidden) as info:
        untrusted.authenticate(secret, use_token_auth=True)
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in repr(info.value.response.request.__dict__.get("url", ""))


# -- files: never outside the roots ---------------------------------------------
HOSTILE_TREE = r"""
set -e
rm -rf /tree && mkdir -p /tree/sub /tree/sub/deeper
echo inside > /tree/file
echo deep > /tree/sub/deeper/deep.txt
ln -s /etc/passwd /tree/abs-out
ln -s ../../../../../../../../etc/hostname /tree/rel-out
ln -s / /tree/root-link
ln -s /etc /tree/sub/dir-out
ln -s .. /tree/sub/up
ln -s ../.. /tree/sub/deeper/upup
ln -s /tree/file /tree/abs-in
ln -s file /tree/rel-in
ln -s sub/deeper /tree/dir-in
echo victim > /tree/plant
ln -s /tree/sub/dir-out /tree/chain-out
"""


def _all_paths_inside(root: Path) -> list[str]:
    real_root = os.path.realpath(root)
    escaped = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            real = os.path.realpath(os.path.join(dirpath, name))
            if not (real == real_root or real.startswith(real_root + os.sep)):
                escaped.append(os.path.join(dirpath, name))
    return escaped


def test_recursive_get_never_writes_outside_the_target(
    box: Any, tmp_path: Path
) -> None:
    assert box.execute(["sh", "-c", HOSTILE_TREE], timeout=60).exit_code == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    # A local symlink already in the target, named like a container file:
    # writing "plant" must not go through it into "outside".
    (target / "plant").symlink_to(outside / "planted")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        box.files.recursive_get("/tree", str(target))

    assert list(outside.iterdir()) == []
    # Only the planted link (left untouched, never written through) points out.
    assert _all_paths_inside(target) == [str(target / "plant")]
    assert (target / "file").read_text() == "inside\n"
    assert (target / "sub" / "deeper" / "deep.txt").read_text() == "deep\n"
    assert os.readlink(target / "rel-in") == "file"
    assert (target / "dir-in" / "deep.txt").read_text() == "deep\n"
    # chain-out -> sub/dir-out may stay as a (dangling) link inside the
    # target: dir-out itself, which leaves the tree, is never created.
    for name in ("abs-out", "rel-out", "root-link"):
        assert not os.path.lexists(target / name), name
    assert not os.path.lexists(target / "sub" / "dir-out")
    skipped = " ".join(
        str(w.message) for w in caught if w.category is UnsafePathWarning
    )
    for name in ("abs-out", "rel-out", "root-link", "dir-out", "plant"):
        assert name in skipped, (name, skipped)


def test_recursive_get_into_a_target_that_is_itself_a_link_stays_inside(
    box: Any, tmp_path: Path
) -> None:
    assert box.execute(["sh", "-c", HOSTILE_TREE], timeout=60).exit_code == 0
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsafePathWarning)
        box.files.recursive_get("/tree/sub", str(tmp_path / "alias"))
    assert (real / "deeper" / "deep.txt").read_text() == "deep\n"
    assert _all_paths_inside(real) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias", "real"]


def test_recursive_put_does_not_follow_symlinks_out_of_the_source(
    box: Any, tmp_path: Path
) -> None:
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "key").write_text("private key material")
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "plain").write_text("public")
    (src / "leak-file").symlink_to(secret_dir / "key")
    (src / "leak-dir").symlink_to(secret_dir)
    dst = f"/srv-{unique_name()}"
    try:
        box.files.recursive_put(str(src), dst)
        assert box.files.get(f"{dst}/d/plain") == b"public"
        for name in ("leak-file", "leak-dir"):
            assert box.files.stat(f"{dst}/{name}").type == "symlink"
        grep = box.execute(["grep", "-r", "private key material", dst], timeout=30)
        assert grep.exit_code == 1 and grep.stdout == ""

        followed = f"{dst}-followed"
        box.files.recursive_put(str(src), followed, follow_symlinks=True)
        assert box.files.get(f"{followed}/leak-file") == b"private key material"
        assert box.files.stat(f"{followed}/leak-dir").type == "directory"
    finally:
        box.execute(["rm", "-rf", dst, f"{dst}-followed"], timeout=30)
