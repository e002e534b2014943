"""Conditional GETs: a GET the bot sent before carries the ETag of the answer it got,
and a 304 Not Modified is turned back into that answer.

GitHub does not count a 304 to a conditional GET against the rate limit, and
both forges send no body with it; the answer is still GitHub's word that the
resource is what it was, so nothing the gate trusts comes from memory alone.

`ConditionalAdapter` is a `requests` transport adapter wrapped around the
counting one (`bot.providers.counting`), so the tally and the metrics see the
304 on the wire (`-> 304`, `status="304"`) while PyGithub and python-gitlab see
the remembered 200. `ResponseCache` keeps the 200s of GETs that carried an
ETag, in process memory, least recently used first out, bounded by entries
and by bytes.

An answer is only ever served to a request made with the same credentials:
the key holds a digest of every credential header (`Authorization`,
`PRIVATE-TOKEN`, `JOB-TOKEN`, `Cookie`), next to the method, the full URL and
the headers that choose the representation (`Accept`...). A token that
rotates starts afresh; a private answer never reaches another installation
or user, even if the forge would answer its conditional request 304.

Left alone: every method but GET (writes, GraphQL's POSTs), GETs that carry
their own condition (`If-None-Match`, `If-Modified-Since`: the caller reads
the 304 itself, as the base-branch read does), streamed GETs, and answers
other than 200 or marked `no-store`. An answer other than 200 or 304 drops
what was remembered for its key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

DEFAULT_MAX_ENTRIES = 2000
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

CREDENTIAL_HEADERS = ("Authorization", "PRIVATE-TOKEN", "JOB-TOKEN", "Cookie")
"""Who is asking: each is part of the key, as a keyed digest."""
REPRESENTATION_HEADERS = ("Accept", "Accept-Encoding", "X-GitHub-Api-Version")
"""What is asked for beyond the URL: GitHub answers another body for another media type."""
CALLER_CONDITIONS = ("If-None-Match", "If-Modified-Since", "If-Match", "If-Range", "Range")

# Headers of the 304 that describe its own (empty) body, not the remembered one.
_BODY_HEADERS = frozenset(
    {"content-length", "content-type", "content-encoding", "transfer-encoding", "content-range"}
)


@dataclass(frozen=True)
class Key:
    """Who asked (a keyed digest of the credential headers) and for what."""

    credential: str
    method: str
    url: str
    representation: tuple[str, ...]


@dataclass(frozen=True)
class Remembered:
    """A 200 answer to a GET and the ETag it came with."""

    etag: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers.items())


def _header(request: requests.PreparedRequest, name: str) -> str:
    value = request.headers.get(name, "")
    return value.decode("latin-1") if isinstance(value, bytes) else value


class ResponseCache:
    """The remembered answers of one process: an LRU bounded by entries and bytes;
    thread-safe. An answer larger than `max_bytes / 16` is not kept (it would push
    out many small ones)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Key, Remembered] = OrderedDict()
        self._bytes = 0
        # The digest of a credential is keyed with a secret of this process: what
        # the cache holds says nothing checkable about a token.
        self._secret = secrets.token_bytes(32)

    def key(self, request: requests.PreparedRequest) -> Key:
        credential = hmac.new(self._secret, digestmod=hashlib.sha256)
        for name in CREDENTIAL_HEADERS:
            credential.update(f"{name}\0{_header(request, name)}\0".encode())
        return Key(
            credential=credential.hexdigest(),
            method=(request.method or "GET").upper(),
            url=request.url or "",
            representation=tuple(_header(request, name) for name in REPRESENTATION_HEADERS),
        )

    def get(self, key: Key) -> Remembered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Key, answer: Remembered) -> None:
        with self._lock:
            self._drop(key)
            if answer.size > self.max_bytes // 16:
                return
            self._entries[key] = answer
            self._bytes += answer.size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, oldest = self._entries.popitem(last=False)
                self._bytes -= oldest.size

    def drop(self, key: Key) -> None:
        with self._lock:
            self._drop(key)

    def _drop(self, key: Key) -> None:
        gone = self._entries.pop(key, None)
        if gone is not None:
            self._bytes -= gone.size

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held (bodies and headers)."""
        with self._lock:
            return self._bytes


ANSWERS = ResponseCache()
"""The process's remembered answers, shared by every forge client it builds."""


def _weak(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


class ConditionalAdapter(BaseAdapter):
    """Sends remembered ETags with GETs and turns their 304s back into the 200s they
    stand for; every request goes on through `inner` (the counting adapter)."""

    def __init__(self, inner: BaseAdapter, cache: ResponseCache) -> None:
        super().__init__()
        self.inner = inner
        self.cache = cache

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        if (
            request.method != "GET"
            or stream
            or any(name in request.headers for name in CALLER_CONDITIONS)
        ):
            return self.inner.send(request, stream=stream, **kwargs)
        key = self.cache.key(request)
        remembered = self.cache.get(key)
        if remembered is not None:
            request.headers["If-None-Match"] = remembered.etag
        response = self.inner.send(request, stream=stream, **kwargs)
        if response.status_code == 304 and remembered is not None:
            return self._remembered(key, remembered, response)
        self._keep(key, response)
        return response

    def _keep(self, key: Key, response: requests.Response) -> None:
        etag = response.headers.get("ETag")
        no_store = "no-store" in response.headers.get("Cache-Control", "").lower()
        if response.status_code != 200 or not etag or no_store:
            self.cache.drop(key)
            return
        self.cache.put(key, Remembered(etag, dict(response.headers), response.content))

    def _remembered(
        self, key: Key, remembered: Remembered, response: requests.Response
    ) -> requests.Response:
        """The 304 `response` as the 200 it confirms: the remembered body and headers,
        updated with the 304's own (its date, its rate-limit counts)."""
        # Reading the empty body hands the connection back to the pool.
        _ = response.content
        etag = response.headers.get("ETag")
        if etag is not None and _weak(etag) != _weak(remembered.etag):
            # A 304 for another version than the one remembered: not the answer kept.
            self.cache.drop(key)
            return response
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(remembered.headers)
        for name, value in response.headers.items():
            if name.lower() not in _BODY_HEADERS:
                headers[name] = value
        response.status_code = 200
        response.reason = "OK"
        response.headers = headers
        response._content = remembered.body
        response.encoding = get_encoding_from_headers(headers)
        return response

    def close(self) -> None:
        self.inner.close()


def remember_answers(session: requests.Session, cache: ResponseCache) -> None:
    """Make every GET of `session` conditional through `cache`, around the adapters
    mounted now (mount the counting adapter first)."""
    for prefix, adapter in dict(session.adapters).items():
        session.mount(prefix, ConditionalAdapter(adapter, cache))
