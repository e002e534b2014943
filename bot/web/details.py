"""The details page: the last evaluation of a PR, readable by a person.

`GET /details/<provider>/<repository path>/<number>?sha=...&sig=...` (a GitLab
project path may have several groups) shows the verdict the bot last posted
for the PR — every rule, who approved on which commit, whose approval did not
count and why, the checks seen, and what is missing — with a link to the PR,
the policy file that judged at the base commit it was read at, once merged its
deploys and how each ended, and the PR's verdict history (head, verdict, when,
and the status line that says why), newest first, as long as that verdict is
for the head the link was made for. The link is signed (see `bot/links.py`);
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
from bot.forges import ForgeKind, forge_of
from bot.settings import Settings
from bot.store import deploy_outcomes, deploys, evaluations, verdict_history
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
        history = verdict_history.for_pull(conn, provider, repo, number)
        sent = deploys.intents_of_pull(conn, provider, repo, number)
        followed = {o.key: o for o in deploy_outcomes.of_pull(conn, provider, repo, number)}
    # A link opens the verdict of its own head only: after a push it shows nothing.
    if posted is None or posted.explanation is None or posted.sha.lower() != (sha or "").lower():
        abort(404)
    decision = json.loads(posted.explanation)
    forge = forge_of(provider)
    impact = impact_from_dict(decision["impact"]) if decision.get("impact") else None
    html = render_template(
        "details.html",
        repo=repo,
        number=number,
        posted=posted,
        decision=decision,
        pull_url=forge.pull_url(svc.settings, repo, number) if forge else None,
        policy_url=_policy_url(svc.settings, forge, decision.get("policy_file")),
        history=history,
        state_title=_state_title,
        impact=impact,
        impact_heading=HEADING,
        impact_lead=_impact_lead(impact),
        short=_short,
        deploys=[_deploy_row(i, followed.get(i.key)) for i in sent],
    )
    # Private review history: never cached by proxies, never framed elsewhere.
    headers = {
        "Cache-Control": "private, no-store",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "Referrer-Policy": "no-referrer",
    }
    return html, 200, headers


def _policy_url(settings: Settings, forge: ForgeKind | None, found: Any) -> str | None:
    """The policy file that judged, at the base commit it was read at (when stored)."""
    if forge is None or not isinstance(found, dict):
        return None
    return forge.file_url(settings, found["repo"], found["commit"], found["path"])


def _impact_lead(impact: Impact | ImpactCounts | None) -> str | None:
    """The impact section's sentence: the counts alone for the owner-wide policy."""
    if impact is None:
        return None
    return counts_sentence(impact) if isinstance(impact, ImpactCounts) else lead(impact)


def _state_title(state: str) -> str:
    """The word for a stored state; a string that names no state shows as it is."""
    known = {s.value: s for s in GateState}
    return known[state].word if state in known else state


def _deploy_row(intent: deploys.Intent, followed: deploy_outcomes.Outcome | None
                ) -> dict[str, Any]:
    """One deployment of the PR's merge, as the page lists it: its outcome when it was
    followed, else what became of the call (sent, failed, no answer)."""
    sent = {deploys.DEPLOYED: "sent", deploys.FAILED: "failed", deploys.OPEN: "no answer"}
    took = followed.duration_seconds() if followed is not None else None
    link = followed.link if followed is not None else intent.link
    return {
        "name": intent.key.name,
        "environment": intent.environment,
        "method": intent.method,
        "merge_sha": intent.key.merge_sha,
        "stage": followed.stage if followed is not None else sent.get(intent.state, intent.state),
        "started": intent.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "took": f"{int(took)} s" if took is not None else "",
        "link": link if link and link.startswith(("https://", "http://")) else None,
        "detail": (followed.message if followed is not None else intent.detail) or "",
    }


def _short(sha: Any) -> str:
    return sha[:7] if isinstance(sha, str) and sha else "unknown commit"
