"""Who may call the scoring API, what a bad payment gets back, and what is written down."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest
from typer.testing import CliRunner

from tests.api.conftest import Api, Population, payment_like
from vigil.api.keys import key_hash, revoke_key
from vigil.cases import audit
from vigil.cli import app


@pytest.fixture
def payment(population: Population) -> dict[str, str]:
    return payment_like(population, channel="online_remittance")


def test_without_a_valid_key_the_answer_is_401(api: Api, payment: dict) -> None:
    no_header = api.client.post("/api/v1/score", json=payment)
    wrong = api.score(payment, key="vgk_" + "x" * 43)
    basic = api.client.post(
        "/api/v1/score", json=payment, headers={"Authorization": f"Basic {api.key}"}
    )
    for answer in (no_header, wrong, basic):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
    # the key is checked before the body: an unauthenticated bad body is 401 too
    garbage = api.client.post("/api/v1/score", content=b"{not json")
    assert garbage.status_code == 401


def test_a_revoked_key_is_refused_at_once(api: Api, payment: dict) -> None:
    assert api.score(payment).status_code == 200
    revoke_key(api.store, "gateway")
    assert api.score({**payment, "txn_id": "AFTER-REVOKE"}).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "12,50"}, "amount"),
        ({"amount": "1.23456"}, "amount"),
        ({"ts": "2025-03-01 21:00"}, "ts"),
        ({"ts": "2025-02-30T21:00:00+08:00"}, "ts"),
        ({"sender_country": "XX"}, "sender_country"),
        ({"beneficiary_country": "Philippines"}, "beneficiary_country"),
        ({"currency": "ABC"}, "currency"),
        ({"currency": "XAU"}, "currency"),  # ISO 4217, but no exchange rate
        ({"channel": "pigeon"}, "channel"),
        ({"sender_id": ""}, "sender_id"),
        ({"txn_id": None}, "txn_id"),
        ({"record": "perhaps"}, "record"),
    ],
)
def test_a_bad_payment_gets_422_naming_the_field(
    api: Api, payment: dict, change: dict, field: str
) -> None:
    answer = api.score({**payment, **change})
    assert answer.status_code == 422
    fields = [e["loc"][-1] for e in answer.json()["detail"]]
    assert field in fields


def test_a_missing_field_is_named(api: Api, payment: dict) -> None:
    answer = api.score({k: v for k, v in payment.items() if k != "beneficiary_id"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "beneficiary_id"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"null", "application/json", 422),
        (b"", "application/json", 422),
        (b'{"txn_id": {"a": 1}}', "application/json", 422),
        (b"<Document/>", "application/xml", 422),
        (b"txn_id=1", "application/x-www-form-urlencoded", 415),
        ("é".encode("latin-1"), "application/json", 422),
    ],
)
def test_garbage_never_gets_a_500(api: Api, body: bytes, content_type: str, status: int) -> None:
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": content_type}
    answer = api.client.post("/api/v1/score", content=body, headers=headers)
    assert answer.status_code == status


def test_every_decision_is_audited_without_names(api: Api, payment: dict) -> None:
    body = api.score(payment).json()
    entry = audit.entries(api.store, limit=1)[0]
    assert entry.actor == "api-key:gateway"
    assert entry.action == "payment_scored"
    assert entry.target == f"payment:{payment['txn_id']}"
    detail = audit.detail_of(entry)
    assert detail["decision"] == body["decision"]
    written = entry.target + json.dumps(detail)
    for personal in ("sender_name", "beneficiary_name", "sender_id", "beneficiary_id"):
        assert payment[personal] not in written
    assert audit.verify(api.store).ok


def test_record_true_keeps_the_payment_for_the_next_scan(api: Api, payment: dict) -> None:
    api.score({**payment, "record": True})
    api.score({**payment, "txn_id": "NOT-KEPT"})
    files = list((api.workspace.parent / "recorded").glob("*.csv"))
    assert len(files) == 1
    rows = list(csv.DictReader(files[0].open(encoding="utf-8")))
    assert [r["txn_id"] for r in rows] == [payment["txn_id"]]
    assert rows[0]["amount"] == payment["amount"]
    assert rows[0]["ts"] == payment["ts"]


def test_api_keys_are_shown_once_and_stored_as_a_hash(api: Api, payment: dict) -> None:
    runner = CliRunner()
    workspace = str(api.workspace)
    created = runner.invoke(
        app, ["api-keys", "create", "--name", "bank-2", "--workspace", workspace]
    )
    assert created.exit_code == 0, created.output
    key = created.output.split()[-1]
    assert api.score(payment, key=key).status_code == 200
    listed = runner.invoke(app, ["api-keys", "list", "--workspace", workspace])
    assert "bank-2" in listed.output and key not in listed.output
    with sqlite3.connect(api.workspace.parent / "cases.sqlite") as con:
        everything = "\n".join(con.iterdump())
    assert key not in everything and key_hash(key) in everything
    again = runner.invoke(app, ["api-keys", "create", "--name", "bank-2", "--workspace", workspace])
    assert again.exit_code == 2 and "exists already" in again.output
    revoked = runner.invoke(
        app, ["api-keys", "revoke", "--name", "bank-2", "--workspace", workspace]
    )
    assert revoked.exit_code == 0
    assert api.score({**payment, "txn_id": "LATER"}, key=key).status_code == 401
