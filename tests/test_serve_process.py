"""`gatebot serve` as a real process: start-up modes, durability across
SIGKILL, burst collapsing, duplicates and oversized bodies over real sockets."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid

import pytest
import requests
from support.e2e import pull_settled as settled
from support.processes import GatebotProcess, clean_env, wait_until
from support.webhooks import github_headers, github_payload, send_github, with_pr_number

from bot.keys import PullKey
from bot.store import Store, deliveries, dirty, runs
from bot.store.inbox import open_inbox

pytestmark = pytest.mark.slow

REPO = "Codertocat/Hello-World"


def start_serve(gatebot, env, port, **extra):
    proc = gatebot(["serve", "--port", str(port)], clean_env(**{**env, **extra}))
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc, f"http://127.0.0.1:{port}"


def store_of(env) -> Store:
    return Store(env["GATEBOT_DATABASE_URL"])


def runs_for(store: Store, key: PullKey):
    with store.begin() as conn:
        return runs.for_pull(conn, key)


def test_fresh_machine_serves_the_setup_page(gatebot, tmp_path, free_port):
    proc = gatebot(["serve", "--port", str(free_port)], clean_env())
    base = f"http://127.0.0.1:{free_port}"
    proc.wait_http(f"{base}/healthz")
    page = requests.get(base, timeout=5).text
    assert "Create the GitHub App in one click" in page
    assert "Or connect a GitHub App by hand" in page
    assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok", "mode": "setup"}
    assert requests.post(f"{base}/webhooks/github", data=b"{}", timeout=5).status_code == 503
    assert proc.stop() == 0
    assert f"setup mode (no forge configured): open {base}/" in proc.output()
    assert "setup code for the one-click GitHub App: " in proc.output()


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        (
            {"GITHUB_APP_ID": "12"},
            "GITHUB_APP_ID is set but GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) and "
            "GITHUB_WEBHOOK_SECRET are missing.",
        ),
        (
            {"GITHUB_APP_ID": "12", "GITHUB_WEBHOOK_SECRET": "hush-hush-value"},
            "GITHUB_APP_ID and GITHUB_WEBHOOK_SECRET are set but GITHUB_PRIVATE_KEY "
            "(or GITHUB_PRIVATE_KEY_PATH) is missing.",
        ),
    ],
)
def test_partial_configuration_refuses_to_start_with_one_sentence(
    gatebot, free_port, env, sentence
):
    proc = gatebot(["serve", "--port", str(free_port)], clean_env(**env))
    assert proc.proc.wait(30) != 0
    output = proc.output()
    assert output.strip() == f"gatebot: cannot start: {sentence}"
    assert "hush-hush-value" not in output


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_key_pasted_with_literal_newlines_stops_the_start_before_migrating(
    gatebot, github_app_env, tmp_path, free_port, command
):
    pem = (tmp_path / "app.pem").read_text()
    env = {k: v for k, v in github_app_env.items() if k != "GITHUB_PRIVATE_KEY_PATH"}
    env["GITHUB_PRIVATE_KEY"] = pem.strip().replace("\n", "\\n")
    args = ["serve", "--port", str(free_port)] if command == "serve" else ["worker"]
    proc = gatebot(args, clean_env(**env))
    assert proc.proc.wait(30) == 1
    assert proc.output().strip() == (
        "gatebot: cannot start: GITHUB_PRIVATE_KEY is not a usable private key: it holds "
        "literal \\n sequences instead of line breaks; put the .pem file's text in it with "
        "its real line breaks, or use GITHUB_PRIVATE_KEY_PATH."
    )
    assert not (tmp_path / "var").exists(), "nothing may be migrated before the refusal"


def test_without_a_database_url_every_command_uses_the_data_directory_store(
    gatebot, github_app_env, tmp_path, free_port
):
    env = {k: v for k, v in github_app_env.items() if k != "GATEBOT_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    url = f"sqlite:///{tmp_path}/data/gatebot/gatebot.sqlite3"
    proc, base = start_serve(gatebot, env, free_port)
    payload = with_pr_number(github_payload("pull_request/synchronize.1"), 51)
    assert send_github(base, "pull_request", payload, env["GITHUB_WEBHOOK_SECRET"]).status_code \
        == 202
    assert proc.stop() == 0
    assert f"gatebot: store: {url}\n" in proc.output()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    audit = GatebotProcess(["audit"], clean_env(**env), cwd=elsewhere,
                           log_path=tmp_path / "audit.log")
    assert audit.proc.wait(30) == 0, audit.output()
    assert audit.output().splitlines()[0] == f"gatebot: store: {url}"
    assert not (tmp_path / "var").exists() and not (elsewhere / "var").exists()
    store = Store(url)
    with store.begin() as conn:
        recorded = deliveries.count(conn)
    # Ingested, or still kept if serve stopped before its consumer drained it.
    kept = open_inbox(store)
    assert recorded + (1 if kept.waiting() else 0) == 1
    kept.close()
    store.close()
    audit.stop()


def test_duplicate_delivery_does_one_piece_of_work(gatebot, github_app_env, free_port):
    proc, base = start_serve(gatebot, github_app_env, free_port, GATEBOT_DEBOUNCE_SECONDS="0.2")
    secret = github_app_env["GITHUB_WEBHOOK_SECRET"]
    payload = github_payload("pull_request/opened.1")
    key = PullKey("github", REPO, payload["number"])
    delivery = str(uuid.uuid4())
    first = send_github(base, "pull_request", payload, secret, delivery)
    assert first.status_code == 202
    store = store_of(github_app_env)
    wait_until(lambda: settled(store, key) and runs_for(store, key), timeout=15)
    again = send_github(base, "pull_request", payload, secret, delivery)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    time.sleep(1.5)  # longer than a wake-up takes: a second run would show
    [run] = runs_for(store, key)
    assert run.summary.startswith(f"evaluated PR {key.number} of {REPO} at ")
    with store.begin() as conn:
        assert deliveries.count(conn) == 1
    store.close()
    assert proc.stop() == 0
    assert secret not in proc.output()


def test_work_survives_sigkill_right_after_the_202(gatebot, github_app_env, free_port):
    # A long debounce keeps the work from starting before the kill.
    proc, base = start_serve(gatebot, github_app_env, free_port, GATEBOT_DEBOUNCE_SECONDS="30")
    payload = with_pr_number(github_payload("pull_request/synchronize.1"), 31)
    key = PullKey("github", REPO, 31)
    response = send_github(base, "pull_request", payload, github_app_env["GITHUB_WEBHOOK_SECRET"])
    assert response.status_code == 202
    proc.kill()
    store = store_of(github_app_env)
    assert runs_for(store, key) == []
    kept = open_inbox(store)
    with store.begin() as conn:
        # Kept before the answer: still in the inbox, or already ingested and marked.
        assert kept.waiting() or dirty.get(conn, key) is not None
    kept.close()

    restarted, _ = start_serve(gatebot, github_app_env, free_port, GATEBOT_DEBOUNCE_SECONDS="0.2")
    wait_until(
        lambda: settled(store, key) and runs_for(store, key), timeout=15, message=restarted.output()
    )
    assert len(runs_for(store, key)) == 1
    store.close()
    assert restarted.stop() == 0


def test_run_killed_midway_is_redone_after_its_lease_expires(gatebot, github_app_env, free_port):
    slow = {
        "GATEBOT_DEBOUNCE_SECONDS": "0.1",
        "GATEBOT_LEASE_SECONDS": "2",
        "GATEBOT_SWEEP_SECONDS": "0.5",
        "GATEBOT_PIPELINE": "support.pipelines:slow_pipeline",
        "GATEBOT_TEST_PIPELINE_SECONDS": "30",
    }
    proc, base = start_serve(gatebot, github_app_env, free_port, **slow)
    payload = with_pr_number(github_payload("pull_request/synchronize.1"), 41)
    key = PullKey("github", REPO, 41)
    response = send_github(base, "pull_request", payload, github_app_env["GITHUB_WEBHOOK_SECRET"])
    assert response.status_code == 202
    store = store_of(github_app_env)
    wait_until(lambda: runs_for(store, key), timeout=10, message=proc.output())
    proc.kill()  # in the middle of the run

    restarted, _ = start_serve(
        gatebot, github_app_env, free_port, **{**slow, "GATEBOT_TEST_PIPELINE_SECONDS": "0.1"}
    )

    def redone() -> bool:
        with store.begin() as conn:
            return dirty.get(conn, key) is None

    wait_until(redone, timeout=15, message=restarted.output())
    killed, finished = runs_for(store, key)
    assert killed.finished_at is None  # the interrupted run never finished
    assert finished.outcome == "ok" and finished.started_at >= killed.started_at
    store.close()
    assert restarted.stop() == 0


def test_twenty_events_in_100ms_for_one_pr_give_at_most_two_runs(
    gatebot, github_app_env, free_port
):
    # The default debounce (1 s) is what is being tested.
    proc, base = start_serve(gatebot, github_app_env, free_port)
    secret = github_app_env["GITHUB_WEBHOOK_SECRET"]
    payload = with_pr_number(github_payload("pull_request/synchronize.1"), 20)
    body = json.dumps(payload).encode()
    key = PullKey("github", REPO, 20)
    # Twenty senders with their connections open, released together, the way
    # GitHub fires the events of one push at once.
    connections = [
        http.client.HTTPConnection("127.0.0.1", free_port, timeout=10) for _ in range(20)
    ]
    for conn in connections:
        conn.connect()
    sent_at: list[float] = []
    statuses: list[int] = []
    barrier = threading.Barrier(len(connections))

    def send(conn: http.client.HTTPConnection) -> None:
        headers = github_headers("pull_request", body, secret)
        barrier.wait()
        sent_at.append(time.monotonic())
        conn.request("POST", "/webhooks/github", body=body, headers=headers)
        statuses.append(conn.getresponse().status)
        conn.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [202] * 20
    assert max(sent_at) - min(sent_at) < 0.1

    store = store_of(github_app_env)
    wait_until(lambda: settled(store, key) and runs_for(store, key), timeout=15)
    with store.begin() as conn:
        assert deliveries.count(conn) == 20
    assert 1 <= len(runs_for(store, key)) <= 2
    store.close()
    assert proc.stop() == 0


def _raw_post(port: int, headers: dict[str, str], chunks, chunked: bool) -> int:
    """Send a body piece by piece; return the status (the server may stop reading)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    conn.putrequest("POST", "/webhooks/github")
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    try:
        for chunk in chunks:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered before taking the whole body: read the answer
    status = conn.getresponse().status
    conn.close()
    return status


def test_bodies_over_25_mb_are_refused_with_413(gatebot, github_app_env, free_port):
    proc, base = start_serve(gatebot, github_app_env, free_port)
    size = 26 * 1024 * 1024
    chunk = b" " * (1024 * 1024)
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "big", "X-Hub-Signature-256": "x"}
    declared = _raw_post(free_port, {**headers, "Content-Length": str(size)}, [chunk] * 26, False)
    assert declared == 413
    streamed = _raw_post(
        free_port, {**headers, "Transfer-Encoding": "chunked"}, [chunk] * 26, chunked=True
    )
    assert streamed == 413
    # The server is still fine, and nothing was recorded.
    assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
    store = store_of(github_app_env)
    with store.begin() as conn:
        assert deliveries.count(conn) == 0
    store.close()
    assert size // len(chunk) == 26
    assert proc.stop() == 0


def test_a_stalled_client_is_dropped_after_the_timeout_and_blocks_no_one(
    gatebot, github_app_env, free_port
):
    """Half a request, then nothing: the server closes the connection once it has
    been idle for GATEBOT_WEB_TIMEOUT_SECONDS, and answers everyone else meanwhile,
    even with a single request thread."""
    proc, base = start_serve(
        gatebot, github_app_env, free_port,
        GATEBOT_WEB_TIMEOUT_SECONDS="2", GATEBOT_WEB_THREADS="1",
    )
    stalled = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", free_port), timeout=15)
        sock.sendall(
            b"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"X-GitHub-Event: ping\r\nContent-Length: 1000\r\n\r\n{\"zen\": "
        )
        stalled.append(sock)
    started = time.monotonic()
    for _ in range(3):
        assert requests.get(f"{base}/healthz", timeout=1).status_code == 200
    assert time.monotonic() - started < 1.5

    for sock in stalled:
        assert sock.recv(1024) == b""  # closed by the server, not answered
        sock.close()
    # Dropped after the 2 s timeout, at the next idle check (at most 2 s later).
    assert 1.5 <= time.monotonic() - started < 6
    assert requests.get(f"{base}/healthz", timeout=1).status_code == 200
    assert proc.stop() == 0


def test_the_request_threads_and_connections_are_bounded_by_settings(github_app_env):
    from bot.settings import Settings
    from bot.web import create_app
    from bot.web.server import build_server

    settings = Settings.model_validate(
        {**github_app_env, "GATEBOT_WEB_THREADS": "3", "GATEBOT_WEB_CONNECTION_LIMIT": "40",
         "GATEBOT_WEB_TIMEOUT_SECONDS": "7"}
    )
    store = Store(settings.database_url)
    store.migrate()
    server = build_server(settings, create_app(settings, store=store), "127.0.0.1", 0)
    try:
        assert len(server.task_dispatcher.threads) == 3
        assert (server.adj.connection_limit, server.adj.channel_timeout) == (40, 7)
        assert server.adj.max_request_body_size == 25 * 1024 * 1024
    finally:
        server.close()
        server.task_dispatcher.shutdown()
        store.close()
    defaults = Settings.model_validate(github_app_env)
    assert (defaults.web_threads, defaults.web_connection_limit, defaults.web_timeout_seconds) == (
        16, 100, 30
    )
