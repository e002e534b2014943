"""`GET /metrics`: every gatebot process's metrics in Prometheus's text format.

The metrics are defined and counted below the web tier (`bot.metrics`);
this endpoint only exposes them. With `GATEBOT_METRICS_TOKEN` set, a scrape
must send `Authorization: Bearer <token>` (compared in constant time);
anything else is answered 401.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, request

from bot import metrics
from bot.web.services import services

bp = Blueprint("metrics", __name__)


def _authorised() -> bool:
    token = services().settings.metrics_token
    if token is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


@bp.get("/metrics")
def scrape() -> Response:
    if not _authorised():
        return Response(
            "a bearer token is required\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="gatebot metrics"'},
        )
    body, content_type = metrics.exposition(services().store)
    return Response(body, content_type=content_type)
