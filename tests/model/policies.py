"""The family of policies the model writes on base branches: small, but each knob is one
the spec gives a rule for (who counts, comment approvals, pushes, update merges, the
author, an app-bound check, automatic merges, a deploy)."""

from __future__ import annotations

from dataclasses import dataclass

CHECK = "ci / test"
CHECK_APP = "ci"
TEAM = "acme/core"
TRIGGER_LABEL = "automerge"
BLOCK_LABEL = "do-not-merge"
DEPLOY_NAME = "production"


@dataclass(frozen=True)
class Knobs:
    """One policy of the family."""

    approvals: int = 1
    from_team: bool = False  # else: permission write
    comments: bool = False  # `LGTM` comments approve
    invalidate_on_push: bool = True
    ignore_update_merges: bool = True
    allow_author: bool = False
    check: bool = False  # `ci / test`, only from the app `ci`
    auto_merge: bool = False  # with the trigger label
    deploy: bool = True  # production, after merges into main

    def text(self, via: str = "{github_deployment: {}}") -> str:
        """The policy file (`via`: how the deploy is made, per forge)."""
        source = f"teams: [{TEAM}]" if self.from_team else "permission: write"
        methods = '\n        comments: ["LGTM"]' if self.comments else ""
        lines = [
            "version: 1",
            "policy:",
            "  approval: [reviewed]",
            "rules:",
            "  - name: reviewed",
            "    requires:",
            f"      approvals: {self.approvals}",
            f"      from: {{{source}}}",
            "    options:",
            f"      allow_author: {str(self.allow_author).lower()}",
            f"      invalidate_on_push: {str(self.invalidate_on_push).lower()}",
            f"      ignore_update_merges: {str(self.ignore_update_merges).lower()}",
            "      methods:",
            f"        review: true{methods}",
        ]
        if self.check:
            lines += ["checks:", f"  - name: {CHECK}", f"    app: {CHECK_APP}"]
        lines += ["merge:", "  method: merge", f"  block: {{labels: [{BLOCK_LABEL}]}}"]
        if self.auto_merge:
            lines += ["  auto: true", f"  trigger: {{labels: [{TRIGGER_LABEL}]}}"]
        if self.deploy:
            lines += [
                "deploy:",
                f"  - name: {DEPLOY_NAME}",
                "    branches: [main]",
                f"    environment: {DEPLOY_NAME}",
                f"    via: {via}",
            ]
        return "\n".join(lines) + "\n"


FAMILY: tuple[Knobs, ...] = (
    Knobs(),
    Knobs(approvals=2),
    Knobs(from_team=True),
    Knobs(comments=True),
    Knobs(comments=True, invalidate_on_push=False),
    Knobs(invalidate_on_push=True, ignore_update_merges=False),
    Knobs(allow_author=True),
    Knobs(check=True),
    Knobs(auto_merge=True),
    Knobs(auto_merge=True, comments=True, check=True),
    Knobs(approvals=2, from_team=True, comments=True),
)
