"""The gate's state on a head commit: one ordered vocabulary for the whole bot.

`GateState` members are the exact strings written to the forge (GitHub's
commit status states) and to the store, so a member can be posted or stored
as it is and compared with a stored string (``GateState.SUCCESS == "success"``).

Members compare by severity, never alphabetically:
``SUCCESS < PENDING < FAILURE < ERROR``, so the worst of several states is
their `max`. Comparing with a string that names no state raises ValueError.
Each state also says which tree status shows it (`status`) and the word a
reader sees for it (`word`).
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.policy.result import Status


class GateState(StrEnum):
    """A verdict's state, ordered by severity (declaration order)."""

    SUCCESS = "success"
    PENDING = "pending"
    FAILURE = "failure"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for success up to 3 for error."""
        return _RANK[self]

    @property
    def status(self) -> Status:
        """The tree status that shows this state."""
        return _STATUS[self]

    @property
    def word(self) -> str:
        """The word a reader sees: ``passed``, ``pending``, ``failed``, ``policy error``."""
        return _WORD[self]

    # str's own comparisons are alphabetical ("error" < "success"): replace all four.
    def __lt__(self, other: str) -> bool:
        return self.rank < GateState(other).rank

    def __le__(self, other: str) -> bool:
        return self.rank <= GateState(other).rank

    def __gt__(self, other: str) -> bool:
        return self.rank > GateState(other).rank

    def __ge__(self, other: str) -> bool:
        return self.rank >= GateState(other).rank


_RANK: dict[GateState, int] = {state: rank for rank, state in enumerate(GateState)}

_STATUS: dict[GateState, Status] = {
    GateState.SUCCESS: Status.APPROVED,
    GateState.PENDING: Status.PENDING,
    GateState.FAILURE: Status.FAILED,
    GateState.ERROR: Status.ERROR,
}

_WORD: dict[GateState, str] = {
    GateState.SUCCESS: "passed",
    GateState.PENDING: "pending",
    GateState.FAILURE: "failed",
    GateState.ERROR: "policy error",
}
