"""`POST /api/v1/score`: one payment in, its score, decision and reasons out.

Machines authenticate with `Authorization: Bearer KEY` (`vigil api-keys create`). Answers:
200 with the decision; 401 without a valid key; 422 naming the offending field of a bad
payment; 415 for a body that is not JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from vigil.api.payment import PaymentIn
from vigil.api.service import ScoringService

router = APIRouter(prefix="/api/v1", tags=["scoring"])


class ReasonOut(BaseModel):
    indicator: str
    party: Literal["sender", "beneficiary", "payment"]
    statement: str
    contribution: float


class PartyOut(BaseModel):
    party_id: str
    score: float | None  # null: a party the workspace has not seen yet


class ScoreOut(BaseModel):
    txn_id: str
    score: float
    decision: Literal["allow", "review", "hold"]
    reasons: list[ReasonOut]
    sender: PartyOut
    beneficiary: PartyOut


def _service(request: Request) -> ScoringService:
    return request.app.state.scoring


def _unauthorised() -> HTTPException:
    return HTTPException(
        status_code=401,
        detail="a valid API key is required (Authorization: Bearer KEY)",
        headers={"WWW-Authenticate": "Bearer"},
    )


async def api_key(request: Request) -> str:
    """The request's active key; 401 before anything else is looked at."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or _service(request).caller(key) is None:
        raise _unauthorised()
    return key


def _invalid(errors: list[dict[str, Any]]) -> RequestValidationError:
    """FastAPI's own shape (`loc` starts with "body"); a body that is not text is echoed
    with its bad bytes replaced, never decoded into a 500."""
    return RequestValidationError(
        [
            {
                **e,
                "loc": ("body", *e["loc"]),
                "input": e["input"].decode("utf-8", "replace")
                if isinstance(e.get("input"), bytes)
                else e.get("input"),
            }
            for e in errors
        ]
    )


def parse_payment(body: bytes, content_type: str, service: ScoringService) -> PaymentIn:
    """The payment, or 415 / 422 (with the field's name in `loc`)."""
    if content_type.split(";")[0].strip().lower() not in ("application/json", ""):
        raise HTTPException(
            status_code=415,
            detail="send the payment as JSON (Content-Type: application/json) in the canonical "
            "column names; pacs.008 XML is not read yet",
        )
    try:
        payment = PaymentIn.model_validate_json(body)
    except ValidationError as error:
        raise _invalid(error.errors(include_url=False)) from None
    if not service.knows_currency(payment.currency):
        raise _invalid(
            [
                {
                    "type": "value_error",
                    "loc": ("currency",),
                    "msg": "no exchange rate for currency",
                    "input": payment.currency,
                }
            ]
        )
    return payment


@router.post(
    "/score",
    response_model=ScoreOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentIn.model_json_schema()}},
        }
    },
)
async def score(request: Request, key: Annotated[str, Depends(api_key)]) -> dict:
    """Score one payment before it leaves: its risk given both parties' current state and
    what this payment adds; `decision` is allow, review or hold (thresholds: scoring.yaml).
    The key is checked before the body is read: without one, every request gets 401."""
    service = _service(request)
    payment = parse_payment(await request.body(), request.headers.get("content-type", ""), service)
    result = service.score(payment, key)
    if result is None:  # revoked since the key was checked
        raise _unauthorised()
    return result.to_dict()
