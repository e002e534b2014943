"""Benchmark: comment-command parsing time on adversarial 64 KiB bodies.

Run: .venv/bin/python tests/bench/bench_commands.py
Prints one line per body and, last, a JSON line with the worst median in ms.
Comment bodies are attacker input; the parser must stay linear.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.core.commands import MAX_BODY_CHARS, parse_commands  # noqa: E402

BODIES = {
    "backtick_runs": "".join("`" * k + " " for k in range(1, 360)) * 2,
    "one_backtick_per_line": "`\n" * (MAX_BODY_CHARS // 2),
    "unclosed_tags": "a <a " * (MAX_BODY_CHARS // 5),
    "unclosed_image_brackets": "![" * (MAX_BODY_CHARS // 2),
    "quote_lines": "> a\n" * (MAX_BODY_CHARS // 4),
    "list_fences": "- ```\n" * (MAX_BODY_CHARS // 6),
    "backslashes": "\\" * MAX_BODY_CHARS,
    "command_lines": "/gate merge please\n" * (MAX_BODY_CHARS // 19),
    "typical": "LGTM, thanks!\n\n/gate merge\n",
}


def main() -> None:
    worst = 0.0
    for name, body in BODIES.items():
        body = ("/gate " + body)[:MAX_BODY_CHARS]
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            parse_commands(body)
            samples.append((time.perf_counter() - started) * 1000)
        median = statistics.median(samples)
        worst = max(worst, median)
        print(f"{name:28s} {len(body):6d} chars  median {median:8.2f} ms")
    print(json.dumps({"worst_median_ms": round(worst, 2)}))


if __name__ == "__main__":
    main()
