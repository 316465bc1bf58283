"""`vigil share export`: what one institution sends the linkage unit, and nothing more.

One row per beneficiary it pays in a high-risk country (the corridor of the exercise; never
bulk data): keyed tokens of the account and of the phone, a keyed Bloom-filter encoding of
the name, the country, and banded counts (unrelated payers, of them suspicious payers) and
the institution's own score band. No identifier, name, amount or payment leaves in clear,
and no sender appears at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.errors import InputError
from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.phones import phone_sql
from vigil.private_files import make_private, private_folder
from vigil.share.encode import account_sql, clks, name_sql, tokens
from vigil.share.keys import ShareKey, load_key
from vigil.workspace import Workspace

FORMAT = "vigil-share-export/1"
LINKED_FORMAT = "vigil-share-linked/1"
# Lower bounds of the count bands: a count is sent as the largest bound not above it.
COUNT_BANDS = (0, 1, 2, 3, 5, 10, 20, 50, 100)
SCORE_BAND = 0.1
EXPORT_COLUMNS = (
    "account_token",
    "phone_token",
    "name_clk",
    "country",
    "payers_band",
    "suspicious_payers_band",
    "pattern_payers_band",
    "score_band",
)


@dataclass(frozen=True)
class ExportResult:
    out: Path
    institution: str
    beneficiaries: int


def band_sql(expression: str) -> str:
    """`expression` (a count) as the lower bound of its band."""
    cases = " ".join(
        f"WHEN {expression} >= {bound} THEN {bound}" for bound in reversed(COUNT_BANDS)
    )
    return f"(CASE {cases} ELSE 0 END)"


def key_fingerprint(key: ShareKey) -> str:
    """Tells whether two files were made with one key, and nothing about it (a one-way
    function of a key derived for this purpose only)."""
    return hmac.new(key.derive("fingerprint"), b"", hashlib.sha256).hexdigest()[:16]


def beneficiary_encodings(ws: Workspace, key: ShareKey, catalogue: Catalogue) -> pl.DataFrame:
    """Per beneficiary of the workspace in a high-risk country: `beneficiary_id` (local,
    never exported), `account_token`, `phone_token`, `name_clk`, `country`."""
    countries = catalogue.parameters.high_risk_countries
    codes = pl.DataFrame(
        {
            "country": countries,
            "calling_code": [str(phonenumbers.country_code_for_region(c)) for c in countries],
        }
    )
    ws.con.register("share_calling_codes", codes.to_arrow())
    try:
        normalised = ws.con.sql(
            f"""
                WITH beneficiaries AS (
                    SELECT beneficiary_id, beneficiary_country AS country,
                           mode(beneficiary_name) AS name, mode(beneficiary_phone) AS phone
                    FROM payments GROUP BY beneficiary_id, beneficiary_country
                )
                SELECT b.beneficiary_id, b.country,
                       {account_sql("b.beneficiary_id")} AS account,
                       {phone_sql("b.phone", "c.calling_code")} AS phone,
                       {name_sql("b.name")} AS name
                FROM beneficiaries b JOIN share_calling_codes c USING (country)
                ORDER BY b.beneficiary_id
                """
        ).pl()
    finally:
        ws.con.unregister("share_calling_codes")
    assert isinstance(normalised, pl.DataFrame)
    normalised = normalised.unique("beneficiary_id", keep="first", maintain_order=True)
    phones = normalised["phone"].drop_nulls().unique().to_list()
    phone_tokens = dict(zip(phones, tokens(phones, key.token_key, "phone"), strict=True))
    names = normalised["name"].fill_null("").unique().to_list()
    name_clks = dict(zip(names, clks(names, key.name_key), strict=True))
    return normalised.select(
        "beneficiary_id",
        account_token=pl.Series(tokens(normalised["account"].to_list(), key.token_key, "account")),
        phone_token=pl.col("phone").replace_strict(phone_tokens, default=None),
        name_clk=pl.col("name").fill_null("").replace_strict(name_clks, return_dtype=pl.Binary),
        country=pl.col("country"),
    )


def export_share(
    workspace: Path | str,
    key_file: Path | str,
    out: Path | str,
    *,
    institution: str | None = None,
    catalogue: Catalogue | Path | None = None,
) -> ExportResult:
    """Write the share file of the institution whose scanned workspace is `workspace`."""
    key = load_key(key_file)
    catalogue = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    out = Path(out)
    institution = institution or out.stem
    threshold = catalogue.parameters.suspicious_score
    if not Path(workspace).is_file():
        raise InputError(f"{workspace}: no such workspace (run `vigil scan` first)")
    with Workspace.open(workspace, read_only=True) as ws:
        ws.require_scan_complete()
        encoded = beneficiary_encodings(ws, key, catalogue)
        unrelated = "NOT p.related"
        suspicious = f"NOT p.related AND s.score >= {threshold}"
        # Payers showing some of the pattern (half the suspicious score), as N1 counts them:
        # an offender seen by one institution of several shows less than the whole of it.
        pattern = f"NOT p.related AND s.score >= {threshold / 2}"
        counts = ws.con.sql(
            f"""
                SELECT p.beneficiary_id,
                       {band_sql(f"count(DISTINCT p.sender_id) FILTER ({unrelated})")}
                           AS payers_band,
                       {band_sql(f"count(DISTINCT p.sender_id) FILTER ({suspicious})")}
                           AS suspicious_payers_band,
                       {band_sql(f"count(DISTINCT p.sender_id) FILTER ({pattern})")}
                           AS pattern_payers_band,
                       floor(any_value(b.score) / {SCORE_BAND}) * {SCORE_BAND} AS score_band
                FROM pair_features p
                JOIN sender_scores s ON s.party_id = p.sender_id
                JOIN beneficiary_scores b ON b.party_id = p.beneficiary_id
                GROUP BY p.beneficiary_id
                """
        ).pl()
    assert isinstance(counts, pl.DataFrame)
    rows = (
        encoded.join(counts, on="beneficiary_id")
        .select(EXPORT_COLUMNS)
        .with_columns(
            pl.col("payers_band", "suspicious_payers_band", "pattern_payers_band").cast(pl.Int32),
            pl.col("score_band").round(1),
        )
        # Sorted by token: the order says nothing about ids, names or when they were seen.
        .sort("account_token")
    )
    metadata = {
        "format": FORMAT,
        "institution": institution,
        "key_fingerprint": key_fingerprint(key),
        "corridor": ",".join(catalogue.parameters.high_risk_countries),
        "count_bands": ",".join(map(str, COUNT_BANDS)),
        "created": datetime.now(UTC).date().isoformat(),
    }
    write_parquet(rows, out, metadata)
    return ExportResult(out, institution, rows.height)


def write_parquet(frame: pl.DataFrame, out: Path, metadata: dict[str, str]) -> None:
    private_folder(out.parent)
    table = frame.to_arrow()
    table = table.replace_schema_metadata({"vigil": json.dumps(metadata)})
    pq.write_table(table, out)
    make_private(out)


def read_parquet(path: Path, expected_format: str) -> tuple[pl.DataFrame, dict[str, str]]:
    """A share file with its metadata, or a user error saying what is wrong with it."""
    try:
        table: pa.Table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise InputError(f"{path}: not a readable share file: {error}") from error
    raw = (table.schema.metadata or {}).get(b"vigil")
    metadata = json.loads(raw) if raw else {}
    if metadata.get("format") != expected_format:
        raise InputError(
            f"{path}: not a {expected_format} file (format {metadata.get('format')!r})"
        )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame, metadata
