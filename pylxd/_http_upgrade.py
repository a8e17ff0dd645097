"""Raw connections upgraded from HTTP (``Upgrade: sftp``) to another protocol.

``requests`` cannot hand over the socket of a ``101 Switching Protocols``
answer, so these few lines speak HTTP/1.1 themselves, over the same Unix
socket or TLS settings (client certificate, ``verify``) as the client.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any
from urllib import parse

import requests
from requests.structures import CaseInsensitiveDict

from pylxd import _transport, exceptions

#: The most header bytes read before giving up on an answer.
MAX_HEADER_BYTES = 64 * 1024

SWITCHING_PROTOCOLS = 101


def connect(node: Any, protocol: str) -> socket.socket:
    """Open ``node``'s URL and upgrade the connection to ``protocol``.

    :param node: an ``_APINode`` (``client.api.instances["c1"].sftp``).
    :param protocol: the ``Upgrade`` header value, e.g. ``"sftp"``.
    :returns: the connected socket, speaking ``protocol`` (blocking mode).
    :raises LXDAPIException: (or NotFound, Forbidden) when LXD refuses.
    :raises ClientConnectionFailed: when LXD cannot be reached.
    """
    parts = parse.urlsplit(node._api_endpoint)
    timeout = node._timeout[0] if isinstance(node._timeout, tuple) else node._timeout
    try:
        sock = _open(parts, node.session, timeout)
    except OSError as err:
        raise exceptions.ClientConnectionFailed(
            f"Cannot reach LXD at {node._describe()}: {err}"
        ) from err
    path = parts.path
    if node._project is not None:
        path += "?" + parse.urlencode({"project": node._project})
    try:
        upgrade(sock, path, parts.hostname or "lxd", protocol)
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)
    return sock


def _open(
    parts: parse.SplitResult, session: requests.Session, timeout: float | None
) -> socket.socket:
    if parts.scheme == "http+unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(parse.unquote(parts.netloc))
        except OSError:
            sock.close()
            raise
        return sock
    default_port = 443 if parts.scheme == "https" else 80
    raw = socket.create_connection(
        (parts.hostname or "localhost", parts.port or default_port), timeout=timeout
    )
    if parts.scheme != "https":
        return raw
    try:
        return tls_context(session).wrap_socket(raw, server_hostname=parts.hostname)
    except OSError:
        raw.close()
        raise


def tls_context(session: requests.Session) -> ssl.SSLContext:
    """An SSL context with the session's ``verify`` and client certificate."""
    return _transport.tls_context(session.verify, session.cert)


def upgrade(sock: socket.socket, path: str, host: str, protocol: str) -> None:
    """Send the upgrade request on ``sock`` and check LXD's answer.

    :raises LXDAPIException: (or a subclass by status) unless LXD answers 101.
    """
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
        f"Connection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n"
    )
    sock.sendall(request.encode("ascii"))
    status, headers = _read_head(sock)
    if status == SWITCHING_PROTOCOLS:
        return
    response = requests.Response()
    response.status_code = status
    response.headers = headers
    response._content = _read_body(sock, headers)
    exceptions._check_response(response, ok=(SWITCHING_PROTOCOLS,), check_sync=False)
    raise exceptions.LXDAPIException(response)  # a 2xx instead of 101


def _read_head(sock: socket.socket) -> tuple[int, CaseInsensitiveDict[str]]:
    # Byte by byte: whatever follows the head belongs to the new protocol.
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte or len(head) > MAX_HEADER_BYTES:
            raise exceptions.ClientConnectionFailed(
                f"LXD closed the connection during the upgrade: {bytes(head[:200])!r}"
            )
        head += byte
    lines = head.decode("iso-8859-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise exceptions.ClientConnectionFailed(
            f"LXD sent an invalid HTTP status line: {lines[0]!r}"
        ) from None
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    return status, headers


def _read_body(sock: socket.socket, headers: CaseInsensitiveDict[str]) -> bytes:
    try:
        length = int(headers.get("Content-Length", "0"))
    except ValueError:
        length = 0
    body = bytearray()
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)
