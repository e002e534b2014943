"""The details page: the last evaluation of a PR, readable by a person.

`GET /details/<provider>/<repository path>/<number>?sha=...&sig=...` (a GitLab
project path may have several groups) shows the verdict the bot last posted
for the PR — every rule, who approved on which commit, whose approval did not
count and why, the checks seen, and what is missing — as long as that verdict
is for the head the link was made for. The link is signed (see `bot/links.py`);
a bad signature, an unknown PR and a link to an older head all get the same
404, so pages cannot be enumerated or probed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template, request

from bot import links
from bot.core.gate_state import GateState
from bot.core.impact import Impact, ImpactCounts
from bot.core.impact import from_dict as impact_from_dict
from bot.core.impact_render import HEADING, counts_sentence, lead
from bot.store import evaluations
from bot.web.services import services

bp = Blueprint("details", __name__, template_folder="templates")

@bp.get("/details/<provider>/<path:repo>/<int:number>")
def page(provider: str, repo: str, number: int) -> tuple[str, int, dict[str, str]]:
    svc = services()
    sha = request.args.get("sha")
    signed = links.DetailsLinks(svc.settings, svc.store).verify(
        provider, repo, number, sha, request.args.get("sig")
    )
    if svc.store is None or not signed:
        abort(404)
    with svc.store.begin() as conn:
        posted = evaluations.latest_for_pull(conn, provider, repo, number)
    # A link opens the verdict of its own head only: after a push it shows nothing.
    if posted is None or posted.explanation is None or posted.sha.lower() != (sha or "").lower():
        abort(404)
    decision = json.loads(posted.explanation)
    impact = impact_from_dict(decision["impact"]) if decision.get("impact") else None
    html = render_template(
        "details.html",
        repo=repo,
        number=number,
        posted=posted,
        decision=decision,
        state_title=_state_title(decision["state"]),
        impact=impact,
        impact_heading=HEADING,
        impact_lead=_impact_lead(impact),
        short=_short,
    )
    # Private review history: never cached by proxies, never framed elsewhere.
    headers = {
        "Cache-Control": "private, no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "Referrer-Policy": "no-referrer",
    }
    return html, 200, headers


def _impact_lead(impact: Impact | ImpactCounts | None) -> str | None:
    """The impact section's sentence: the counts alone for the owner-wide policy."""
    if impact is None:
        return None
    return counts_sentence(impact) if isinstance(impact, ImpactCounts) else lead(impact)


def _state_title(state: str) -> str:
    """The word for a stored state; a string that names no state shows as it is."""
    known = {s.value: s for s in GateState}
    return known[state].word if state in known else state


def _short(sha: Any) -> str:
    return sha[:7] if isinstance(sha, str) and sha else "unknown commit"
