"""`POST /api/v1/score`: one payment in, its score, decision and reasons out.

The payment comes as JSON in the canonical column names or as one pacs.008 message holding
one credit transfer (read by ingest's ISO 20022 reader); either way it is the same PaymentIn,
checked, scored, audited and recorded alike. Machines authenticate with
`Authorization: Bearer KEY` (`vigil api-keys create`). Answers: 200 with the decision; 401
without a valid key; 413 for a body over MAX_BODY_BYTES; 415 for another content type; 422
naming the offending field of a bad payment, or what makes a message not one payment.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from vigil.api.iso import MessageProblem, pacs008_payment, where
from vigil.api.payment import PaymentIn
from vigil.api.service import ScoringService

JSON_TYPES = frozenset({"application/json", ""})
XML_TYPES = frozenset({"application/xml", "text/xml", "application/pacs.008+xml"})
# A JSON payment is at most a few kB and the fullest pacs.008 sample with one transaction
# (every optional element filled) is 40 kB: a larger body is refused before it is parsed.
MAX_BODY_BYTES = 256 << 10

router = APIRouter(prefix="/api/v1", tags=["scoring"])


class ReasonOut(BaseModel):
    indicator: str
    party: Literal["sender", "beneficiary", "payment"]
    statement: str
    contribution: float


class PartyOut(BaseModel):
    party_id: str
    score: float | None  # null: a party the workspace has not seen yet


class SenderOut(PartyOut):
    # FIU mode: the reporter the payment named (left out of the answer when none was)
    reporter: str | None = None


class ScoreOut(BaseModel):
    txn_id: str
    score: float
    decision: Literal["allow", "review", "hold"]
    reasons: list[ReasonOut]
    sender: SenderOut
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


def _too_large() -> HTTPException:
    return HTTPException(
        status_code=413, detail=f"the body is larger than {MAX_BODY_BYTES >> 10} kB"
    )


async def read_body(request: Request) -> bytes:
    """The body, or 413 as soon as it is known to exceed MAX_BODY_BYTES (by its
    Content-Length, else while it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _problem(loc: tuple[str, ...], message: str, value: object = None) -> RequestValidationError:
    return _invalid([{"type": "value_error", "loc": loc, "msg": message, "input": value}])


def _from_message(body: bytes, timezone: str | None) -> PaymentIn:
    """The one credit transfer of a pacs.008 body, checked by PaymentIn as JSON is; each
    error names the canonical column and the elements it comes from."""
    try:
        values = pacs008_payment(body, timezone)
    except MessageProblem as problem:
        raise _problem((problem.field,) if problem.field else (), str(problem)) from None
    try:
        return PaymentIn.model_validate(values)
    except ValidationError as error:
        errors = []
        for e in error.errors(include_url=False):
            field = str(e["loc"][0]) if e["loc"] else ""
            if e["type"] == "missing":  # pydantic's input is then the whole payment
                e = {**e, "type": "value_error", "msg": "cannot be derived from the message"}
                e["input"] = None
            errors.append({**e, "msg": e["msg"] + where(field)})
        raise _invalid(errors) from None


def parse_payment(
    body: bytes,
    content_type: str,
    service: ScoringService,
    *,
    record: bool = False,
    timezone: str | None = None,
) -> PaymentIn:
    """The payment, or 415 / 422 (with the field's name in `loc`). `record` (the query
    parameter) records it as `"record": true` in a JSON body does."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in XML_TYPES:
        payment = _from_message(body, timezone)
    elif media_type in JSON_TYPES:
        try:
            payment = PaymentIn.model_validate_json(body)
        except ValidationError as error:
            raise _invalid(error.errors(include_url=False)) from None
    else:
        raise HTTPException(
            status_code=415,
            detail="send the payment as JSON (Content-Type: application/json) in the canonical "
            "column names, or as one pacs.008 message (Content-Type: application/xml)",
        )
    if not service.knows_currency(payment.currency):
        raise _problem(("currency",), "no exchange rate for currency", payment.currency)
    if record and not payment.record:
        payment = payment.model_copy(update={"record": True})
    return payment


def _time_zone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        error = {"type": "value_error", "loc": ("query", "timezone"), "input": name}
        raise RequestValidationError(
            [{**error, "msg": "not an IANA time zone (e.g. Europe/London)"}]
        ) from None
    return name


_XML_BODY = {
    "schema": {
        "type": "string",
        "description": "One ISO 20022 pacs.008 message (versions 02, 08, 12; bare Document "
        "or inside a SWIFT / FedNow envelope) holding exactly one CdtTrfTxInf. Mapped "
        "onto the canonical columns as `vigil scan` maps it (shared/iso20022/README.md); "
        "channel is bank_transfer. No DTD, entity or network access; at most "
        f"{MAX_BODY_BYTES >> 10} kB.",
    }
}


@router.post(
    "/score",
    response_model=ScoreOut,
    response_model_exclude_unset=True,  # every field is always set but a sender's reporter
    responses={
        401: {"description": "no valid API key (checked before the body is read)"},
        413: {"description": f"a body over {MAX_BODY_BYTES >> 10} kB"},
        415: {"description": "neither JSON nor XML"},
        422: {
            "description": "a bad payment (`loc` names the canonical column), or a pacs.008 "
            "body that is not well-formed or does not hold exactly one credit transfer"
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": PaymentIn.model_json_schema()},
                "application/xml": _XML_BODY,
                "application/pacs.008+xml": _XML_BODY,
            },
        }
    },
)
async def score(
    request: Request,
    key: Annotated[str, Depends(api_key)],
    record: Annotated[
        bool,
        Query(description='append the payment for the next scan, as `"record": true` in JSON'),
    ] = False,
    timezone: Annotated[
        str | None,
        Query(
            max_length=64,
            description="pacs.008 only: the time zone of a date-time written without an "
            "offset (default UTC), as `vigil scan --timezone`",
        ),
    ] = None,
) -> dict:
    """Score one payment before it leaves: its risk given both parties' current state and
    what this payment adds; `decision` is allow, review or hold (thresholds: scoring.yaml).
    The key is checked before the body is read: without one, every request gets 401."""
    service = _service(request)
    payment = parse_payment(
        await read_body(request),
        request.headers.get("content-type", ""),
        service,
        record=record,
        timezone=_time_zone(timezone),
    )
    result = service.score(payment, key)
    if result is None:  # revoked since the key was checked
        raise _unauthorised()
    return result.to_dict()
