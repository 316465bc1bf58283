"""Who the participants of each thread are in the payments: the identifier bridge.

`exchange_party_links` holds one row per (thread, payment party, reason), each with the
evidence in words. A thread is tied to a party when
- the export belongs to the party (`--owner`),
- a participant's phone number is the party's recorded phone, or its wallet / account id
  written as a phone number (same E.164 digits, or the national number with its trunk 0;
  a `+` number no numbering plan knows, by its digits as written),
- a participant's identifier (platform id, account, e-mail) is the party's id,
- a participant's name is the party's name (case, accents, punctuation and word order aside),
- a phone or account written in a message of the thread is the beneficiary's wallet,
- a handle written in a message of the thread appears in the narrative of a payment to the
  beneficiary.
All in SQL over the distinct parties of `payments`.
"""

from __future__ import annotations

from vigil.workspace import Workspace

LINKS = "exchange_party_links"

# Name as a sorted bag of lower-case ASCII words.
_NAME_KEY = (
    "array_to_string(list_sort(list_filter(string_split(regexp_replace("
    "lower(strip_accents(coalesce({x}, ''))), '[^a-z0-9]+', ' ', 'g'), ' '), "
    "lambda w: w <> '')), ' ')"
)
_DIGITS = "regexp_replace(coalesce({x}, ''), '[^0-9]', '', 'g')"


def _name_key(expr: str) -> str:
    return _NAME_KEY.format(x=expr)


def _digits(expr: str) -> str:
    return _DIGITS.format(x=expr)


def payment_columns(ws: Workspace) -> set[str]:
    rows = ws.con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'payments' "
        "AND schema_name = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def build_links(ws: Workspace) -> int:
    """Rebuild `exchange_party_links` from every imported exchange; returns its row count."""
    phone = "beneficiary_phone" if "beneficiary_phone" in payment_columns(ws) else "NULL"
    ws.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vigil_bridge_parties AS
        SELECT 'beneficiary' AS party_kind, beneficiary_id AS party_id,
               any_value(beneficiary_name) AS name, any_value({phone}) AS phone
        FROM payments GROUP BY beneficiary_id
        UNION ALL
        SELECT 'sender', sender_id, any_value(sender_name), NULL FROM payments GROUP BY sender_id"""
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TEMP TABLE vigil_bridge_keys AS
        SELECT party_kind, party_id, name, {_name_key("name")} AS name_key,
               {_digits("party_id")} AS id_digits, {_digits("phone")} AS phone_digits, phone
        FROM vigil_bridge_parties"""
    )
    # Every party's phone-like digits, each a key of an equi-join (no comparison per pair).
    ws.con.execute(
        """CREATE OR REPLACE TEMP TABLE vigil_bridge_phones AS
        SELECT party_kind, party_id, id_digits AS digits, 'wallet / account id' AS what
        FROM vigil_bridge_keys WHERE length(id_digits) >= 8
        UNION ALL
        SELECT party_kind, party_id, phone_digits, 'recorded phone'
        FROM vigil_bridge_keys WHERE length(phone_digits) >= 8"""
    )
    ws.con.execute(
        f"""CREATE OR REPLACE TABLE {LINKS} AS
WITH members AS (SELECT *, {_name_key("name")} AS name_key FROM exchange_thread_members),
links AS (
    SELECT DISTINCT m.thread_key, f.owner_kind AS party_kind, f.owner_id AS party_id,
        'owner' AS how, 'the export ' || f.source_file || ' belongs to this party' AS evidence,
        NULL::VARCHAR AS member_name, NULL::VARCHAR AS member_identifier
    FROM (SELECT DISTINCT thread_key, file_sha256 FROM exchange_messages) m
    JOIN exchange_files f USING (file_sha256) WHERE f.owner_id IS NOT NULL
    UNION ALL
    SELECT DISTINCT m.thread_key, k.party_kind, k.party_id, 'phone',
        'participant ' || coalesce(m.name || ' ', '') || m.id_value || ' is the '
        || k.what || ' of ' || k.party_kind || ' ' || k.party_id, m.name, m.identifier
    FROM (SELECT *, unnest([{_digits("id_value")}, '0' || national, national]) AS digits
          FROM members WHERE id_kind = 'phone') m
    JOIN vigil_bridge_phones k USING (digits)
    UNION ALL
    -- A number written in international form that the phone library's numbering plans
    -- reject (a new range, a record typed with a digit too many) is still the same number
    -- as a payment record holding the same digits.
    SELECT DISTINCT m.thread_key, k.party_kind, k.party_id, 'phone',
        'participant ' || coalesce(m.name || ' ', '') || m.identifier || ' (not a number '
        || 'of any known numbering plan) has the digits of the ' || k.what || ' of '
        || k.party_kind || ' ' || k.party_id, m.name, m.identifier
    FROM (SELECT *, {_digits("identifier")} AS digits FROM members
          WHERE id_kind = 'account' AND regexp_full_match(identifier, '[+][0-9 ().-]{{7,}}')) m
    JOIN vigil_bridge_phones k USING (digits)
    UNION ALL
    SELECT m.thread_key, k.party_kind, k.party_id, 'account',
        'participant id ' || m.identifier || ' is the ' || k.party_kind || ' id',
        m.name, m.identifier
    FROM members m JOIN vigil_bridge_keys k
        ON m.id_kind IN ('account', 'email', 'handle') AND lower(m.identifier) = lower(k.party_id)
    UNION ALL
    SELECT m.thread_key, k.party_kind, k.party_id, 'name',
        'participant ' || m.name || ' has the name of ' || k.party_kind || ' ' || k.party_id
        || ' (' || k.name || ')', m.name, m.identifier
    FROM members m JOIN vigil_bridge_keys k
        ON m.name_key <> '' AND m.name_key = k.name_key AND strpos(m.name_key, ' ') > 0
    UNION ALL
    SELECT DISTINCT i.thread_key, k.party_kind, k.party_id, 'wallet in message',
        'message ' || i.message_id || ' writes ' || i.raw || ', the ' || k.what
        || ' of beneficiary ' || k.party_id, NULL, NULL
    FROM (SELECT *, unnest([{_digits("value")}, '0' || national, national]) AS digits
          FROM exchange_identifiers WHERE role = 'body' AND kind = 'phone') i
    JOIN vigil_bridge_phones k USING (digits)
    WHERE k.party_kind = 'beneficiary'
    UNION ALL
    SELECT i.thread_key, k.party_kind, k.party_id, 'wallet in message',
        'message ' || i.message_id || ' writes ' || i.raw || ', the wallet / account id '
        || 'of beneficiary ' || k.party_id, NULL, NULL
    FROM exchange_identifiers i JOIN vigil_bridge_keys k
        ON k.party_kind = 'beneficiary' AND i.role = 'body' AND i.kind = 'account'
        AND upper(k.party_id) = i.value
    UNION ALL
    SELECT DISTINCT i.thread_key, 'beneficiary', p.beneficiary_id, 'handle',
        'handle ' || i.value || ' is written in the narrative of payment ' || p.txn_id,
        NULL, NULL
    FROM exchange_identifiers i
    JOIN (SELECT txn_id, beneficiary_id, lower(narrative) AS narrative FROM payments
          WHERE strpos(narrative, '@') > 0) p
        ON i.kind = 'handle' AND strpos(p.narrative, i.value) > 0
)
SELECT thread_key, party_kind, party_id, how, min(evidence) AS evidence,
    member_name, member_identifier
FROM links GROUP BY thread_key, party_kind, party_id, how, member_name, member_identifier"""
    )
    ws.con.execute("DROP TABLE IF EXISTS vigil_bridge_phones")
    ws.con.execute("DROP TABLE IF EXISTS vigil_bridge_keys")
    ws.con.execute("DROP TABLE IF EXISTS vigil_bridge_parties")
    return ws.count(LINKS)
