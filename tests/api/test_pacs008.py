"""POST /api/v1/score with a pacs.008 message: what a bank's payment system sends as it is."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.api.conftest import Api, Population, payment_like
from tests.api.test_score import _scores
from tests.builders import write_pacs008
from vigil.api.router import MAX_BODY_BYTES
from vigil.cases import audit

XML = "application/xml"


def as_pacs008(tmp_path: Path, *payments: dict) -> bytes:
    return write_pacs008(tmp_path / "message.xml", payments).read_bytes()


def post(api: Api, body: bytes, *, key: str | None = "", query: str = "", content_type=XML):
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key or api.key}"
    return api.client.post(f"/api/v1/score{query}", content=body, headers=headers)


def one_error(answer) -> dict:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    return error


@pytest.fixture
def offenders_payment(population: Population) -> dict:
    offender, _score = _scores(population, "sender", "offender").row(0)
    # pacs.008 carries no channel: the reader takes it for a bank transfer
    return {**payment_like(population, sender_id=offender), "channel": "bank_transfer"}


@pytest.fixture
def workers_payment(population: Population) -> dict:
    workers = _scores(population, "sender", "overseas_worker")
    worker, _score = workers.row(workers.height - 1)
    return {**payment_like(population, sender_id=worker), "channel": "bank_transfer"}


@pytest.mark.parametrize(
    ("which", "decision"), [("offenders_payment", "hold"), ("workers_payment", "allow")]
)
def test_a_pacs008_gets_the_answer_of_the_same_payment_as_json(
    api: Api, tmp_path: Path, request: pytest.FixtureRequest, which: str, decision: str
) -> None:
    payment = request.getfixturevalue(which)
    as_json = api.score(payment)
    for content_type in (XML, "application/pacs.008+xml; charset=utf-8"):
        as_xml = post(api, as_pacs008(tmp_path, payment), content_type=content_type)
        assert as_xml.status_code == 200, as_xml.text
        assert as_xml.json() == as_json.json()
    assert as_json.json()["decision"] == decision


def test_a_pacs008_decision_is_audited_and_recorded_on_request(
    api: Api, tmp_path: Path, offenders_payment: dict
) -> None:
    body = post(api, as_pacs008(tmp_path, offenders_payment), query="?record=true").json()

    entry = audit.entries(api.store, limit=1)[0]
    assert (entry.actor, entry.action) == ("api-key:gateway", "payment_scored")
    assert entry.target == f"payment:{offenders_payment['txn_id']}"
    assert audit.detail_of(entry) == {
        "decision": body["decision"],
        "score": round(body["score"], 4),
        "recorded": True,
    }
    assert offenders_payment["sender_name"] not in str(audit.detail_of(entry))
    assert audit.verify(api.store).ok
    [recorded] = (api.workspace.parent / "recorded").glob("*.csv")
    [row] = csv.DictReader(recorded.open(encoding="utf-8"))
    for column in ("txn_id", "ts", "sender_id", "beneficiary_id", "amount", "currency"):
        assert row[column] == offenders_payment[column]


def test_without_record_a_pacs008_is_not_kept(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    assert post(api, as_pacs008(tmp_path, workers_payment)).status_code == 200
    assert audit.detail_of(audit.entries(api.store, limit=1)[0])["recorded"] is False
    assert not (api.workspace.parent / "recorded").exists()


def test_the_key_is_checked_before_the_message(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    good = as_pacs008(tmp_path, workers_payment)
    for body in (good, b"<Document><broken", b"x" * (MAX_BODY_BYTES + 1)):
        assert post(api, body, key=None).status_code == 401
        assert post(api, body, key="vgk_" + "x" * 43).status_code == 401
    assert post(api, good, key=None, query="?record=perhaps").status_code == 401
    assert audit.entries(api.store, limit=1)[0].action != "payment_scored"


def test_a_message_without_a_credit_transfer_is_422(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    text = as_pacs008(tmp_path, workers_payment).decode()
    start, end = text.index("<CdtTrfTxInf>"), text.index("</CdtTrfTxInf>")
    empty = text[:start] + text[end + len("</CdtTrfTxInf>") :]

    error = one_error(post(api, empty.encode()))

    assert error["loc"] == ["body"]
    assert "holds no credit transfer (CdtTrfTxInf)" in error["msg"]


def test_a_message_with_two_credit_transfers_is_422(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    second = {**workers_payment, "txn_id": "NEW-2"}

    error = one_error(post(api, as_pacs008(tmp_path, workers_payment, second)))

    assert "holds 2 credit transfers" in error["msg"]
    assert "one payment per request" in error["msg"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<Document><FIToFICstmrCdtTrf><GrpHdr>", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (b"\xff\xfe<a", "not well-formed XML"),
        (b"<Document><Something/></Document>", "no pacs.008, pain.001, camt.053 or camt.054"),
        (
            (
                Path(__file__).resolve().parents[3]
                / "shared/iso20022/samples/genkgo_camt054.v8.xml"
            ).read_bytes(),
            "camt.054.001.08: the scoring API reads one pacs.008",
        ),
    ],
    ids=["truncated", "empty", "not-text", "no-message", "a-camt"],
)
def test_what_is_no_pacs008_is_422_saying_why(api: Api, body: bytes, expected: str) -> None:
    assert expected in one_error(post(api, body))["msg"]


def test_a_field_that_cannot_be_derived_is_named_with_its_elements(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    text = as_pacs008(tmp_path, workers_payment).decode()
    country = f"<Ctry>{workers_payment['sender_country']}</Ctry>"
    assert text.count(country) >= 1
    without = text.replace(country, "", 1)  # the debtor's comes first

    error = one_error(post(api, without.encode()))

    assert error["loc"] == ["body", "sender_country"]
    assert error["msg"].startswith("cannot be derived from the message")
    assert "Dbtr/PstlAdr/Ctry" in error["msg"]


def test_a_bad_value_in_the_message_is_named_as_in_json(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    bad = as_pacs008(tmp_path, {**workers_payment, "amount": "-5"})
    error = one_error(post(api, bad))
    assert error["loc"] == ["body", "amount"]
    assert "InstdAmt" in error["msg"]


def test_a_settlement_date_alone_is_not_a_time_to_score(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    text = as_pacs008(tmp_path, workers_payment).decode()
    start, end = text.index("<AccptncDtTm>"), text.index("</AccptncDtTm>")
    text = text[:start] + text[end + len("</AccptncDtTm>") :]
    start, end = text.index("<CreDtTm>"), text.index("</CreDtTm>")
    text = text[:start] + "<IntrBkSttlmDt>2024-01-01</IntrBkSttlmDt>" + text[end + 10 :]

    error = one_error(post(api, text.encode()))

    assert error["loc"] == ["body", "ts"]
    assert "only a settlement date" in error["msg"]


def test_a_time_without_offset_is_read_in_the_given_zone(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    local = {**workers_payment, "ts": "2025-03-01T21:00:00"}
    body = as_pacs008(tmp_path, local)

    assert post(api, body, query="?timezone=Asia/Manila&record=true").status_code == 200
    [recorded] = (api.workspace.parent / "recorded").glob("*.csv")
    assert next(csv.DictReader(recorded.open(encoding="utf-8")))["ts"] == (
        "2025-03-01T21:00:00+08:00"
    )
    error = one_error(post(api, body, query="?timezone=Mars/Olympus"))
    assert error["loc"] == ["query", "timezone"]


def test_entities_and_dtds_are_not_expanded(
    api: Api, tmp_path: Path, workers_payment: dict
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    text = as_pacs008(tmp_path, workers_payment).decode()
    prolog = text[: text.index("?>") + 2]
    name = workers_payment["sender_name"]
    external = text.replace(
        prolog, f'{prolog}<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
    ).replace(f"<Nm>{name}</Nm>", "<Nm>&x;</Nm>")
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = text.replace(prolog, f"{prolog}<!DOCTYPE d [{laughs}]>").replace(
        f"<Nm>{name}</Nm>", "<Nm>&l9;</Nm>"
    )

    for body in (external, bomb):
        answer = post(api, body.encode())
        assert answer.status_code == 422
        assert "TOPSECRET" not in answer.text and "lollol" not in answer.text


def test_a_body_over_the_limit_is_refused_unread(api: Api) -> None:
    padding = b"<!-- " + b"x" * MAX_BODY_BYTES + b" -->"
    assert post(api, padding).status_code == 413

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(5):
            yield b"x" * (MAX_BODY_BYTES // 4)

    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": XML}
    assert api.client.post("/api/v1/score", content=chunks(), headers=headers).status_code == 413


def test_the_schema_offers_both_bodies(api: Api) -> None:
    operation = api.client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/score"]["post"]
    assert {"application/json", "application/xml", "application/pacs.008+xml"} <= set(
        operation["requestBody"]["content"]
    )
    assert {p["name"] for p in operation["parameters"]} == {"record", "timezone"}
    assert {"401", "413", "415", "422"} <= set(operation["responses"])
