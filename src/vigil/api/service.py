"""The scoring service behind `POST /api/v1/score`: state, rules, keys, audit, recording."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event

from vigil.api.config import ScoringConfig, load_scoring_config
from vigil.api.decisions import audit_decision
from vigil.api.keys import active_key_name, key_hash
from vigil.api.payment import PaymentIn
from vigil.api.record import Recorder
from vigil.api.score import ScoredPayment, score_payment
from vigil.api.state import StateHolder
from vigil.cases.store import CaseStore
from vigil.indicators.catalogue import Catalogue, load_catalogue

ACTOR_PREFIX = "api-key:"
AUDIT_ACTION = "payment_scored"
REFRESH_SECONDS = 30.0


@dataclass
class ScoringService:
    holder: StateHolder
    catalogue: Catalogue
    config: ScoringConfig
    store: CaseStore
    recorder: Recorder

    @classmethod
    def open(
        cls,
        workspace: Path,
        database_url: str,
        *,
        scoring_config: Path | None = None,
        catalogue: Path | None = None,
        fx_rates: Path | None = None,
    ) -> ScoringService:
        return cls(
            holder=StateHolder(workspace, fx_rates=fx_rates),
            catalogue=load_catalogue(catalogue),
            config=load_scoring_config(scoring_config),
            store=open_decision_store(database_url),
            recorder=Recorder(workspace),
        )

    def __post_init__(self) -> None:
        # key hash -> actor of keys seen active; each decision checks again, in the audit
        # entry's own transaction, that its key is still active (a revocation holds at once).
        self._known: dict[str, str] = {}

    def caller(self, key: str) -> str | None:
        """The audit actor of an active key, or None."""
        actor = self._known.get(key_hash(key))
        if actor is not None:
            return actor
        with self.store.session() as session:
            name = active_key_name(session, key)
        if name is None:
            return None
        self._known[key_hash(key)] = actor = ACTOR_PREFIX + name
        return actor

    def knows_currency(self, currency: str) -> bool:
        return currency in self.holder.state.fx.currencies

    def score(self, payment: PaymentIn, key: str) -> ScoredPayment | None:
        """Scores, records if asked, and audits the decision before it is answered: who,
        the txn_id and the decision, no names, no amounts. None: the key was revoked."""
        result = score_payment(payment, self.holder.state, self.catalogue.parameters, self.config)
        detail = {
            "decision": result.decision,
            "score": round(result.score, 4),
            "recorded": payment.record,
        }
        target = f"payment:{payment.txn_id}"
        if audit_decision(self.store, key, ACTOR_PREFIX, AUDIT_ACTION, target, detail) is None:
            self._known.pop(key_hash(key), None)
            return None
        if payment.record:
            self.recorder.append(payment)
        return result


def open_decision_store(database_url: str) -> CaseStore:
    """The case store on connections of its own whose commits do not wait for the disk.

    A decision is answered only after its audit entry is committed, and a commit that waits
    for the disk (fsync) takes 5-15 ms here: more than the whole answer may. SQLite in WAL
    mode with synchronous=NORMAL (PostgreSQL: synchronous_commit off) still never loses or
    breaks a committed entry when the process dies; only a power cut or an operating system
    crash can lose the last entries committed before it, and the hash chain stays intact.
    The web app's own connections keep the default, waiting for the disk.
    """
    store = CaseStore.open(database_url)
    statement = (
        "PRAGMA synchronous = NORMAL"
        if store.dialect == "sqlite"
        else "SET synchronous_commit TO off"
    )

    @event.listens_for(store.engine, "connect")
    def _no_disk_wait(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    store.engine.dispose()  # the migration's connection predates the listener
    return store


class Refresher:
    """Polls the workspace and reloads the state after a scan has written it."""

    def __init__(self, holder: StateHolder, every: float = REFRESH_SECONDS) -> None:
        self.holder, self.every = holder, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vigil-state", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.holder.refresh_if_changed()
