"""What the scoring API knows of every party, held in memory: loaded from a scanned
workspace at start and again after each scan, never read from tables per request.

The workspace file is opened read-only only while loading, so a scan can write to it while
the API serves; `StateHolder.refresh_if_changed` swaps in the new state once it has.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vigil.errors import VigilError
from vigil.ingest.fx import FxRates, load_fx_rates
from vigil.workspace import Workspace

log = logging.getLogger("vigil.api")

# A party's own reasons are kept when its score reaches this: below it a party adds under
# 0.1 points to a payment, and keeping every party's reasons would cost memory for nothing.
REASONS_FROM_SCORE = 0.1
REASONS_PER_PARTY = 3


@dataclass(frozen=True)
class PartyReason:
    indicator: str
    share: float  # of the party's score
    statement: str


@dataclass
class PartyState:
    """Scores, watchlist hits and payer links of every party of one scanned workspace."""

    sender_index: dict[str, int]
    sender_score: np.ndarray
    beneficiary_index: dict[str, int]
    beneficiary_score: np.ndarray
    beneficiary_suspicious_payers: np.ndarray
    # hash((sender_id, beneficiary_id)) of every pair that has paid: Python's own hash, so
    # only valid in the process that loaded it (which is the only one that reads it).
    pairs: set[int]
    watchlisted: set[tuple[str, str]]
    reasons: dict[tuple[str, str], tuple[PartyReason, ...]]
    reporting_currency: str
    fx: FxRates
    scanned_payments: int
    version: str = field(default="")

    def sender(self, party_id: str) -> float | None:
        i = self.sender_index.get(party_id)
        return None if i is None else float(self.sender_score[i])

    def beneficiary(self, party_id: str) -> tuple[float, int] | None:
        i = self.beneficiary_index.get(party_id)
        if i is None:
            return None
        return float(self.beneficiary_score[i]), int(self.beneficiary_suspicious_payers[i])

    def has_paid(self, sender_id: str, beneficiary_id: str) -> bool:
        return hash((sender_id, beneficiary_id)) in self.pairs


def workspace_version(path: Path) -> str:
    """Changes whenever a scan has written the workspace file."""
    stat = path.stat()
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def load_state(path: Path, *, fx_rates: Path | None = None) -> PartyState:
    path = Path(path)
    version = workspace_version(path) if path.is_file() else ""
    with Workspace.open(path, read_only=True) as ws:
        if not ws.has_table("alerts"):
            raise VigilError(f"{path}: this workspace has not been scanned yet")
        sender_ids, sender_score = _scores(ws, "SELECT party_id, score FROM sender_scores")
        beneficiaries = ws.con.execute(
            "SELECT party_id, score, coalesce(suspicious_payers, 0) AS payers "
            "FROM beneficiary_scores"
        ).fetchnumpy()
        pairs = ws.con.execute("SELECT sender_id, beneficiary_id FROM pair_features").fetchall()
        listed = ws.con.execute(
            "SELECT DISTINCT party_kind, party_id FROM watchlist_matches"
        ).fetchall()
        reasons = _reasons(ws)
        reporting = ws.meta_get("reporting_currency", "USD") or "USD"
        scanned = int(ws.meta_get("scanned_payments", "0") or 0)
    beneficiary_ids = beneficiaries["party_id"].tolist()
    return PartyState(
        sender_index={p: i for i, p in enumerate(sender_ids)},
        sender_score=sender_score,
        beneficiary_index={p: i for i, p in enumerate(beneficiary_ids)},
        beneficiary_score=np.asarray(beneficiaries["score"], dtype=np.float64),
        beneficiary_suspicious_payers=np.asarray(beneficiaries["payers"], dtype=np.int64),
        pairs={hash(p) for p in pairs},
        watchlisted=set(listed),
        reasons=reasons,
        reporting_currency=reporting,
        fx=load_fx_rates(fx_rates),
        scanned_payments=scanned,
        version=version,
    )


def _scores(ws: Workspace, sql: str) -> tuple[list[str], np.ndarray]:
    columns = ws.con.execute(sql).fetchnumpy()
    return columns["party_id"].tolist(), np.asarray(columns["score"], dtype=np.float64)


def _reasons(ws: Workspace) -> dict[tuple[str, str], tuple[PartyReason, ...]]:
    rows = ws.con.execute(
        f"""WITH scored AS (
            SELECT 'sender' AS party_kind, party_id, score FROM sender_scores
            WHERE score >= {REASONS_FROM_SCORE}
            UNION ALL
            SELECT 'beneficiary', party_id, score FROM beneficiary_scores
            WHERE score >= {REASONS_FROM_SCORE}
        ),
        ranked AS (
            SELECT h.party_kind, h.party_id, h.indicator, h.contribution / s.score AS share,
                   row_number() OVER (PARTITION BY h.party_kind, h.party_id
                                      ORDER BY h.contribution DESC, h.indicator) AS n
            FROM indicator_hits h JOIN scored s USING (party_kind, party_id)
        )
        SELECT r.party_kind, r.party_id, r.indicator, r.share, c.statement
        FROM ranked r JOIN indicator_catalogue c USING (party_kind, indicator)
        WHERE r.n <= {REASONS_PER_PARTY}
        ORDER BY r.party_kind, r.party_id, r.n"""
    ).fetchall()
    out: dict[tuple[str, str], list[PartyReason]] = {}
    for kind, party, indicator, share, statement in rows:
        out.setdefault((kind, party), []).append(PartyReason(indicator, float(share), statement))
    return {key: tuple(value) for key, value in out.items()}


class StateHolder:
    """The current state; `refresh_if_changed` replaces it after a scan, whole, so a request
    sees either the old state or the new one."""

    def __init__(self, path: Path, *, fx_rates: Path | None = None) -> None:
        self.path = Path(path)
        self.fx_rates = fx_rates
        self.state = load_state(self.path, fx_rates=fx_rates)
        self._lock = threading.Lock()
        settle_memory()

    def refresh_if_changed(self) -> bool:
        """Reloads when the workspace file changed since the last load; True when it did.
        While a scan holds the file (it cannot be opened read-only), the old state stays."""
        with self._lock:
            try:
                if workspace_version(self.path) == self.state.version:
                    return False
                self.state = load_state(self.path, fx_rates=self.fx_rates)
            except (OSError, VigilError) as error:
                log.info("scoring state kept: the workspace cannot be read now (%s)", type(error))
                return False
            log.info("scoring state reloaded")
        settle_memory()
        return True


def settle_memory() -> None:
    """Puts every object alive now (the state just loaded, the modules imported) beyond the
    garbage collector's full passes, which would otherwise walk them all: a pause of tens of
    milliseconds in the middle of some request. They are still freed once unreferenced."""
    gc.collect()
    gc.freeze()
