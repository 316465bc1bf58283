"""Daily increments: new payments into a workspace that already holds a complete scan.

What an increment does instead of a full scan's work, stage by stage:
- payment facts (`payment_facts`, kept by the full scan): the new payments' facts are
  appended and the person columns of parties whose person changed are updated; a payment's
  other facts are its own, so old payments' facts are never computed again;
- pair, sender and beneficiary features: recomputed for the parties the new payments reach
  (below) from the kept facts of all their payments, old and new; every other row is kept;
- behaviour and final scores (vigil.pipeline.rescore): only the parties whose scored inputs
  changed are evaluated again; ranks are recomputed for all;
- entity resolution (with the last full scan's models), the watchlist, the graph (Leiden
  and PageRank over every pair), the network round, explanations and the alert files run
  whole: they work on one row per party or pair, and with the global steps they must, or
  the result would not be a full scan's.
The queries an increment runs read only workspace tables and this session's `inc_*` ones:
they are compiled once and kept in the workspace's meta (`_Queries`).

Which parties an increment recomputes, and why each is enough (the feature definitions are
in vigil.features.parties):
- pairs: every pair of a sender that has new payments or a new person (entity), and every
  pair of a beneficiary with a new person;
- beneficiaries: those with new payments or a new person, those paid by a sender whose
  person changed, every account of those accounts' people (old and new: B1 and N5 count per
  person), and the other accounts a sender with new payments pays under the same name key
  in the same country (B5), with every account of their people;
- senders: those with new payments or a new person, and every sender with a high-risk pair
  to one of those people (R4 counts the other payers of a sender's high-risk beneficiaries,
  R2 their people), with every id of their people (old and new: a sender's features are
  its person's, vigil.features.parties.person_sender_features).
Their features are computed from all of their payments, old and new, and replace their rows;
every other row is left as it is, which is what a full scan would compute for it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources

import ibis
import ibis.expr.types as ir

from vigil.features.contrast import household_co_recipients, households
from vigil.features.parties import (
    beneficiary_features,
    name_variant_accounts,
    pair_features,
    person_sender_features,
)
from vigil.features.payments import name_key
from vigil.indicators.catalogue import Catalogue
from vigil.pipeline.facts import facts_of, refresh_offsets
from vigil.schema import PARTY_KINDS as KINDS
from vigil.workspace import Workspace

META_FINGERPRINT = "scan_fingerprint"
META_SCANNED = "scanned_payments"
META_LAST_SCAN = "last_scan"  # 'full' or 'increment'
META_QUERY = "increment_sql"  # an increment's compiled queries (see _Queries)
# The workspace tables an increment's queries read, whose columns the compiled SQL assumes.
QUERIED_TABLES = (
    "payments",
    "pair_features",
    "sender_entities",
    "beneficiary_entities",
    "country_offsets",
)

FACTS = "payment_facts"  # every payment's facts (vigil.features.payments)
# What an increment keeps from the last scan and updates in place.
KEPT_TABLES = (
    FACTS,
    "pair_features",
    "sender_payment_features",
    "beneficiary_payment_features",
    "sender_entities",
    "beneficiary_entities",
)
# B5's feature: from every account its payers pay, where the other features need only the
# beneficiary's own payments.
B5_FEATURE = "name_variant_accounts"
HOUSEHOLD_FEATURE = "household_co_recipients"  # B3
# The code the kept tables were computed by: a new Vigil version that changes a feature
# makes the next scan a full one.
FEATURE_MODULES = ("local_time.py", "payments.py", "parties.py", "contrast.py")


def fingerprint(catalogue: Catalogue) -> str:
    """The catalogue's parameters (bands, hours, countries) and the feature code."""
    digest = hashlib.sha256(catalogue.parameters.model_dump_json().encode())
    for module in FEATURE_MODULES:
        digest.update(resources.files("vigil.features").joinpath(module).read_bytes())
    return digest.hexdigest()


def can_increment(ws: Workspace, catalogue: Catalogue) -> bool:
    """True when every payment held was scanned by the last (complete) scan, with these
    parameters and this feature code, and its tables are all there."""
    if ws.meta_get(META_FINGERPRINT) != fingerprint(catalogue) or ws.scan_incomplete:
        return False
    if not all(ws.has_table(t) for t in KEPT_TABLES):
        return False
    return ws.meta_get(META_SCANNED) == str(ws.count("payments"))


def record_complete_scan(ws: Workspace, catalogue: Catalogue, *, incremental: bool) -> None:
    """Written last, after every stage succeeded: a scan cut short leaves the old count, and
    the next scan is then a full one."""
    ws.meta_set(META_FINGERPRINT, fingerprint(catalogue))
    ws.meta_set(META_SCANNED, ws.count("payments"))
    ws.meta_set(META_LAST_SCAN, "increment" if incremental else "full")


@contextmanager
def noting_new_payments(ws: Workspace) -> Iterator[None]:
    """`new_payments` (temporary): the payments the block inserted. Payments are only ever
    appended (ingest never updates or deletes one), so the new rows are those whose row id
    is at or past the count before."""
    before = ws.count("payments")
    yield
    ws.con.execute(
        "CREATE OR REPLACE TEMP TABLE new_payments AS SELECT * FROM payments WHERE rowid >= ?",
        [before],
    )


def keep_previous_entities(ws: Workspace) -> None:
    for kind in KINDS:
        ws.con.execute(
            f"CREATE OR REPLACE TEMP TABLE previous_{kind}_entities AS "
            f"SELECT party_id, entity_id FROM {kind}_entities"
        )


def update_payment_features(ws: Workspace, catalogue: Catalogue) -> dict[str, int]:
    """Recomputes the pairs, senders and beneficiaries the new payments reach (see the
    module's docstring); returns how many of each."""
    sql = ws.con.execute
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_changed AS
        SELECT 'sender' AS kind, party_id
        FROM sender_entities n FULL JOIN previous_sender_entities o USING (party_id)
        WHERE n.entity_id IS DISTINCT FROM o.entity_id
        UNION ALL
        SELECT 'beneficiary', party_id
        FROM beneficiary_entities n FULL JOIN previous_beneficiary_entities o USING (party_id)
        WHERE n.entity_id IS DISTINCT FROM o.entity_id"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_pair_senders AS
        SELECT DISTINCT sender_id AS party_id FROM new_payments
        UNION SELECT party_id FROM inc_changed WHERE kind = 'sender'"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_changed_beneficiaries AS
        SELECT party_id FROM inc_changed WHERE kind = 'beneficiary'"""
    )
    payments = ws.table("payments")
    queries = _Queries(ws, catalogue)
    refresh_offsets(ws)
    _update_facts(ws, queries, catalogue)
    all_facts = ws.table(FACTS)

    # 1. Pairs: every payment of those senders and of the re-resolved beneficiaries.
    def pairs() -> ir.Table:
        return pair_features(
            all_facts.filter(
                all_facts.sender_id.isin(ws.table("inc_pair_senders").party_id)
                | all_facts.beneficiary_id.isin(ws.table("inc_changed_beneficiaries").party_id)
            )
        )

    _replace_rows(
        ws,
        "pair_features",
        "sender_id IN (SELECT party_id FROM inc_pair_senders) "
        "OR beneficiary_id IN (SELECT party_id FROM inc_changed_beneficiaries)",
        queries.sql("pairs", pairs),
    )
    # 2. Who else the new payments reach, on the refreshed pairs.
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_touched AS
        SELECT DISTINCT beneficiary_id AS party_id FROM new_payments
        UNION SELECT party_id FROM inc_changed_beneficiaries
        UNION SELECT beneficiary_id FROM pair_features
        WHERE sender_id IN (SELECT party_id FROM inc_changed WHERE kind = 'sender')"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_people AS
        SELECT entity_id FROM beneficiary_entities WHERE party_id IN (SELECT * FROM inc_touched)
        UNION SELECT entity_id FROM previous_beneficiary_entities
        WHERE party_id IN (SELECT * FROM inc_touched)"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_people_accounts AS
        SELECT party_id FROM beneficiary_entities WHERE entity_id IN (SELECT * FROM inc_people)
        UNION SELECT party_id FROM previous_beneficiary_entities
        WHERE entity_id IN (SELECT * FROM inc_people)
        UNION SELECT party_id FROM inc_touched"""
    )

    # B5 compares the accounts one sender pays under one name key: a new payment's account
    # makes its sender's other accounts of that key variants of it.
    def name_variants() -> ir.Table:
        recent = ws.table("new_payments")
        new_keys = _keyed(recent)
        own = _keyed(payments.filter(payments.sender_id.isin(recent.sender_id)))
        variants = own.join(
            new_keys,
            [
                own.sender_id == new_keys.sender_id,
                own.key == new_keys.key,
                own.beneficiary_country == new_keys.beneficiary_country,
            ],
        ).select(party_id=own.beneficiary_id)
        return variants.distinct()

    queries.temporary("inc_name_variants", name_variants)
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_beneficiaries AS
        WITH reached AS (
            SELECT party_id FROM inc_people_accounts
            UNION SELECT party_id FROM inc_name_variants
        )
        SELECT party_id FROM reached
        UNION SELECT party_id FROM beneficiary_entities WHERE entity_id IN (
            SELECT entity_id FROM beneficiary_entities WHERE party_id IN (SELECT * FROM reached))"""
    )
    # B3 counts the household's other people paid by the same senders: a reached account's
    # mates (same household key, a payer in common) are reached too.
    _households_of_reached_payers(queries, payments)
    sql(
        """INSERT INTO inc_beneficiaries
        SELECT DISTINCT p.beneficiary_id FROM pair_features p
        JOIN inc_households h ON h.beneficiary_id = p.beneficiary_id
        WHERE p.sender_id IN (
            SELECT sender_id FROM pair_features
            WHERE beneficiary_id IN (SELECT party_id FROM inc_beneficiaries))
          AND h.household IN (
            SELECT household FROM inc_households
            WHERE beneficiary_id IN (SELECT party_id FROM inc_beneficiaries))
          AND p.beneficiary_id NOT IN (SELECT party_id FROM inc_beneficiaries)"""
    )
    # ... and their own payers' accounts are read, so that their count is whole too.
    _households_of_reached_payers(queries, payments)
    # R4 counts the other payers of a sender's high-risk beneficiaries (R2 their people):
    # only senders with a high-risk pair to a reached person are reached through them.
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_reached_senders AS
        SELECT party_id FROM inc_pair_senders
        UNION SELECT sender_id FROM pair_features
        WHERE hr AND beneficiary_id IN (SELECT * FROM inc_people_accounts)"""
    )
    # A sender's features are its person's: every id of a reached sender's person, as it
    # is now and as it was (an id that left the person changes the others' figures).
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_senders AS
        SELECT party_id FROM inc_reached_senders
        UNION SELECT party_id FROM sender_entities WHERE entity_id IN (
            SELECT entity_id FROM sender_entities
            WHERE party_id IN (SELECT party_id FROM inc_reached_senders))
        UNION SELECT party_id FROM previous_sender_entities WHERE entity_id IN (
            SELECT entity_id FROM previous_sender_entities
            WHERE party_id IN (SELECT party_id FROM inc_reached_senders))"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_payers AS
        SELECT DISTINCT sender_id AS party_id FROM pair_features
        WHERE beneficiary_id IN (SELECT * FROM inc_beneficiaries)"""
    )
    # 3. Features of the reached parties from all their payments.
    all_pairs = ws.table("pair_features")
    purposes = list(catalogue.parameters.purpose_words)
    readers = ws.table("inc_senders").party_id
    own_payments = payments.filter(payments.sender_id.isin(readers))

    def senders() -> ir.Table:
        own_pairs = all_pairs.filter(all_pairs.sender_id.isin(readers))
        people_pairs = all_pairs.filter(
            all_pairs.beneficiary_entity.isin(own_pairs.beneficiary_entity)
        )
        facts = all_facts.filter(all_facts.sender_id.isin(readers))
        return person_sender_features(
            own_payments, facts, people_pairs, purposes, ws.table("sender_entities")
        )

    _replace_rows(
        ws,
        "sender_payment_features",
        "party_id IN (SELECT party_id FROM inc_senders)",
        queries.sql("senders", senders),
    )
    # Beneficiaries from their own payments (each reached person's accounts are all
    # reached); B5 from every payment of their payers, which it compares.
    reached_ids = ws.table("inc_beneficiaries").party_id
    paid = payments.filter(payments.beneficiary_id.isin(reached_ids))

    def beneficiaries() -> ir.Table:
        facts = all_facts.filter(all_facts.beneficiary_id.isin(reached_ids))
        own = beneficiary_features(
            paid, facts, all_pairs.filter(all_pairs.beneficiary_id.isin(reached_ids)), purposes
        )
        payers = ws.table("inc_payers").party_id
        variants = name_variant_accounts(
            payments.filter(payments.sender_id.isin(payers)),
            all_pairs.filter(all_pairs.sender_id.isin(payers)),
        ).rename(party_id="beneficiary_id")
        household_pairs = all_pairs.filter(
            all_pairs.sender_id.isin(
                all_pairs.filter(all_pairs.beneficiary_id.isin(reached_ids)).sender_id
            )
        )
        co = household_co_recipients(household_pairs, ws.table("inc_households")).rename(
            party_id="beneficiary_id"
        )
        own = own.drop(HOUSEHOLD_FEATURE).left_join(co, "party_id").drop("party_id_right")
        own = own.mutate(**{HOUSEHOLD_FEATURE: own[HOUSEHOLD_FEATURE].fill_null(0)})
        # an account no other account is a variant of counts 0, as in a full scan
        return (
            own.drop(B5_FEATURE)
            .join(variants, "party_id", how="left")
            .drop("party_id_right")
            .mutate(**{B5_FEATURE: ibis.coalesce(ibis._[B5_FEATURE], 0)})
        )

    _replace_rows(
        ws,
        "beneficiary_payment_features",
        "party_id IN (SELECT party_id FROM inc_beneficiaries)",
        queries.sql("beneficiaries", beneficiaries),
    )
    reached = {
        "pair_senders": ws.count("inc_pair_senders"),
        "senders": ws.count("inc_senders"),
        "beneficiaries": ws.count("inc_beneficiaries"),
    }
    return reached


def _update_facts(ws: Workspace, queries: _Queries, catalogue: Catalogue) -> None:
    """The kept facts current: the person behind each account whose person changed, then
    the new payments' facts appended. A payment's other facts are its own, and the offsets
    of the period it falls in do not move when later payments widen the workspace's."""
    sql = ws.con.execute
    for side in KINDS:
        sql(
            f"""UPDATE {FACTS} f SET {side}_entity = coalesce(e.entity_id, f.{side}_id)
            FROM (SELECT party_id FROM inc_changed WHERE kind = '{side}') c
            LEFT JOIN {side}_entities e USING (party_id)
            WHERE f.{side}_id = c.party_id"""
        )
    query = queries.sql("new_facts", lambda: facts_of(ws, catalogue, ws.table("new_payments")))
    sql(f"INSERT INTO {FACTS} BY NAME {query}")


def _households_of_reached_payers(queries: _Queries, payments: ir.Table) -> None:
    """`inc_households`: the household key of every account paid by a payer of a reached
    beneficiary (where B3's household mates are found)."""

    def paid_households() -> ir.Table:
        pairs = queries.ws.table("pair_features")
        reached = queries.ws.table("inc_beneficiaries").party_id
        payers = pairs.filter(pairs.beneficiary_id.isin(reached))
        return households(payments.filter(payments.sender_id.isin(payers.sender_id)))

    queries.temporary("inc_households", paid_households)


def _keyed(payments: ir.Table) -> ir.Table:
    """(sender, account, country, name key) as B5 compares them; the key (regular
    expressions) once per account and name, not per payment."""
    accounts = payments.select(
        "sender_id", "beneficiary_id", "beneficiary_country", "beneficiary_name"
    ).distinct()
    return accounts.select(
        "sender_id",
        "beneficiary_id",
        "beneficiary_country",
        key=name_key(accounts.beneficiary_name),
    ).distinct()


class _Queries:
    """The increment's queries, compiled once and kept in the workspace's meta: they read
    only the workspace's tables and this session's `inc_*` ones, so the SQL is the same
    every day until the feature code, the catalogue's parameters or a table's columns
    change, and building and compiling the expressions costs about as much as running them
    on a day's parties."""

    def __init__(self, ws: Workspace, catalogue: Catalogue) -> None:
        self.ws = ws
        columns = ws.con.execute(
            "SELECT string_agg(table_name || '.' || column_name || ' ' || data_type, ', ' "
            "ORDER BY table_name, column_index) FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'main' "
            f"AND table_name IN ({', '.join(repr(t) for t in QUERIED_TABLES)})"
        ).fetchall()[0][0]
        digest = hashlib.sha256(f"{fingerprint(catalogue)}|{columns}".encode())
        for module in ("increment.py", "facts.py"):  # the queries' own code
            digest.update(resources.files("vigil.pipeline").joinpath(module).read_bytes())
        self.key = digest.hexdigest()

    def sql(self, label: str, build: Callable[[], ir.Table]) -> str:
        meta = f"{META_QUERY}:{label}"
        kept = self.ws.meta_get(meta)
        if kept and kept.startswith(self.key + "\n"):
            return kept[len(self.key) + 1 :]
        expression = build()
        self.ws.ibis._run_pre_execute_hooks(expression)  # registers any in-memory table
        query = self.ws.ibis.compile(expression)
        if "memtable" not in query:  # an in-memory table's name is this session's only
            self.ws.meta_set(meta, f"{self.key}\n{query}")
        return query

    def temporary(self, table: str, build: Callable[[], ir.Table]) -> None:
        self.ws.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {self.sql(table, build)}")


def _replace_rows(ws: Workspace, table: str, stale: str, query: str) -> None:
    """Deletes the rows matching `stale` (SQL) from `table` and inserts the rows of `query`
    in their place, in one transaction."""
    with ws.transaction() as con:
        con.execute(f"DELETE FROM {table} WHERE {stale}")
        con.execute(f"INSERT INTO {table} BY NAME {query}")
