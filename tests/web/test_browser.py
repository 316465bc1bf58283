"""The app in Debian's Chromium (Playwright, never a downloaded browser): log in, filter the
queue, open a party and its network, open a case, escalate, be refused approving one's own
case, approve as a second supervisor. Screenshots are kept as test artifacts."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.web.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("VIGIL_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def server(app) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(`make test` installs it; or run `apt-get install -y chromium`)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, base: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=base)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def _log_in(page, username: str, then: str = "/queue") -> None:
    page.goto(then)
    assert "/login" in page.url  # sent to the login page first
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(re.escape(then.split("?")[0]) + r"(\?|$)"))


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


CANVAS_DRAWN = """id => {
  const canvas = document.getElementById(id);
  if (!canvas || !window.Chart || !Chart.getChart(canvas)) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted > 500;
}"""


def test_analyst_filters_the_queue_opens_a_party_and_its_network(browser, server, site) -> None:
    page = _page(browser, server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    _log_in(page, "ana")

    page.select_option("select[name=kind]", "beneficiary")
    page.wait_for_url(re.compile(r"kind=beneficiary"))
    page.select_option("select[name=indicator]", "B7")
    page.wait_for_url(re.compile(r"indicator=B7"))
    kinds = page.locator("#queue-results tbody .kind").all_inner_texts()
    assert kinds and set(kinds) == {"beneficiary"}
    chips = page.locator("#queue-results tbody tr").first.locator(".chip").all_inner_texts()
    assert "B7" in chips
    _shot(page, "queue-filtered.png")

    page.goto("/queue?kind=sender")
    page.click(f"#queue-results a:text-is('{site.top_sender}')")
    page.wait_for_url(re.compile(rf"/parties/sender/{site.top_sender}$"))
    for chart in (
        "chart-contributions",
        "chart-timeline",
        "chart-hours-sender",
        "chart-hours-beneficiary",
        "chart-amounts",
    ):
        page.wait_for_function(CANVAS_DRAWN, arg=chart)
    assert page.locator("article.indicator").count() >= 3
    _shot(page, "party.png")

    page.click("#open-network")
    page.wait_for_selector("#network[data-ready=true]")
    one_hop = int(page.get_attribute("#network", "data-nodes"))
    assert one_hop >= 2
    page.select_option("#hops", "2")
    page.wait_for_url(re.compile(r"hops=2"))
    page.wait_for_selector("#network[data-ready=true]")
    assert int(page.get_attribute("#network", "data-nodes")) > one_hop
    _shot(page, "network.png")

    # click a counterparty's node: its party page opens
    target = page.evaluate(
        """() => {
          const el = document.getElementById('network');
          const node = el.cy.nodes('[kind = "beneficiary"]')[0];
          const box = el.getBoundingClientRect(), at = node.renderedPosition();
          return {x: box.left + at.x, y: box.top + at.y, id: node.data('label')};
        }"""
    )
    page.mouse.click(target["x"], target["y"])
    page.wait_for_url(re.compile(rf"/parties/beneficiary/{re.escape(target['id'])}$"))
    assert errors == [], errors
    page.context.close()


def test_case_escalated_refused_to_its_opener_approved_by_another_supervisor(
    browser, server, site
) -> None:
    page = _page(browser, server)
    _log_in(page, "sup", f"/parties/sender/{site.top_sender}")
    page.fill("input[name=title]", "Evening payments to PH wallets")
    page.click("#add-to-case")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    case_path = page.url.removeprefix(server)
    assert page.inner_text("#case-status") == "new"

    for button, status in (("in_review", "in review"), ("escalated", "escalated")):
        page.click(f"button[data-to={button}]")
        page.wait_for_function(
            "s => document.getElementById('case-status').textContent === s", arg=status
        )
    # No report drafted without an export: the button waits for the goAML draft.
    assert page.locator("button[data-to=report_drafted]").is_disabled()
    page.click("button.export-goaml")
    page.wait_for_selector(".flash-ok")
    page.click("button[data-to=report_drafted]")
    page.wait_for_function(
        "() => document.getElementById('case-status').textContent === 'report drafted'"
    )
    # Four eyes: the drafter's Approve button is there but disabled.
    assert page.locator("button[data-to=approved]").is_disabled()
    assert page.inner_text("#case-status") == "report drafted"
    _shot(page, "case-refused.png")
    page.context.close()

    second = _page(browser, server)
    _log_in(second, "sup2", case_path)
    second.fill("textarea[name=text]", "Checked the evening pattern; approving the STR.")
    second.click("button:has-text('Add note')")
    second.click("button[data-to=approved]")
    second.wait_for_function(
        "() => document.getElementById('case-status').textContent === 'approved'"
    )
    assert "is now approved" in second.locator(".flash-ok").inner_text()
    assert "sup2" in second.locator(".note-meta").first.inner_text()
    _shot(second, "case-approved.png")
    second.context.close()
