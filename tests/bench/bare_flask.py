"""The benchmarks' reference: a bare Flask webhook endpoint on gatebot's own WSGI server.

Run: python tests/bench/bare_flask.py PORT [--busy-threads N]

The same waitress server `gatebot serve` builds (`bot.web.server.build_server`,
default settings), serving a Flask app whose webhook endpoint reads the body
and answers 202: what any Python webhook receiver costs on this machine. With
`--busy-threads` the process also runs N threads that compute without pause,
holding the GIL as an embedded consumer's evaluations would.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flask import Flask, jsonify, request  # noqa: E402

from bot.settings import Settings  # noqa: E402
from bot.web.server import build_server  # noqa: E402


def create_app() -> Flask:
    app = Flask("bare")

    @app.post("/webhooks/github")
    def webhook():
        request.get_data()
        return jsonify(status="accepted"), 202

    @app.get("/readyz")
    def ready():
        return jsonify(status="ready")

    return app


def busy() -> None:
    spins = 0
    while True:
        spins += sum(i * i for i in range(200)) & 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--busy-threads", type=int, default=0)
    args = parser.parse_args()
    for _ in range(args.busy_threads):
        threading.Thread(target=busy, daemon=True).start()
    build_server(Settings.model_validate({}), create_app(), "127.0.0.1", args.port).run()


if __name__ == "__main__":
    main()
