"""What the scale-out benchmark counts (tests/support/bench_counts.py): the verdict a PR
deserves, repeated posts, events accepted twice, refused events brought back."""

from __future__ import annotations

from support.bench_counts import (
    PullFacts,
    accepted_twice,
    expected_state,
    refused_events,
    repeated_posts,
)


def test_a_failed_check_fails_and_anything_short_of_both_is_pending():
    assert expected_state(PullFacts(approved_by_writer=True, check="success")) == "success"
    assert expected_state(PullFacts(approved_by_writer=True, check="failure")) == "failure"
    assert expected_state(PullFacts(approved_by_writer=False, check="failure")) == "failure"
    assert expected_state(PullFacts(approved_by_writer=False, check="success")) == "pending"
    assert expected_state(PullFacts(approved_by_writer=True, check=None)) == "pending"


def test_only_a_post_equal_to_the_one_before_it_is_repeated():
    assert repeated_posts([]) == 0
    assert repeated_posts([("pending", "a"), ("pending", "b"), ("success", "c")]) == 0
    assert repeated_posts([("pending", "a"), ("pending", "a"), ("pending", "a")]) == 2
    # Back to an earlier verdict after a change is no repeat.
    assert repeated_posts([("pending", "a"), ("success", "b"), ("pending", "a")]) == 0


def test_accepted_twice_counts_the_202s_beyond_the_first_per_event():
    attempts = [("a", 202), ("a", 200), ("b", 503), ("b", 202), ("c", 202), ("c", 202)]
    assert accepted_twice(attempts) == 1


def test_refused_events_are_those_refused_before_any_acceptance():
    found = refused_events(
        [
            ("a", 503), ("a", 503), ("a", 202),  # brought back by a redelivery
            ("b", 202), ("b", 503),  # accepted first: the second refusal loses nothing
            ("c", 503), ("c", 502),  # never accepted
            ("d", 202), ("d", 200),
        ]
    )
    assert (found.refused, found.recovered, found.lost) == (2, 1, 1)
