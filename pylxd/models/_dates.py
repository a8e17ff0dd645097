"""LXD's times as datetimes (python-dateutil parses what LXD writes), and back.

Models keep time attributes as the strings LXD sends, as pylxd 2.4.2 does;
:meth:`pylxd.models._model.Model.datetime_of` gives them parsed.
:func:`format_time` writes the times a client sends (``expires_at=``).
"""

from __future__ import annotations

import datetime
from typing import Any

from dateutil import parser, tz

from pylxd import exceptions

#: The year of Go's zero time, which LXD writes for "never"
#: (``0001-01-01T00:00:00Z``: an image never used, a snapshot that never expires).
_ZERO_YEAR = 1


def parse_time(value: Any, what: str) -> datetime.datetime | None:
    """``value``, an RFC 3339 time from LXD, as an aware datetime; None for "never".

    LXD writes nanoseconds, which ``datetime.fromisoformat`` refuses before
    Python 3.11; ``dateutil.parser.isoparse`` reads them (to microseconds).

    >>> parse_time("2024-05-01T10:20:30.123456789Z", "created_at")
    datetime.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=tzutc())
    >>> parse_time("0001-01-01T00:00:00Z", "expires_at") is None
    True

    :param what: how errors name the value (``Instance 'c1' created_at``).
    :raises InvalidArgumentType: ``value`` is not a string (nor None).
    :raises InvalidArgument: ``value`` is a string that is not such a time.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise exceptions.InvalidArgumentType(f"{what} is not a time: {value!r}")
    try:
        parsed = parser.isoparse(value)
    except (ValueError, OverflowError) as error:
        raise exceptions.InvalidArgument(
            f"{what} is not a time: {value!r} ({error})"
        ) from None
    if parsed.year == _ZERO_YEAR:
        return None
    if parsed.tzinfo is None:  # LXD writes UTC; an offset-less time is one
        parsed = parsed.replace(tzinfo=tz.UTC)
    return parsed


def format_time(value: datetime.datetime | str | None, what: str) -> str | None:
    """``value`` as the RFC 3339 time LXD reads (a naive datetime is UTC).

    A string is sent as given (LXD checks it); None stays None.

    >>> format_time(datetime.datetime(2030, 1, 2, 3, 4, 5), "expires_at")
    '2030-01-02T03:04:05+00:00'

    :param what: how errors name the value (``Snapshot expires_at``).
    :raises InvalidArgumentType: ``value`` is neither a datetime nor a string.
    """
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime.datetime):
        raise exceptions.InvalidArgumentType(
            f"{what} must be a datetime or an RFC 3339 string, "
            f"not {type(value).__name__}"
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.isoformat()
