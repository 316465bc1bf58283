"""Throughput of the queue and party API under concurrent users, on loopback.

    .venv/bin/vigil generate --senders 3000 --seed 1 --out /tmp/bench-load/data
    .venv/bin/vigil scan /tmp/bench-load/data/transactions.csv --out /tmp/bench-load/results
    .venv/bin/python -m benchmarks.web_load --workspace /tmp/bench-load/results/vigil.duckdb

The app runs in a child process (uvicorn, one worker, as `vigil serve` does) so that the
load generator does not share its interpreter; each simulated user is a thread with its own
logged-in httpx client, sending requests back to back. Bounded: `--requests` per user and
level. Prints requests/s and p50 / p99 latency per endpoint and number of users.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.web_latency import percentile
from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.workspace import Workspace

PASSWORD = "benchmark-password"
SERVER = """
import sys, uvicorn
from vigil.web.app import create_app
app = create_app(sys.argv[1], sys.argv[2], secret_key="b" * 48, secure_cookies=False)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning", access_log=False)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(workspace: Path, database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(workspace), database_url, str(port)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            httpx.get(f"{base}/login", timeout=1)
            return child, base
        except httpx.TransportError:
            time.sleep(0.1)
    child.kill()
    raise SystemExit("the app did not start")


def logged_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise SystemExit(f"login failed: {answer.status_code}")
    return client


def parties(workspace: Path, n: int) -> list[str]:
    with Workspace.open(workspace, read_only=True) as ws:
        rows = ws.con.execute(
            "SELECT party_kind, party_id FROM alerts ORDER BY rank, party_kind LIMIT ?", [n]
        ).fetchall()
    return [f"/api/parties/{kind}/{party_id}" for kind, party_id in rows]


def load(clients: list[httpx.Client], urls: list[str], requests: int) -> tuple[float, list[float]]:
    """All clients at once, each sending `requests` requests back to back."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def user(number: int, client: httpx.Client) -> None:
        mine = []
        start.wait()
        for i in range(requests):
            url = urls[(number * requests + i) % len(urls)]
            began = time.perf_counter()
            answer = client.get(url)
            mine.append(time.perf_counter() - began)
            if answer.status_code != 200:
                raise SystemExit(f"{url}: HTTP {answer.status_code}")
        with lock:
            latencies.extend(mine)

    threads = [
        threading.Thread(target=user, args=(i, c), daemon=True) for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--users", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=20, help="per user and level")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        database_url = f"sqlite:///{Path(scratch) / 'cases.sqlite'}"
        store = CaseStore.open(database_url)
        most = max(args.users)
        for i in range(most):
            add_user(store, f"bench{i}", PASSWORD, "analyst")
        store.close()
        child, base = start_server(args.workspace, database_url)
        try:
            clients = [logged_in(base, f"bench{i}") for i in range(most)]
            endpoints = {
                "queue `/api/alerts`": [f"/api/alerts?page={p}&per_page=50" for p in range(1, 11)],
                "party API": parties(args.workspace, 200),
            }
            print("| endpoint | users | requests | req/s | p50 ms | p99 ms |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, urls in endpoints.items():
                load(clients[:1], urls, 3)  # warm the caches
                for users in args.users:
                    rate, seconds = load(clients[:users], urls, args.requests)
                    print(
                        f"| {name} | {users} | {len(seconds)} | {rate:.1f} | "
                        f"{percentile(seconds, 0.5) * 1000:.1f} | "
                        f"{percentile(seconds, 0.99) * 1000:.1f} |",
                        flush=True,
                    )
            for client in clients:
                client.close()
        finally:
            child.terminate()
            child.wait(timeout=30)


if __name__ == "__main__":
    main()
