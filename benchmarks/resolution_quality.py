"""Entity resolution against the generator's ground truth, per threshold, and its effect on
detection.

    .venv/bin/python -m benchmarks.resolution_quality [--senders 5000] [--seed 3]
        [--scenarios default ...] [--thresholds 0.5 0.8 0.9 0.95 0.99] [--workdir DIR]
        [--split-offenders SHARE] [--no-detection] [--show-misses THRESHOLD]

parties.csv names the person behind each account (`person_id`): several wallets per
person, often under a spelling variant, sometimes in another city; where a sender has no
person_id it is a person of its own. Pairwise figures count pairs of accounts: a
predicted pair is two accounts in one resolved entity, a true pair two accounts of one
person, a hit both. Three groups:
- facilitators: true pairs of facilitators' accounts; predicted pairs with at least one
  facilitator's account (an innocent account merged with a facilitator's is a false pair);
- beneficiaries: every beneficiary account;
- senders: every sender id.
"Twins" are pairs of accounts of different persons with the same name, city and country
after normalisation; the table gives how many there are and how many were merged.

Resolution runs once, at the lowest threshold; each threshold's entities are the connected
components of the links at or above it (the same as resolving at that threshold, except
that the ambiguous-initial rule is applied at the lowest one).

Split offenders (one customer paying under two ids) are 1 in 10,000 senders in the hard
scenarios: too few to measure sender pairs at a few thousand senders. `--split-offenders`
raises their share of senders (taken from the largest population) so that there are.

`--show-misses T` prints, at threshold T, the facilitator pairs left apart (names, cities,
their distinctive payers, those in common and how many beneficiaries each shared payer
pays, and the pair's own link if it has one) and the twin pairs merged (with the links of
their entity): what to look at when recall or the twins go wrong.

Detection: the whole scan with resolution and with `enabled: false` (every account a
person of its own): average precision of offenders and facilitators.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import igraph
import yaml

from vigil.evaluation import evaluate
from vigil.ingest import ingest
from vigil.network.resolution import resolve_entities
from vigil.network.resolution_config import DEFAULT_CONFIG, load_resolution_config
from vigil.network.resolution_model import name_tokens_sql
from vigil.scan import scan
from vigil.synth import generate
from vigil.synth.scenario import SHIPPED, Scenario, load_scenario
from vigil.workspace import Workspace

GROUPS = ("facilitators", "beneficiaries", "senders")


def load_truth(ws: Workspace, parties_csv: Path) -> None:
    """`truth`: party_kind, party_id, person (person_id, or the party's own id), role,
    twin_key (normalised name, city, country)."""
    tokens = name_tokens_sql("name", load_resolution_config())
    ws.con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE truth AS
        WITH listed AS (
            SELECT party_kind, party_id, coalesce(nullif(person_id, ''), party_kind || party_id)
                   AS person, role
            FROM read_csv(?, all_varchar = true)
        ),
        seen AS (
            SELECT 'beneficiary' AS party_kind, beneficiary_id AS party_id,
                   any_value(beneficiary_name) AS name, any_value(beneficiary_city) AS city,
                   any_value(beneficiary_country) AS country
            FROM payments GROUP BY beneficiary_id
            UNION ALL
            SELECT 'sender', sender_id, any_value(sender_name), NULL, any_value(sender_country)
            FROM payments GROUP BY sender_id
        )
        SELECT l.party_kind, l.party_id, l.person, l.role,
               concat_ws('|', array_to_string(list_sort({tokens}), ' '), s.city, s.country)
                   AS twin_key
        FROM listed l JOIN seen s USING (party_kind, party_id)
        """,
        [str(parties_csv)],
    )


def components(ws: Workspace, threshold: float) -> None:
    """`assigned`: party_kind, party_id, entity: connected components of the links at or
    above `threshold` (parties without a link are their own entity)."""
    links = ws.con.execute(
        "SELECT party_kind, left_id, right_id FROM entity_links WHERE match_probability >= ?",
        [threshold],
    ).fetchall()
    names = sorted({(k, p) for k, a, b in links for p in (a, b)})
    index = {name: i for i, name in enumerate(names)}
    graph = igraph.Graph(n=len(names), edges=[(index[(k, a)], index[(k, b)]) for k, a, b in links])
    rows = [
        (kind, party, f"{kind}:{number}")
        for number, members in enumerate(graph.connected_components())
        for kind, party in (names[i] for i in members)
    ]
    ws.con.execute(
        "CREATE OR REPLACE TEMP TABLE assigned "
        "(party_kind VARCHAR, party_id VARCHAR, entity VARCHAR)"
    )
    if rows:
        ws.con.executemany("INSERT INTO assigned VALUES (?, ?, ?)", rows)


def pair_figures(ws: Workspace, group: str) -> dict[str, float]:
    kind = "sender" if group == "senders" else "beneficiary"
    facilitator = "role = 'facilitator'" if group == "facilitators" else "true"
    row = ws.con.execute(
        f"""
        WITH t AS (
            SELECT t.*, coalesce(a.entity, t.party_kind || ':' || t.party_id) AS entity,
                   {facilitator} AS counted
            FROM truth t LEFT JOIN assigned a USING (party_kind, party_id)
            WHERE t.party_kind = '{kind}'
        ),
        entities AS (
            SELECT count(*) AS n, count(*) FILTER (WHERE counted) AS c FROM t GROUP BY entity
        ),
        persons AS (SELECT count(*) AS n FROM t WHERE counted GROUP BY person),
        hits AS (SELECT count(*) AS n FROM t WHERE counted GROUP BY entity, person),
        twins AS (
            SELECT count(*) AS n, count(DISTINCT person) AS people FROM t
            WHERE counted GROUP BY twin_key HAVING count(DISTINCT person) > 1
        ),
        twin_merged AS (  -- pairs of different persons' accounts, same twin key, one entity
            SELECT a.party_id FROM t a JOIN t b
              ON a.twin_key = b.twin_key AND a.entity = b.entity AND a.person <> b.person
             AND a.party_id < b.party_id
            WHERE a.counted AND b.counted
        )
        SELECT (SELECT sum(c * (n - c) + c * (c - 1) / 2) FROM entities),
               (SELECT sum(n * (n - 1) / 2) FROM persons),
               (SELECT sum(n * (n - 1) / 2) FROM hits),
               (SELECT count(*) FROM twins),
               (SELECT count(*) FROM twin_merged)
        """
    ).fetchall()[0]
    predicted, true, hits, twin_names, twins_merged = (float(x or 0) for x in row)
    return {
        "true_pairs": true,
        "predicted_pairs": predicted,
        "precision": hits / predicted if predicted else 1.0,
        "recall": hits / true if true else 1.0,
        "twin_names": twin_names,
        "twins_merged": twins_merged,
    }


MISSES_SHOWN = 40


def show_misses(ws: Workspace, scenario: str, threshold: float) -> None:
    """Facilitator pairs apart and twin pairs merged at `threshold` (see the docstring)."""
    components(ws, threshold)
    ws.con.execute(
        """
        CREATE OR REPLACE TEMP TABLE miss_parties AS
        WITH payers AS (
            SELECT beneficiary_id AS party_id, sender_id, count(*) AS payments
            FROM payments GROUP BY ALL
        ),
        spread AS (SELECT sender_id, count(*) AS spread FROM payers GROUP BY sender_id)
        SELECT t.party_id, t.person, t.role, t.twin_key,
               coalesce(a.entity, t.party_kind || ':' || t.party_id) AS entity,
               any_value(p.name) AS name, any_value(p.city) AS city,
               list(sender_id || ':' || spread ORDER BY sender_id) AS payers,
               min(p.first_day) AS first_day, max(p.last_day) AS last_day
        FROM truth t LEFT JOIN assigned a USING (party_kind, party_id)
        JOIN (
            SELECT beneficiary_id AS party_id, any_value(beneficiary_name) AS name,
                   any_value(beneficiary_city) AS city,
                   CAST(min(ts_utc) AS DATE) AS first_day, CAST(max(ts_utc) AS DATE) AS last_day
            FROM payments GROUP BY 1
        ) p USING (party_id)
        JOIN payers USING (party_id) JOIN spread USING (sender_id)
        WHERE t.party_kind = 'beneficiary'
        GROUP BY ALL
        """
    )
    missed = ws.con.execute(
        f"""
        SELECT a.name, a.city, b.name, b.city,
               list_intersect(a.payers, b.payers) AS shared, len(a.payers), len(b.payers),
               a.first_day || '..' || a.last_day, b.first_day || '..' || b.last_day,
               l.match_probability, l.explanation
        FROM miss_parties a JOIN miss_parties b
          ON a.person = b.person AND a.party_id < b.party_id AND a.entity <> b.entity
        LEFT JOIN entity_links l ON l.party_kind = 'beneficiary'
          AND l.left_id = a.party_id AND l.right_id = b.party_id
        WHERE a.role = 'facilitator'
        ORDER BY hash(a.party_id || b.party_id) LIMIT {MISSES_SHOWN}
        """
    ).fetchall()
    print(f"\n{scenario}: facilitator pairs apart at {threshold:g} (payer:its beneficiaries)")
    for row in missed:
        print("  " + " | ".join(str(x) for x in row))
    for kind in ("beneficiary", "sender"):
        merged = ws.con.execute(
            f"""
            WITH t AS (
                SELECT t.party_id, t.person, t.twin_key,
                       coalesce(a.entity, t.party_kind || ':' || t.party_id) AS entity
                FROM truth t LEFT JOIN assigned a USING (party_kind, party_id)
                WHERE t.party_kind = '{kind}'
            )
            SELECT a.twin_key, a.party_id, b.party_id,
                   (SELECT list(l.left_id || '-' || l.right_id || ' '
                                || round(l.match_probability, 3) || ': ' || l.explanation)
                    FROM entity_links l JOIN t x ON x.party_id = l.left_id
                    WHERE l.party_kind = '{kind}' AND x.entity = a.entity
                      AND l.match_probability >= {threshold!r})
            FROM t a JOIN t b ON a.twin_key = b.twin_key AND a.entity = b.entity
              AND a.person <> b.person AND a.party_id < b.party_id
            LIMIT {MISSES_SHOWN}
            """
        ).fetchall()
        print(f"{scenario}: {kind} twin pairs merged at {threshold:g}")
        for key, left, right, links in merged:
            print(f"  {key}: {left} + {right}")
            for link in links or []:
                print(f"      {link}")


def config_with(folder: Path, **values: object) -> Path:
    """The shipped configuration with some keys changed."""
    data = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    data.update(values)
    path = folder / ("resolution-" + "-".join(f"{k}{v}" for k, v in values.items()) + ".yaml")
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def with_split_offenders(name: str, share: float | None) -> str | Scenario:
    """The scenario with `share` of its senders offenders paying under two ids (the
    population that has `split_id_share`), the largest population giving up the difference."""
    if share is None:
        return name
    scenario = load_scenario(name)
    pops = list(scenario.populations)
    split = [i for i, p in enumerate(pops) if p.split_id_share > 0]
    if not split:
        return scenario
    extra = share - pops[split[0]].share
    largest = max(range(len(pops)), key=lambda i: pops[i].share)
    pops[split[0]] = pops[split[0]].model_copy(update={"share": share})
    pops[largest] = pops[largest].model_copy(update={"share": pops[largest].share - extra})
    return scenario.model_copy(update={"populations": pops})


def quality(
    scenario: str,
    out: Path,
    generated,
    thresholds: list[float],
    misses_at: float | None = None,
) -> None:
    with Workspace.open(out / "vigil.duckdb") as ws:
        ingest(ws, [generated.transactions], quarantine_path=out / "quarantine.csv")
        started = time.perf_counter()
        resolve_entities(ws, config=config_with(out, threshold=min(thresholds)))
        seconds = time.perf_counter() - started
        load_truth(ws, generated.parties)
        for threshold in sorted(thresholds):
            components(ws, threshold)
            for group in GROUPS:
                f = pair_figures(ws, group)
                print(
                    f"| {scenario} | {threshold:g} | {group} | {f['true_pairs']:,.0f} | "
                    f"{f['predicted_pairs']:,.0f} | {f['precision']:.3f} | {f['recall']:.3f} | "
                    f"{f['twin_names']:,.0f} | {f['twins_merged']:,.0f} | {seconds:.1f} |",
                    flush=True,
                )
        if misses_at is not None:
            show_misses(ws, scenario, misses_at)


def detection(scenario: str, out: Path, generated) -> str:
    cells = []
    for label, config in (
        ("with", None),
        ("without", config_with(out, enabled=False)),
    ):
        result = scan([generated.transactions], out / f"scan-{label}", resolution=config)
        report = evaluate(result.alerts, generated.labels).to_dict()
        cells += [f"{report[k]['average_precision']:.3f}" for k in ("sender", "beneficiary")]
    return f"| {scenario} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--senders", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--scenarios", nargs="+", default=list(SHIPPED))
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95, 0.99])
    parser.add_argument(
        "--split-offenders",
        type=float,
        default=None,
        help="share of senders who are offenders paying under two ids (default: the scenario's)",
    )
    parser.add_argument("--no-detection", action="store_true", help="pairwise figures only")
    parser.add_argument(
        "--show-misses",
        type=float,
        default=None,
        metavar="THRESHOLD",
        help="print the facilitator pairs left apart and the twins merged at this threshold",
    )
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    root = args.workdir or Path(tempfile.mkdtemp(prefix="vigil-resolution-"))
    print(
        "| scenario | threshold | group | true pairs | predicted pairs | precision | recall | "
        "twin names | twin pairs merged | resolve s |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    generated = {}
    for scenario in args.scenarios:
        out = root / scenario
        generated[scenario] = generate(
            out,
            senders=args.senders,
            seed=args.seed,
            scenario=with_split_offenders(scenario, args.split_offenders),
        )
        quality(scenario, out, generated[scenario], args.thresholds, args.show_misses)
    if args.no_detection:
        return
    print()
    print(
        "| scenario | offender AP with resolution | facilitator AP with | offender AP without | "
        "facilitator AP without |"
    )
    print("|---|---:|---:|---:|---:|")
    for scenario in args.scenarios:
        print(detection(scenario, root / scenario, generated[scenario]), flush=True)


if __name__ == "__main__":
    main()
