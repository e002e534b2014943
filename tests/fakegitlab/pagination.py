"""GitLab's offset pagination: `page` and `per_page` (default 20, at most 100),
answered with the X-Page, X-Per-Page, X-Total, X-Total-Pages, X-Next-Page and
X-Prev-Page headers and a Link header (rel="prev", "next", "first", "last")
that python-gitlab follows for `get_all=True` and iterators."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import TypeVar

from support.fakes.pagination import page_of

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


def paginate(
    items: Sequence[T], query: dict[str, list[str]], url: str
) -> tuple[list[T], dict[str, str]]:
    """The requested page of `items` and the headers describing it.

    `url` is the request's absolute URL without its query; the links keep the
    other query parameters, as GitLab does.
    """
    chosen, page, per_page, total_pages = page_of(
        items, query, default_per_page=DEFAULT_PER_PAGE, max_per_page=MAX_PER_PAGE
    )

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
