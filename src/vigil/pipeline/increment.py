"""Daily increments: new payments into a workspace that already holds a complete scan.

Only the stages whose cost grows with the payments held are incremental: the per-payment
facts and the pair, sender and beneficiary features built from them. Every other stage
works on one row per party or per pair (entity resolution, the watchlist, behaviour scores,
the graph, the network round, explanations) and runs whole, so that an increment gives the
same tables as a full scan of all the payments.

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
  R2 their people).
Their features are computed from all of their payments, old and new, and replace their rows;
every other row is left as it is, which is what a full scan would compute for it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

import ibis.expr.types as ir

from vigil.features.contrast import household_co_recipients, households
from vigil.features.parties import beneficiary_features, pair_features, sender_features
from vigil.features.payments import name_key
from vigil.indicators.catalogue import Catalogue
from vigil.pipeline.facts import facts_of, refresh_offsets
from vigil.schema import PARTY_KINDS as KINDS
from vigil.workspace import Workspace

META_FINGERPRINT = "scan_fingerprint"
META_SCANNED = "scanned_payments"
META_LAST_SCAN = "last_scan"  # 'full' or 'increment'

# What an increment keeps from the last scan and updates in place.
KEPT_TABLES = (
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
    # 1. Pairs: every payment of those senders and of the re-resolved beneficiaries.
    payments = ws.table("payments")
    scope = payments.filter(
        payments.sender_id.isin(ws.table("inc_pair_senders").party_id)
        | payments.beneficiary_id.isin(ws.table("inc_changed_beneficiaries").party_id)
    )
    refresh_offsets(ws)
    pairs = pair_features(facts_of(ws, catalogue, scope))
    _replace_rows(
        ws,
        "pair_features",
        "sender_id IN (SELECT party_id FROM inc_pair_senders) "
        "OR beneficiary_id IN (SELECT party_id FROM inc_changed_beneficiaries)",
        pairs,
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
    ws.replace_table("inc_name_variants", variants.distinct(), temporary=True)
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
    _households_of_reached_payers(ws, payments)
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
    _households_of_reached_payers(ws, payments)
    # R4 counts the other payers of a sender's high-risk beneficiaries (R2 their people):
    # only senders with a high-risk pair to a reached person are reached through them.
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_senders AS
        SELECT party_id FROM inc_pair_senders
        UNION SELECT sender_id FROM pair_features
        WHERE hr AND beneficiary_id IN (SELECT * FROM inc_people_accounts)"""
    )
    sql(
        """CREATE OR REPLACE TEMP TABLE inc_payers AS
        SELECT DISTINCT sender_id AS party_id FROM pair_features
        WHERE beneficiary_id IN (SELECT * FROM inc_beneficiaries)"""
    )
    # 3. Features of the reached parties from all their payments.
    all_pairs = ws.table("pair_features")
    readers = ws.table("inc_senders").party_id
    own_payments = payments.filter(payments.sender_id.isin(readers))
    facts = facts_of(ws, catalogue, own_payments)
    ws.replace_table("inc_sender_facts", facts, temporary=True)
    facts = ws.table("inc_sender_facts")
    own_pairs = all_pairs.filter(all_pairs.sender_id.isin(readers))
    people_pairs = all_pairs.filter(all_pairs.beneficiary_entity.isin(own_pairs.beneficiary_entity))
    purposes = list(catalogue.parameters.purpose_words)
    senders = sender_features(own_payments, facts, people_pairs, purposes)
    _replace_rows(
        ws, "sender_payment_features", "party_id IN (SELECT party_id FROM inc_senders)", senders
    )
    # Beneficiaries from their own payments (each reached person's accounts are all
    # reached); B5 from every payment of their payers, which it compares.
    reached_ids = ws.table("inc_beneficiaries").party_id
    paid = payments.filter(payments.beneficiary_id.isin(reached_ids))
    facts = facts_of(ws, catalogue, paid)
    ws.replace_table("inc_beneficiary_facts", facts, temporary=True)
    facts = ws.table("inc_beneficiary_facts")
    own = beneficiary_features(
        paid, facts, all_pairs.filter(all_pairs.beneficiary_id.isin(reached_ids)), purposes
    )
    payers = ws.table("inc_payers").party_id
    variants = beneficiary_features(
        payments.filter(payments.sender_id.isin(payers)),
        facts,
        all_pairs.filter(all_pairs.sender_id.isin(payers)),
        purposes,
    ).select("party_id", B5_FEATURE)
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
    beneficiaries = own.drop(B5_FEATURE).join(variants, "party_id")
    _replace_rows(
        ws,
        "beneficiary_payment_features",
        "party_id IN (SELECT party_id FROM inc_beneficiaries)",
        beneficiaries,
    )
    reached = {
        "pair_senders": ws.count("inc_pair_senders"),
        "senders": ws.count("inc_senders"),
        "beneficiaries": ws.count("inc_beneficiaries"),
    }
    for table in ("inc_sender_facts", "inc_beneficiary_facts"):
        sql(f"DROP TABLE IF EXISTS temp.{table}")
    return reached


def _households_of_reached_payers(ws: Workspace, payments: ir.Table) -> None:
    """`inc_households`: the household key of every account paid by a payer of a reached
    beneficiary (where B3's household mates are found)."""
    pairs = ws.table("pair_features")
    payers = pairs.filter(pairs.beneficiary_id.isin(ws.table("inc_beneficiaries").party_id))
    paid = payments.filter(payments.sender_id.isin(payers.sender_id))
    ws.replace_table("inc_households", households(paid), temporary=True)


def _keyed(payments: ir.Table) -> ir.Table:
    """(sender, account, country, name key) as B5 compares them."""
    return payments.select(
        "sender_id",
        "beneficiary_id",
        "beneficiary_country",
        key=name_key(payments.beneficiary_name),
    ).distinct()


def _replace_rows(ws: Workspace, table: str, stale: str, rows: ir.Table) -> None:
    """Deletes the rows matching `stale` (SQL) from `table` and inserts `rows` in their place,
    in one transaction."""
    backend = ws.ibis
    backend._run_pre_execute_hooks(rows)
    query = backend.compile(rows)
    with ws.transaction() as con:
        con.execute(f"DELETE FROM {table} WHERE {stale}")
        con.execute(f"INSERT INTO {table} BY NAME {query}")
