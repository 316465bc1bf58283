"""Entity resolution: which wallets are one facilitator, which sender ids one customer.

The population is a few hundred generated persons (some with a second account under a
spelling variant, as the generator makes them) so the model has something to learn from,
plus hand-made accounts that show each behaviour an analyst checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.builders import payment, write_payments_csv
from vigil.errors import ConfigError
from vigil.ingest import ingest
from vigil.network.resolution import ResolutionSummary, resolve_entities
from vigil.network.resolution_config import DEFAULT_CONFIG
from vigil.synth import names
from vigil.workspace import Workspace

START = datetime(2024, 3, 1, 20, 0)
CITIES = ("Cebu City", "Davao City", "Iloilo City", "Manila", "Angeles", "Bacolod", "Taguig")
HAND_MADE_SURNAMES = {"Santos", "Reyes", "Rojas"}

# Beneficiary accounts: (beneficiary_id, name, city).
ONE_FACILITATOR = [
    ("W-MCS-1", "Maria Cristina Santos", "Cebu City"),
    ("W-MCS-2", "SANTOS, Maria Cristina", "Cebu City"),
    ("W-MCS-3", "Ma. Cristina Santos", "Cebu City"),
    ("W-MCS-4", "Maria Cristna Santos", "Cebu City"),
]
TWO_MARIA_SANTOS = [
    ("W-MS-DAVAO", "Maria Santos", "Davao City"),
    ("W-MS-ILOILO", "Maria Santos", "Iloilo City"),
]
HOUSEHOLD = [
    ("W-JR-1", "Jose Reyes", "Bacolod"),
    ("W-JR-2", "REYES, Jose", "Bacolod"),
    ("W-AR-1", "Ana Reyes", "Bacolod"),
]
# "J. Rojas" could be either brother: an initial that fits two people links neither.
AMBIGUOUS_INITIAL = [
    ("W-JUAN", "Juan Rojas", "Angeles"),
    ("W-JULIAN", "Julian Rojas", "Angeles"),
    ("W-J", "J. Rojas", "Angeles"),
]
# Sender ids: (sender_id, name, country); one customer at two remitters, and a namesake.
# A sender has no city: only a distinctive name is evidence enough (two "Gary Mitchell" ids
# in one country are rightly not merged on the name alone).
ONE_CUSTOMER = [
    ("R1-0042", "Thaddeus Okonkwo-Whitfield", "US"),
    ("R2-9001", "OKONKWO-WHITFIELD, Thaddeus", "US"),
]
NAMESAKE_ABROAD = ("R1-0777", "Thaddeus Okonkwo-Whitfield", "GB")


def _filler(rng: np.random.Generator, culture: str, n: int) -> list[tuple[str, str]]:
    """(given and middle name, surname) of `n` generated people. A middle name (a surname of
    the same culture, as Filipino names carry the mother's) makes namesakes as rare as in
    real records; two words from the generator's small pools would not."""
    cultures = np.full(n, culture, dtype=object)
    given, surname = names.draw_person_names(rng, cultures, np.full(n, 0.6))
    middle = names.draw_surnames(rng, cultures)
    return [
        (f"{g} {m}", s)
        for g, m, s in zip(given, middle, surname, strict=True)
        if not {m, s} & HAND_MADE_SURNAMES
    ]


def population_rows() -> list[dict[str, str]]:
    """Generated persons (a quarter with a second account under a spelling variant) and the
    hand-made accounts, each account paid at least once, each sender id paying once."""
    rng = np.random.default_rng(4)
    beneficiaries = ONE_FACILITATOR + TWO_MARIA_SANTOS + HOUSEHOLD + AMBIGUOUS_INITIAL
    for i, (given, surname) in enumerate(_filler(rng, "filipino", 320)):
        city = CITIES[int(rng.integers(len(CITIES)))]
        beneficiaries.append((f"W{i:04d}a", f"{given} {surname}", city))
        if rng.random() < 0.25:
            variant = names.spelling_variant(given, surname, rng)
            beneficiaries.append((f"W{i:04d}b", variant, city))
    senders = [*ONE_CUSTOMER, NAMESAKE_ABROAD]
    for i, (given, surname) in enumerate(_filler(rng, "english", 300)):
        country = ("US", "GB", "AU")[int(rng.integers(3))]
        senders.append((f"S{i:04d}a", f"{given} {surname}", country))
        if rng.random() < 0.2:
            senders.append((f"S{i:04d}b", names.spelling_variant(given, surname, rng), country))
    rows = []
    first_payer: dict[str, tuple[str, str, str]] = {}
    for i in range(max(len(beneficiaries), len(senders))):
        sender = senders[i % len(senders)]
        beneficiary_id, beneficiary_name, city = beneficiaries[i % len(beneficiaries)]
        rows.append(
            _paid(sender, beneficiaries[i % len(beneficiaries)], START + timedelta(hours=i))
        )
        first_payer.setdefault(beneficiary_id[:-1], sender)
        if beneficiary_id.endswith("b"):  # whoever pays a person pays the second account too
            payer = first_payer[beneficiary_id[:-1]]
            rows.append(_paid(payer, (beneficiary_id, beneficiary_name, city), START))
    # The hand-made persons' accounts have a payer in common too (Ana Reyes, another
    # person of the household, is paid by the household's payer as well).
    for number, accounts in enumerate((ONE_FACILITATOR, HOUSEHOLD)):
        payer = (f"S-COMMON-{number}", f"Gary Common{'xyz'[number]}", "US")
        rows += [_paid(payer, account, START + timedelta(days=1)) for account in accounts]
    return rows


def _paid(
    sender: tuple[str, str, str], beneficiary: tuple[str, str, str], when: datetime
) -> dict[str, str]:
    (sender_id, sender_name, sender_country), (beneficiary_id, name, city) = sender, beneficiary
    return payment(
        sender_id,
        beneficiary_id,
        when,
        sender_name=sender_name,
        sender_country=sender_country,
        beneficiary_name=name,
        city=city,
    )


def _workspace(folder: Path, rows: list[dict[str, str]]) -> Workspace:
    source = write_payments_csv(folder / "payments.csv", rows)
    ws = Workspace.open(folder / "vigil.duckdb")
    ingest(ws, [source], quarantine_path=folder / "quarantine.csv")
    return ws


def entity_of(ws: Workspace, kind: str, party_id: str) -> str:
    rows = ws.con.execute(
        f"SELECT entity_id FROM {kind}_entities WHERE party_id = ?", [party_id]
    ).fetchall()
    assert len(rows) == 1, f"{kind} {party_id} is not in {kind}_entities exactly once"
    return rows[0][0]


def link_explanation(ws: Workspace, kind: str, left: str, right: str) -> str:
    """The explanation of the one link between two parties of a kind."""
    rows = ws.con.execute(
        "SELECT explanation FROM entity_links WHERE party_kind = ? AND left_id = ? "
        "AND right_id = ?",
        [kind, min(left, right), max(left, right)],
    ).fetchall()
    assert len(rows) == 1, f"no link between {left} and {right}"
    return rows[0][0]


class Resolved:
    def __init__(self, ws: Workspace, summary: ResolutionSummary) -> None:
        self.ws = ws
        self.summary = summary

    def entity(self, kind: str, party_id: str) -> str:
        return entity_of(self.ws, kind, party_id)

    def snapshot(self) -> tuple[list, list]:
        entities = self.ws.con.execute(
            "SELECT 'b', * FROM beneficiary_entities UNION ALL SELECT 's', * FROM sender_entities "
            "ORDER BY ALL"
        ).fetchall()
        links = self.ws.con.execute(
            "SELECT party_kind, left_id, right_id, explanation FROM entity_links ORDER BY ALL"
        ).fetchall()
        return entities, links


def resolved_population(
    tmp_path_factory: pytest.TempPathFactory, name: str, rows: list[dict[str, object]]
) -> Iterator[Resolved]:
    """A workspace of `rows`, resolved: the body of a module fixture."""
    with _workspace(tmp_path_factory.mktemp(name), rows) as ws:
        yield Resolved(ws, resolve_entities(ws))


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolved]:
    yield from resolved_population(tmp_path_factory, "resolution", population_rows())


def test_name_variants_of_one_facilitator_are_one_entity(resolved: Resolved) -> None:
    entities = {resolved.entity("beneficiary", wallet) for wallet, _, _ in ONE_FACILITATOR}
    assert len(entities) == 1
    (entity,) = entities
    size = resolved.ws.con.execute(
        "SELECT DISTINCT entity_size FROM beneficiary_entities WHERE entity_id = ?", [entity]
    ).fetchall()
    assert size == [(len(ONE_FACILITATOR),)]
    assert entity == "E" + min(wallet for wallet, _, _ in ONE_FACILITATOR)


def test_namesakes_in_different_cities_stay_apart(resolved: Resolved) -> None:
    davao, iloilo = (resolved.entity("beneficiary", w) for w, _, _ in TWO_MARIA_SANTOS)
    cristina = resolved.entity("beneficiary", ONE_FACILITATOR[0][0])
    assert len({davao, iloilo, cristina}) == 3


def test_household_members_sharing_a_surname_stay_apart(resolved: Resolved) -> None:
    jose_1, jose_2, ana = (resolved.entity("beneficiary", w) for w, _, _ in HOUSEHOLD)
    assert jose_1 == jose_2
    assert ana != jose_1


def test_an_initial_that_fits_two_people_links_neither(tmp_path: Path) -> None:
    # At a threshold low enough for "J. Rojas" to reach both brothers on its own.
    config = tmp_path / "resolution.yaml"
    config.write_text(DEFAULT_CONFIG.read_text().replace("threshold: 0.9", "threshold: 0.6"))
    with _workspace(tmp_path, population_rows()) as ws:
        resolve_entities(ws, config=config)
        juan, julian, initial = (entity_of(ws, "beneficiary", w) for w, _, _ in AMBIGUOUS_INITIAL)
        assert entity_of(ws, "beneficiary", "W-MCS-4") == entity_of(ws, "beneficiary", "W-MCS-1")
    assert len({juan, julian, initial}) == 3


def test_one_customer_at_two_remitters_is_one_sender_entity(resolved: Resolved) -> None:
    (first, _, _), (second, _, _) = ONE_CUSTOMER
    assert resolved.entity("sender", first) == resolved.entity("sender", second)
    assert resolved.entity("sender", NAMESAKE_ABROAD[0]) != resolved.entity("sender", first)


def test_every_party_is_in_its_entity_table_exactly_once(resolved: Resolved) -> None:
    con = resolved.ws.con
    for kind in ("beneficiary", "sender"):
        parties = con.execute(f"SELECT count(DISTINCT {kind}_id) FROM payments").fetchall()[0][0]
        rows, distinct, sizes_ok = con.execute(
            f"""SELECT count(*), count(DISTINCT party_id),
                       bool_and(entity_size = (SELECT count(*) FROM {kind}_entities i
                                               WHERE i.entity_id = o.entity_id))
                FROM {kind}_entities o"""
        ).fetchall()[0]
        assert rows == distinct == parties
        assert sizes_ok
        figures = getattr(resolved.summary, kind)
        assert figures.parties == parties
        assert figures.model.startswith("trained")
        assert figures.merged_accounts == parties - figures.entities > 0
    assert resolved.summary.sender.model == "trained; name m from beneficiaries"


def _link(resolved: Resolved, left: str, right: str) -> tuple[float, float, str]:
    rows = resolved.ws.con.execute(
        "SELECT match_probability, match_weight, explanation FROM entity_links "
        "WHERE party_kind = 'beneficiary' AND left_id = ? AND right_id = ?",
        [left, right],
    ).fetchall()
    assert len(rows) == 1, f"no link between {left} and {right}"
    return rows[0]


def test_each_link_explains_the_merge_in_words(resolved: Resolved) -> None:
    probability, weight, explanation = _link(resolved, "W-JR-1", "W-JR-2")
    assert probability >= 0.9 and weight > 0
    assert explanation.startswith("name: same name (ignoring case, accents, punctuation")
    assert "; city: same city (+" in explanation and "; country: same country (" in explanation
    assert "prior (-" in explanation
    _, _, typo = _link(resolved, "W-MCS-1", "W-MCS-4")
    assert typo.startswith("name: one letter dropped, added, changed or swapped (+")
    counts = resolved.ws.con.execute(
        "SELECT party_kind, count(*) FROM entity_links GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert counts == [
        ("beneficiary", resolved.summary.beneficiary.links),
        ("sender", resolved.summary.sender.links),
    ]


def test_resolving_again_gives_the_same_entities_and_links(resolved: Resolved) -> None:
    before = resolved.snapshot()
    resolve_entities(resolved.ws)
    assert resolved.snapshot() == before


def test_a_tiny_workspace_resolves_with_the_priors(tmp_path: Path) -> None:
    rows = [
        payment("C1", "W1", START, beneficiary_name="Maria Santos", city="Cebu City"),
        payment("C1", "W2", START, beneficiary_name="SANTOS, Maria", city="Cebu City"),
        payment("C1", "W3", START, beneficiary_name="Ana Reyes", city="Cebu City"),
    ]
    with _workspace(tmp_path, rows) as ws:
        summary = resolve_entities(ws)
        entities = dict(
            ws.con.execute("SELECT party_id, entity_id FROM beneficiary_entities").fetchall()
        )
        senders = ws.con.execute("SELECT * FROM sender_entities").fetchall()
    assert summary.beneficiary.model == "priors" and summary.sender.model == "none"
    assert entities == {"W1": "EW1", "W2": "EW1", "W3": "EW3"}
    assert senders == [("C1", "EC1", 1, rows[0]["sender_name"])]
    assert summary.to_dict()["beneficiary"]["merged_accounts"] == 1


def test_a_bad_threshold_is_reported_with_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "resolution.yaml"
    config.write_text(re.sub(r"(?m)^threshold: .*$", "threshold: 1.5", DEFAULT_CONFIG.read_text()))
    with (
        Workspace.open(":memory:") as ws,
        pytest.raises(ConfigError, match=r"resolution.yaml: threshold:"),
    ):
        resolve_entities(ws, config=config)
