"""Latency of `POST /api/v1/score` under a steady load from a second process on loopback.

    .venv/bin/python -m benchmarks.api_latency --workspace WS --payments FILE.csv
        [--rate 200] [--seconds 60] [--steps 400,600,800 --step-seconds 15]

Starts `vigil serve --api-only` on the workspace in its own process, creates a key, and sends
payments from FILE (canonical CSV, fresh txn_ids) at a fixed rate (open loop: a request is due
at its time whether or not the previous one has come back), every request timed from when it
was due to its answer. Then each of `--steps` rates for `--step-seconds`, for the highest rate
the API sustains (all answered 200, sent within 5 % of the rate). Bounded in time: at most
`seconds + len(steps) × step_seconds` of load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import polars as pl

from vigil.api.keys import create_key
from vigil.cases.store import CaseStore, default_database_url

P99_TARGET_MS = 10.0


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


async def load(
    url: str, key: str, bodies: list[dict], rate: float, seconds: float, offset: int
) -> Run:
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(limits=limits, timeout=10, headers=headers) as client:
        started = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = dict(bodies[(offset + i) % len(bodies)])
            body["txn_id"] = f"LOAD-{offset + i}"
            try:
                answer = await client.post(url, json=body)
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - due) * 1000)
            else:
                errors += 1

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - started
    return Run(rate, seconds, np.asarray(latencies), errors, total / max(elapsed, 1e-9))


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
    url = f"http://127.0.0.1:{port}/api/v1/score"
    runs = []
    try:
        asyncio.run(load(url, key, bodies, 50, 2, 10**9))  # warm the connections
        runs.append(asyncio.run(load(url, key, bodies, args.rate, args.seconds, 0)))
        offset = len(bodies)
        for rate in [float(r) for r in args.steps.split(",") if r]:
            runs.append(asyncio.run(load(url, key, bodies, rate, args.step_seconds, offset)))
            offset += int(rate * args.step_seconds)
    finally:
        stop_server(server)
    print("| target req/s | s | requests | errors | sent req/s | p50 ms | p99 ms | max ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(run.row())
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
