"""The log files of an instance: ``/1.0/instances/<name>/logs``."""

from __future__ import annotations

from typing import ClassVar

from pylxd.models import _streaming
from pylxd.models._mixins import InstancePart, listed_names, quote


class InstanceLogs(InstancePart):
    """The log files of an instance, ``/1.0/instances/<name>/logs``.

    LXD keeps ``lxc.log`` and ``lxc.conf`` (which cannot be deleted) and the
    ``exec_*`` output of commands run with ``record-output``.
    """

    __slots__ = ()
    _path: ClassVar[tuple[str, ...]] = ("logs",)

    def all(self) -> list[str]:
        """Return the names of the log files (``GET /1.0/instances/<name>/logs``)."""
        return listed_names(self.api.get())

    def get(self, filename: str) -> str:
        """Return the text of a log file, whole.

        Implements ``GET /1.0/instances/<name>/logs/<filename>``; see
        :meth:`export` to stream a large file.
        """
        return str(
            self.api[quote(filename, "Instance log file")]
            .get()
            .content.decode("utf-8", "replace")
        )

    def export(
        self,
        filename: str,
        target: _streaming.Target,
        progress: _streaming.Progress | None = None,
    ) -> int:
        """Download a log file to ``target`` (a path or a binary file object), streamed.

        Implements ``GET /1.0/instances/<name>/logs/<filename>``. A path is
        written under a temporary name and renamed into place when complete.

        :returns: the number of bytes written.
        :raises InvalidArgumentType: for a target that is neither (nothing sent).
        :raises TransferIncomplete: when the log arrives short.
        """
        what = f"Log {filename!r} export"
        _streaming.check_target(target, what)
        response = self.api[quote(filename, "Instance log file")].get(stream=True)
        return _streaming.download(response, target, progress, what=what)

    def delete(self, filename: str) -> None:
        """Delete a log file (``DELETE /1.0/instances/<name>/logs/<filename>``).

        :raises LXDAPIException: for ``lxc.log`` and ``lxc.conf``.
        """
        self.api[quote(filename, "Instance log file")].delete()
