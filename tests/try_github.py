"""Try gatebot against a fake GitHub on this machine, no GitHub account needed.

    .venv/bin/pip install -q -e '.[test]'
    .venv/bin/python tests/try_github.py

starts the test suite's fake GitHub (real HTTP on 127.0.0.1) with the App
installed on `acme/demo`, whose `main` holds
`policies/examples/two-reviewers.yml` as its policy; writes the settings of a
`gatebot serve` that is that App to `try-github/env` and waits for gatebot
to answer at `GATEBOT_PUBLIC_URL`. Then it plays a pull request as GitHub
would — opened by alice, approved by bob, approved by carol — sending each
signed webhook to gatebot and printing the verdict gatebot posted after each
one, with its Details link. It keeps the fake running until Ctrl-C so the
links can be opened.

With `--one-click` the App is not configured in advance: the fake plays a
GitHub Enterprise Server, the settings file carries no App at all, and the
runner says what to type on gatebot's setup page to create the App in one
click — as a new user does on GitHub — before it plays the pull request.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from fakegithub import FakeGitHub

ROOT = Path(__file__).resolve().parent.parent
REPO = "acme/demo"
CONTEXT = "gatebot: main"


def write_env(fake: FakeGitHub, workdir: Path, public_url: str, *, one_click: bool) -> Path:
    """The settings of a `gatebot serve` beside the fake, as a file of `export` lines: the
    fake's App itself, or with `one_click` only where setup keeps the App it creates."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings: dict[str, str] = {}
    if one_click:
        settings["GATEBOT_ENV_FILE"] = str(workdir / "gatebot.env")
    else:
        key = workdir / "app.private-key.pem"
        key.write_text(fake.private_key_pem)
        key.chmod(0o600)
        settings.update({
            "GITHUB_APP_ID": str(fake.app_id),
            "GITHUB_PRIVATE_KEY_PATH": str(key),
            "GITHUB_WEBHOOK_SECRET": fake.webhook_secret,
            "GITHUB_API_URL": fake.api_url,
        })
    settings.update({
        "GATEBOT_PUBLIC_URL": public_url,
        "GATEBOT_SECRET_KEY": secrets.token_hex(32),
        "GATEBOT_DATABASE_URL": f"sqlite:///{workdir / 'gatebot.sqlite3'}",
        # The fake needs none of the pacing real GitHub asks for.
        "GATEBOT_GITHUB_SECONDS_BETWEEN_REQUESTS": "0",
        "GATEBOT_GITHUB_SECONDS_BETWEEN_WRITES": "0",
    })
    env = workdir / "env"
    env.write_text("".join(f"export {name}={value}\n" for name, value in settings.items()))
    env.chmod(0o600)
    return env


def wait_for_gatebot(public_url: str) -> None:
    while True:
        try:
            if requests.get(f"{public_url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)


def deliver(fake: FakeGitHub, public_url: str, event: str, action: str) -> None:
    """Send the webhook GitHub would send now, signed with the App's secret."""
    name, payload = fake.webhook(event, action, REPO, 1)
    body, headers = fake.webhook_request(name, payload)
    answer = requests.post(f"{public_url}/webhooks/github", data=body, headers=headers, timeout=10)
    print(f"  webhook {event}.{action}: gatebot answered {answer.status_code}")


def await_verdict(fake: FakeGitHub, sha: str, seen: int, timeout: float = 30.0) -> None:
    """Print the status gatebot posts after the `seen` ones already there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [s for s in fake.statuses(REPO, sha) if s.context == CONTEXT]
        if len(mine) > seen:
            status = mine[-1]
            print(f"  {status.context}: {status.state} — {status.description}")
            print(f"  Details: {status.target_url or '(none: GATEBOT_PUBLIC_URL is unset)'}")
            return
        time.sleep(0.2)
    print("  no new verdict within 30 s: see gatebot's log in the other terminal")


def statuses_so_far(fake: FakeGitHub, sha: str) -> int:
    return len([s for s in fake.statuses(REPO, sha) if s.context == CONTEXT])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("try-github"),
                        help="where the App's key, the settings and gatebot's store go")
    parser.add_argument("--public-url", default="http://127.0.0.1:8000",
                        help="where gatebot serve will listen (its GATEBOT_PUBLIC_URL)")
    parser.add_argument("--one-click", action="store_true",
                        help="create the App from gatebot's setup page instead")
    args = parser.parse_args()
    workdir = args.dir.resolve()
    public_url = args.public_url.rstrip("/")

    fake = FakeGitHub(enterprise=args.one_click)
    fake.start()
    policy = (ROOT / "policies/examples/two-reviewers.yml").read_text()
    fake.add_repo(REPO, files={".github/gatebot.yml": policy, "src/app.py": "print(1)\n"})
    for login in ("bob", "carol"):
        fake.set_role(REPO, login, "write")
    env = write_env(fake, workdir, public_url, one_click=args.one_click)

    port = urlsplit(public_url).port or 8000
    serve = ".venv/bin/gatebot serve" + ("" if port == 8000 else f" --port {port}")
    if args.one_click:
        print(f"A fake GitHub Enterprise Server is running at {fake.url}.")
        print("In another terminal, in this directory, start gatebot with no App yet:\n")
        print(f"    . {env} && {serve}\n")
        print(f"Open {public_url}/ and, under \"Create the GitHub App in one click\", give:")
        print("    Setup code:       the one gatebot serve printed")
        print("    Register under:   the organisation acme")
        print(f"    GitHub address:   {fake.url}")
        print("press Create the GitHub App, then \"Create GitHub App for acme\" on the fake")
        print(f"GitHub's page. (The App is installed on {REPO} already.)\n")
    else:
        print(f"A fake GitHub is running at {fake.url}, the App installed on {REPO}.")
        print("In another terminal, in this directory, start gatebot as that App:\n")
        print(f"    . {env} && {serve}\n")
    print(f"Waiting for gatebot at {public_url} ...")
    try:
        wait_for_gatebot(public_url)
        print("gatebot is ready.\n")

        pr = fake.open_pr(REPO, 1, author="alice", contents={"src/app.py": "print(2)\n"})
        fake.set_check_run(REPO, pr.head_sha, "ci / test", conclusion="success")
        print(f"alice opens PR #1 ({pr.head_sha[:7]}); its CI passes:")
        seen = statuses_so_far(fake, pr.head_sha)
        deliver(fake, public_url, "pull_request", "opened")
        await_verdict(fake, pr.head_sha, seen)

        for reviewer in ("bob", "carol"):
            print(f"\n{reviewer} approves:")
            fake.add_review(REPO, 1, reviewer, "APPROVED")
            seen = statuses_so_far(fake, pr.head_sha)
            deliver(fake, public_url, "pull_request_review", "submitted")
            await_verdict(fake, pr.head_sha, seen)

        print("\nOpen a Details link above in a browser. Ctrl-C stops the fake GitHub.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        fake.stop()


if __name__ == "__main__":
    sys.exit(main())
