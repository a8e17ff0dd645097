"""Saving an instance (mixed into ``Instance``): ``PUT /1.0/instances/<name>``.

LXD keeps ``volatile.*`` config keys for itself and rewrites them while an
instance starts or stops, which also changes its ETag. ``save`` sends the
server's ``volatile.*`` keys back with a new ``config``, and with
``If-Match`` retries a few times when only those keys changed on the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _model as model

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode


#: The writable fields a stale-ETag retry compares with the server's.
_ETAG_FIELDS = ("architecture", "config", "devices", "ephemeral", "profiles")
#: How many times a save is sent again when only ``volatile.*`` keys changed
#: (they change several times while an instance starts).
_VOLATILE_RETRIES = 3


def _not_volatile(config: Any) -> Any:
    """``config`` without the ``volatile.*`` keys LXD rewrites by itself."""
    if not isinstance(config, dict):
        return config
    return {k: v for k, v in config.items() if not k.startswith("volatile.")}


class InstanceSaveMixin:
    """``Instance.save`` and the ``volatile.*`` bookkeeping it needs."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Instance (model.Model)
        __dirty__: set[str]
        __orig__: dict[str, Any]

        @property
        def api(self) -> _APINode: ...

        def marshall(self, skip_readonly: bool = True) -> JSONDict: ...

        def _raw_attr(self, name: str) -> Any: ...

        def _is_loaded(self, name: str) -> bool: ...

        def _if_match_headers(self, if_match: bool | None) -> JSONDict | None: ...

        def _save_body(
            self, body: JSONDict, wait: bool, if_match: bool | None
        ) -> None: ...

    def save(self, wait: bool = False, *, if_match: bool | None = None) -> None:
        """Save the instance: ``PUT`` every writable attribute.

        Implements ``PUT /1.0/instances/<name>``. LXD keeps ``volatile.*``
        config keys for itself and refuses a config that drops some of them,
        so the server's ``volatile.*`` keys that a new ``config`` does not
        mention are sent back as they are.

        :param if_match: send ``If-Match`` with the instance's ETag (None: the
            client's switch). LXD rewrites ``volatile.*`` keys when the
            instance starts or stops, which changes its ETag: when only those
            changed on the server, the save is sent again with the server's
            new ``volatile.*`` values and ETag (a few times at most).
        :raises PreconditionFailed: when anything else changed on the server
            since the instance was loaded (nothing was saved).
        """
        body = self._save_payload()
        if self._if_match_headers(if_match) is None:
            self._save_body(body, wait, if_match)
            return
        for attempt in range(_VOLATILE_RETRIES + 1):
            try:
                self._save_body(body, wait, True)
                return
            except exceptions.PreconditionFailed:
                fresh = self._volatile_only_change()
                if fresh is None or attempt == _VOLATILE_RETRIES:
                    raise
                body = fresh

    def _save_payload(self) -> JSONDict:
        body = self.marshall()
        config = body.get("config")
        if isinstance(config, dict):
            body["config"] = {**self._server_volatile_keys(config), **config}
        return body

    def _loaded(self, key: str) -> Any:
        """The value of ``key`` as loaded from the server (MISSING: unknown)."""
        if key in self.__orig__:
            return self.__orig__[key]
        if key in self.__dirty__ or not self._is_loaded(key):
            return model.MISSING
        return self._raw_attr(key)

    def _volatile_only_change(self) -> JSONDict | None:
        """After a 412: the body to send again when only ``volatile.*`` changed.

        Reads the instance once; when its state differs from the loaded one
        only in ``volatile.*`` keys, the new ETag is adopted and the body is
        rebuilt with the server's ``volatile.*`` values; otherwise None.
        """
        response = self.api.get()
        server = exceptions.metadata_of(response)
        for key in _ETAG_FIELDS:
            loaded, now = self._loaded(key), server.get(key)
            if key == "config":
                loaded, now = _not_volatile(loaded), _not_volatile(now)
            if loaded is model.MISSING or loaded != now:
                return None
        config = server.get("config") or {}
        object.__setattr__(self, "_etag", model.etag_of(response))
        self.__orig__["config"] = model._json_copy(config)
        body = self._save_payload()
        local = body.get("config")
        if isinstance(local, dict):  # the server's volatile values win now
            kept = {k: v for k, v in local.items() if not k.startswith("volatile.")}
            fresh = {k: v for k, v in config.items() if k.startswith("volatile.")}
            body["config"] = {**kept, **fresh}
        return body

    def _server_volatile_keys(self, config: JSONDict) -> JSONDict:
        server = self.__orig__.get("config")
        if server is None:  # config was assigned before anything was loaded
            server = exceptions.metadata_of(self.api.get()).get("config") or {}
        return {
            key: value
            for key, value in server.items()
            if key.startswith("volatile.") and key not in config
        }
