"""The ``requests`` sessions pylxd builds (:func:`pylxd._transport.get_session_for_url`).

A Unix-socket client talks to one adapter only, ours (:mod:`pylxd._unix`),
yet ``requests.Session()`` builds two more on every call, one urllib3 pool
manager each for ``https://`` and ``http://``, and closes them again when
the session goes: together about as much CPU as the rest of ``Client()``
besides its request. :class:`_SocketSession` is the session ``requests``
would build, with those two made only when something asks for them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Mapping, MutableMapping

import requests
import requests.adapters
from requests.cookies import RequestsCookieJar
from requests.hooks import default_hooks
from requests.models import DEFAULT_REDIRECT_LIMIT
from requests.structures import CaseInsensitiveDict
from requests.utils import default_user_agent

#: The prefix of Unix-socket URLs, where :class:`_SocketSession` mounts ours.
SOCKET_PREFIX = "http+unix://"
_USER_AGENT = default_user_agent()


class _Session(requests.Session):
    """A requests session whose request path and environment merge
    :func:`~pylxd._transport.get_session_for_url` replaces per session (held
    weakly: a bound method stored on the session would be a reference cycle)."""

    request: Callable[..., requests.Response]
    merge_environment_settings: Callable[..., Any]


class _SocketSession(_Session):
    """``requests.Session()`` with ``adapter`` mounted for :data:`SOCKET_PREFIX`.

    It has every attribute ``requests.Session()`` gives (``test_session.py``
    checks the list), with a socket's values: no environment (``trust_env`` False:
    proxies, ``.netrc`` and CA bundles mean nothing there) and
    ``Accept-Encoding: identity`` (LXD does not compress on its socket).
    requests' own ``https://`` and ``http://`` adapters are mounted when
    :attr:`adapters` is first read or a URL of another scheme is sent;
    until then they are neither built nor closed. The adapters are closed
    when the session is garbage (no ``ResourceWarning`` for pooled sockets).
    """

    def __init__(self, adapter: requests.adapters.BaseAdapter) -> None:
        # What requests.Session.__init__ sets, in its order.
        self.headers = CaseInsensitiveDict(
            {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        )
        self.auth = None
        self.proxies = {}
        self.hooks = default_hooks()
        self.params = {}
        self.stream = False
        self.verify = True
        self.cert = None
        self.max_redirects = DEFAULT_REDIRECT_LIMIT
        self.trust_env = False
        self.cookies = RequestsCookieJar()  # cookiejar_from_dict({}) without the copy
        self._mounted: MutableMapping[str, requests.adapters.BaseAdapter]
        self._mounted = OrderedDict({SOCKET_PREFIX: adapter})
        self._defaults_pending = True
        self._owns_adapters = True  # a copy (pickle, copy.copy) shares them

    @property
    def adapters(self) -> MutableMapping[str, requests.adapters.BaseAdapter]:
        """The mounted adapters, requests' own ``https://`` and ``http://`` included."""
        if self._defaults_pending:
            self._defaults_pending = False
            self.mount("https://", requests.adapters.HTTPAdapter())
            self.mount("http://", requests.adapters.HTTPAdapter())
        return self._mounted

    @adapters.setter
    def adapters(
        self, value: MutableMapping[str, requests.adapters.BaseAdapter]
    ) -> None:
        self._mounted, self._defaults_pending = value, False

    def get_adapter(self, url: str) -> requests.adapters.BaseAdapter:
        # requests' defaults cannot match a socket URL: no need to build them.
        if self._defaults_pending and url[:12].lower() == SOCKET_PREFIX:
            for prefix, adapter in self._mounted.items():
                if url.lower().startswith(prefix.lower()):
                    return adapter
        return super().get_adapter(url)

    def close(self) -> None:
        for adapter in list(self._mounted.values()):
            adapter.close()

    def __del__(self) -> None:
        # Pooled sockets are closed as soon as the session is garbage (no
        # ResourceWarning); cheaper than a weakref.finalize per session.
        if self.__dict__.get("_owns_adapters"):
            self.close()


def _close_adapters(adapters: Mapping[str, requests.adapters.BaseAdapter]) -> None:
    for adapter in list(adapters.values()):
        adapter.close()
