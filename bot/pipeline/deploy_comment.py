"""The one PR comment per followed deployment: posted when it starts, edited in place.

`render` says the deployment's stage — started, succeeded, failed or timed
out — with its link and, once it ended, how long it took. `tell` brings the
comment up to the stored stage: the first call claims the comment in the
store (`bot.store.deploy_outcomes.claim_comment`) before posting it, so a
redelivery or a second worker never posts a duplicate; later calls edit it
while the stage it shows is older than the stored one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.render import escape_markdown
from bot.providers.base import ForgeEvaluation
from bot.store import Store, deploy_outcomes
from bot.store.deploy_outcomes import Outcome


def duration_text(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `1 h 2 min`."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def render(row: Outcome) -> str:
    """The comment for `row` at its stage."""
    sha = row.key.merge_sha[:12]
    what = f"{sha} to `{row.environment}` (`{row.key.name}`, {row.method})"
    link = f" — {row.link}" if row.link else ""
    started = row.started_at.strftime("%Y-%m-%d %H:%M UTC")
    took = row.duration_seconds()
    took_text = duration_text(took) if took is not None else "?"
    # The message is the target's words (a callback, CodeDeploy's reason): inert markdown,
    # no mentions that notify, no links or HTML of its own.
    why = f": {escape_markdown(row.message)}" if row.message else ""
    if row.stage == deploy_outcomes.RUNNING:
        return (
            f"Deploying {what}: **started** {started}{link}. This comment is updated "
            "when it ends."
        )
    if row.stage == deploy_outcomes.SUCCEEDED:
        return f"Deployed {what}: **succeeded** in {took_text} (started {started}){link}."
    if row.stage == deploy_outcomes.FAILED:
        return (
            f"Deploy of {what} **failed** after {took_text} (started {started}){why}{link}."
        )
    return (
        f"Deploy of {what} **timed out** after {took_text} (started {started}){why}{link}. "
        "It may still end: check the target."
    )


def tell(
    store: Store, ev: ForgeEvaluation, row: Outcome, clock: Callable[[], datetime]
) -> bool:
    """Bring the deployment's comment up to its stored stage; True when it was written."""
    with store.begin() as conn:
        fresh = deploy_outcomes.get(conn, row.key)
        if fresh is None:
            return False
        if fresh.comment_id is None and not deploy_outcomes.claim_comment(
            conn, fresh.key, clock()
        ):
            return False  # posted, or being posted, by another run
    if fresh.comment_id is None:
        posted: int | None = None
        try:
            posted = ev.comment(render(fresh))
        finally:
            with store.begin() as conn:
                if posted is None:
                    deploy_outcomes.drop_comment_claim(conn, fresh.key)
                else:
                    deploy_outcomes.shown(conn, fresh.key, fresh.stage, posted)
        return True
    if fresh.comment_stage == fresh.stage:
        return False
    ev.edit_comment(fresh.comment_id, render(fresh))
    with store.begin() as conn:
        deploy_outcomes.shown(conn, fresh.key, fresh.stage)
    return True
