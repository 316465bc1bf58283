"""Closed cases' dispositions as labels for later learning, in labels.csv's shape.

confirmed → `offender` (a sender) or `facilitator` (a beneficiary); false_positive →
`legitimate:<reason>`; legitimate → the population named (e.g. "overseas worker family
support"); duplicate → no label (the other case carries it). A party closed in several
cases takes the disposition of the latest closing.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
from sqlalchemy import select

from vigil.cases.models import Case, CaseEvent, CaseParty
from vigil.cases.store import CaseStore
from vigil.reports.safe_csv import write_safe_csv

LABEL_COLUMNS = ("party_kind", "party_id", "role", "source")
CONFIRMED_ROLE = {"sender": "offender", "beneficiary": "facilitator"}


def dispositions_as_labels(store: CaseStore) -> list[dict[str, str]]:
    """One row per labelled party: party_kind, party_id, role, source (the case reference)."""
    query = (
        select(CaseParty.party_kind, CaseParty.party_id, Case)
        .join(Case, Case.id == CaseParty.case_id)
        .join(CaseEvent, (CaseEvent.case_id == Case.id) & (CaseEvent.to_status == "closed"))
        .where(Case.status == "closed", Case.disposition != "duplicate")
        .order_by(CaseEvent.at, Case.id)  # a case closes once: closed is final
    )
    latest: dict[tuple[str, str], dict[str, str]] = {}
    with store.session() as session:
        for kind, party_id, case in session.execute(query):
            role = _role(kind, case)
            if role is not None:
                latest[(kind, party_id)] = {
                    "party_kind": kind,
                    "party_id": party_id,
                    "role": role,
                    "source": case.reference,
                }
    return [latest[key] for key in sorted(latest)]


def write_labels_csv(store: CaseStore, out: Path) -> int:
    """Write the labels as CSV (spreadsheet-safe); returns the number of rows."""
    rows = dispositions_as_labels(store)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(LABEL_COLUMNS, pl.String))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_safe_csv(frame, out)
    return frame.height


def _role(kind: str, case: Case) -> str | None:
    if case.disposition == "confirmed":
        return CONFIRMED_ROLE[kind]
    if case.disposition == "false_positive":
        return f"legitimate:{case.disposition_reason}"
    if case.disposition == "legitimate":
        return case.legitimate_population
    return None
