"""The one-click GitHub App setup's guard: the setup code, the `state`, once.

Setup mode answers whoever reaches the server, so registering an App as
gatebot's needs the one-time setup code `gatebot serve` prints at start (as
Jenkins prints its first admin password): someone who can reach the page but
not the server's output cannot make gatebot trust an App of their own. After
`MAX_WRONG_CODES` wrong codes the flow is closed until a restart prints a new
one.

A started flow gets a `state` — 256 random bits, sent to GitHub in the new-App
URL and kept in a cookie of the browser that started it (HttpOnly,
SameSite=Lax: GitHub's redirect back is a top-level GET, which carries it; a
cross-site form post does not). The callback must bring both, equal, within
an hour; the state is spent on first use, and once an App was handed over
the flow is finished for good: nothing is exchanged a second time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_WRONG_CODES = 10
STATE_SECONDS = 3600.0
COOKIE = "gatebot_setup_state"


def new_setup_code() -> str:
    """Four groups of four hex digits: 64 random bits, easy to copy from a log."""
    raw = secrets.token_hex(8)
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Pending:
    """A flow sent to GitHub, waiting for its way back."""

    state: str
    github: str
    api: str
    public_url: str
    started: float


class SetupRefused(Exception):
    """The flow refuses this step; the message is one sentence for the operator."""


class SetupFlow:
    """The state of the one-click setup in this `gatebot serve` process."""

    def __init__(
        self,
        code: str,
        on_configured: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._code = code
        self._on_configured = on_configured
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[str, Pending] = {}
        self._wrong = 0
        self._finished = False

    def start(self, code: str, github: str, api: str, public_url: str) -> Pending:
        """Check the setup code and open a flow; its state goes to GitHub and the cookie."""
        with self._lock:
            self._refuse_if_closed()
            if not hmac.compare_digest(code.strip().encode(), self._code.encode()):
                self._wrong += 1
                raise SetupRefused(
                    "That is not the setup code `gatebot serve` printed when it started."
                )
            pending = Pending(secrets.token_urlsafe(32), github, api, public_url, self._clock())
            self._pending[pending.state] = pending
            return pending

    def take(self, state: str, cookie: str | None) -> Pending:
        """The flow `state` belongs to, spent: it cannot be taken twice."""
        with self._lock:
            self._refuse_if_closed()
            pending = self._pending.pop(state, None) if state else None
            if pending is None or cookie is None or not hmac.compare_digest(
                cookie.encode(), state.encode()
            ):
                if pending is not None:
                    # A right state from the wrong browser: put it back for the right one.
                    self._pending[state] = pending
                raise SetupRefused(
                    "This answer from GitHub belongs to no setup started in this browser;"
                    " start again from the setup page."
                )
            if self._clock() - pending.started > STATE_SECONDS:
                raise SetupRefused("This setup was started over an hour ago; start again.")
            return pending

    def finished(self) -> None:
        """An App was handed over and kept: close the flow for good, and switch modes."""
        with self._lock:
            self._finished = True
            self._pending.clear()
        self._on_configured()

    @property
    def is_finished(self) -> bool:
        with self._lock:
            return self._finished

    def _refuse_if_closed(self) -> None:
        if self._finished:
            raise SetupRefused("gatebot is configured already; the setup flow works once.")
        if self._wrong >= MAX_WRONG_CODES:
            raise SetupRefused(
                "Too many wrong setup codes: restart gatebot serve for a new one."
            )
