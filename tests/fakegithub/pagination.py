"""GitHub's page-number pagination: `per_page` (default 30, at most 100), `page`,
and a Link header with rel="prev", "next", "last" and "first"."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import TypeVar

from support.fakes.pagination import page_of

T = TypeVar("T")


def paginate(
    items: Sequence[T],
    query: dict[str, list[str]],
    url: str,
    *,
    default_per_page: int = 30,
    max_per_page: int = 100,
) -> tuple[list[T], str | None]:
    """The requested page of `items` and the Link header for `url` (None on a single page).

    `url` is the request's absolute URL without its query; the other query
    parameters are kept in the links, as GitHub does.
    """
    chosen, page, _per_page, last = page_of(
        items, query, default_per_page=default_per_page, max_per_page=max_per_page
    )
    if last == 1 and page == 1:
        return chosen, None

    def link(number: int, rel: str) -> str:
        params = [(k, v) for k, vs in query.items() if k != "page" for v in vs]
        params.append(("page", str(number)))
        return f'<{url}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links.append(link(page + 1, "next"))
        links.append(link(last, "last"))
    if page > 1:
        links.append(link(1, "first"))
    return chosen, ", ".join(links)
