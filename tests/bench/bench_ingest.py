"""Benchmark: webhook acknowledgement latency and throughput on loopback.

Run: .venv/bin/python tests/bench/bench_ingest.py [--deliveries N] [--clients C] [--no-gunicorn]

Starts, in turn, on 127.0.0.1 only:

- a bare Flask endpoint on the same WSGI server as `gatebot serve`
  (tests/bench/bare_flask.py): the reference;
- a real `gatebot serve` (SQLite store, embedded queue) whose consumer only
  records that each PR was looked at;
- the same under contention: the bare endpoint beside two threads computing
  without pause, and `gatebot serve` whose embedded consumer computes for
  50 ms of CPU per evaluation (`support.pipelines:busy_pipeline`), so its
  worker threads hold the GIL for as long as deliveries keep coming;
- unless `--no-gunicorn`, gunicorn with the Procfile's `web` line (after the
  Procfile's `release` step), and when PostgreSQL and Redis are reachable,
  gunicorn once more on them.

Each gets the same bounded load: N signed `pull_request.synchronize`
deliveries (real payload from tests/fixtures, spread over 50 PRs) from C
client threads with keep-alive connections, after one client alone. Prints
one line per server, then the acknowledgements per second of `gatebot serve`
against the bare endpoint (quiet, and under contention), and, last, a JSON
line with all figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from support.webhooks import github_headers, github_payload, with_pr_number  # noqa: E402

BIN = Path(sys.executable).parent
TIMEOUT_S = 120  # whole-run bound per server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited {proc.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server on {port} not ready:\n{log.read_text()}")


def load(port: int, secret: str, deliveries: int, clients: int) -> dict[str, float]:
    bodies = [
        json.dumps(with_pr_number(github_payload("pull_request/synchronize.1"), n)).encode()
        for n in range(1, 51)
    ]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_client = deliveries // clients
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        barrier.wait()
        for i in range(per_client):
            body = bodies[(index * per_client + i) % len(bodies)]
            headers = github_headers("pull_request", body, secret, str(uuid.uuid4()))
            started = time.perf_counter()
            conn.request("POST", "/webhooks/github", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 202:
                with lock:
                    errors.append(str(response.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(TIMEOUT_S)
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} deliveries not answered 202: {sorted(set(errors))}")
    latencies.sort()
    return {
        "deliveries": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "per_second": round(len(latencies) / elapsed, 1),
    }


def cpu_seconds(pid: int, *, children: bool = True) -> float | None:
    """User and system CPU time so far of process `pid` and (unless `children`
    is False) the processes it started (Linux: a consumer child counts), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        started = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if not children:
        return own
    return own + sum(cpu_seconds(child) or 0.0 for child in started)


def procfile_command(kind: str, port: int) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return re.sub(r"\$\{PORT(:-\d+)?\}", str(port), command.strip()).replace(
                "0.0.0.0",
                "127.0.0.1",  # loopback only
            )
    raise SystemExit(f"no {kind} line in the Procfile")


def run_server(
    label: str,
    command: list[str] | str,
    env: dict,
    workdir: Path,
    port: int,
    deliveries: int,
    clients: int,
) -> dict:
    """Unloaded latency (one client), then throughput and latency under `clients`."""
    log = workdir / f"{label}.log"
    secret = env["GITHUB_WEBHOOK_SECRET"]
    figures = {}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            shell=isinstance(command, str),
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(port, proc, log)
            load(port, secret, min(200, deliveries), clients)  # warm-up
            figures["1 client"] = load(port, secret, min(500, deliveries), 1)
            cpu = cpu_seconds(proc.pid)
            web_cpu = cpu_seconds(proc.pid, children=False)
            loaded = figures[f"{clients} clients"] = load(port, secret, deliveries, clients)
            if cpu is not None and web_cpu is not None and isinstance(command, list):
                # CPU per delivery of the server and its children (the work its
                # consumer does for them included): steadier than rates on a
                # shared machine. Beside it the serving process's own: what
                # answering costs.
                spent = cpu_seconds(proc.pid) - cpu
                loaded["cpu_ms_per_delivery"] = round(spent * 1000 / loaded["deliveries"], 3)
                web_spent = cpu_seconds(proc.pid, children=False) - web_cpu
                loaded["web_cpu_ms_per_delivery"] = round(
                    web_spent * 1000 / loaded["deliveries"], 3
                )
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    for load_name, f in figures.items():
        print(
            f"{label:<34} {load_name:>10}: p50 {f['p50_ms']:>6.2f} ms  p99 {f['p99_ms']:>7.2f} ms"
            f"  {f['per_second']:>7.1f} deliveries/s  ({f['deliveries']} deliveries)"
            + (f"  {f['cpu_ms_per_delivery']} ms CPU each" if "cpu_ms_per_delivery" in f else "")
            + (
                f" ({f['web_cpu_ms_per_delivery']} ms in the serving process)"
                if "web_cpu_ms_per_delivery" in f
                else ""
            ),
            flush=True,
        )
    return figures


def services_available() -> tuple[str, str] | None:
    pg = os.environ.get(
        "GATEBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    redis_url = os.environ.get("GATEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    for host, port in (("127.0.0.1", 5432), ("127.0.0.1", 6379)):
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return None
    return pg, redis_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--no-gunicorn", action="store_true", help="only the bare endpoint and gatebot serve")
    args = parser.parse_args()
    loaded = f"{args.clients} clients"

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    results = {}
    with tempfile.TemporaryDirectory(prefix="gatebot-bench-") as tmp:
        workdir = Path(tmp)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (workdir / "app.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        base_env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", tmp),
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY_PATH": str(workdir / "app.pem"),
            "GITHUB_WEBHOOK_SECRET": secrets.token_hex(16),
        }

        def bare(label: str, busy_threads: int) -> dict:
            port = free_port()
            command = [sys.executable, str(ROOT / "tests/bench/bare_flask.py"), str(port)]
            return run_server(
                label,
                [*command, "--busy-threads", str(busy_threads)],
                base_env,
                workdir,
                port,
                args.deliveries,
                args.clients,
            )

        def serve(label: str, name: str, pipeline: str) -> dict:
            port = free_port()
            env = {
                **base_env,
                "GATEBOT_DATABASE_URL": f"sqlite:///{workdir}/{name}.sqlite3",
                "GATEBOT_QUEUE_NAME": name,
                "GATEBOT_PIPELINE": pipeline,
                "PYTHONPATH": str(ROOT / "tests"),
            }
            return run_server(
                label,
                [str(BIN / "gatebot"), "serve", "--port", str(port)],
                env,
                workdir,
                port,
                args.deliveries,
                args.clients,
            )

        results["bare Flask endpoint"] = bare("bare Flask endpoint", 0)
        results["gatebot serve (sqlite, embedded queue)"] = serve(
            "gatebot serve (sqlite, embedded)", "serve", "bot.worker:record_only_pipeline"
        )
        results["bare Flask endpoint, 2 busy threads"] = bare("bare Flask, 2 busy threads", 2)
        results["gatebot serve, consumer computing"] = serve(
            "gatebot serve, consumer computing", "busy", "support.pipelines:busy_pipeline"
        )
        reference = results["bare Flask endpoint"][loaded]
        ratios = {}
        for label in ("gatebot serve (sqlite, embedded queue)", "gatebot serve, consumer computing"):
            mine = results[label][loaded]
            ratios[label] = round(mine["per_second"] / reference["per_second"], 2)
            print(
                f"{label}: {mine['per_second']} acks/s against the bare endpoint's"
                f" {reference['per_second']} ({loaded}): {ratios[label]}x;"
                f" p50 {mine['p50_ms']} ms, p99 {mine['p99_ms']} ms;"
                f" CPU per ack {mine.get('cpu_ms_per_delivery')} ms against"
                f" {reference.get('cpu_ms_per_delivery')} ms",
                flush=True,
            )
        results["ratio to the bare Flask endpoint"] = ratios
        if args.no_gunicorn:
            print(json.dumps(results))
            return

        port = free_port()
        env = {**base_env, "GATEBOT_DATABASE_URL": f"sqlite:///{workdir}/gunicorn.sqlite3"}
        subprocess.run(
            shlex.split(procfile_command("release", port)),
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
        )
        results["gunicorn Procfile web (sqlite)"] = run_server(
            "gunicorn Procfile web (sqlite)",
            procfile_command("web", port),
            env,
            workdir,
            port,
            args.deliveries,
            args.clients,
        )

        found = services_available()
        if found is None:
            print("PostgreSQL/Redis not reachable: skipped gunicorn on them", flush=True)
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            pg, redis_url = found
            name = f"gatebot_bench_{secrets.token_hex(4)}"
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                port = free_port()
                env = {
                    **base_env,
                    "GATEBOT_DATABASE_URL": make_url(pg).set(database=name).render_as_string(False),
                    "GATEBOT_REDIS_URL": redis_url,
                    "GATEBOT_QUEUE_NAME": name.replace("_", ""),
                }
                subprocess.run(
                    shlex.split(procfile_command("release", port)),
                    env=env,
                    cwd=workdir,
                    check=True,
                    capture_output=True,
                )
                results["gunicorn Procfile web (postgresql + redis)"] = run_server(
                    "gunicorn Procfile web (pg + redis)",
                    procfile_command("web", port),
                    env,
                    workdir,
                    port,
                    args.deliveries,
                    args.clients,
                )
            finally:
                import redis as redis_lib

                client = redis_lib.Redis.from_url(redis_url)
                keys = list(client.scan_iter(match=f"huey.*{name.replace('_', '')}*"))
                if keys:
                    client.delete(*keys)
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
