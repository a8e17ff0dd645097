"""Retries of requests that are safe to repeat: :class:`Retry` and its loop.

A policy is opt-in (``Client(retry=Retry(...))`` or ``retry=`` on one
request) and bounded three ways: a number of tries, a growing pause between
them, and a total time. The client-wide policy only covers reads (``GET`` and
``HEAD``, which includes an operation's ``/wait``); a write is repeated only
when its own call passes ``retry=``, because LXD may have done it already
when the answer was lost.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

from pylxd import exceptions

logger = logging.getLogger("pylxd")

#: Verbs a client-wide policy repeats: they change nothing on the server.
SAFE_VERBS = frozenset(("get", "head"))


@dataclass(frozen=True)
class Retry:
    """When and how often to send a request again after a transient failure.

    Transient failures are a daemon that cannot be reached (connection
    refused or reset, socket missing: LXD restarting), the statuses in
    ``statuses`` (a proxy or LXD saying it is not ready) and the errors whose
    message matches one of ``messages``. Anything else, such as a 404 or a
    request timeout, is reported at once.

    >>> list(Retry(total=4, backoff=0.5, max_backoff=1.5).delays())
    [0.5, 1.0, 1.5, 1.5]

    :param total: how many times to send again after the first failure.
    :param backoff: the pause before the first retry, doubled for each next
        one up to ``max_backoff`` (seconds).
    :param deadline: the total time (seconds) after which no retry starts
        (None: only ``total`` bounds it).
    :param statuses: HTTP statuses that are retried like a lost connection.
    :param max_backoff: the longest pause between two tries.
    :param messages: regular expressions; an ``LXDAPIException`` whose
        message matches one (``re.search``) is retried, whatever its status
        (for a server's known races that leave nothing changed).
    :raises InvalidArgument: for a negative or non-numeric setting, or a
        pattern that does not compile.
    """

    total: int = 5
    backoff: float = 0.2
    deadline: float | None = 30.0
    statuses: tuple[int, ...] = (502, 503, 504)
    max_backoff: float = 5.0
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.total, int) or self.total < 0:
            raise exceptions.InvalidArgument(
                f"Retry: total must be an int >= 0, not {self.total!r}"
            )
        for name in ("backoff", "max_backoff"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise exceptions.InvalidArgument(
                    f"Retry: {name} must be a number >= 0, not {value!r}"
                )
        if self.deadline is not None and (
            not isinstance(self.deadline, (int, float)) or self.deadline <= 0
        ):
            raise exceptions.InvalidArgument(
                f"Retry: deadline must be a number > 0 or None, not {self.deadline!r}"
            )
        for pattern in self.messages:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as err:
                raise exceptions.InvalidArgument(
                    f"Retry: messages must be regular expressions, not {pattern!r} ({err})"
                ) from err

    def delays(self) -> Iterator[float]:
        """The pauses before each retry, in order."""
        delay = float(self.backoff)
        for _ in range(self.total):
            yield min(delay, self.max_backoff)
            delay *= 2

    def _transient(self, err: Exception) -> bool:
        from pylxd._transport import ConnectionLost

        if isinstance(err, ConnectionLost):
            return True
        if isinstance(err, exceptions.LXDAPIException) and any(
            re.search(pattern, str(err)) for pattern in self.messages
        ):
            return True
        response = getattr(err, "response", None)
        return response is not None and response.status_code in self.statuses


def check_policy(retry: object, owner: str) -> Retry | None:
    """Return ``retry`` when it is a :class:`Retry` or None.

    :raises InvalidArgumentType: for anything else.
    """
    if retry is None or isinstance(retry, Retry):
        return retry
    raise exceptions.InvalidArgumentType(
        f"{owner}: retry must be a pylxd.Retry or None, not {type(retry).__name__}"
    )


_T = TypeVar("_T")


def send_with_retry(policy: Retry, what: str, send: Callable[[], _T]) -> _T:
    """Call ``send()`` until it succeeds, a failure is not transient, or the
    policy runs out; the last failure is then raised as it was."""
    started = time.monotonic()
    delays = policy.delays()
    while True:
        try:
            return send()
        except (exceptions.ClientConnectionFailed, exceptions.LXDAPIException) as err:
            if not policy._transient(err):
                raise
            delay = next(delays, None)
            elapsed = time.monotonic() - started
            if delay is None or (
                policy.deadline is not None and elapsed + delay > policy.deadline
            ):
                raise
            logger.debug("%s failed (%s); again in %.2f s", what, err, delay)
            time.sleep(delay)
