"""A goAML suspicious transaction report for one party, validated against the FIU's XSD.

The report mirrors UNODC's goAML 5.0.1 structure: the header from the FIU config, a `reason`
written from Vigil's explanation (the indicators that fired, with their figures and
sources, in plain sentences), one `<transaction>` per payment of the suspect, and the
`report_indicators` the config maps the fired indicators to.

Who is written where. Vigil's workspace holds payments as a payment institution sees them:
its customer is the sender. goAML's "my client" blocks (`t_from_my_client`, with
`t_person_my_client` or `t_account_my_client`) require know-your-customer data that a
payments file does not carry (birth date, ID number, phones, occupation, account opening
date), and Vigil does not invent it. So every payment is written with the blocks the XSD
allows from the facts at hand: `t_from` with the sender as `from_person` and `from_country`,
and `t_to` with the beneficiary as `to_person` (the account or wallet id and city in the
person's `comments`) and `to_country`; the same whether the suspect is the sender or the
beneficiary (the beneficiary is always `t_to`). The sender's customer id is in the
sender's `comments` and the reason says which party is suspected.

Amounts: `amount_local` is in the config's local currency; a payment in another currency
keeps its original amount, currency and the rate used in `from_foreign_currency`. Dates are
UTC, `YYYY-MM-DDTHH:MM:SS`; a date before the schema's floor (1753-01-01) is an error,
never clamped. Text longer than the generic goAML 5.0.1 XSD's `maxLength` for its element
is shortened with an ellipsis and the reason says so. The report is validated with lxml
against the config's XSD before it is written; an invalid report is not written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from vigil.errors import ConfigError, VigilError
from vigil.ingest.fx import FxRates, load_fx_rates
from vigil.reports.fiu_config import FiuConfig, load_fiu_config
from vigil.reports.party import PartyFacts, load_party

DATE_FLOOR = datetime(1753, 1, 1)  # goAML's sql_date minInclusive (SQL Server datetime)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
ELLIPSIS = "…"
CENT = Decimal("0.01")
RATE_STEP = Decimal("1e-10")  # sql_decimal allows 13 fraction digits

# maxLength of the text elements Vigil writes, from the generic goAML 5.0.1 XSD.
LIMITS: dict[str, int] = {
    "rentity_branch": 255,
    "entity_reference": 255,
    "transactionnumber": 100,
    "internal_ref_number": 100,
    "transaction_location": 255,
    "transaction_description": 8000,
    "transmode_comment": 50,
    "from_funds_comment": 255,
    "to_funds_comment": 255,
    "first_name": 100,
    "last_name": 100,
    "comments": 8000,
    "reason": 8000,
    "action": 8000,
}


@dataclass
class _Shortened:
    """Which elements had to be shortened to their maxLength (for the reason's note)."""

    elements: dict[str, int] = field(default_factory=dict)

    def fit(self, element: str, text: str) -> str:
        limit = LIMITS.get(element)
        if limit is None or len(text) <= limit:
            return text
        self.elements[element] = self.elements.get(element, 0) + 1
        return text[: limit - 1].rstrip() + ELLIPSIS


def split_name(name: str) -> tuple[str, str]:
    """(first name, last name) of a person's name: "SURNAME, First" or "First Middle Last".
    A one-word name is a last name with "-" (unknown) as first name, since goAML requires
    both."""
    text = " ".join(name.split())
    if "," in text:
        last, first = (part.strip() for part in text.split(",", 1))
        if first and last:
            return first, last
        text = first or last
    if not text:
        return "-", "-"
    parts = text.split(" ")
    if len(parts) == 1:
        return "-", parts[0]
    return " ".join(parts[:-1]), parts[-1]


def goaml_date(value: datetime | date, what: str) -> str:
    """A goAML sql_date; a date before the schema's 1753-01-01 floor is an error."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value < DATE_FLOOR:
        raise VigilError(
            f"{what}: date {value.isoformat()} is before goAML's earliest date 1753-01-01"
        )
    return value.strftime(DATE_FORMAT)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


@dataclass(frozen=True)
class _Money:
    local: Decimal
    foreign: tuple[str, Decimal, Decimal] | None  # currency, amount, local per unit


def _money(payment: dict[str, Any], facts: PartyFacts, local: str, fx: FxRates | None) -> _Money:
    amount = Decimal(str(payment["amount"]))
    currency = payment["currency"]
    if currency == local:
        return _Money(amount, None)
    if local == facts.reporting_currency and payment["amount_reporting"] is not None:
        value = Decimal(str(payment["amount_reporting"])).quantize(CENT, ROUND_HALF_UP)
    else:
        fx = fx or load_fx_rates()
        year = payment["ts_utc"].year
        try:
            rate = Decimal(str(fx.rate(currency, year, reporting=local)))
        except KeyError as error:
            raise VigilError(
                f"payment {payment['txn_id']}: no exchange rate from {currency} to the "
                f"FIU's local currency {local} ({fx.source})"
            ) from error
        value = (amount * rate).quantize(CENT, ROUND_HALF_UP)
    rate = (value / amount).quantize(RATE_STEP, ROUND_HALF_UP) if amount else Decimal(0)
    return _Money(value, (currency, amount, rate))


def _sentence(text: str) -> str:
    text = " ".join(str(text).split()).rstrip(".")
    return f"{text}." if text else ""


def reason_text(facts: PartyFacts, total_local: Decimal, local: str) -> str:
    """Why the party is reported, in plain sentences from Vigil's explanation."""
    kind = facts.kind
    plural = "senders" if kind == "sender" else "beneficiaries"
    sentences = [
        f"Vigil ranked this {kind}, {facts.name} ({facts.party_id}, {facts.country}), "
        f"{facts.rank:,} of {facts.parties_of_kind:,} {plural} (score {facts.score:.2f})."
    ]
    if facts.contributions.height == 0:
        sentences.append(
            "No indicator fired for this party; it is reported on the analyst's judgement."
        )
    else:
        sentences.append(f"Indicators that fired ({facts.contributions.height}):")
        for hit in facts.contributions.iter_rows(named=True):
            figures = _sentence(hit["figures"] or hit["statement"] or "").rstrip(".")
            sources = f" (sources {hit['sources']})" if hit["sources"] else ""
            sentences.append(f"{hit['indicator']} {hit['title']}: {figures}{sources}.")
    sentences.append(f"Look-alike typologies: {facts.typologies['verdict']}")
    payments = facts.payments
    first = payments["ts_utc"].min()
    last = payments["ts_utc"].max()
    role = "sent" if kind == "sender" else "received"
    sentences.append(
        f"The {payments.height:,} payment{'s' if payments.height != 1 else ''} it {role}, "
        f"listed below, total {_decimal_text(total_local.quantize(CENT))} {local} "
        f"between {first:%Y-%m-%d} and {last:%Y-%m-%d} (times in UTC)."
    )
    if kind == "beneficiary":
        sentences.append(
            "The suspect is the beneficiary (t_to) of each payment; the sender (t_from) is "
            "the institution's customer."
        )
    else:
        sentences.append(
            "The suspect is the sender (t_from) of each payment, the institution's customer."
        )
    return " ".join(sentences)


def _person(
    parent: etree._Element, tag: str, name: str, comment: str, cut: _Shortened
) -> etree._Element:
    person = _sub(parent, tag)
    first, last = split_name(name)
    _sub(person, "first_name", cut.fit("first_name", first))
    _sub(person, "last_name", cut.fit("last_name", last))
    _sub(person, "comments", cut.fit("comments", comment))
    return person


def _transaction(
    report: etree._Element,
    payment: dict[str, Any],
    money: _Money,
    config: FiuConfig,
    cut: _Shortened,
) -> None:
    txn_id = payment["txn_id"]
    codes = config.channels[payment["channel"]]
    # FIU mode keys a sender by reporter and id; the report names the customer's own id
    customer = payment.get("reporter_sender_id") or payment["sender_id"]
    tx = _sub(report, "transaction")
    _sub(tx, "transactionnumber", cut.fit("transactionnumber", txn_id))
    source = f"{Path(payment['source_file']).name} row {payment['source_row']}"
    _sub(tx, "internal_ref_number", cut.fit("internal_ref_number", source))
    _sub(
        tx,
        "transaction_location",
        cut.fit("transaction_location", f"sender's country {payment['sender_country']}"),
    )
    description = (
        f"{payment['channel'].replace('_', ' ')} payment of "
        f"{_decimal_text(Decimal(str(payment['amount'])))} {payment['currency']} from "
        f"{payment['sender_name']} ({customer}, {payment['sender_country']}) to "
        f"{payment['beneficiary_name']} ({payment['beneficiary_id']}, "
        + (f"{payment['beneficiary_city']}, " if payment["beneficiary_city"] else "")
        + f"{payment['beneficiary_country']}); sender's local time {payment['ts_local']}."
    )
    if payment["narrative"]:
        description += f" Narrative: {' '.join(str(payment['narrative']).split())}"
    _sub(tx, "transaction_description", cut.fit("transaction_description", description))
    _sub(tx, "date_transaction", goaml_date(payment["ts_utc"], f"payment {txn_id}"))
    _sub(tx, "transmode_code", codes.transmode)
    _sub(tx, "transmode_comment", cut.fit("transmode_comment", payment["channel"]))
    _sub(tx, "amount_local", _decimal_text(money.local))

    sender = _sub(tx, "t_from")
    _sub(sender, "from_funds_code", codes.funds)
    if money.foreign:
        currency, amount, rate = money.foreign
        foreign = _sub(sender, "from_foreign_currency")
        _sub(foreign, "foreign_currency_code", currency)
        _sub(foreign, "foreign_amount", _decimal_text(amount))
        _sub(foreign, "foreign_exchange_rate", _decimal_text(rate))
    _person(
        sender,
        "from_person",
        payment["sender_name"],
        f"Customer id {customer}.",
        cut,
    )
    _sub(sender, "from_country", payment["sender_country"])

    beneficiary = _sub(tx, "t_to")
    _sub(beneficiary, "to_funds_code", codes.funds)
    city = f"; city {payment['beneficiary_city']}" if payment["beneficiary_city"] else ""
    _person(
        beneficiary,
        "to_person",
        payment["beneficiary_name"],
        f"Account/wallet id {payment['beneficiary_id']}{city}.",
        cut,
    )
    _sub(beneficiary, "to_country", payment["beneficiary_country"])


def build_goaml_report(
    facts: PartyFacts,
    config: FiuConfig,
    *,
    report_date: datetime | None = None,
    fx: FxRates | None = None,
) -> etree._Element:
    """The goAML `<report>` element for one party (not yet validated)."""
    if facts.payments.height == 0:
        raise VigilError(f"{facts.kind} {facts.party_id} has no payments to report")
    cut = _Shortened()
    local = config.local_currency
    payments = list(facts.payments.iter_rows(named=True))
    monies = [_money(p, facts, local, fx) for p in payments]

    report = etree.Element("report")
    _sub(report, "rentity_id", str(config.rentity_id))
    _sub(report, "rentity_branch", cut.fit("rentity_branch", config.rentity_branch))
    _sub(report, "submission_code", config.submission_code)
    _sub(report, "report_code", config.report_code)
    _sub(
        report,
        "entity_reference",
        cut.fit("entity_reference", f"vigil-{facts.kind}-{facts.party_id}"),
    )
    now = report_date or datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    _sub(report, "report_date", goaml_date(now, "report date"))
    _sub(report, "currency_code_local", local)
    person = _sub(report, "reporting_person")
    rp = config.reporting_person
    if rp.title:
        _sub(person, "title", rp.title)
    _sub(person, "first_name", rp.first_name)
    _sub(person, "last_name", rp.last_name)
    if rp.email:
        _sub(person, "email", rp.email)
    if rp.occupation:
        _sub(person, "occupation", rp.occupation)
    location = _sub(report, "location")
    loc = config.location
    _sub(location, "address_type", loc.address_type)
    _sub(location, "address", loc.address)
    _sub(location, "city", loc.city)
    if loc.zip:
        _sub(location, "zip", loc.zip)
    _sub(location, "country_code", loc.country_code)
    reason = _sub(report, "reason")
    if config.action:
        _sub(report, "action", cut.fit("action", config.action))

    for payment, money in zip(payments, monies, strict=True):
        _transaction(report, payment, money, config, cut)

    indicators = _sub(report, "report_indicators")
    fired = facts.contributions["indicator"].to_list() if facts.contributions.height else []
    for code in config.indicator_codes(fired):
        _sub(indicators, "indicator", code)

    text = reason_text(facts, sum((m.local for m in monies), Decimal(0)), local)
    if cut.elements:
        listed = ", ".join(f"{name} ({n})" for name, n in sorted(cut.elements.items()))
        text += (
            f" Some text was longer than the schema allows and is shortened, ending with "
            f"'{ELLIPSIS}': {listed}."
        )
    reason.text = cut.fit("reason", text)
    return report


@lru_cache(maxsize=8)
def _schema(xsd: Path, mtime: float) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(str(xsd)))
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as error:
        message = " ".join(str(error).split())
        raise ConfigError(f"{xsd}: not a usable XSD: {message}") from error


def load_schema(xsd: Path) -> etree.XMLSchema:
    """The compiled XSD (cached while the file is unchanged)."""
    xsd = Path(xsd).resolve()
    try:
        mtime = xsd.stat().st_mtime
    except OSError as error:
        raise ConfigError(f"{xsd}: cannot read the XSD: {error.strerror}") from error
    return _schema(xsd, mtime)


_SET = re.compile(r"is not an element of the set \{.*\}")
_FACET = re.compile(r"\[facet '([^']+)'\] ?")


def _rule(message: str) -> str:
    """lxml's message, without the whole code list of an enumeration, and with the facet
    named in words (square brackets would read as markup on the CLI's console)."""
    message = _SET.sub("is not in the schema's list of allowed values", message)
    facet = _FACET.search(message)
    message = " ".join(_FACET.sub("", message).split()).rstrip(".")
    return f"{message} (XSD rule: {facet.group(1)})" if facet else message


def validate_report(document: bytes, xsd: Path) -> None:
    """Raise VigilError naming the first element that breaks the XSD, and the rule."""
    schema = load_schema(xsd)
    tree = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False))
    if schema.validate(tree):
        return
    errors = list(schema.error_log)
    first = errors[0]
    element = first.path or "report"
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    raise VigilError(
        f"report not written: {element} (line {first.line}): {_rule(first.message)}"
        + (more if len(errors) > 1 else "")
    )


def serialize(report: etree._Element) -> bytes:
    return etree.tostring(report, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_goaml_report(
    workspace: Path,
    party_id: str,
    out: Path,
    *,
    fiu_config: Path | None = None,
    party_kind: str | None = None,
    report_date: datetime | None = None,
) -> Path:
    """Build the goAML report for one party, validate it against the FIU's XSD and write it
    to `out` only when it is valid. Returns the path written."""
    config = load_fiu_config(fiu_config)
    load_schema(config.xsd_path)  # an unusable XSD fails before any work
    facts = load_party(Path(workspace), party_id, party_kind)
    document = serialize(build_goaml_report(facts, config, report_date=report_date))
    validate_report(document, config.xsd_path)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(document)
    except OSError as error:
        raise VigilError(f"{out}: cannot write the report: {error.strerror}") from error
    return out
