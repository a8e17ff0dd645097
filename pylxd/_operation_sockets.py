"""The websockets of one LXD operation (exec, console): their path and secrets.

:class:`_OperationSockets` is the base of
:class:`~pylxd._websocket_exec._ExecSession` and
:class:`~pylxd.models.exec_streams.InteractiveSession`. It imports ws4py only
when it opens a socket, so that the models load without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib import parse

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


def websocket_path(client: Client, operation_id: str) -> str:
    """The URL path of ``/1.0/operations/<operation_id>/websocket``."""
    node = client.api.operations[operation_id].websocket
    return parse.urlparse(node._api_endpoint).path


class _OperationSockets:
    """The websockets of one LXD operation, each opened with its secret.

    :param fds: LXD's secrets by file descriptor (``"0"``, ``"1"``,
        ``"control"``...), as the operation's metadata names them.
    """

    def __init__(self, client: Client, operation_id: str, fds: dict[str, str]) -> None:
        self.client = client
        self.operation_id = operation_id
        self.fds = fds
        self._tls: tuple[Any, Any] | None = None

    def _websocket_path(self) -> str:
        return websocket_path(self.client, self.operation_id)

    def _socket(self, cls: Any, fd: str, *args: Any, **kwargs: Any) -> Any:
        """Connect ``cls(*args, **kwargs)`` to the websocket of ``fd``.

        LXD's own clients get the client's TLS context and connector; any
        class gets the ws4py ``ssl_options``.
        """
        # ws4py is imported once a socket is opened, not with the models.
        from pylxd._websocket import _is_lxd_class, connector_for, tls_for

        if self._tls is None:  # once, on the first socket: it may read files
            self._tls = tls_for(self.client)
        context, options = self._tls
        if options is not None:
            kwargs["ssl_options"] = options
        if _is_lxd_class(cls):
            kwargs["ssl_context"] = context
            kwargs["connector"] = connector_for(self.client)
        stream = cls(*args, **kwargs)
        stream.resource = f"{self._websocket_path()}?secret={self.fds[fd]}"
        stream.connect()
        return stream
