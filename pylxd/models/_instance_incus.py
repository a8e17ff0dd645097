"""Instance operations Incus 6.0 adds over LXD 5.0.2.

:class:`IncusInstanceMixin` is mixed into ``Instance``: ``rebuild()``,
``access()``, ``debug_memory()`` and ``instance.exec_outputs`` (the files
``execute(record_output=True)`` leaves, ``/logs/exec-output`` on Incus). Each
checks its API extension first, so on LXD 5.0.2 they fail with
:class:`~pylxd.exceptions.LXDAPIExtensionNotAvailable` before any request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _model as model
from pylxd.models import _streaming
from pylxd.models._instance_config import check_source
from pylxd.models._instance_logs import InstanceLogs
from pylxd.models._mixins import is_incus

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client


#: The formats ``GET /1.0/instances/<name>/debug/memory`` writes.
MEMORY_DUMP_FORMATS = ("elf", "win-dmp", "kdump-zlib", "kdump-raw-zlib")


class InstanceExecOutputs(InstanceLogs):
    """The recorded exec output of an instance, ``/1.0/instances/<name>/logs/exec-output``.

    Incus keeps the ``exec_<id>.stdout``/``.stderr`` files of commands run with
    ``record-output`` here (LXD 5.0 keeps them among ``instance.logs``).
    ``all()``, ``get()``, ``export()`` and ``delete()`` work as on
    :class:`~pylxd.models._instance_logs.InstanceLogs`.
    """

    __slots__ = ()
    _path = ("logs", "exec-output")

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of ``/1.0/instances/<name>/logs/exec-output``.

        :raises LXDAPIExtensionNotAvailable: on a server that is not Incus.
        """
        client = self.instance.client
        if not is_incus(client):
            raise exceptions.LXDAPIExtensionNotAvailable(
                f"{type(self.instance).__name__} {self.instance.name!r}: "
                "/logs/exec-output is an Incus "
                "endpoint; LXD keeps recorded exec output in instance.logs"
            )
        return super().api


class IncusInstanceMixin:
    """``rebuild``, ``access``, ``debug_memory`` and ``exec_outputs`` (Incus)."""

    __slots__ = ()
    client: Client

    if TYPE_CHECKING:  # pragma: no cover

        @property
        def api(self) -> _APINode: ...

        def _subject(self) -> str: ...

        def _invalidate(self, *names: str) -> None: ...

    @property
    def exec_outputs(self) -> InstanceExecOutputs:
        """Recorded exec output (Incus): ``all()``, ``get``, ``export``, ``delete``."""
        return InstanceExecOutputs(self)

    def rebuild(self, source: JSONDict | None = None, wait: bool = False) -> None:
        """Replace the instance's root file system, keeping its configuration.

        Implements ``POST /1.0/instances/<name>/rebuild`` (API extension
        ``instances_rebuild``). The instance must be stopped.

        :param source: an image source such as ``{"type": "image", "alias":
            "busybox"}``; None rebuilds it empty (``{"type": "none"}``).
        :raises LXDAPIExtensionNotAvailable: without ``instances_rebuild``.
        :raises ValueError: for a source of an unknown shape.
        :raises LXDAPIException: when the server refuses (e.g. it is running).
        """
        self.client.assert_has_api_extension("instances_rebuild")
        owner = f"{type(self).__name__}.rebuild"
        body = {"source": check_source(owner, source or {"type": "none"})}
        with exceptions.naming(self._subject()):
            response: requests.Response = self.api.rebuild.post(json=body)
            model.wait_for(self.client, response, wait)
        self._invalidate("config", "expanded_config")

    def access(self) -> list[model.AttributeDict]:
        """Tell who has access to the instance: ``identifier``, ``role``, ``provider``.

        Implements ``GET /1.0/instances/<name>/access`` (API extension
        ``instance_access``).

        :raises LXDAPIExtensionNotAvailable: without ``instance_access``.
        """
        self.client.assert_has_api_extension("instance_access")
        with exceptions.naming(self._subject()):
            response = self.api.access.get()
        return [
            model.AttributeDict(e)
            for e in exceptions.metadata_of(response, (list, type(None)), items=dict)
            or ()
        ]

    def debug_memory(
        self,
        target: _streaming.Target,
        format: str = "elf",
        progress: _streaming.Progress | None = None,
    ) -> int:
        """Dump a virtual machine's memory to ``target`` (a path or a binary file).

        Implements ``GET /1.0/instances/<name>/debug/memory?format=``
        (API extension ``instance_debug_memory``), streamed.

        :param format: one of :data:`MEMORY_DUMP_FORMATS`.
        :returns: the number of bytes written.
        :raises ValueError: for an unknown format.
        :raises LXDAPIExtensionNotAvailable: without ``instance_debug_memory``.
        """
        if format not in MEMORY_DUMP_FORMATS:
            raise exceptions.InvalidArgument(
                f"{self._subject()}: memory dump format must be one of "
                f"{', '.join(MEMORY_DUMP_FORMATS)}, not {format!r}"
            )
        self.client.assert_has_api_extension("instance_debug_memory")
        with exceptions.naming(self._subject()):
            response = self.api.debug.memory._send(
                "get",
                (),
                {"params": {"format": format}, "stream": True},
                ok=(200,),
                check_sync=False,
            )
        return _streaming.download(response, target, progress)
