"""Entity resolution against the generator's ground truth, on every shipped scenario.

    .venv/bin/python -m benchmarks.resolution_quality [--senders 5000] [--seed 3] [--workdir DIR]

parties.csv names the person behind each beneficiary account (several wallets per person,
often under a spelling variant, sometimes in another city). Pairwise figures count pairs of
accounts: a predicted pair is two accounts in one resolved entity, a true pair two accounts
of one person. "Twins" are pairs of accounts of *different* persons with the same name,
city and country after normalisation: no identity attribute can tell them apart, so they
bound the precision any resolver reaches on this data.

The generator gives every sender its own person (no one holds two sender ids), so every
merged sender is a false merge on this data; the sender line reports how many there are.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from vigil.ingest import ingest
from vigil.network.resolution import resolve_entities
from vigil.network.resolution_config import DEFAULT_CONFIG, load_resolution_config
from vigil.network.resolution_model import name_tokens_sql
from vigil.synth import generate
from vigil.synth.scenario import SHIPPED
from vigil.workspace import Workspace


def pair_figures(ws: Workspace, parties_csv: Path) -> dict[str, float]:
    """Pairwise precision / recall of beneficiary entities against person_id."""
    tokens = name_tokens_sql("b.name", load_resolution_config())
    ws.con.execute(
        "CREATE OR REPLACE TEMP TABLE truth AS SELECT party_id, person_id "
        "FROM read_csv(?, all_varchar = true) WHERE party_kind = 'beneficiary'",
        [str(parties_csv)],
    )
    row = ws.con.execute(
        f"""
        WITH b AS (
            SELECT e.party_id, e.entity_id, t.person_id, e.name,
                   p.beneficiary_city AS city, p.beneficiary_country AS country
            FROM beneficiary_entities e JOIN truth t USING (party_id)
            JOIN (SELECT DISTINCT ON (beneficiary_id) beneficiary_id, beneficiary_city,
                         beneficiary_country FROM payments ORDER BY ALL) p
              ON p.beneficiary_id = e.party_id
        ),
        keyed AS (SELECT *, array_to_string(list_sort({tokens}), ' ') AS key FROM b),
        pairs AS (SELECT sum(n * (n - 1) / 2) AS n FROM (
            SELECT count(*) AS n FROM keyed GROUP BY entity_id)),
        truth_pairs AS (SELECT sum(n * (n - 1) / 2) AS n FROM (
            SELECT count(*) AS n FROM keyed GROUP BY person_id)),
        hits AS (SELECT sum(n * (n - 1) / 2) AS n FROM (
            SELECT count(*) AS n FROM keyed GROUP BY entity_id, person_id)),
        same_key AS (SELECT sum(n * (n - 1) / 2) AS n FROM (
            SELECT count(*) AS n FROM keyed GROUP BY key, city, country)),
        same_key_person AS (SELECT sum(n * (n - 1) / 2) AS n FROM (
            SELECT count(*) AS n FROM keyed GROUP BY key, city, country, person_id))
        SELECT (SELECT count(*) FROM keyed), (SELECT count(DISTINCT person_id) FROM keyed),
               (SELECT count(DISTINCT entity_id) FROM keyed),
               (SELECT n FROM pairs), (SELECT n FROM truth_pairs), (SELECT n FROM hits),
               (SELECT n FROM same_key) - (SELECT n FROM same_key_person)
        """
    ).fetchall()[0]
    accounts, persons, entities, predicted, true, hits, twins = (float(x or 0) for x in row)
    return {
        "accounts": accounts,
        "persons": persons,
        "entities": entities,
        "predicted_pairs": predicted,
        "true_pairs": true,
        "precision": hits / predicted if predicted else 1.0,
        "recall": hits / true if true else 1.0,
        "twin_pairs": twins,
    }


def sender_merges(ws: Workspace) -> tuple[int, int, int]:
    """Sender parties, entities, and pairs of sender ids merged into one entity."""
    row = ws.con.execute(
        "SELECT count(*), count(DISTINCT entity_id), "
        "coalesce(sum(entity_size - 1) / 2, 0) FROM sender_entities"
    ).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", default=list(SHIPPED))
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.9])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="vigil-resolution-"))
    print(
        "| scenario | threshold | accounts | persons | entities | true pairs | predicted pairs | "
        "precision | recall | twin pairs | senders merged (pairs) | resolve s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario in args.scenarios:
        out = root / scenario
        generated = generate(out, senders=args.senders, seed=args.seed, scenario=scenario)
        with Workspace.open(out / "vigil.duckdb") as ws:
            ingest(ws, [generated.transactions], quarantine_path=out / "quarantine.csv")
            for threshold in args.thresholds:
                started = time.perf_counter()
                resolve_entities(ws, config=config_at(threshold, out))
                seconds = time.perf_counter() - started
                f = pair_figures(ws, generated.parties)
                _senders, _entities, merged_pairs = sender_merges(ws)
                print(
                    f"| {scenario} | {threshold:g} | {f['accounts']:,.0f} | "
                    f"{f['persons']:,.0f} | {f['entities']:,.0f} | {f['true_pairs']:,.0f} | "
                    f"{f['predicted_pairs']:,.0f} | {f['precision']:.3f} | {f['recall']:.3f} | "
                    f"{f['twin_pairs']:,.0f} | {merged_pairs:,} | {seconds:.1f} |",
                    flush=True,
                )


def config_at(threshold: float, folder: Path) -> Path:
    """The shipped configuration with another threshold."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data["threshold"] = threshold
    path = folder / f"resolution-{threshold:g}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


if __name__ == "__main__":
    main()
