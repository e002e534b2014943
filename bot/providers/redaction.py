"""Keeping forge secrets out of the logs: a filter for the client libraries' loggers.

The HTTP libraries under the forge clients log request and response details
at debug level, and a response body may be a token. Each forge names what
its secrets look like (a compiled pattern) and which loggers to watch; a
`RedactSecrets` filter rewrites any record whose message matches before a
handler sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Rewrites log records so nothing matching `secrets` reaches a handler."""

    def __init__(self, secrets: re.Pattern[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def redact(self, text: str) -> str:
        return self.secrets.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install(secrets: re.Pattern[str], loggers: Iterable[str]) -> None:
    """Attach a filter for `secrets` to each of `loggers`, once per pattern and logger."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(
            isinstance(f, RedactSecrets) and f.secrets is secrets for f in logger.filters
        ):
            logger.addFilter(RedactSecrets(secrets))
