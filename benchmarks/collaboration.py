"""Detection across institutions: siloed, `vigil share`, the FIU's pooled scan, one institution.

    .venv/bin/python -m benchmarks.collaboration [--senders 6000] [--seed 11]
        [--institutions 2 3 5] [--scenario default] [--work DIR]

One population (`vigil generate`, the same seed and size) is scanned four ways, for each N:

- **one institution**: the unsplit population, as if one institution saw every payment;
- **siloed**: `vigil generate --institutions N`, each institution scans its own payments,
  and the alerts are merged afterwards;
- **share**: after their scans, the institutions run `vigil share export`, a linkage unit
  `vigil share link`, and each institution `vigil share import`; then a second exchange
  the same way, exported after those imports, imported with `--refresh`;
- **pooled**: the FIU's scan of all the institutions' payments together, with their
  `reporter` column (FIU mode).

Every arm is evaluated on the population's own parties: a sender (a customer of the unsplit
population) gets the highest score any institution gave one of its customer ids, a
beneficiary the highest score it got anywhere; so the four arms rank the same parties and
their figures compare. A second table gives the pooled scan's sender resolution: of the pairs
of one person's ids at two reporters (the generator's ground truth), how many it links, and
how many of the pairs it links are one person. Generated files and scans are kept under
`--work` (default
benchmarks/out/collaboration) and reused when they exist.
"""

from __future__ import annotations

import argparse
import shutil
import time
import traceback
from pathlib import Path

import duckdb
import polars as pl

from vigil.evaluation.metrics import average_precision, budget_size, rank_alerts, recall_at
from vigil.scan import scan
from vigil.schema import PARTY_KINDS, SENDER_KEY_SEPARATOR
from vigil.share import export_share, import_linked, keygen, link_shares
from vigil.synth import generate
from vigil.synth.institutions import institution_names

BUDGETS = (0.005, 0.01)
ARMS = ("siloed", "share", "pooled", "one institution")


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def population_alerts(alerts: pl.DataFrame, parties: pl.DataFrame | None) -> pl.DataFrame:
    """Alerts of the population's parties: customer ids mapped to the population's sender
    (on reporter and id when the alerts have a reporter, else on the id, which the generator
    keeps unique across institutions), each party's highest score, ranked again."""
    scored = alerts.select(
        "party_kind", "party_id", *(["reporter"] if "reporter" in alerts.columns else [])
    ).with_columns(score=alerts["score"].cast(pl.Float64))
    if parties is not None:
        senders = parties.filter(pl.col("party_kind") == "sender")
        keys = ["party_id", "reporter"] if "reporter" in scored.columns else ["party_id"]
        mapping = senders.select(*keys, "population_party_id")
        mapped = scored.filter(pl.col("party_kind") == "sender").join(mapping, on=keys)
        scored = pl.concat(
            [
                mapped.select("party_kind", party_id="population_party_id", score="score"),
                scored.filter(pl.col("party_kind") == "beneficiary").select(
                    "party_kind", "party_id", "score"
                ),
            ]
        )
    best = scored.group_by("party_kind", "party_id").agg(pl.col("score").max())
    return best.sort(
        ["party_kind", "score", "party_id"], descending=[False, True, False]
    ).with_columns(rank=pl.int_range(1, pl.len() + 1).over("party_kind"))


def quality(alerts: pl.DataFrame, labels: pl.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per kind: average precision and recall in the 0.5 % and 1 % budgets."""
    result = {}
    for kind in PARTY_KINDS:
        ranked = rank_alerts(alerts, labels, kind)
        kind_labels = labels.filter(pl.col("party_kind") == kind)
        positives = int(ranked["is_positive"].sum())
        missing_positives = int(
            (kind_labels["role"] == ("offender" if kind == "sender" else "facilitator")).sum()
            - positives
        )
        parties = kind_labels.height
        row: dict[str, float | None] = {
            "ap": average_precision(ranked["is_positive"], missing_positives)
        }
        for budget in BUDGETS:
            k = budget_size(budget, parties)
            row[f"recall@{budget:.1%}"] = recall_at(
                ranked["is_positive"], k, positives + missing_positives
            )
        result[kind] = row
    return result


def cross_reporter_pairs(workspace: Path, parties: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The pooled scan's sender resolution against the generator's persons: of the pairs of
    one person's ids at two different reporters, how many end in one entity (recall), and of
    the pairs of ids at two reporters in one entity, how many are one person (precision);
    for all senders and for those pairs where either id is an offender's."""
    truth = parties.filter(pl.col("party_kind") == "sender").select(
        party_id=pl.col("reporter") + SENDER_KEY_SEPARATOR + pl.col("party_id"),
        reporter="reporter",
        person="person_id",
        offender=pl.col("role") == "offender",
    )
    with duckdb.connect(str(workspace), read_only=True) as con:
        entities = con.sql("SELECT party_id, entity_id FROM sender_entities").pl()
    ids = truth.join(entities, on="party_id")

    def pairs_on(key: str) -> pl.DataFrame:
        joined = ids.join(ids, on=key, suffix="_r")
        return joined.filter(
            (pl.col("party_id") < pl.col("party_id_r"))
            & (pl.col("reporter") != pl.col("reporter_r"))
        ).with_columns(offender=pl.col("offender") | pl.col("offender_r"))

    true, linked = pairs_on("person"), pairs_on("entity_id")
    result = {}
    for who, keep in (("all senders", pl.lit(True)), ("offenders", pl.col("offender"))):
        t, f = true.filter(keep), linked.filter(keep)
        correct = f.filter(pl.col("person") == pl.col("person_r")).height
        result[who] = {
            "pairs": t.height,
            "linked": f.height,
            "precision": correct / f.height if f.height else float("nan"),
            "recall": correct / t.height if t.height else float("nan"),
        }
    return result


def scanned(inputs: list[Path], out: Path) -> Path:
    """`out`/alerts.csv, scanning `inputs` unless an earlier run did."""
    if not (out / "alerts.csv").is_file():
        shutil.rmtree(out, ignore_errors=True)
        scan(inputs, out)
    return out / "alerts.csv"


def pooled_scan(split: Path, names: list[str], out: Path) -> Path:
    """The FIU's scan: every institution's payments with their reporter. Uses the FIU mode's
    per-file reporter when `vigil.scan` takes it, else the combined file's reporter column."""
    if (out / "alerts.csv").is_file():
        return out / "alerts.csv"
    files = [split / "institutions" / name / "transactions.csv" for name in names]
    try:
        scan(files, out, reporters=names)  # type: ignore[call-arg]
    except TypeError:  # FIU mode not merged here: the reporter column of the combined file
        shutil.rmtree(out, ignore_errors=True)
        scan([split / "transactions.csv"], out)
    return out / "alerts.csv"


def shared_scans(split: Path, names: list[str], work: Path) -> list[Path]:
    """Each institution's alerts after `vigil share export / link / import`."""
    done = [work / "import" / name / "alerts.csv" for name in names]
    if all(path.is_file() for path in done):
        return done
    shutil.rmtree(work, ignore_errors=True)
    key = keygen(work / "exercise.key")
    exports = [
        export_share(split / "scans" / n / "vigil.duckdb", key, work / f"{n}.parquet").out
        for n in names
    ]
    linked = link_shares(exports, work / "linked")
    for name in names:
        import_linked(
            linked.files[name], split / "scans" / name / "vigil.duckdb", key, work / "import" / name
        )
    # The second exchange: exported after every import, so that beneficiaries count payers
    # elsewhere once those payers' own N6 counted (vigil share import --refresh).
    exports = [
        export_share(
            split / "scans" / n / "vigil.duckdb", key, work / "refresh" / f"{n}.parquet"
        ).out
        for n in names
    ]
    linked = link_shares(exports, work / "refresh" / "linked")
    for name in names:
        import_linked(
            linked.files[name],
            split / "scans" / name / "vigil.duckdb",
            key,
            work / "import" / name,
            refresh=True,
        )
    return done


def run(senders: int, seed: int, counts: list[int], work: Path, scenario: str) -> dict:
    results: dict[tuple[int, str], dict | None] = {}
    linkage: dict[int, dict[str, dict[str, float]]] = {}
    timings: dict[str, float] = {}
    whole = work / "population"
    if not (whole / "labels.csv").is_file():
        generate(whole, senders=senders, seed=seed, scenario=scenario)
    labels = read(whole / "labels.csv")
    started = time.perf_counter()
    one = population_alerts(read(scanned([whole / "transactions.csv"], whole / "scan")), None)
    timings["one institution scan"] = time.perf_counter() - started
    for n in counts:
        split = work / f"institutions-{n}"
        if not (split / "parties.csv").is_file():
            generate(split, senders=senders, seed=seed, scenario=scenario, institutions=n)
        names = institution_names(n)
        parties = read(split / "parties.csv")
        started = time.perf_counter()
        siloed = [
            scanned([split / "institutions" / name / "transactions.csv"], split / "scans" / name)
            for name in names
        ]
        timings[f"N={n} siloed scans"] = time.perf_counter() - started
        merged = pl.concat(
            [read(path).select("party_kind", "party_id", "score") for path in siloed]
        )
        results[(n, "siloed")] = quality(population_alerts(merged, parties), labels)
        started = time.perf_counter()
        shared = shared_scans(split, names, split / "share")
        timings[f"N={n} share export/link/import"] = time.perf_counter() - started
        merged = pl.concat(
            [read(path).select("party_kind", "party_id", "score") for path in shared]
        )
        results[(n, "share")] = quality(population_alerts(merged, parties), labels)
        try:
            pooled = read(pooled_scan(split, names, split / "pooled"))
            results[(n, "pooled")] = quality(population_alerts(pooled, parties), labels)
        except Exception:  # the FIU mode's contract not met yet: say so, keep the others
            traceback.print_exc()
            results[(n, "pooled")] = None
        if results[(n, "pooled")] is not None:
            linkage[n] = cross_reporter_pairs(split / "pooled" / "vigil.duckdb", parties)
        results[(n, "one institution")] = quality(one, labels)
    return {"results": results, "timings": timings, "linkage": linkage}


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_table(results: dict, counts: list[int]) -> None:
    print(
        "| N | arm | sender AP | sender recall 0.5 % | sender recall 1 % "
        "| facilitator AP | facilitator recall 0.5 % | facilitator recall 1 % |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in counts:
        for arm in ARMS:
            figures = results[(n, arm)]
            if figures is None:
                print(f"| {n} | {arm} | n/a | n/a | n/a | n/a | n/a | n/a |")
                continue
            cells = [
                _f(figures[kind][metric])
                for kind in PARTY_KINDS
                for metric in ("ap", "recall@0.5%", "recall@1.0%")
            ]
            print(f"| {n} | {arm} | " + " | ".join(cells) + " |")
    print()
    for n in counts:
        siloed, share = results[(n, "siloed")], results[(n, "share")]
        for kind in PARTY_KINDS:
            won = (share[kind]["ap"] or 0) - (siloed[kind]["ap"] or 0)
            parts = [f"N={n} {kind}: share {won:+.3f} AP over siloed"]
            for arm in ("pooled", "one institution"):
                if results[(n, arm)] is None:
                    continue
                gap = (results[(n, arm)][kind]["ap"] or 0) - (siloed[kind]["ap"] or 0)
                closed = f"{won / gap:.0%}" if gap > 0.005 else "n/a (gap under 0.005)"
                parts.append(f"closes {closed} of the gap to {arm} ({gap:+.3f})")
            print("; ".join(parts))


def print_linkage(linkage: dict[int, dict[str, dict[str, float]]]) -> None:
    """The pooled scan's pairs of sender ids at two reporters (cross_reporter_pairs)."""
    if not linkage:
        return
    print()
    print("| N | sender ids at two reporters | pairs of one person | linked | precision | recall |")
    print("|---|---|---|---|---|---|")
    for n, rows in linkage.items():
        for who, row in rows.items():
            print(
                f"| {n} | {who} | {row['pairs']} | {row['linked']} "
                f"| {_f(row['precision'])} | {_f(row['recall'])} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--institutions", type=int, nargs="+", default=[2, 3, 5])
    parser.add_argument("--scenario", default="default", help="Shipped scenario or YAML file.")
    parser.add_argument("--work", type=Path, default=Path("benchmarks/out/collaboration"))
    args = parser.parse_args()
    scenario = "" if args.scenario == "default" else f"{Path(args.scenario).stem}-"
    work = args.work / f"{scenario}s{args.senders}-seed{args.seed}"
    outcome = run(args.senders, args.seed, args.institutions, work, args.scenario)
    print_table(outcome["results"], args.institutions)
    print_linkage(outcome["linkage"])
    for step, seconds in outcome["timings"].items():
        print(f"{step}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
