"""Coverage-guided fuzzing of ingest with atheris (libFuzzer), outside the test suite.

    make fuzz                      # 600 inputs, about 5 minutes (FUZZ_RUNS=…)
    .venv/bin/python -m benchmarks.fuzz_ingest -atheris_runs=600 [CORPUS_DIR]

Each input is a CSV file: a valid canonical header and a valid row first (so that most
inputs reach validation), then the fuzzer's bytes. An input may be refused with an
InputError or ingested with every record accounted for (`vigil.ingest.fuzz_input`);
anything else is a crash. Crashes are counted, their inputs saved under
`fuzz-crashes/`, and the run goes on; at the end one line reports the counts.
"""

from __future__ import annotations

import atexit
import hashlib
import sys
import traceback
from collections import Counter
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["vigil"]):
    from vigil.ingest.fuzz_input import ingest_bytes
    from vigil.schema import CANONICAL_ORDER

PREFIX = (
    ",".join(CANONICAL_ORDER)
    + "\nT0,2024-03-01T21:00:00+01:00,C1,Al Ba,FR,W1,Ro Di,PH,Cebu,45.00,EUR,ewallet,gift\n"
).encode()
CRASHES = Path("fuzz-crashes")
REPORT_EVERY = 100
outcomes: Counter[str] = Counter()


def one_input(data: bytes) -> None:
    try:
        outcomes[ingest_bytes(PREFIX + data)] += 1
    except Exception:  # a crash: keep the input and go on
        outcomes["crash"] += 1
        CRASHES.mkdir(exist_ok=True)
        name = hashlib.sha256(data).hexdigest()[:16]
        (CRASHES / f"{name}.csv").write_bytes(PREFIX + data)
        (CRASHES / f"{name}.txt").write_text(traceback.format_exc())
    if sum(outcomes.values()) % REPORT_EVERY == 0:
        report()


def report() -> None:
    total = sum(outcomes.values())
    print(
        f"fuzzed {total} inputs: {outcomes['ingested']} ingested, {outcomes['refused']} "
        f"refused with an InputError, {outcomes['crash']} crashes",
        flush=True,
    )


def main() -> None:
    atexit.register(report)
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
