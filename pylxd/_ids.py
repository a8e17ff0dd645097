"""The one check of numeric user and group ids (uid/gid) given to LXD.

LXD keeps ids as 32-bit unsigned numbers and parses what it is sent with
Go's ``strconv``: 5.0.2 wrapped ``2**32 + 5`` to uid 5, ignored ``2**70`` and
choked on non-ASCII digits. So every id is checked here before a request:
an ``int`` (not a ``bool``) or a string of ASCII digits, in ``0..2**32-1``.
"""

from __future__ import annotations

from typing import Any

from pylxd.exceptions import InvalidArgument, InvalidArgumentType

#: The largest id LXD (and Linux) can hold: 32 bits unsigned.
MAX_ID = 2**32 - 1

_ASCII_DIGITS = frozenset("0123456789")


def check_id(kind: str, value: Any, *, digits: bool = True) -> int:
    """Return ``value`` as an id, or refuse it naming ``kind`` (``"uid"``...).

    :param kind: what the id is, for the message (``"uid"``, ``"gid"``,
        ``"execute user"``...).
    :param value: an ``int`` or (with ``digits``) a string of ASCII digits
        (``"1000"``).
    :param digits: accept strings of digits (file modes and owners do; exec's
        user and group, sent as JSON numbers, do not).
    :raises InvalidArgumentType: for a bool, a float or any other type.
    :raises InvalidArgument: for a negative id, one above ``2**32-1``, or a
        string that is not ASCII digits only.
    """
    if isinstance(value, str) and not digits:
        raise InvalidArgumentType(f"{kind} must be a numeric id (int), not {value!r}")
    if isinstance(value, str):
        if not value or not set(value) <= _ASCII_DIGITS:
            raise InvalidArgument(f"{kind} {value!r} is not a number (ASCII digits)")
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidArgumentType(
            f"{kind} must be an int or a string of digits, not {value!r}"
        )
    if not 0 <= number <= MAX_ID:
        raise InvalidArgument(
            f"{kind} {value!r} is out of range: ids are non-negative, up to {MAX_ID}"
        )
    return number
