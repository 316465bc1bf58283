"""The case store's tables as SQLAlchemy 2 typed declarative models.

Users are referred to by username (`created_by`, `actor`, `assignee`...): users are
disabled, never deleted, so a name in a case or the audit trail always means one person.
Times are timezone-aware UTC in Python and naive UTC in the database (the same on SQLite
and PostgreSQL, so an audit entry hashes the same wherever it is read).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

PARTY_KINDS = ("sender", "beneficiary")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes stored as naive UTC, read back as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the case store keeps timezone-aware times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disposition: Mapped[str | None] = mapped_column(String(20))
    disposition_reason: Mapped[str | None] = mapped_column(Text)
    legitimate_population: Mapped[str | None] = mapped_column(String(200))

    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        order_by="(CaseParty.party_kind, CaseParty.party_id)",
    )
    notes: Mapped[list[CaseNote]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseNote.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.id"
    )


class CaseParty(Base):
    __tablename__ = "case_parties"
    __table_args__ = (Index("ix_case_parties_party", "party_kind", "party_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    party_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="parties")


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="notes")


class CaseEvent(Base):
    """One status change of a case (`from_status` is None for its creation)."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    case: Mapped[Case] = relationship(back_populates="events")


class AlertState(Base):
    """Triage state of one alert (a scored party); no row means `new`."""

    __tablename__ = "alert_states"

    party_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """One link of the hash chain. `seq` is given by `audit.record` (last + 1), not by the
    database, because it is part of the hashed content; `prev_hash` is unique, so two
    entries can never claim the same predecessor."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("prev_hash", name="uq_audit_entries_prev_hash"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), index=True)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON of a dict
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiKey(Base):
    """A machine's key for the scoring API. Only the key's SHA-256 is kept: a key is 256
    random bits, so a fast hash cannot be brute-forced and checking one costs microseconds
    (a password, guessable, needs argon2 instead)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown by `list` to tell keys apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EntityDecision(Base):
    """An analyst's word on a merge entity resolution made: "not the same person". Every
    later scan keeps the two parties apart. One row per pair (left_id < right_id); the
    audit trail holds who said so and when, this row the latest word."""

    __tablename__ = "entity_decisions"

    party_kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    left_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    right_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    decision: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
