"""The console in a real browser (issue 20): headless Chromium from Debian's `chromium`
package, driven by Playwright, against `patent-ledger serve` loaded with the demo scenario.

Every page is opened as the role it is for, in Chinese (the default) and in English; a flag is
confirmed and the party's grade read after it; a patent is stepped back in time and an event's
proof downloaded and checked as `verify_bundle.py --proof` checks it; an indicator table is
exported; a platform key sees no anomaly queue. Every request the browser makes is recorded:
none may leave for another origin, and the page may log no error (a CSP violation is one).
Screenshots of each page in both languages go to $LEDGER_CONSOLE_SCREENSHOTS when it is set
(docs/console/ holds the ones the README shows).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from psycopg import sql

from ledger.integrity.bundle_verifier import _snake, check_proof, public_key
from tests.test_serve import Server, _free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
AXE = Path(__file__).parents[1] / "console" / "node_modules" / "axe-core" / "axe.min.js"
KEYS = {role: f"{role}-console-test-key-0123456789" for role in
        ("platform", "auditor", "regulator", "admin")}
ROUND_TRIP = "201710500001.6"  # the demo's AR-1 case: sold on 2022-01-10, back on 2022-06-09
FIRST_OWNER, SECOND_OWNER = "91330000000050000T", "91330000000050001X"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not AXE.exists(),
                                reason="needs Debian's chromium and `npm ci` in console/ "
                                "(scripts/dev.sh test installs both)")


class Ledger:
    def __init__(self, server: Server, data_dir: Path) -> None:
        self.url, self.server, self.data_dir = server.url, server, data_dir


def _cli(data_dir: Path, database: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATA_DIR=str(data_dir), LEDGER_DATABASE_URL=database)
    done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def ledger(postgres_server_url: str) -> Iterator[Ledger]:
    """`serve` on a database of its own, loaded with the demo (a small background market),
    a checkpoint signed and `verify` run, so that every page has something to show."""
    name = f"t_console_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))
    database = urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    parent = Path(tempfile.mkdtemp(prefix="ledger-console-"))
    parent.chmod(0o711)
    data_dir = parent / "data"
    server = Server(data_dir, _free_port(), LEDGER_DATABASE_URL=database,
                    LEDGER_API_KEYS=",".join(f"{r}:{k}" for r, k in KEYS.items()))
    try:
        server.wait_ready()
        _cli(data_dir, database, "demo", "--deals", "400")
        _cli(data_dir, database, "checkpoint")
        _cli(data_dir, database, "verify")
        (data_dir / "public.pem").write_text(_cli(data_dir, database, "public-key"))
        _wait_for_projections(server.url)
        yield Ledger(server, data_dir)
    finally:
        server.stop()
        shutil.rmtree(parent, ignore_errors=True)
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def _wait_for_projections(url: str) -> None:
    for _ in range(600):
        health = httpx.get(url + "/healthz", timeout=5).json()
        if all(p.get("lag", 1) == 0 for p in health["projections"].values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"the projections never caught up: {health}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


class Session:
    """One browser context (one browser session) with every request and console error
    recorded."""

    def __init__(self, browser: Any, ledger: Ledger) -> None:
        self.base = ledger.url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}")
                     if r.status >= 400 else None)

    def sign_in(self, role: str) -> None:
        self.page.goto(self.base + "/")
        self.page.fill("#api-key", KEYS[role])
        self.page.press("#api-key", "Enter")
        self.page.wait_for_selector("#who:has-text(':')")

    def go(self, hash_route: str, ready: str) -> None:
        self.page.goto(f"{self.base}/console/#/{hash_route}")
        self.page.wait_for_selector(ready, timeout=30_000)

    def english(self) -> None:
        self.page.select_option("#lang", "en")

    def shoot(self, name: str) -> None:
        folder = os.environ.get("LEDGER_CONSOLE_SCREENSHOTS")
        if folder:
            self.page.wait_for_timeout(300)
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"))

    def outside(self) -> list[str]:
        return [u for u in self.requests if not (u.startswith(self.base + "/")
                                                 or u.startswith(("blob:", "data:")))]

    def close(self) -> None:
        assert self.outside() == [], self.outside()
        assert self.errors == [], self.errors
        self.context.close()


@pytest.fixture
def session(browser: Any, ledger: Ledger) -> Iterator[Session]:
    opened = Session(browser, ledger)
    yield opened
    opened.close()


def test_root_redirects_and_every_answer_carries_the_policy(ledger: Ledger) -> None:
    answer = httpx.get(ledger.url + "/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/console/"
    for path in ("/console/", "/console/app.js", "/console/vendor/echarts.min.js", "/healthz"):
        headers = httpx.get(ledger.url + path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy and "http" not in policy, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert httpx.get(ledger.url + "/console/vendor/package.json").status_code == 404
    assert httpx.get(ledger.url + "/console/..%2Fpackage.json").status_code == 404


def test_a_regulator_confirms_a_flag_and_sees_its_status_and_the_grade_that_follows(
        session: Session) -> None:
    session.sign_in("regulator")
    page = session.page
    assert page.inner_text("#nav-anomalies") == "异常队列"  # Simplified Chinese by default
    session.go("anomalies?rule=AR-1&order=score", "#anomaly-list article")
    session.shoot("anomalies-zh")
    card = page.locator("#anomaly-list article").first
    assert "AR-1" in card.inner_text()  # the rule code is always shown
    card.locator("details summary").click()
    assert card.locator("details li a").count() >= 2  # evidence events, linked
    card.locator("textarea").fill("round trip confirmed on inspection")
    card.locator("button.confirm").click()
    page.wait_for_selector("#anomaly-list article .grades li", timeout=30_000)
    assert card.locator(".status").get_attribute("data-status") == "confirmed"
    assert card.locator(".status").inner_text() == "已确认"
    grades = card.locator(".grades").inner_text()
    assert "AR-1" in grades  # the confirmed flag is now a reason for the parties' grades
    session.english()
    session.go("anomalies?rule=AR-1&status=confirmed", "#anomaly-list article")
    assert page.inner_text("#nav-anomalies") == "Anomaly queue"
    assert page.locator("#anomaly-list article .status").first.inner_text() == "confirmed"
    assert "AR-1 Round trip" in page.locator("#anomaly-list article h3").first.inner_text()
    session.go("anomalies", "#anomaly-list article")
    session.shoot("anomalies-en")


def test_an_auditor_steps_a_patent_back_in_time_and_downloads_a_proof(
        session: Session, ledger: Ledger, tmp_path: Path) -> None:
    session.sign_in("auditor")
    page = session.page
    session.go(f"patent?number={ROUND_TRIP}", "#patent-facts")
    assert FIRST_OWNER in page.inner_text("#patent-body section")  # owned again today
    page.wait_for_selector("#timeline li.event")
    assert page.locator("#timeline li.event").count() == 3
    assert len(page.locator("#timeline code.hash").first.inner_text()) == 64
    session.shoot("patent-zh")
    page.fill("#patent-search input[name=asOf]", "2022-03-01")
    page.click("#patent-search button[type=submit]")
    page.wait_for_selector(f"#patent-body section:has-text('{SECOND_OWNER}')")
    assert FIRST_OWNER not in page.locator("#patent-body section").first.inner_text()
    with page.expect_download() as download:
        page.locator("#timeline button.proof").last.click()
    saved = tmp_path / "proof.json"
    download.value.save_as(saved)
    proof = _snake(json.loads(saved.read_text()))
    assert check_proof(proof, public_key(ledger.data_dir / "public.pem")) is None
    session.english()
    page.wait_for_selector("#patent-facts")
    session.shoot("patent-en")


def test_a_platform_key_sees_no_anomaly_queue(session: Session) -> None:
    session.sign_in("platform")
    page = session.page
    assert page.locator("#nav-anomalies").count() == 0
    session.go("anomalies", "main [role=alert]")
    assert page.locator("#anomaly-list").count() == 0
    assert "无权" in page.inner_text("main")


def test_indicators_chart_and_csv_export_with_flagged_deals_in_or_out(
        session: Session, tmp_path: Path) -> None:
    session.sign_in("auditor")
    page = session.page
    session.go("indicators?k=K1&from=2019-01-01&to=2022-12-31&granularity=year",
               "#indicator-chart canvas")
    session.shoot("indicators-zh")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "k1.csv"
    download.value.save_as(path)
    rows = list(csv.DictReader(path.open()))
    assert rows and {r["indicator"] for r in rows} == {"K1"}
    shown = page.locator("#indicator-body table tbody tr").count()
    assert shown == len(rows)
    page.uncheck("#exclude-flagged")
    page.click("#indicator-filters button[type=submit]")
    page.wait_for_function("location.hash.includes('excludeFlagged=0')")
    page.wait_for_selector("#indicator-chart canvas")
    session.english()
    page.wait_for_selector("#indicator-chart canvas")
    session.shoot("indicators-en")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_party_pledges_and_health_pages(session: Session, language: str) -> None:
    session.sign_in("auditor")
    if language == "en":
        session.english()
    page = session.page
    session.go(f"party?id={SECOND_OWNER}", "#party-grade")
    assert page.locator("#party-body table").count() >= 2
    session.shoot(f"party-{language}")
    session.go("pledges", "#pledge-totals table")
    assert page.locator("#pledge-rows tbody tr").count() >= 1
    session.shoot(f"pledges-{language}")
    session.go("health", "#verification")
    assert page.inner_text("#verification dd.ok") == ("通过" if language == "zh" else "passed")
    assert page.locator("#checkpoint").count() == 1
    session.shoot(f"health-{language}")


def test_graphiql_and_the_api_docs_work_from_local_assets(session: Session) -> None:
    session.sign_in("auditor")
    page = session.page
    page.goto(session.base + "/graphql")
    page.wait_for_selector(".graphiql-container")
    page.click(".graphiql-execute-button")
    page.wait_for_selector(".result-window :text('projections')", timeout=30_000)
    session.shoot("graphiql")
    page.goto(session.base + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    session.shoot("docs")


def test_accessibility_labels_keyboard_and_contrast(session: Session) -> None:
    session.sign_in("regulator")
    page = session.page
    for route, ready in (("anomalies", "#anomaly-list article"),
                         (f"patent?number={ROUND_TRIP}", "#timeline li.event"),
                         ("indicators", "#indicator-chart canvas")):
        session.go(route, ready)
        page.evaluate(AXE.read_text())  # by the debugger: the page's CSP still holds
        found = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})"
                              ".then(r => r.violations.filter(v => ['serious', 'critical']"
                              ".includes(v.impact)).map(v => v.id + ': ' + v.nodes.length))")
        assert found == [], (route, found)
    page.goto(session.base + "/console/#/patent")
    page.reload()
    page.wait_for_selector("#patent-search")
    page.keyboard.press("Tab")  # the skip link first, then the header's language switch
    assert page.evaluate("document.activeElement.id") == "skip"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "lang"
    for _ in range(12):  # on through the header to the navigation, then open a page
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "nav-health":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#health-body dl")

