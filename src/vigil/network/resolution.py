"""Entity resolution: which beneficiary accounts (and which sender ids) are one person.

A facilitator holds several wallets under spellings of one name, and opens a new one every
few months; an offender pays under two customer ids; an FIU merging reports from several
remitters sees one customer under several sender ids. Splink (DuckDB backend, on the
workspace's own connection) scores pairs of parties that share a blocking key (name words,
a distinctive payer / payee in common, a beneficiary's phone) on:
- identity attributes: name, country and, for beneficiaries, city and phone (the number
  its payments give most often, in E.164: one number under one name's spellings is one
  person, under names that differ a household's or an agent's and no evidence);
- behaviour: the distinctive payers (of a beneficiary) or payees (of a sender) the two have
  in common (most of them, handed over from the one account to the other as one stopped
  and the other started, three or more, for senders at two reporters a rare one that few
  others pay, two, one that is each beneficiary's only payer, one, one among many on each
  side), which counts only under names alike (one name written another way, whose
  initials fit: relatives share payers too), and churn (one account stops as the other
  starts). Where names cannot decide (a few hundred name pairs cover most people of a
  country), this is the evidence.
Pairs that cannot reach the threshold whatever their levels are dropped before Splink
compares them in full (resolution_scoring): the links are the same, found faster.
The payments are read once, folded per sender, beneficiary and the names they were paid
under (resolution_model.payment_summary_sql); both kinds are resolved from that.

The model is trained without labels (resolution_training): u by random sampling, m and
the chance that two parties match by expectation maximisation on beneficiaries (name and
city), the behavioural m and u by a second pass among namesakes; senders, with a name
only, borrow the name's m and take the behavioural u from namesake pairs, but for a rare
payee in common the chance that two random senders share one. A name, exact or written
another way, weighs by how common it is in the country
(resolution_model.frequency_sql); more payers in common never weigh less than fewer. A kind with
too few parties to train uses the config's priors. Pairs at or above the threshold are
linked, except an initial that fits two unlinked people and pairs an analyst rejected
("not the same person", from the case store); connected components are the entities.

Tables written (each party exactly once in its kind's entity table):
- `beneficiary_entities`, `sender_entities`: party_id, entity_id, entity_size, name.
  entity_id is "E" + the smallest party_id of the entity (text order), so it is stable
  across runs and unique within a kind; a party linked to nobody is its own entity.
- `entity_links`: party_kind, left_id, right_id (left_id < right_id), match_probability,
  match_weight, explanation (each comparison's level and partial match weight in words).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from splink.backends.duckdb import DuckDBAPI

from vigil.network.resolution_config import ResolutionConfig, load_resolution_config
from vigil.network.resolution_model import (
    BENEFICIARY,
    NAME,
    SENDER,
    Comparison,
    PartyKind,
    behaviour_sql,
    comparisons_for,
    counterparts_comparison,
    frequency_columns,
    frequency_sql,
    namesake_levels_sql,
    parties_sql,
    party_records_sql,
    payment_summary_sql,
    phones_sql,
    rare_coincidence_sql,
)
from vigil.network.resolution_scoring import predict
from vigil.network.resolution_training import (
    COUNTERPART_ORDER,
    Model,
    em_block_pairs_sql,
    prior_model,
    train,
)
from vigil.workspace import Workspace
from vigil.workspace.store import quote_identifier

logger = logging.getLogger(__name__)

SCRATCH = "vigil_resolution"  # an in-memory database for Splink's working tables
SUMMARY = "payment_summary"  # the payments folded per sender, beneficiary and names
PHONES = "beneficiary_phones"  # each beneficiary's most used phone (resolution_model.phones_sql)
# The trained models of the last full scan (workspace meta), which an increment reuses.
META_MODELS = "resolution_models"
MODEL_MODULES = ("resolution.py", "resolution_model.py", "resolution_training.py")
KEPT = "kept from the last full scan"  # said of a reused model in the scan's summary
# A kept model is trained again once its kind has grown by a tenth since: what it learnt of
# names and behaviour would otherwise drift from the data over months of increments.
RETRAIN_GROWTH = 1.1
ENTITY_COLUMNS = {
    "party_id": "VARCHAR",
    "entity_id": "VARCHAR",
    "entity_size": "INTEGER",
    "name": "VARCHAR",
}
LINK_COLUMNS = {
    "party_kind": "VARCHAR",
    "left_id": "VARCHAR",
    "right_id": "VARCHAR",
    "match_probability": "DOUBLE",
    "match_weight": "DOUBLE",
    "explanation": "VARCHAR",
}


@dataclass(frozen=True)
class KindResolution:
    """What resolution did to one kind of party."""

    parties: int
    entities: int
    merged_accounts: int  # parties folded into another party's entity: parties - entities
    links: int  # pairs linked at the threshold
    seconds: float
    model: str  # "trained" (for senders: "trained; name m from beneficiaries"), "priors"
    # (too few parties to train, or training failed), "none" (fewer than 2 parties); an
    # increment's reused model adds "; kept from the last full scan"
    rejected_links: int = 0  # links dropped because an analyst rejected a merge


@dataclass(frozen=True)
class ResolutionSummary:
    threshold: float
    beneficiary: KindResolution
    sender: KindResolution

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_entities(
    ws: Workspace,
    *,
    config: Path | None = None,
    rejected: Iterable[tuple[str, str, str]] = (),
    reuse_models: bool = False,
) -> ResolutionSummary:
    """Resolve beneficiaries and senders to persons; write `beneficiary_entities`,
    `sender_entities` and `entity_links` to the workspace, replacing earlier ones.

    The trained models are kept in the workspace. `reuse_models` (a daily increment) scores
    the pairs with the kept ones instead of training again, where the configuration and
    the model code are those they were trained with and the kind has not grown by more
    than a tenth since: training is most of the stage's time, and a week's payments barely
    move what it learns from two years'.

    `rejected`: (party_kind, party_id, other_id) of merges an analyst rejected ("not the
    same person", from the case store): those two parties end in different entities."""
    settings = load_resolution_config(config)
    _quiet_splink()
    digest = _model_digest(settings)
    kept = _kept_models(ws, digest) if reuse_models else {}
    workspace = quote_identifier(_database(ws.con))
    with _scratch(ws.con) as cursor:
        _register_rejected(cursor, rejected)
        payments = f"{workspace}.main.payments"
        cursor.execute(f"CREATE OR REPLACE TABLE {SUMMARY} AS {payment_summary_sql(payments)}")
        phones = None
        if BENEFICIARY.phone_column:  # the kinds of party whose phone payments record
            cursor.execute(
                f"CREATE OR REPLACE TABLE {PHONES} AS {phones_sql(BENEFICIARY, payments)}"
            )
            phones = PHONES
        beneficiaries, model = _resolve_kind(
            cursor,
            BENEFICIARY,
            SUMMARY,
            settings,
            kept=kept.get(BENEFICIARY.kind),
            phones=phones,
        )
        senders, sender_model = _resolve_kind(
            cursor,
            SENDER,
            SUMMARY,
            settings,
            borrowed=model,
            kept=kept.get(SENDER.kind),
            reporters=_reporters(cursor),
        )
        _store(cursor, workspace)
    trained = {
        kind.kind: (m, figures.parties)
        for kind, m, figures in (
            (BENEFICIARY, model, beneficiaries),
            (SENDER, sender_model, senders),
        )
        if m is not None and m.trained and KEPT not in m.source
    }
    models = _models_json({**kept, **trained})
    ws.meta_set(META_MODELS, json.dumps({"digest": digest, "models": models}))
    return ResolutionSummary(settings.threshold, beneficiaries, senders)


def _model_digest(settings: ResolutionConfig) -> str:
    """The configuration and the code a model was trained with."""
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for module in MODEL_MODULES:
        digest.update(resources.files("vigil.network").joinpath(module).read_bytes())
    # The phones a model compares are normalised there.
    digest.update(resources.files("vigil").joinpath("phones.py").read_bytes())
    return digest.hexdigest()


def _models_json(models: dict[str, tuple[Model, int]]) -> dict[str, Any]:
    return {kind: {**m.to_json(), "parties": parties} for kind, (m, parties) in models.items()}


def _kept_models(ws: Workspace, digest: str) -> dict[str, tuple[Model, int]]:
    """The trained models the workspace keeps, with the parties each was trained on, where
    `digest` is theirs; none where they cannot be read (then the scan trains)."""
    raw = ws.meta_get(META_MODELS)
    try:
        kept = json.loads(raw) if raw else {}
        if kept.get("digest") != digest:
            return {}
        return {kind: (Model.from_json(m), int(m["parties"])) for kind, m in kept["models"].items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        logger.warning("entity resolution: the kept models cannot be read; training again")
        return {}


def _reporters(cursor: duckdb.DuckDBPyConnection) -> str | None:
    """FIU mode: each sender's reporter (a relation of party_id, reporter), from the payment
    summary; None outside it."""
    found = cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {SUMMARY} WHERE reporter IS NOT NULL)"
    ).fetchall()[0][0]
    if not found:
        return None
    return f"SELECT DISTINCT sender_id AS party_id, reporter FROM {SUMMARY}"


def _register_rejected(
    cursor: duckdb.DuckDBPyConnection, rejected: Iterable[tuple[str, str, str]]
) -> None:
    cursor.execute(
        "CREATE OR REPLACE TABLE rejected_pairs "
        "(party_kind VARCHAR, left_id VARCHAR, right_id VARCHAR)"
    )
    rows = sorted({(kind, *sorted((a, b))) for kind, a, b in rejected if a != b})
    if rows:
        cursor.executemany("INSERT INTO rejected_pairs VALUES (?, ?, ?)", rows)


def _store(cursor: duckdb.DuckDBPyConnection, workspace: str) -> None:
    """The three tables into the workspace, in one transaction, with their exact types."""
    cursor.begin()
    try:
        for kind in (BENEFICIARY, SENDER):
            _create(cursor, f"{workspace}.main.{kind.kind}_entities", ENTITY_COLUMNS)
            cursor.execute(
                f"INSERT INTO {workspace}.main.{kind.kind}_entities "
                f"SELECT * FROM {kind.kind}_entities ORDER BY party_id"
            )
        _create(cursor, f"{workspace}.main.entity_links", LINK_COLUMNS)
        cursor.execute(
            f"INSERT INTO {workspace}.main.entity_links SELECT * FROM ("
            "SELECT * FROM beneficiary_links UNION ALL SELECT * FROM sender_links) "
            "ORDER BY party_kind, left_id, right_id"
        )
    except BaseException:
        cursor.rollback()
        raise
    cursor.commit()


def _create(cursor: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    spec = ", ".join(f"{name} {kind}" for name, kind in columns.items())
    cursor.execute(f"CREATE OR REPLACE TABLE {table} ({spec})")


def _quiet_splink() -> None:
    # Splink reports each step at INFO and, at WARNING, every level a training pass did not
    # see (expected here: such a level keeps its prior). Only its errors are worth showing.
    logging.getLogger("splink").setLevel(logging.ERROR)


def _database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchall()[0][0]


@contextlib.contextmanager
def _scratch(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of the workspace connection whose tables go to an in-memory database, so
    Splink's intermediate tables never reach the workspace file (they spill to its temp
    folder if large)."""
    scratch = SCRATCH if _database(con) != SCRATCH else SCRATCH + "_2"
    con.execute(f"DETACH DATABASE IF EXISTS {scratch}")
    con.execute(f"ATTACH ':memory:' AS {scratch}")
    cursor = con.cursor()
    try:
        cursor.execute(f"USE {scratch}")
        cursor.execute("SET enable_progress_bar = false")
        yield cursor
    finally:
        cursor.close()
        con.execute(f"DETACH DATABASE IF EXISTS {scratch}")


def _resolve_kind(
    cursor: duckdb.DuckDBPyConnection,
    kind: PartyKind,
    summary: str,
    config: ResolutionConfig,
    *,
    borrowed: Model | None = None,
    kept: tuple[Model, int] | None = None,
    reporters: str | None = None,
    phones: str | None = None,
) -> tuple[KindResolution, Model | None]:
    """Resolve one kind into `{kind}_entities` / `{kind}_links` (scratch); its model too
    (`kept`, a trained one, instead of training). `summary`: the payments folded by
    payment_summary_sql; `reporters` (FIU mode, senders): each party's reporter; `phones`
    (a kind with a phone): each party's phone (phones_sql)."""
    started = time.perf_counter()
    names, records = f"{kind.kind}_names", f"{kind.kind}_records"
    behaviour = f"{kind.kind}_behaviour"
    cursor.execute(f"CREATE OR REPLACE TABLE {names} AS {parties_sql(kind, summary)}")
    # A sender's rare payees are people: the beneficiaries resolved just before them.
    persons = (
        f"SELECT party_id AS account, entity_id AS person FROM {BENEFICIARY.kind}_entities"
        if kind.rare_level
        else None
    )
    cursor.execute(
        f"CREATE OR REPLACE TABLE {behaviour} AS {behaviour_sql(kind, summary, config, persons)}"
    )
    cursor.execute(
        f"CREATE OR REPLACE TABLE {records} AS "
        f"{party_records_sql(kind, names, behaviour, config, phones)}"
    )
    parties = cursor.execute(f"SELECT count(*) FROM {records}").fetchall()[0][0]
    edges = f"{kind.kind}_edges"
    cursor.execute(
        f"CREATE OR REPLACE TABLE {edges} (left_id VARCHAR, right_id VARCHAR, "
        "match_probability DOUBLE, match_weight DOUBLE, explanation VARCHAR, "
        "name_level INTEGER)"
    )
    model = None
    if parties >= 2 and config.enabled:
        model = _link(cursor, kind, records, edges, parties, config, borrowed, kept, reporters)
    rejected = _respect_rejections(cursor, kind, names, edges)
    entities = cursor.execute(
        f"SELECT count(DISTINCT entity_id) FROM {kind.kind}_entities"
    ).fetchall()[0][0]
    links = cursor.execute(f"SELECT count(*) FROM {edges}").fetchall()[0][0]
    seconds = round(time.perf_counter() - started, 2)
    source = model.source if model else "none"
    logger.info(
        "entity resolution of %s parties: %d, %d entities, %d links, model %s, %.1f s",
        kind.kind,
        parties,
        entities,
        links,
        source,
        seconds,
    )
    figures = KindResolution(
        parties, entities, parties - entities, links, seconds, source, rejected
    )
    return figures, model


def _respect_rejections(
    cursor: duckdb.DuckDBPyConnection, kind: PartyKind, names: str, edges: str
) -> int:
    """Write the entities without the merges analysts rejected; the links dropped.

    A rejected pair's own link goes. Should the two still meet through other accounts
    (A-C-B), the right-hand party of the pair is cut from every link: it stands alone
    until the analyst looks at it again, rather than stay in one entity with the party it
    was said not to be."""
    before = cursor.execute(f"SELECT count(*) FROM {edges}").fetchall()[0][0]
    mine = f"(SELECT left_id, right_id FROM rejected_pairs WHERE party_kind = '{kind.kind}')"
    cursor.execute(f"DELETE FROM {edges} WHERE (left_id, right_id) IN {mine}")
    entities = f"{kind.kind}_entities"
    for _ in range(1 + cursor.execute(f"SELECT count(*) FROM {mine}").fetchall()[0][0]):
        _write_entities(cursor, kind, names, edges)
        still = cursor.execute(
            f"""DELETE FROM {edges} WHERE left_id IN (SELECT r.right_id FROM {mine} r
                    JOIN {entities} a ON a.party_id = r.left_id
                    JOIN {entities} b ON b.party_id = r.right_id AND b.entity_id = a.entity_id)
                OR right_id IN (SELECT r.right_id FROM {mine} r
                    JOIN {entities} a ON a.party_id = r.left_id
                    JOIN {entities} b ON b.party_id = r.right_id AND b.entity_id = a.entity_id)
            """
        ).fetchall()[0][0]
        if not still:
            break
    else:
        _write_entities(cursor, kind, names, edges)
    after = cursor.execute(f"SELECT count(*) FROM {edges}").fetchall()[0][0]
    return before - after


def _link(
    cursor: duckdb.DuckDBPyConnection,
    kind: PartyKind,
    records: str,
    edges: str,
    parties: int,
    config: ResolutionConfig,
    borrowed: Model | None,
    kept: tuple[Model, int] | None = None,
    reporters: str | None = None,
) -> Model:
    """Score blocked pairs with the trained (or prior) model; keep those at the threshold.
    `reporters` (FIU mode, senders): each party's reporter, for namesake_levels_sql."""
    db_api = DuckDBAPI(cursor)
    frame = db_api.register(records, table_name=f"{kind.kind}_input")
    model, frequencies = prior_model(config, parties), {}
    if kept is not None and parties <= kept[1] * RETRAIN_GROWTH:
        # Term frequencies are the data's, counted again; the m, u and prior are kept.
        model = replace(kept[0], source=f"{kept[0].source}; {KEPT}")
        frequencies = _frequencies(cursor, db_api, kind, records)
    elif parties < config.training.min_parties:
        logger.info(
            "entity resolution of %s parties: %d, fewer than %d to train on; "
            "using the configured priors",
            kind.kind,
            parties,
            config.training.min_parties,
        )
    else:
        try:
            frequencies = _frequencies(cursor, db_api, kind, records)
            em_pairs = cursor.execute(em_block_pairs_sql(records)).fetchall()[0][0]
            namesakes = _NamesakeShares(lambda: _namesake_shares(cursor, kind, records, reporters))
            rare = (
                cursor.execute(rare_coincidence_sql(records)).fetchall()[0][0]
                if kind.rare_level
                else None
            )
            model = train(
                frame,
                kind,
                config,
                parties,
                int(em_pairs),
                frequencies,
                borrowed,
                namesakes,
                rare,
            )
        except (ValueError, duckdb.Error) as error:  # data too thin for a training step
            logger.warning(
                "entity resolution of %s parties: training failed (%s); "
                "using the configured priors",
                kind.kind,
                f"{type(error).__name__}: {error}",
            )
            model, frequencies = prior_model(config, parties), {}
    predictions = predict(cursor, db_api, frame, kind, config, model, frequencies)
    explanation = _explanation_sql(comparisons_for(kind), model)
    cursor.execute(
        f"INSERT INTO {edges} SELECT least(party_id_l, party_id_r), "
        "greatest(party_id_l, party_id_r), match_probability, match_weight, "
        f"{explanation}, gamma_name FROM {predictions.physical_name} "
        f"WHERE match_probability >= {config.threshold!r} ORDER BY 1, 2"
    )
    db_api.delete_tables_created_by_splink_from_db()
    _drop_ambiguous_initials(cursor, edges)
    return model


class _NamesakeShares(Mapping[tuple[str, str], float]):
    """The namesake shares (`_namesake_shares`), counted when first read: a kind with a
    city reads them only where EM on its behaviour fails, and at 10M payments counting
    them pairs five million namesakes."""

    def __init__(self, count: Callable[[], dict[tuple[str, str], float]]) -> None:
        self._count = count
        self._shares: dict[tuple[str, str], float] | None = None

    def _counted(self) -> dict[tuple[str, str], float]:
        if self._shares is None:
            self._shares = self._count()
        return self._shares

    def __getitem__(self, key: tuple[str, str]) -> float:
        return self._counted()[key]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._counted())

    def __len__(self) -> int:
        return len(self._counted())


def _namesake_shares(
    cursor: duckdb.DuckDBPyConnection,
    kind: PartyKind,
    records: str,
    reporters: str | None,
) -> dict[tuple[str, str], float]:
    """(comparison, level) -> share of namesake pairs at that behavioural level: the u
    where EM cannot tell (see resolution_training). A counterparts-in-common level none
    of n pairs shows gets 1 / (n + 1): rare, but not impossible. (Namesakes never reach
    "under names that differ", nor need to: that level keeps its prior.)"""
    rows = cursor.execute(namesake_levels_sql(kind, records, reporters)).fetchall()
    shares = {(comparison, level): share for comparison, level, share, _ in rows}
    pairs = {comparison: n for comparison, _, _, n in rows}
    if kind.counterparts in pairs:
        present = {level.key for level in counterparts_comparison(kind).levels}
        for level in (key for key in COUNTERPART_ORDER if key in present):
            unseen = 1 / (pairs[kind.counterparts] + 1)
            shares.setdefault((kind.counterparts, level), unseen)
    return shares


def _frequencies(
    cursor: duckdb.DuckDBPyConnection, db_api: DuckDBAPI, kind: PartyKind, records: str
) -> dict[str, Any]:
    """The within-country term-frequency tables, registered with Splink."""
    frequencies = {}
    for column in frequency_columns(kind):
        table = f"{kind.kind}_tf_{column}"
        cursor.execute(f"CREATE OR REPLACE TABLE {table} AS {frequency_sql(records, column)}")
        frequencies[column] = db_api.register(table, table_name=table)
    return frequencies


def _drop_ambiguous_initials(cursor: duckdb.DuckDBPyConnection, edges: str) -> None:
    """ "J Rojas" linked by its initial to both "Juan Rojas" and "Julian Rojas", who are not
    linked to each other, could be either: drop such links rather than merge the two."""
    initial = NAME.gamma_of("initial_for_given_name")
    cursor.execute(
        f"""
        WITH ends AS (
            SELECT left_id AS party, right_id AS other FROM {edges} WHERE name_level = {initial}
            UNION ALL
            SELECT right_id, left_id FROM {edges} WHERE name_level = {initial}
        ),
        ambiguous AS (
            SELECT DISTINCT a.party
            FROM ends a JOIN ends b ON a.party = b.party AND a.other < b.other
            ANTI JOIN {edges} e ON e.left_id = a.other AND e.right_id = b.other
        )
        DELETE FROM {edges}
        WHERE name_level = {initial}
          AND (left_id IN (SELECT party FROM ambiguous)
               OR right_id IN (SELECT party FROM ambiguous))
        """
    )


def _explanation_sql(comparisons: tuple[Comparison, ...], model: Model) -> str:
    """'name: same name (...) (+8.1); city: same city (+3.0); payers: three or more payers in
    common (3 of 4 and 5 distinctive payers) (+9.6); ...; prior (-13.2)'."""
    parts = []
    for comparison in comparisons:
        gamma = f"gamma_{comparison.name}"
        cases = " ".join(
            f"WHEN {value} THEN '{label}'" for value, label in comparison.gamma_labels().items()
        )
        label = f"(CASE {gamma} {cases} END)"
        if comparison.detail_sql:  # the figures behind a level that is evidence (not ELSE)
            label += f" || (CASE WHEN {gamma} > 0 THEN ' ' || {comparison.detail_sql} ELSE '' END)"
        weight = f"mw_{comparison.name}"  # Splink's partial match weight (log2 of m / u)
        if model.trained and any(level.tf_column for level in comparison.levels):
            weight += f" + coalesce(mw_tf_adj_{comparison.name}, 0)"
        parts.append(
            f"'{comparison.name}: ' || {label} || ' (' || printf('%+.1f', {weight}) || ')'"
        )
    parts.append(f"'prior ({model.prior_weight:+.1f})'")
    return "concat_ws('; ', " + ", ".join(parts) + ")"


def _write_entities(
    cursor: duckdb.DuckDBPyConnection, kind: PartyKind, names: str, edges: str
) -> None:
    """Connected components of the linked pairs (min-label propagation in SQL); every
    party once, its entity named after the smallest party_id in it."""
    labels = f"{kind.kind}_labels"
    cursor.execute(
        f"CREATE OR REPLACE TABLE {labels} AS SELECT party_id, party_id AS label FROM {names}"
    )
    undirected = (
        f"SELECT left_id AS a, right_id AS b FROM {edges} "
        f"UNION ALL SELECT right_id, left_id FROM {edges}"
    )
    while True:
        changed = cursor.execute(
            f"""
            WITH proposals AS (
                SELECT e.a AS party_id, min(l.label) AS label
                FROM ({undirected}) e JOIN {labels} l ON l.party_id = e.b
                GROUP BY e.a
            )
            UPDATE {labels} SET label = p.label
            FROM proposals p
            WHERE {labels}.party_id = p.party_id AND p.label < {labels}.label
            """
        ).fetchall()[0][0]
        if not changed:
            break
    cursor.execute(
        f"""
        CREATE OR REPLACE TABLE {kind.kind}_entities AS
        SELECT n.party_id, 'E' || l.label AS entity_id,
               CAST(count(*) OVER (PARTITION BY l.label) AS INTEGER) AS entity_size, n.name
        FROM {names} n JOIN {labels} l USING (party_id)
        ORDER BY n.party_id
        """
    )
    cursor.execute(
        f"CREATE OR REPLACE TABLE {kind.kind}_links AS SELECT '{kind.kind}' AS party_kind, "
        f"* EXCLUDE (name_level) FROM {edges}"
    )
