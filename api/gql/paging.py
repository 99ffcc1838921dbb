"""Keyset pages: a cursor is the last key of the page before, opaque to clients, capped sizes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import TypeVar

from api.gql.errors import bad_input

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20
LICENCE_PAGE = MAX_PAGE  # the contract's default of `patent { licences(first:) }`: 100


def page_size(first: int | None, default: int = DEFAULT_PAGE) -> int:
    size = default if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise bad_input("first", f"must be between 1 and {MAX_PAGE}, not {size}",
                        limit=MAX_PAGE)
    return size


def encode_cursor(*key: object) -> str:
    return base64.urlsafe_b64encode("\x1f".join(str(k) for k in key).encode()).decode()


def decode_cursor(cursor: str | None, parts: int) -> list[str] | None:
    if cursor is None:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x1f")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = []
    if len(key) != parts:
        raise bad_input("after", f"not a cursor of this list: {cursor!r}")
    return key


def position_cursor(cursor: str | None) -> int:
    key = decode_cursor(cursor, 1)
    if key is None:
        return 0
    if not key[0].isdigit():
        raise bad_input("after", f"not a cursor of this list: {cursor!r}")
    return int(key[0])


def keyed_cursor(cursor: str | None) -> tuple[int, str] | None:
    """A cursor of (log position, id), for lists ordered by the event that made each item."""
    key = decode_cursor(cursor, 2)
    if key is None:
        return None
    if not key[0].isdigit():
        raise bad_input("after", f"not a cursor of this list: {cursor!r}")
    return int(key[0]), key[1]


def number_page(items: list[T], number: Callable[[T], str], first: int | None,
                after: str | None) -> list[T]:
    """A page of a list already read whole, in number order (a party's holdings): all of it
    when neither `first` nor `after` is given (the contract before pages), else at most
    `first` (1 to 100) items after the number in the cursor."""
    if first is None and after is None:
        return items
    size = page_size(first, MAX_PAGE)
    key = decode_cursor(after, 1)
    start = key[0] if key else ""
    return sorted((x for x in items if number(x) > start), key=number)[:size]
