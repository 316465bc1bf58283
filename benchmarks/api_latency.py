"""Latency of `POST /api/v1/score` under a steady load from a second process on loopback.

    .venv/bin/python -m benchmarks.api_latency --workspace WS --payments FILE.csv
        [--rate 200] [--seconds 60] [--steps 400,600,800 --step-seconds 15]

Starts `vigil serve --api-only` on the workspace in its own process, creates a key, and sends
payments from FILE (canonical CSV, fresh txn_ids) at a fixed rate: a request is due at its
time, eight client threads take turns, every request timed from when it was due to its
answer. Then each of `--steps` rates for `--step-seconds`, for the highest rate
the API sustains (all answered 200, sent within 5 % of the rate). Bounded in time: at most
`seconds + len(steps) × step_seconds` of load.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from vigil.api.keys import create_key
from vigil.cases.store import CaseStore, default_database_url

P99_TARGET_MS = 10.0
THREADS = 8  # clients in the load process, each on its own keep-alive connection


@dataclass
class Run:
    rate: float
    seconds: float
    latencies_ms: np.ndarray
    errors: int
    sent_per_second: float

    def row(self) -> str:
        lat = self.latencies_ms
        p50, p99 = (np.percentile(lat, q) for q in (50, 99)) if len(lat) else (np.nan, np.nan)
        top = lat.max() if len(lat) else np.nan
        return (
            f"| {self.rate:.0f} | {self.seconds:.0f} | {len(lat) + self.errors:,} | {self.errors} "
            f"| {self.sent_per_second:.0f} | {p50:.2f} | {p99:.2f} | {top:.1f} |"
        )

    @property
    def sustained(self) -> bool:
        return self.errors == 0 and self.sent_per_second >= 0.95 * self.rate


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "vigil.cli",
        "serve",
        "--api-only",
        "--workspace",
        str(workspace),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                raise SystemExit("the API server stopped while starting") from None
            time.sleep(0.5)
    stop_server(server)
    raise SystemExit("the API server did not start within 120 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def load(url: str, key: str, bodies: list[dict], rate: float, seconds: float, offset: int) -> Run:
    """`rate × seconds` requests, request i due at start + i / rate, sent by THREADS
    keep-alive clients in turn; a request not sent by the run's end + 5 s is an error."""
    total = int(rate * seconds)
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    errors = [0] * THREADS
    started = time.perf_counter() + 0.2
    stop_at = started + seconds + 5

    def worker(n: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(headers=headers, timeout=5) as client:
            for i in range(n, total, THREADS):
                due = started + i / rate
                now = time.perf_counter()
                if now > stop_at:
                    errors[n] += len(range(i, total, THREADS))
                    return
                if due > now:
                    time.sleep(due - now)
                body = dict(bodies[(offset + i) % len(bodies)])
                body["txn_id"] = f"LOAD-{offset + i}"
                try:
                    ok = client.post(url, json=body).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies[n].append((time.perf_counter() - due) * 1000)
                else:
                    errors[n] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sent = sum(len(x) for x in latencies) + sum(errors)
    return Run(
        rate, seconds, np.asarray([v for x in latencies for v in x]), sum(errors), sent / elapsed
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--payments", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--steps", default="400,600,800")
    parser.add_argument("--step-seconds", type=float, default=15)
    args = parser.parse_args()
    bodies = pl.read_csv(args.payments, infer_schema=False).head(50_000).to_dicts()
    with CaseStore.open(default_database_url(args.workspace)) as store:
        _info, key = create_key(store, f"latency-{int(time.time())}")
    port = free_port()
    server = start_server(args.workspace, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a timeout still stops the server
    url = f"http://127.0.0.1:{port}/api/v1/score"
    runs = []
    print("| target req/s | s | requests | errors | sent req/s | p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    try:
        load(url, key, bodies, 50, 2, 10**9)  # warm the connections
        runs.append(load(url, key, bodies, args.rate, args.seconds, 0))
        print(runs[-1].row(), flush=True)
        offset = len(bodies)
        for rate in [float(r) for r in args.steps.split(",") if r]:
            runs.append(load(url, key, bodies, rate, args.step_seconds, offset))
            print(runs[-1].row(), flush=True)
            offset += int(rate * args.step_seconds)
    finally:
        stop_server(server)
    sustained = [r.rate for r in runs if r.sustained]
    first = runs[0]
    p99 = np.percentile(first.latencies_ms, 99) if len(first.latencies_ms) else float("inf")
    print(
        f"\n{first.rate:.0f} req/s for {first.seconds:.0f} s: "
        f"{'met' if first.sustained and p99 <= P99_TARGET_MS else 'not met'} "
        f"(p99 {p99:.2f} ms, target {P99_TARGET_MS} ms, errors {first.errors}); "
        f"highest sustained rate: {max(sustained, default=0):.0f} req/s"
    )


if __name__ == "__main__":
    main()
