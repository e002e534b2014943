"""Offset pagination both fakes build on: which page of a list a query asks for.
Each fake adds its forge's headers (GitHub's Link, GitLab's X-Page and friends)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def query_int(values: list[str] | None, default: int) -> int:
    """The first value of a query parameter as a number; `default` if absent or not one."""
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


def page_of(
    items: Sequence[T], query: dict[str, list[str]], *, default_per_page: int, max_per_page: int
) -> tuple[list[T], int, int, int]:
    """(the requested page of `items`, its number, the page size, the last page's number)."""
    per_page = max(1, min(query_int(query.get("per_page"), default_per_page), max_per_page))
    page = max(1, query_int(query.get("page"), 1))
    last = max(1, math.ceil(len(items) / per_page))
    return list(items[(page - 1) * per_page : page * per_page]), page, per_page, last
