"""Benchmark: the requests (and the time) one catch-up reconcile round costs.

Run: .venv/bin/python tests/bench/catchup_requests.py [--sizes 1,100,1000]

Against the fake GitHub (its request log counts what reaches it), for one
repository with N open PRs: a round with nothing changed since the last one
(the store knows every PR as the forge lists it, and the mark is set), and a
round with everything changed (every PR pushed while the bot was away, no
mark: the first round after downtime walks back to the oldest open PR).
Prints one line per case and, last, a JSON line with all figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from fakegithub import FakeGitHub  # noqa: E402
from github_helpers import settings_for  # noqa: E402

from bot.catchup.listing import GitHubLister  # noqa: E402
from bot.catchup.reconcile import Reconcile  # noqa: E402
from bot.providers.counting import RequestTally  # noqa: E402
from bot.providers.github.auth import AppCredentials, GitHubApp  # noqa: E402
from bot.providers.github.client import ClientConfig  # noqa: E402
from bot.retry import RetryPolicies  # noqa: E402
from bot.store import Store, evaluations, pulls, utcnow  # noqa: E402

REPO = "acme/api"


def one_size(size: int) -> dict[str, object]:
    with FakeGitHub() as fake, tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(fake, Path(tmp))
        store = Store(settings.database_url)
        store.migrate()
        fake.add_repo(REPO)
        installation = fake.installation_id(REPO)
        opened = [fake.open_pr(REPO, number) for number in range(1, size + 1)]
        # Opened and pushed a while ago, so a quiet round finds nothing newer than its mark.
        with fake.world.lock:
            for pr in opened:
                pr.updated_at -= timedelta(hours=2)
        now = utcnow()
        with store.begin() as conn:
            for pr in opened:
                pulls.remember(conn, pulls.PullState(
                    "github", REPO, pr.number, pr.base_ref, "0" * 40, pulls.OPEN,
                    installation, pr.updated_at - timedelta(hours=1)), now)
                evaluations.record(conn, evaluations.Posted(
                    "github", REPO, pr.head_sha, "gatebot", pr.number, "success", "ok",
                    None, False, True, None, None, now))
        config = ClientConfig.from_settings(settings)
        retries = RetryPolicies.build(max_wait=1)
        app = GitHubApp(AppCredentials(fake.app_id, fake.private_key_pem), config, retries)
        app.token(installation, RequestTally())  # minted once an hour, not per round

        def round_at(moment):
            step = Reconcile(GitHubLister(app, config, retries), store, budget=10_000)
            before = len(fake.requests)
            started = time.perf_counter()
            report = step.run(moment)
            seconds = time.perf_counter() - started
            return report, len(fake.requests) - before, seconds

        changed, changed_requests, changed_seconds = round_at(now)
        # The worker would now evaluate them; nothing changes until the next round.
        quiet, quiet_requests, quiet_seconds = round_at(now + timedelta(minutes=5))
        store.close()
        return {
            "open_prs": size,
            "changed": {"requests": changed_requests, "marked": changed.acted,
                        "seconds": round(changed_seconds, 3)},
            "unchanged": {"requests": quiet_requests, "marked": quiet.acted,
                          "seconds": round(quiet_seconds, 3)},
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        found = one_size(size)
        results.append(found)
        print(
            f"{size:>5} open PRs: nothing changed {found['unchanged']['requests']} request(s)"
            f" ({found['unchanged']['seconds']} s); everything changed"
            f" {found['changed']['requests']} request(s), {found['changed']['marked']} marked"
            f" ({found['changed']['seconds']} s)",
            flush=True,
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
