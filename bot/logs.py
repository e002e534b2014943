"""Log lines that say which delivery, forge, repository, PR and head they concern.

The webhook endpoints and the worker open a `context(...)` around the work
of one delivery or one job; `note(...)` adds what is learnt on the way (the
head SHA once the PR is read). A `ContextFilter` on the handler copies the
context into every record written meanwhile, from any module, and the
formatter writes it:

- `text` (the default): the usual line, the context appended compactly:
  `... delivery 5f1c... [delivery=5f1c... forge=github repo=acme/api pr=7 sha=9b2e41c07d3a]`;
- `json` (`GATEBOT_LOG_FORMAT=json`): one JSON object a line, with `time`,
  `level`, `logger`, `message`, the context fields (`delivery_id`, `forge`,
  `repo`, `pr`, `head_sha`) and `exception` when there is one.

The context lives in a `contextvars.ContextVar`, so threads (waitress's,
the consumer's) never see each other's; `context` restores the previous
value when it ends, so a thread's next request starts clean. Secrets stay
out as before: the forge clients' loggers keep their redaction filters
(`bot.providers.redaction`), which rewrite a record before any handler
formats it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

from bot.settings import LogFormat

FIELDS = ("delivery_id", "forge", "repo", "pr", "head_sha")
"""The context fields, in the order they are written."""

_SHORT = {"delivery_id": "delivery", "head_sha": "sha"}

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "gatebot_log_context", default=MappingProxyType({})
)


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Within the block, every log line carries `fields` (None values left out) beside
    the context already open."""
    token = _context.set({**_context.get(), **_present(fields)})
    try:
        yield
    finally:
        _context.reset(token)


def note(**fields: Any) -> None:
    """Add `fields` to the context open now, until it ends."""
    _context.set({**_context.get(), **_present(fields)})


def current() -> Mapping[str, Any]:
    return _context.get()


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a log context field: {', '.join(sorted(unknown))}")
    return {k: v for k, v in fields.items() if v is not None}


class ContextFilter(logging.Filter):
    """Copies the open context into each record (`record.gatebot`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.gatebot = dict(_context.get())
        return True


def _context_of(record: logging.LogRecord) -> Mapping[str, Any]:
    return getattr(record, "gatebot", None) or {}


class TextFormatter(logging.Formatter):
    """The plain line, with the context appended in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _context_of(record)
        if not fields:
            return line
        shown = " ".join(
            f"{_SHORT.get(k, k)}={_short_sha(k, fields[k])}" for k in FIELDS if k in fields
        )
        first, newline, rest = line.partition("\n")
        return f"{first} [{shown}]{newline}{rest}"


def _short_sha(name: str, value: Any) -> Any:
    return value[:12] if name == "head_sha" and isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = _context_of(record)
        entry.update((k, fields[k]) for k in FIELDS if k in fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(log_format: LogFormat) -> None:
    """Send every log record to stderr in `log_format`, with the context filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if any(isinstance(f, ContextFilter) for f in old.filters):
            root.removeHandler(old)  # configured before in this process
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Alembic narrates every plugin load and readiness check at INFO.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def announce(text: str, file: TextIO | None = None) -> None:
    """A start-up sentence for the operator: printed (to `file`, default stdout), or, once
    logging writes JSON, logged, so every line of the output stays one JSON object."""
    if any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers):
        logging.getLogger("gatebot").info(text)
    else:
        print(text, file=file or sys.stdout, flush=True)
