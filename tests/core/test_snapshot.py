"""The snapshot model: frozen, strict about unknown keys and times, JSON in and out."""

from __future__ import annotations

from datetime import datetime

import pytest
from factories import HEAD, at, changed, check, comment, head_change, make_snapshot, review
from pydantic import ValidationError

from bot.core.snapshot import (
    Directory,
    Hold,
    Override,
    Snapshot,
    TamperMark,
)


def full_snapshot() -> Snapshot:
    return make_snapshot(
        labels=("bug",),
        files=(changed("a.py"), changed("b.py", previous_path="old/b.py")),
        reviews=(review("bob", body="looks good"),),
        comments=(comment("carol", "LGTM", edited_by="carol", edited_minutes=12),),
        checks=(check("ci / test"), check("jenkins", "pending", kind="status", app="ci")),
        head_history=(head_change(HEAD, 0), head_change(HEAD, 1, base_ref="release")),
        holds=(Hold(by="frank", at=at(3)),),
        overrides=(Override(sha=HEAD, by="frank", reason="hotfix", at=at(4)),),
        tampering=(TamperMark(comment_id=5, editor="mallory", author="carol", at=at(6)),),
        codeowners="* @acme/backend\n",
    )


def test_json_round_trip_is_lossless():
    snapshot = full_snapshot()
    again = Snapshot.model_validate_json(snapshot.model_dump_json())
    assert again == snapshot
    assert again.files[1].previous_path == "old/b.py"
    assert again.directory.teams["acme/backend"] == ("bob", "carol")


def test_snapshots_are_frozen():
    snapshot = make_snapshot()
    with pytest.raises(ValidationError):
        snapshot.title = "changed"
    with pytest.raises(ValidationError):
        snapshot.author.login = "mallory"


def test_unknown_keys_are_rejected():
    data = make_snapshot().model_dump(mode="json")
    data["mergeable"] = True
    with pytest.raises(ValidationError, match="mergeable"):
        Snapshot.model_validate(data)
    data = make_snapshot().model_dump(mode="json")
    data["reviews"] = [{**review("bob").model_dump(mode="json"), "extra": 1}]
    with pytest.raises(ValidationError, match="extra"):
        Snapshot.model_validate(data)


def test_times_must_carry_a_time_zone():
    data = make_snapshot().model_dump(mode="json")
    data["evaluated_at"] = datetime(2024, 5, 1, 12, 0).isoformat()
    with pytest.raises(ValidationError, match="timezone"):
        Snapshot.model_validate(data)


@pytest.mark.parametrize(
    ("field", "value"),
    [("state", "MAYBE"), ("commit_sha", 5)],
)
def test_review_values_are_checked(field, value):
    data = review("bob").model_dump(mode="json")
    data[field] = value
    with pytest.raises(ValidationError):
        type(review("bob")).model_validate(data)


def test_permissions_are_a_closed_vocabulary():
    with pytest.raises(ValidationError):
        Directory(permissions={"bob": "owner"})
    assert Directory(permissions={"bob": "maintain"}).permissions["bob"] == "maintain"


def test_defaults_describe_an_unreviewed_pr():
    snapshot = make_snapshot()
    assert snapshot.reviews == () and snapshot.checks == () and not snapshot.draft
    assert not snapshot.files_truncated and not snapshot.commits_truncated
    assert snapshot.bot.context_prefix == "gatebot"
    assert snapshot.evaluated_at.tzinfo is not None
