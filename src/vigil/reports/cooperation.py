"""`vigil report cooperation`: the package for partner-country police about one facilitator.

Blocks (research/exchanges.md §4): the facilitator's resolved person (the accounts entity
resolution merged, with why), its recorded names, phones, cities and accounts; the
household Vigil infers around it; flows per month; the payers grouped by country; the
collection points; the linked facilitators (sharing payers); the exchange summary when
chats or calls were imported; and what is established (recorded in the payment data) apart
from what is inferred (resolution, household, scores, exchange bridge).

The main package names no payer: payers are counted per country there. Each payer country
gets an annex folder (`annex-CC/`) with its own payers and their payments, its own FtM file
and its own SHA-256 list, so that it can be handed to that country's police alone.

Files: cooperation.html, cooperation.pdf, payments.csv (payer country, no payer identity),
collection_points.csv, payers_by_country.csv, entities.ftm.json (FtM JSON lines),
annex-CC/{annex.html, annex.pdf, payers.csv, payments.csv, entities.ftm.json,
manifest.sha256},
manifest.json and manifest.sha256 over everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from followthemoney import model

from vigil.errors import VigilError
from vigil.exchanges.correlate import EXCHANGE_LINKS
from vigil.reports.evidence import _template_env, _vigil_version, _write_pdf, sha256_of
from vigil.reports.ftm import account_id, export_ftm_where, holder_id, holder_schema
from vigil.reports.party import PartyFacts, load_party
from vigil.reports.safe_csv import write_safe_csv
from vigil.workspace import Workspace

HTML_FILE = "cooperation.html"
PDF_FILE = "cooperation.pdf"
ANNEX_HTML_FILE = "annex.html"
ANNEX_PDF_FILE = "annex.pdf"
MANIFEST_FILE = "manifest.json"
CHECKSUM_FILE = "manifest.sha256"
LINKED_MAX = 20


@dataclass
class CooperationPackage:
    out: Path
    files: list[Path]
    countries: list[str]
    manifest: dict[str, Any] = field(default_factory=dict)


def _frame(ws: Workspace, sql: str, params: dict[str, Any]) -> pl.DataFrame:
    return pl.from_arrow(ws.con.sql(sql, params=params).to_arrow_table())


def _accounts(ws: Workspace, party_id: str) -> list[str]:
    """The accounts entity resolution merged with `party_id` (itself first)."""
    if not ws.has_table("beneficiary_entities"):
        return [party_id]
    rows = ws.con.execute(
        """SELECT party_id FROM beneficiary_entities WHERE entity_id =
               (SELECT entity_id FROM beneficiary_entities WHERE party_id = ?)
           ORDER BY party_id = ? DESC, party_id""",
        [party_id, party_id],
    ).fetchall()
    return [r[0] for r in rows] or [party_id]


def gather(ws: Workspace, party_id: str, kind: str | None = None) -> dict[str, Any]:
    """Every figure of the package, from the workspace (read-only)."""
    facts = load_party(ws, party_id, kind)
    if facts.kind != "beneficiary":
        raise VigilError(
            f"{party_id} is a sender: a cooperation package is made for a beneficiary "
            "(the facilitator a partner country's police can find)"
        )
    accounts = _accounts(ws, party_id)
    p = {"accounts": accounts}
    where = "list_contains(CAST($accounts AS VARCHAR[]), p.beneficiary_id)"
    account_rows = _frame(
        ws,
        f"""SELECT p.beneficiary_id AS account, string_agg(DISTINCT p.beneficiary_name, '; ')
                   AS names, string_agg(DISTINCT p.beneficiary_city, '; ') AS cities,
                   string_agg(DISTINCT p.beneficiary_phone, '; ') AS phones,
                   string_agg(DISTINCT p.channel, '; ') AS channels, count(*) AS payments,
                   round(sum(p.amount_reporting), 2) AS total, min(p.ts_utc) AS first_ts,
                   max(p.ts_utc) AS last_ts
            FROM payments p WHERE {where} GROUP BY ALL ORDER BY account""",
        p,
    )
    resolution = (
        _frame(
            ws,
            """SELECT left_id, right_id, round(match_probability, 3) AS probability, explanation
               FROM entity_links WHERE party_kind = 'beneficiary'
                 AND list_contains(CAST($accounts AS VARCHAR[]), left_id)
                 AND list_contains(CAST($accounts AS VARCHAR[]), right_id)
               ORDER BY left_id, right_id""",
            p,
        )
        if ws.has_table("entity_links")
        else pl.DataFrame()
    )
    household = _frame(
        ws,
        f"""WITH mine AS (
                SELECT DISTINCT beneficiary_phone AS phone,
                       lower(regexp_extract(beneficiary_name, '(\\S+)$')) AS surname,
                       beneficiary_city AS city
                FROM payments p WHERE {where})
            SELECT p.beneficiary_id AS account, any_value(p.beneficiary_name) AS name,
                   any_value(p.beneficiary_city) AS city,
                   CASE WHEN bool_or(p.beneficiary_phone IN (SELECT phone FROM mine))
                        THEN 'same phone as the facilitator'
                        ELSE 'same surname and city' END AS why,
                   count(*) AS payments, round(sum(p.amount_reporting), 2) AS total
            FROM payments p
            WHERE NOT {where} AND (
                p.beneficiary_phone IN (SELECT phone FROM mine WHERE phone IS NOT NULL)
                OR EXISTS (SELECT 1 FROM mine m WHERE m.city = p.beneficiary_city
                    AND m.surname = lower(regexp_extract(p.beneficiary_name, '(\\S+)$'))))
            GROUP BY ALL ORDER BY payments DESC, account LIMIT 50""",
        p,
    )
    months = _frame(
        ws,
        f"""SELECT strftime(date_trunc('month', ts_utc), '%Y-%m') AS month, count(*) AS payments,
                   count(DISTINCT sender_id) AS payers, round(sum(amount_reporting), 2) AS total
            FROM payments p WHERE {where} GROUP BY ALL ORDER BY month""",
        p,
    )
    by_country = _frame(
        ws,
        f"""SELECT sender_country AS country, count(DISTINCT sender_id) AS payers,
                   count(*) AS payments, round(sum(amount_reporting), 2) AS total,
                   min(ts_utc) AS first_ts, max(ts_utc) AS last_ts
            FROM payments p WHERE {where} GROUP BY ALL ORDER BY total DESC, country""",
        p,
    )
    points = _frame(
        ws,
        f"""SELECT coalesce(payout_location, '(not recorded)') AS collection_point,
                   any_value(beneficiary_city) AS city, count(*) AS payments,
                   count(DISTINCT sender_id) AS payers, round(sum(amount_reporting), 2) AS total,
                   min(ts_utc) AS first_ts, max(ts_utc) AS last_ts
            FROM payments p WHERE {where} GROUP BY ALL ORDER BY payments DESC, collection_point""",
        p,
    )
    payments = _frame(
        ws,
        f"""SELECT txn_id, strftime(ts_utc, '%Y-%m-%dT%H:%M:%SZ') AS ts_utc,
                   ts_local AS ts_sender_local,
                   beneficiary_id AS account, amount, currency, round(amount_reporting, 2)
                   AS amount_reporting, channel, payout_location, beneficiary_phone,
                   sender_country AS payer_country
            FROM payments p WHERE {where} ORDER BY ts_utc, txn_id""",
        p,
    )
    exchanges = (
        _frame(
            ws,
            f"""SELECT kind, count(*) AS links, count(DISTINCT txn_id) AS payments,
                       count(DISTINCT sender_id) AS payers,
                       CAST(median(gap_seconds) AS BIGINT) AS median_gap_seconds
                FROM {EXCHANGE_LINKS} p WHERE {where} GROUP BY ALL ORDER BY kind""",
            p,
        )
        if ws.has_table(EXCHANGE_LINKS)
        else pl.DataFrame()
    )
    return {
        "facts": facts,
        "accounts": accounts,
        "account_rows": account_rows,
        "resolution": resolution,
        "household": household,
        "months": months,
        "by_country": by_country,
        "points": points,
        "payments": payments,
        "exchanges": exchanges,
        "linked": facts.co_parties.head(LINKED_MAX),
    }


def _annex_frames(ws: Workspace, accounts: list[str], country: str) -> dict[str, pl.DataFrame]:
    p = {"accounts": accounts, "country": country}
    where = (
        "list_contains(CAST($accounts AS VARCHAR[]), p.beneficiary_id) "
        "AND p.sender_country = $country"
    )
    payers = _frame(
        ws,
        f"""SELECT p.sender_id AS payer_id, any_value(p.sender_name) AS name, count(*) AS payments,
                   round(sum(p.amount_reporting), 2) AS total, min(p.ts_utc) AS first_ts,
                   max(p.ts_utc) AS last_ts, any_value(s.score) AS score,
                   any_value(a.indicators) AS indicators
            FROM payments p LEFT JOIN sender_scores s ON s.party_id = p.sender_id
            LEFT JOIN alerts a ON a.party_kind = 'sender' AND a.party_id = p.sender_id
            WHERE {where} GROUP BY ALL ORDER BY total DESC, payer_id""",
        p,
    )
    payments = _frame(
        ws,
        f"""SELECT txn_id, strftime(ts_utc, '%Y-%m-%dT%H:%M:%SZ') AS ts_utc,
                   ts_local AS ts_sender_local,
                   sender_id AS payer_id, sender_name AS payer_name, beneficiary_id AS account,
                   amount, currency, channel, narrative, payout_location
            FROM payments p WHERE {where} ORDER BY ts_utc, txn_id""",
        p,
    )
    return {"payers": payers, "payments": payments}


def _established_and_inferred(g: dict[str, Any]) -> tuple[list[str], list[str]]:
    f: PartyFacts = g["facts"]
    established = [
        f"{f.payments.height:,} payments to account {f.party_id} as recorded by the institution "
        f"(ids, times with the sender's UTC offset, amounts, channels)",
        f"names, cities and phones as recorded on the {len(g['accounts'])} account(s) listed",
        f"payers' countries as recorded: {', '.join(g['by_country']['country'].to_list())}",
    ]
    if g["points"]["collection_point"].to_list() != ["(not recorded)"]:
        established.append("collection points as recorded (payout_location)")
    inferred = []
    if len(g["accounts"]) > 1:
        inferred.append(
            f"that the {len(g['accounts'])} accounts belong to one person: entity resolution "
            "(match probability and comparisons listed)"
        )
    if g["household"].height:
        inferred.append(
            f"{g['household'].height} other accounts as the household: same phone, or same "
            "surname in the same city"
        )
    inferred.append(
        f"the risk score {f.score:.3f} (rank {f.rank:,} of {f.parties_of_kind:,}) and the "
        f"indicators that fired: {', '.join(f.contributions['indicator'].to_list()) or 'none'}"
    )
    if g["linked"].height:
        inferred.append(f"{g['linked'].height} linked facilitators: beneficiaries sharing payers")
    if g["exchanges"].height:
        inferred.append(
            "links between payments and messages or calls: the identifier bridge and the "
            "correlation windows (vigil exchanges correlate)"
        )
    return established, inferred


def _main_ftm(g: dict[str, Any], path: Path) -> Path:
    """The facilitator's holder, accounts and collection points (no payer)."""
    f: PartyFacts = g["facts"]
    lines = []
    holder = model.make_entity(holder_schema(f.name))
    holder.id = holder_id("beneficiary", f.party_id)
    for row in g["account_rows"].to_dicts():
        for name in (row["names"] or "").split("; "):
            if name:
                holder.add("name", name)
        for phone in (row["phones"] or "").split("; "):
            if phone:
                holder.add("phone", phone)
    holder.add("country", f.country.lower())
    lines.append(holder)
    for row in g["account_rows"].to_dicts():
        account = model.make_entity("UserAccount")
        account.id = account_id("beneficiary", row["account"])
        account.add("username", row["account"])
        account.add("owner", holder.id)
        account.add("service", row["channels"])
        lines.append(account)
    for row in g["points"].to_dicts():
        if row["collection_point"] == "(not recorded)":
            continue
        place = model.make_entity("Address")
        place.make_id("vigil", "collection-point", row["collection_point"])
        place.add("full", row["collection_point"])
        if row["city"]:
            place.add("city", row["city"])
        place.add("country", f.country.lower())
        lines.append(place)
    path.write_text(
        "".join(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for e in lines),
        encoding="utf-8",
    )
    return path


def _checksums(folder: Path, files: list[Path], target: Path) -> Path:
    target.write_text(
        "".join(f"{sha256_of(p)}  {p.relative_to(folder).as_posix()}\n" for p in files),
        encoding="utf-8",
    )
    return target


def write_cooperation_package(
    workspace: Path | str, party_id: str, out: Path | str, *, party_kind: str | None = None
) -> CooperationPackage:
    workspace, out = Path(workspace), Path(out)
    if not workspace.is_file():
        raise VigilError(f"{workspace}: no such workspace (run `vigil scan` first)")
    if out.exists() and not out.is_dir():
        raise VigilError(f"{out}: exists and is not a folder")
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    version = _vigil_version()
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    annexes = []
    with Workspace.open(workspace, read_only=True) as ws:
        g = gather(ws, party_id, party_kind)
        countries = g["by_country"]["country"].to_list()
        for country in countries:
            folder = out / f"annex-{country}"
            folder.mkdir(exist_ok=True)
            frames = _annex_frames(ws, g["accounts"], country)
            annex_files = [
                write_safe_csv(frames["payers"], folder / "payers.csv"),
                write_safe_csv(frames["payments"], folder / "payments.csv"),
            ]
            ftm_path = folder / "entities.ftm.json"
            export_ftm_where(
                ws,
                ftm_path,
                "list_contains(CAST($accounts AS VARCHAR[]), p.beneficiary_id) "
                "AND list_contains(CAST($payers AS VARCHAR[]), p.sender_id)",
                {"accounts": g["accounts"], "payers": frames["payers"]["payer_id"].to_list()},
            )
            annex_files.append(ftm_path)
            html = (
                _template_env()
                .get_template("cooperation_annex.html.j2")
                .render(
                    f=g["facts"],
                    country=country,
                    payers=frames["payers"].to_dicts(),
                    payments=frames["payments"].to_dicts(),
                    generated_at=generated_at,
                    version=version,
                )
            )
            annex_html = folder / ANNEX_HTML_FILE
            annex_html.write_text(html, encoding="utf-8")
            annex_pdf = folder / ANNEX_PDF_FILE
            _write_pdf(annex_html, annex_pdf)
            annex_files += [annex_html, annex_pdf]
            annex_files.append(_checksums(folder, annex_files, folder / CHECKSUM_FILE))
            files += annex_files
            annexes.append(
                {"country": country, "payers": frames["payers"].height, "folder": folder.name}
            )
    established, inferred = _established_and_inferred(g)
    tables = {
        "payments.csv": g["payments"],
        "collection_points.csv": g["points"],
        "payers_by_country.csv": g["by_country"],
    }
    for name, frame in tables.items():
        files.append(write_safe_csv(frame, out / name))
    files.append(_main_ftm(g, out / "entities.ftm.json"))
    f: PartyFacts = g["facts"]
    html = (
        _template_env()
        .get_template("cooperation.html.j2")
        .render(
            f=f,
            g={k: v for k, v in g.items() if k != "facts"},
            accounts=g["account_rows"].to_dicts(),
            resolution=g["resolution"].to_dicts(),
            household=g["household"].to_dicts(),
            months=g["months"].to_dicts(),
            by_country=g["by_country"].to_dicts(),
            points=g["points"].to_dicts(),
            linked=g["linked"].to_dicts(),
            exchanges=g["exchanges"].to_dicts(),
            established=established,
            inferred=inferred,
            annexes=annexes,
            generated_at=generated_at,
            version=version,
            first=f.payments["ts_utc"].min(),
            last=f.payments["ts_utc"].max(),
        )
    )
    html_path = out / HTML_FILE
    html_path.write_text(html, encoding="utf-8")
    pdf_path = out / PDF_FILE
    _write_pdf(html_path, pdf_path)
    files = [html_path, pdf_path, *files]
    manifest = {
        "generated_at": generated_at,
        "vigil_version": version,
        "workspace": str(workspace.resolve()),
        "party": {"kind": "beneficiary", "party_id": party_id, "accounts": g["accounts"]},
        "annexes": annexes,
        "files": {
            p.relative_to(out).as_posix(): {"sha256": sha256_of(p), "size": p.stat().st_size}
            for p in files
        },
    }
    manifest_path = out / MANIFEST_FILE
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    checksum = _checksums(out, [*files, manifest_path], out / CHECKSUM_FILE)
    return CooperationPackage(out, [*files, manifest_path, checksum], countries, manifest)
