"""Log lines carry the delivery, forge, repository, PR and head they concern, as text
or as one JSON object a line; the forge clients' secrets stay redacted."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from bot import logs
from bot.providers.github.client import install_log_redaction
from bot.settings import LogFormat

SHA = "9b2e41c07d3a" + "0" * 28


@pytest.fixture
def written():
    """A handler set up as `logs.configure` sets it, writing into a buffer."""
    buffer = io.StringIO()

    def use(log_format: LogFormat) -> io.StringIO:
        handler = logging.StreamHandler(buffer)
        handler.addFilter(logs.ContextFilter())
        handler.setFormatter(
            logs.JsonFormatter() if log_format is LogFormat.JSON else logs.TextFormatter()
        )
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
        return buffer

    handlers: list[logging.Handler] = []
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    yield use
    for handler in handlers:
        logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)


def test_json_lines_carry_the_open_context_and_only_while_it_is_open(written):
    out = written(LogFormat.JSON)
    log = logging.getLogger("bot.test")
    with logs.context(delivery_id="d-1", forge="github", repo="acme/api", pr=7):
        logs.note(head_sha=SHA)
        log.info("inside %s", "the delivery")
    log.info("after it")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "inside the delivery"
    assert first["logger"] == "bot.test" and first["level"] == "INFO"
    assert (first["delivery_id"], first["forge"], first["repo"], first["pr"], first["head_sha"]) == (
        "d-1", "github", "acme/api", 7, SHA
    )
    assert "delivery_id" not in second and "head_sha" not in second


def test_an_exception_stays_inside_its_json_line(written):
    out = written(LogFormat.JSON)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.test").exception("failed")
    (line,) = out.getvalue().splitlines()
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_plain_text_appends_the_context_compactly(written):
    out = written(LogFormat.TEXT)
    with logs.context(delivery_id="d-2", forge="gitlab", repo="acme/web", pr=3, head_sha=SHA):
        logging.getLogger("bot.test").info("judged")
    assert out.getvalue().rstrip().endswith(
        "bot.test: judged [delivery=d-2 forge=gitlab repo=acme/web pr=3 sha=9b2e41c07d3a]"
    )


def test_threads_do_not_see_each_others_context(written):
    out = written(LogFormat.JSON)
    seen = threading.Event()

    def other() -> None:
        seen.wait(5)
        logging.getLogger("bot.other").info("elsewhere")

    thread = threading.Thread(target=other)
    thread.start()
    with logs.context(delivery_id="d-3"):
        seen.set()
        thread.join()
    (line,) = out.getvalue().splitlines()
    assert "delivery_id" not in json.loads(line)


def test_a_token_in_a_forge_clients_log_is_redacted_in_json(written):
    out = written(LogFormat.JSON)
    install_log_redaction()
    token = "ghs_" + "A" * 36
    logging.getLogger("github.Requester").info("response body: {'token': '%s'}", token)
    assert token not in out.getvalue()
    assert "[redacted]" in json.loads(out.getvalue())["message"]


def test_only_context_fields_are_accepted():
    with pytest.raises(TypeError), logs.context(password="x"):
        pass
