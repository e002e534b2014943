"""GitLab's offset pagination: `page` and `per_page` (default 20, at most 100),
answered with the X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page and
X-Prev-Page headers and a Link header (rel="prev", "next", "first", "last")
that python-gitlab follows for `get_all=True` and iterators."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def _int(values: list[str] | None, default: int) -> int:
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        return default


def paginate(
    items: Sequence[T], query: dict[str, list[str]], url: str
) -> tuple[list[T], dict[str, str]]:
    """The requested page of `items` and the headers describing it.

    `url` is the request's absolute URL without its query; the links keep the
    other query parameters, as GitLab does.
    """
    per_page = max(1, min(_int(query.get("per_page"), DEFAULT_PER_PAGE), MAX_PER_PAGE))
    page = max(1, _int(query.get("page"), 1))
    total_pages = max(1, math.ceil(len(items) / per_page))
    chosen = list(items[(page - 1) * per_page : page * per_page])

    def link(number: int, rel: str) -> str:
        params = [(k, v) for k, vs in query.items() if k not in ("page", "per_page") for v in vs]
        params += [("page", str(number)), ("per_page", str(per_page))]
        return f'<{url}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

    links = []
    if 1 < page <= total_pages:
        links.append(link(page - 1, "prev"))
    if page < total_pages:
        links.append(link(page + 1, "next"))
    links.append(link(1, "first"))
    links.append(link(total_pages, "last"))
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Prev-Page": str(page - 1) if 1 < page <= total_pages else "",
        "Link": ", ".join(links),
    }
    return chosen, headers
