"""The JSON Schema of policy files, generated from the models.

`policies/schema.json` is this output, committed for editors
(`# yaml-language-server: $schema=...`); a test fails when it is stale.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from bot.core.policy.models import Policy, RemotePolicy

SCHEMA_ID = "urn:gatebot:policy-file:v1"


def policy_json_schema() -> dict[str, Any]:
    """The schema of a policy file: a full policy or a `remote:` pointer."""
    adapter: TypeAdapter[Policy | RemotePolicy] = TypeAdapter(Policy | RemotePolicy)
    body = adapter.json_schema(by_alias=True, ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "gatebot policy file",
        "description": "Who must review, which checks must pass, how to merge and deploy. "
        "Read from the head of the pull request's base branch.",
        **body,
    }
