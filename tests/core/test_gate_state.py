"""The gate state: ordered by severity, written as the same strings as ever."""

from __future__ import annotations

import json

import pytest

from bot.core.gate_state import GateState
from bot.core.policy.result import Status


def test_states_are_ordered_by_severity_not_alphabetically():
    assert GateState.SUCCESS < GateState.PENDING < GateState.FAILURE < GateState.ERROR
    assert sorted(GateState) == list(GateState)
    assert max(GateState.ERROR, GateState.SUCCESS) is GateState.ERROR
    assert GateState.PENDING <= GateState.PENDING and GateState.ERROR >= GateState.FAILURE
    assert [s.rank for s in GateState] == [0, 1, 2, 3]


def test_states_are_the_strings_written_to_the_forge_and_the_store():
    assert [str(s) for s in GateState] == ["success", "pending", "failure", "error"]
    assert GateState.SUCCESS == "success"
    assert json.dumps({"state": GateState.FAILURE}) == '{"state": "failure"}'
    assert f"{GateState.ERROR}" == "error"


def test_comparing_with_a_stored_string_goes_by_severity():
    assert GateState.PENDING < "error"
    with pytest.raises(ValueError):
        assert GateState.PENDING < "unknown"


def test_each_state_names_its_tree_status_and_title():
    assert [s.status for s in GateState] == [
        Status.APPROVED, Status.PENDING, Status.FAILED, Status.ERROR,
    ]
    assert [s.word for s in GateState] == ["passed", "pending", "failed", "policy error"]
