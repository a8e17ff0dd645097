"""An instance's image metadata (``metadata.yaml``) and its template files.

``/1.0/instances/<name>/metadata`` and ``.../metadata/templates``.
"""

from __future__ import annotations

from typing import Any

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models._mixins import InstancePart


class InstanceTemplates(InstancePart):
    """The image template files of an instance, ``/1.0/instances/<name>/metadata/templates``.

    A template only takes effect when the instance's metadata names it
    (``put_metadata``/``patch_metadata`` with ``templates``).
    """

    __slots__ = ()
    _path = ("metadata", "templates")

    def all(self) -> list[str]:
        """Return the template file names.

        Implements ``GET /1.0/instances/<name>/metadata/templates``.
        """
        return list(exceptions.metadata_of(self.api.get(), list, items=str))

    def get(self, name: str) -> str:
        """Return the content of a template file.

        Implements ``GET /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises NotFound: when there is no such template.
        """
        response = self.api.get(params={"path": name})
        return str(response.content.decode("utf-8"))

    def put(self, name: str, content: str | bytes) -> None:
        """Create or replace a template file.

        Implements ``POST /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises TypeError: when ``content`` is neither str nor bytes.
        """
        if isinstance(content, str):
            content = content.encode("utf-8")
        if not isinstance(content, bytes):
            raise exceptions.InvalidArgumentType(
                f"Template {name!r} content must be str or bytes, not {type(content).__name__}"
            )
        self.api.post(
            params={"path": name},
            data=content,
            headers={"Content-Type": "application/octet-stream"},
        )

    def delete(self, name: str) -> None:
        """Delete a template file.

        Implements ``DELETE /1.0/instances/<name>/metadata/templates?path=<name>``.

        :raises NotFound: when there is no such template.
        """
        self.api.delete(params={"path": name})


def metadata_dict(metadata: Any) -> JSONDict:
    """``metadata`` checked to be a dict, as ``put_metadata`` sends it.

    :raises InvalidArgumentType: when it is not a dict.
    """
    if not isinstance(metadata, dict):
        raise exceptions.InvalidArgumentType(
            f"Instance metadata must be a dict, not {type(metadata).__name__}"
        )
    return metadata
