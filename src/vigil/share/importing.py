"""`vigil share import`: an institution re-scores its own parties with what the linkage
unit found across institutions, and writes its alerts (the alerts.csv of `vigil scan`).

The institution recomputes the tokens of its beneficiaries with the key and joins the linked
file on them: the file holds only tokens it sent itself. A beneficiary gains the
`elsewhere_*` figures; a sender gains, over its unrelated beneficiaries in high-risk
countries, how many are paid by suspicious customers elsewhere and how many such customers
there are. The catalogue's collaboration indicators (N6) read these; the senders' new scores
then reach their beneficiaries through N1, as in a scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import polars as pl

from vigil.errors import InputError
from vigil.indicators.catalogue import Catalogue, load_catalogue
from vigil.pipeline.stages import score_parties, write_alerts
from vigil.private_files import private_folder
from vigil.share.export import LINKED_FORMAT, beneficiary_encodings, read_parquet
from vigil.share.keys import load_key
from vigil.share.link import LINKED_COLUMNS
from vigil.workspace import Workspace

ELSEWHERE = [c for c in LINKED_COLUMNS if c.startswith("elsewhere_")]


@dataclass(frozen=True)
class ImportResult:
    out: Path
    alerts: Path
    institution: str
    beneficiaries_linked: int  # own beneficiaries paid at another institution too
    beneficiaries_flagged: int  # ... by suspicious customers there
    senders_flagged: int  # own senders paying such beneficiaries
    parties: dict[str, int]


def import_linked(
    linked: Path | str,
    workspace: Path | str,
    key_file: Path | str,
    out: Path | str,
    *,
    catalogue: Catalogue | Path | None = None,
    refresh: bool = False,
) -> ImportResult:
    """Re-score the workspace's parties with the cross-institution figures of `linked`.

    `refresh`: `linked` comes from a second exchange, exported after every institution had
    imported the first; its figures count payers elsewhere once their own cross-institution
    link (N6) lifted them, as the FIU's pooled scan counts them (its beneficiaries after its
    senders' N6). Only the beneficiaries learn from it: the senders keep what the first
    exchange told them, since a sender's own suspicion, passed to its co-payers elsewhere by
    the first, would otherwise come back to it as theirs."""
    key = load_key(key_file)
    catalogue = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    frame, meta = read_parquet(Path(linked), LINKED_FORMAT)
    missing = [c for c in LINKED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{linked}: linked file lacks {', '.join(missing)}")
    if not Path(workspace).is_file():
        raise InputError(f"{workspace}: no such workspace (run `vigil scan` first)")
    out = private_folder(Path(out))
    collaborating = catalogue.with_collaboration()
    with Workspace.open(workspace) as ws:
        ws.require_scan_complete()
        if refresh and not ws.has_table("sender_share_features"):
            raise InputError(f"{workspace}: nothing to refresh (import the first exchange first)")
        own = beneficiary_encodings(ws, key, catalogue).select("beneficiary_id", "account_token")
        beneficiaries = own.join(frame.select("account_token", *ELSEWHERE), on="account_token")
        beneficiaries = beneficiaries.rename({"beneficiary_id": "party_id"}).select(
            "party_id",
            *ELSEWHERE,
            # A payer elsewhere showing only some of the pattern counts half of one showing
            # it strongly, as N1 weighs payers by their scores: a freelancer's or a
            # partner's one or two half-suspicious clients elsewhere are not a
            # facilitator's several offenders, and no new figure leaves an institution.
            elsewhere_weighted_payers=pl.col("elsewhere_suspicious_payers")
            + (pl.col("elsewhere_pattern_payers") - pl.col("elsewhere_suspicious_payers")) / 2,
        )
        ws.replace_table("beneficiary_share_features", beneficiaries)
        if not refresh:  # a refresh keeps the senders' figures of the first exchange
            senders = _sender_share_features(
                ws.table("pair_features"), ws.table("beneficiary_share_features")
            )
            ws.replace_table("sender_share_features", senders)
        score_parties(
            ws,
            collaborating,
            {
                "sender": ws.table("sender_share_features"),
                "beneficiary": ws.table("beneficiary_share_features"),
            },
        )
        parties = write_alerts(ws, collaborating, out)
        ws.meta_set("share_imported_at", datetime.now(UTC).isoformat(timespec="seconds"))
        senders_flagged = ws.count("sender_share_features")
    return ImportResult(
        out=out,
        alerts=out / "alerts.csv",
        institution=meta.get("institution", ""),
        beneficiaries_linked=beneficiaries.filter(pl.col("elsewhere_institutions") > 0).height,
        beneficiaries_flagged=beneficiaries.filter(
            pl.col("elsewhere_suspicious_payers") > 0
        ).height,
        senders_flagged=senders_flagged,
        parties=parties,
    )


def _sender_share_features(pairs: ir.Table, shared: ir.Table) -> ir.Table:
    """Per sender, the beneficiaries it pays in high-risk countries (none a relative) whom
    suspicious customers at other institutions also pay, and how many such payers."""
    unrelated = pairs.filter(pairs.hr & ~pairs.related).select("sender_id", "beneficiary_id")
    # Senders learn from strong suspicion only: counting payers with some of the pattern
    # here lifted look-alikes as much as offenders (benchmarks/collaboration.py).
    # ... and from beneficiaries whose unrelated payers elsewhere are at least half
    # suspicious: a facilitator's; not a popular freelancer's or shop's, paid elsewhere
    # by one suspicious client among many ordinary ones (the share, not the count,
    # tells, as for N2). In that share a payer showing only some of the pattern counts
    # half, as in the beneficiary's N6: an offender spread over institutions shows part
    # of the pattern at each, so a facilitator's payers elsewhere are often one strongly
    # suspicious and the others light.
    flagged = shared.filter(
        (shared.elsewhere_suspicious_payers > 0)
        & (2 * shared.elsewhere_weighted_payers >= shared.elsewhere_payers)
    )
    return (
        unrelated.join(flagged, unrelated.beneficiary_id == flagged.party_id)
        .group_by("sender_id")
        .aggregate(
            elsewhere_flagged_beneficiaries=ibis._.beneficiary_id.nunique(),
            elsewhere_suspicious_co_payers=ibis._.elsewhere_suspicious_payers.sum(),
        )
        .rename(party_id="sender_id")
    )
