"""Schemathesis over the API's own OpenAPI schema, logged in: whatever a caller sends, the
answer is never a server error (500). Bounded: a few examples per operation."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings

# A short run in the suite; VIGIL_SCHEMA_EXAMPLES=500 for a long one.
EXAMPLES_PER_OPERATION = int(os.environ.get("VIGIL_SCHEMA_EXAMPLES", "20"))


def _fuzz(operation, browser, failures: list[str], sent: list[int]) -> None:
    """Send EXAMPLES_PER_OPERATION generated requests for one operation."""

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        body = {k: kwargs[k] for k in ("params", "json", "data", "content") if k in kwargs}
        headers = {
            k: str(v) for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "cookie"
        }
        answer = browser.api(kwargs["method"], kwargs["url"], headers=headers, **body)
        sent.append(answer.status_code)
        if answer.status_code >= 500:
            failures.append(f"{kwargs['method']} {kwargs['url']} -> {answer.status_code}")

    call()


def test_no_operation_answers_500(app, login) -> None:
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10  # the whole API, not an empty schema
    supervisor = login("sup")
    failures: list[str] = []
    sent: list[int] = []
    for operation in operations:
        _fuzz(operation, supervisor, failures, sent)
    print(f"schemathesis: {len(sent)} requests, {len(failures)} answered 5xx")
    assert len(sent) >= len(operations)
    assert failures == []


def test_an_unexpected_error_is_logged_as_500(app, site, monkeypatch, caplog) -> None:
    from fastapi.testclient import TestClient

    from tests.web.conftest import PASSWORD, login_token
    from vigil.web import api

    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api, "list_cases", broken)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        token = login_token(client)
        client.post("/login", data={"username": "aud", "password": PASSWORD, "csrf_token": token})
        with caplog.at_level("INFO", logger="vigil.web"):
            assert client.get("/api/cases").status_code == 500
    assert any(r.getMessage().startswith("GET /api/cases 500 ") for r in caplog.records)
