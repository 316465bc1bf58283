"""Response times of the web app's alert queue and party pages on a scanned workspace.

    .venv/bin/vigil generate --senders 600000 --seed 1 --out /tmp/bench-web/data  # ≈ 9.8M payments
    .venv/bin/vigil scan /tmp/bench-web/data/transactions.csv --out /tmp/bench-web/results
    .venv/bin/python -m benchmarks.web_latency --workspace /tmp/bench-web/results/vigil.duckdb

The app is served in this process by uvicorn on a loopback port and timed with httpx, one
request at a time, logged in as an analyst (so every party view also appends its audit
entry, as in real use). The case store is a fresh SQLite file in a temporary folder.
Reports p50 / p99 per kind of page: the queue's first page, a filtered page, a deep page,
the queue through the JSON API, and party pages for a sample of parties of both kinds.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.web.app import create_app
from vigil.workspace import Workspace

PASSWORD = "benchmark-password"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def log_in(client: httpx.Client) -> None:
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
    )
    if answer.status_code != 303:
        raise SystemExit(f"login failed: {answer.status_code}")


def timed(client: httpx.Client, url: str, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        answer = client.get(url)
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: HTTP {answer.status_code}")
    return seconds


def sample_parties(workspace: Path, per_kind: int, seed: int) -> list[tuple[str, str]]:
    """The top of each kind's ranking and a random draw from the rest (what analysts open)."""
    chosen = []
    with Workspace.open(workspace, read_only=True) as ws:
        for kind in ("sender", "beneficiary"):
            top = ws.con.execute(
                "SELECT party_id FROM alerts WHERE party_kind = ? ORDER BY rank LIMIT ?",
                [kind, per_kind // 2],
            ).fetchall()
            rest = ws.con.execute(
                "SELECT party_id FROM alerts WHERE party_kind = ? AND rank > ? "
                "ORDER BY hash(party_id || ?) LIMIT ?",
                [kind, len(top), str(seed), per_kind - len(top)],
            ).fetchall()
            chosen += [(kind, p) for (p,) in top + rest]
    return chosen


def workspace_size(workspace: Path) -> tuple[int, int]:
    with Workspace.open(workspace, read_only=True) as ws:
        payments = ws.con.execute("SELECT count(*) FROM payments").fetchall()[0][0]
        parties = ws.con.execute("SELECT count(*) FROM alerts").fetchall()[0][0]
    return payments, parties


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=60, help="requests per queue page kind")
    parser.add_argument("--parties", type=int, default=60, help="parties sampled (both kinds)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()

    payments, parties = workspace_size(args.workspace)
    sample = sample_parties(args.workspace, args.parties // 2, args.seed)
    with tempfile.TemporaryDirectory(prefix="vigil-web-bench-") as scratch:
        database_url = f"sqlite:///{Path(scratch) / 'cases.sqlite'}"
        with CaseStore.open(database_url) as store:
            add_user(store, "bench", PASSWORD, "analyst")
        started = time.perf_counter()
        app = create_app(
            args.workspace,
            database_url,
            secret_key="benchmark-secret-key-" + "x" * 32,
            secure_cookies=False,
            exports_dir=Path(scratch) / "exports",
        )
        startup = time.perf_counter() - started
        server, thread, base = serve(app)
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                log_in(client)
                deep_page = max(1, parties // 50 // 2)
                pages = {
                    "queue, first page": "/queue",
                    "queue, filtered": "/queue?kind=beneficiary&country=PH&indicator=B7"
                    "&min_score=0.2&sort=payments",
                    f"queue, deep page ({deep_page:,})": f"/queue?page={deep_page}",
                    "API /api/alerts, first page": "/api/alerts",
                }
                results = {}
                for name, url in pages.items():
                    timed(client, url, 3)  # warm the caches first
                    results[name] = timed(client, url, args.repeat)
                for kind, party_id in sample[:4]:
                    timed(client, f"/parties/{kind}/{party_id}", 1)
                results[f"party page ({len(sample)} parties)"] = [
                    t for kind, pid in sample for t in timed(client, f"/parties/{kind}/{pid}", 1)
                ]
                results[f"API party ({len(sample)} parties)"] = [
                    t
                    for kind, pid in sample
                    for t in timed(client, f"/api/parties/{kind}/{pid}", 1)
                ]
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    print(
        f"workspace {args.workspace}: {payments:,} payments, {parties:,} parties; "
        f"app start {startup:.2f} s"
    )
    print(f"{'page':<34} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, seconds in results.items():
        ms = [s * 1000 for s in seconds]
        print(
            f"{name:<34} {len(ms):>4} {percentile(ms, 0.5):>8.1f} {percentile(ms, 0.99):>8.1f} "
            f"{statistics.fmean(ms):>8.1f}"
        )


if __name__ == "__main__":
    main()
