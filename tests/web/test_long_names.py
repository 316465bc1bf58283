"""A 5,000-character name: the queue, the party page and the case page keep every control on
screen at 1366 pixels (the name is cut with an ellipsis, its whole text in the tooltip), and
the evidence PDF wraps it in its summary and cuts it in its tables without losing a column."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.builders import series, write_payments_csv
from tests.web.conftest import PASSWORD, USERS
from tests.web.test_browser import browser, server  # noqa: F401 (fixtures)
from vigil.cases.store import CaseStore
from vigil.cases.users import add_user
from vigil.reports.fiu_config import example_config_path
from vigil.scan import scan

LONG_SENDER = "Q" * 5000  # no space to break at: the worst case for a table
LONG_BENEFICIARY = " ".join(["Beneficiaryname"] * 313)[:5000]
WIDTH, HEIGHT = 1366, 768


@pytest.fixture(scope="module")
def long_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("long-names")
    start = datetime(2024, 3, 1, 20, 30)
    rows = series("LONG1", "WLONG", start, 4, timedelta(days=2), sender_name=LONG_SENDER,
                  beneficiary_name=LONG_BENEFICIARY, narrative="school fees")  # fmt: skip
    rows += series("S2", "WLONG", start, 5, timedelta(days=3), beneficiary_name=LONG_BENEFICIARY)
    rows += series("S3", "W3", start, 4, timedelta(days=5))
    source = write_payments_csv(folder / "payments.csv", rows)
    scan([source], folder / "out")
    return folder / "out" / "vigil.duckdb"


@pytest.fixture(scope="module")
def app(long_workspace: Path):
    from vigil.web.app import create_app

    database_url = f"sqlite:///{long_workspace.parent / 'cases.sqlite'}"
    store = CaseStore.open(database_url)
    for username, role in USERS.items():
        add_user(store, username, PASSWORD, role)
    store.close()
    app = create_app(
        long_workspace,
        database_url,
        secret_key="test-secret-key-" + "z" * 32,
        secure_cookies=False,
        exports_dir=long_workspace.parent / "exports",
        fiu_config=example_config_path(),
    )
    yield app
    app.state.vigil.reader.close()
    app.state.vigil.store.close()


OFF_SCREEN = """() => {
  const width = window.innerWidth;
  const out = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) out.push("page " + page);
  for (const el of document.querySelectorAll("button, select, input, #score, .score-box, th")) {
    const box = el.getBoundingClientRect();
    const name = el.id || el.textContent.trim().slice(0, 30);
    if (box.width && box.right > width + 1) out.push(name + " " + Math.round(box.right));
  }
  return out;
}"""


def _screen(browser):  # noqa: F811 (the fixture)
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(15_000)
    return context.new_page()


def test_a_5000_character_name_leaves_every_control_on_screen(browser, server) -> None:  # noqa: F811
    page = _screen(browser)
    page.goto(server + "/queue")
    _log_in_at(page, server, "/queue")

    assert page.evaluate(OFF_SCREEN) == []
    cell = page.locator("td.clip", has_text="QQQQ").first
    assert cell.get_attribute("title") == LONG_SENDER  # the whole name in the tooltip
    assert cell.bounding_box()["width"] < 400

    page.goto(server + "/parties/sender/LONG1")
    assert page.evaluate(OFF_SCREEN) == []
    assert page.locator("#score").is_visible()

    page.fill("input[name=title]", "Long name")
    page.click("#add-to-case")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert page.evaluate(OFF_SCREEN) == []
    assert page.locator("button.export-evidence").first.is_visible()
    page.context.close()


def _log_in_at(page, base: str, then: str) -> None:
    page.fill("input[name=username]", "sup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(re.escape(base + then) + r"(\?|$)"))


def test_the_evidence_pdf_wraps_a_long_name_and_keeps_every_column(
    long_workspace: Path, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    from vigil.reports.evidence import write_evidence_package

    package = write_evidence_package(long_workspace, "LONG1", tmp_path / "evidence")

    text = "".join(page.extract_text() for page in PdfReader(package.out / "evidence.pdf").pages)
    flat = re.sub(r"\s+", "", text)
    for header in ("Transaction", "Beneficiarylocation", "Amount", "Channel", "Narrative"):
        assert header in flat
    assert flat.count("schoolfees") >= 4  # the last column of every payment is there
    # The summary wraps it whole (over pages: their headers come between its lines).
    assert flat.count("Q") >= len(LONG_SENDER)
    assert "Q" * 119 + "…" in flat  # the payment table cuts it
