"""`gatebot serve`'s queue consumer runs in a child process (`bot.consumer_process`):
it evaluates what the web process accepts, runs at a lower priority, ends with
its parent however the parent ends, and is started again if it dies alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.processes import wait_until
from support.webhooks import github_payload, send_github, with_pr_number

from bot.keys import PullKey
from bot.store import Store, runs


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, whichever of its threads started them."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.fixture
def served(gatebot, github_app_env, free_port):
    env = {**github_app_env, "GATEBOT_DEBOUNCE_SECONDS": "0.05"}
    web = gatebot(["serve", "--port", str(free_port)], env)
    base = f"http://127.0.0.1:{free_port}"
    web.wait_http(f"{base}/healthz")
    wait_until(lambda: len(children(web.proc.pid)) == 1, timeout=20, message=web.output())
    store = Store(env["GATEBOT_DATABASE_URL"])
    yield web, base, env, store
    store.close()


def deliver_and_wait(base: str, env: dict, store: Store, number: int, output) -> None:
    payload = with_pr_number(github_payload("pull_request/synchronize.1"), number)
    assert send_github(base, "pull_request", payload, env["GITHUB_WEBHOOK_SECRET"]).status_code == 202
    key = PullKey("github", "Codertocat/Hello-World", number)

    def evaluated() -> bool:
        with store.begin() as conn:
            return bool(runs.for_pull(conn, key))

    wait_until(evaluated, timeout=30, message=output())


@pytest.mark.slow
def test_the_consumer_child_evaluates_at_a_lower_priority(served):
    web, base, env, store = served
    [child] = children(web.proc.pid)
    wait_until(lambda: niceness(child) > niceness(web.proc.pid), timeout=20)
    deliver_and_wait(base, env, store, 1, web.output)
    with store.begin() as conn:
        [run] = runs.for_pull(conn, PullKey("github", "Codertocat/Hello-World", 1))
    assert run.worker.split(":")[1] == str(child)  # worked on by the child, not the web
    assert web.stop() == 0
    assert not alive(child)


@pytest.mark.slow
def test_the_consumer_child_ends_with_a_killed_parent(served):
    web, _base, _env, _store = served
    [child] = children(web.proc.pid)
    web.kill()
    wait_until(lambda: not alive(child), timeout=20)


@pytest.mark.slow
def test_a_consumer_child_that_dies_is_started_again(served):
    web, base, env, store = served
    [child] = children(web.proc.pid)
    os.kill(child, 9)
    wait_until(
        lambda: [c for c in children(web.proc.pid) if c != child],
        timeout=20,
        message=web.output(),
    )
    deliver_and_wait(base, env, store, 2, web.output)
    assert web.stop() == 0
