"""A loopback HTTP server standing in for the operator's deploy targets.

It plays two parts at once:

- a webhook receiver at `/hook`, which checks `X-Gatebot-Signature-256`
  against the HMAC-SHA256 of the raw body keyed with `WEBHOOK_SECRET` — its
  own HMAC is checked against GitHub's published test vector first, so a
  wrong implementation on both sides cannot agree by accident;
- a Jenkins server under `/jenkins`: `GET /jenkins/crumbIssuer/api/json`
  wants basic auth (`JENKINS_USER`, `JENKINS_API_TOKEN`) and hands out a
  crumb with a session cookie; `POST /jenkins/job/deploy/buildWithParameters`
  wants that crumb, that cookie, the job token as a form field (never in the
  query string) and answers 201 with a queue `Location`;
  `GET /jenkins/queue/item/<n>/api/json` and `GET /jenkins/job/deploy/<n>/api/json`
  (basic auth) answer what the test scripted in `queue_items[n]` and
  `build_states[n]` (queued → started → SUCCESS / FAILURE / cancelled), 404 when
  nothing is scripted.

Every request is kept (`received`), verified or not; `answer(path, status)` makes
the next matching requests fail with that status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WEBHOOK_SECRET = "hook-key-7f3a9c1e"
JENKINS_JOB_TOKEN = "job-token-52be04d9"
JENKINS_USER = "gatebot"
JENKINS_API_TOKEN = "api-token-0c61e8aa"
CRUMB_FIELD = "Jenkins-Crumb"

# GitHub's documented vector for the same scheme (X-Hub-Signature-256).
VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def hmac_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


assert hmac_signature(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    verified: bool
    """The signature, or the token, crumb and cookie, were right."""
    status: int

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    crumbs: dict[str, str] = field(default_factory=dict)
    """Session cookie → the crumb issued with it."""
    failures: list[tuple[str, int]] = field(default_factory=list)
    queue_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Queue item number → the JSON its `/api/json` answers."""
    build_states: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Build number of the `deploy` job → the JSON its `/api/json` answers."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, status: int, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([(path, status)] * times)

    def _failure(self, path: str) -> int | None:
        with self.lock:
            for i, (wanted, status) in enumerate(self.failures):
                if path == wanted:
                    del self.failures[i]
                    return status
        return None

    def hooks(self) -> list[Received]:
        return [r for r in self.received if r.path == "/hook"]

    def builds(self) -> list[Received]:
        return [r for r in self.received if r.path.endswith("/buildWithParameters")]


_QUEUE = re.compile(r"/jenkins/queue/item/(\d+)/api/json")
_BUILD = re.compile(r"/jenkins/job/deploy/(\d+)/api/json")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def _read(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _keep(self, body: bytes, verified: bool, status: int) -> None:
            parts = urlsplit(self.path)
            with receiver.lock:
                receiver.received.append(
                    Received(self.command, parts.path, parse_qs(parts.query),
                             {k: v for k, v in self.headers.items()}, body, verified, status)
                )

        def _basic_ok(self) -> bool:
            expected = base64.b64encode(f"{JENKINS_USER}:{JENKINS_API_TOKEN}".encode()).decode()
            return hmac.compare_digest(self.headers.get("Authorization", ""), f"Basic {expected}")

        def _scripted(self, path: str) -> bool:
            """Answer a scripted queue item or build; False if `path` is neither."""
            found = _QUEUE.fullmatch(path) or _BUILD.fullmatch(path)
            if found is None:
                return False
            scripts = receiver.queue_items if path.startswith("/jenkins/queue/") else (
                receiver.build_states)
            with receiver.lock:
                data = scripts.get(int(found.group(1)))
            answered = receiver._failure(path) or (200 if data is not None else 404)
            status = answered if self._basic_ok() else 401
            self._keep(b"", status != 401, status)
            body = json.dumps(data).encode() if status == 200 else b""
            self._reply(status, body, {"Content-Type": "application/json"})
            return True

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if self._scripted(parts.path):
                return
            if parts.path != "/jenkins/crumbIssuer/api/json":
                self._keep(b"", False, 404)
                self._reply(404)
                return
            if not self._basic_ok():
                self._keep(b"", False, 401)
                self._reply(401)
                return
            crumb, session = secrets.token_hex(8), secrets.token_hex(8)
            with receiver.lock:
                receiver.crumbs[session] = crumb
            body = json.dumps({"crumb": crumb, "crumbRequestField": CRUMB_FIELD}).encode()
            self._keep(b"", True, 200)
            self._reply(200, body, {"Content-Type": "application/json",
                                    "Set-Cookie": f"JSESSIONID.x={session}; Path=/"})

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self._read()
            failure = receiver._failure(parts.path)
            if parts.path == "/hook":
                signed = self.headers.get("X-Gatebot-Signature-256", "")
                verified = hmac.compare_digest(signed, hmac_signature(WEBHOOK_SECRET, body))
                status = failure or (204 if verified else 401)
                self._keep(body, verified, status)
                self._reply(status)
                return
            if parts.path == "/jenkins/job/deploy/buildWithParameters":
                cookie = self.headers.get("Cookie", "")
                session = cookie.split("JSESSIONID.x=", 1)[-1].split(";", 1)[0] if cookie else ""
                with receiver.lock:
                    crumb = receiver.crumbs.get(session)
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                verified = (
                    crumb is not None
                    and self.headers.get(CRUMB_FIELD) == crumb
                    and hmac.compare_digest(form.get("token", ""), JENKINS_JOB_TOKEN)
                    and "token" not in parse_qs(parts.query)
                    and self._basic_ok()
                )
                status = failure or (201 if verified else 403)
                self._keep(body, verified, status)
                self._reply(status, headers={"Location": f"{receiver.url}/jenkins/queue/item/1/"})
                return
            self._keep(body, False, 404)
            self._reply(404)

    return Handler


class running:
    """`with running() as receiver:` — a receiver on 127.0.0.1 for the block's duration."""

    def __enter__(self) -> Receiver:
        server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self.receiver = Receiver(server)
        server.RequestHandlerClass = _handler(self.receiver)
        server.daemon_threads = True
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        self.receiver.server.shutdown()
        self.receiver.server.server_close()
        self.thread.join(timeout=5)


def targets_yaml(
    receiver: Receiver, repos: str = '["acme/*"]', branches: str | None = None,
    *, callback: bool = False,
) -> str:
    """A `GATEBOT_DEPLOY_TARGETS` file pointing at `receiver`; `branches` (a YAML list)
    is each target's branch allow-list, absent by default (the default branch only);
    `callback`: the webhook target reports back (`callback: true`)."""
    allowed = f"  branches: {branches}\n" if branches is not None else ""
    reports = "  callback: true\n" if callback else ""
    return f"""\
prod-hook:
  type: webhook
  url: {receiver.url}/hook
  secret: {WEBHOOK_SECRET}
  repos: {repos}
{allowed}{reports}prod-jenkins:
  type: jenkins
  url: {receiver.url}/jenkins/job/deploy
  secret: {JENKINS_JOB_TOKEN}
  user: {JENKINS_USER}
  api_token: {JENKINS_API_TOKEN}
  repos: {repos}
{allowed}"""
