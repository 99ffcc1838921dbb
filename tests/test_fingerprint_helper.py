"""The fingerprint helper (ledger/fingerprint_helper.py): a second process makes a batch's
fingerprints while the writer judges. It may only save time: the fingerprints, and so
idempotency, must be exactly the writer's own, and a busy, refused or dead helper must never
cost an answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import KeyRing
from ledger import commands as c
from ledger import fingerprint_helper
from ledger.decisions import fingerprint
from ledger.fingerprint_helper import FingerprintHelper
from ledger.metrics import Metrics
from ledger.service import LedgerService
from ledger.settings import Settings
from tests.builders import ACME, BETA, PATENT, event_count, licence, party, patent, pledge, uscc
from tests.ledger_fixtures import KEY_SETTING, auth

# Every deal kind, with and without the optional fields the fingerprint treats specially.
DEALS: list[dict[str, Any]] = [
    {"deal_id": "t1", "kind": "transfer", "effective_on": "2020-01-01", "patents": [PATENT],
     "from_parties": [ACME], "to_parties": [{"party": BETA, "share": "0.5"},
                                            {"party": uscc(3), "share": "0.50"}],
     "price": {"amount": "1000.10", "currency": "CNY"}, "consideration": "cash"},
    {"deal_id": "t2", "kind": "transfer", "effective_on": "2020-01-01", "patents": [PATENT],
     "from_parties": [ACME], "to_parties": [{"party": BETA, "share": 1}],
     "consideration": "gift", "registered_on": "2020-02-01", "signed_on": "2019-12-01"},
    {"deal_id": "e1", "kind": "equity_contribution", "effective_on": "2020-01-01",
     "patents": [PATENT], "from_parties": [ACME], "company": BETA,
     "valuation": {"amount": "5e5", "currency": "USD"}, "equity_share": "0.1"},
    licence("l1", [PATENT], [ACME], BETA, field="电池 \"quoted\" 技术"),
    {"deal_id": "lt1", "kind": "licence_termination", "effective_on": "2021-01-01",
     "licence": "l1"},
    {"deal_id": "o1", "kind": "open_licence_declaration", "effective_on": "2020-01-01",
     "patents": [PATENT], "owners": [ACME], "fee": {"mode": "royalty", "rate": "0.02"},
     "starts_on": "2020-01-01", "ends_on": "2025-12-31"},
    {"deal_id": "ow1", "kind": "open_licence_withdrawal", "effective_on": "2021-01-01",
     "patents": [PATENT], "owners": [ACME]},
    {"deal_id": "ot1", "kind": "open_licence_take_up", "effective_on": "2020-06-01",
     "patents": [PATENT], "licensee": BETA},
    pledge("p1", [PATENT], [ACME], uscc(7)),
    {"deal_id": "pr1", "kind": "pledge_release", "effective_on": "2021-01-01", "pledge": "p1"},
    {"deal_id": "d1", "kind": "default", "effective_on": "2021-01-01", "pledge": "p1",
     "outstanding": {"amount": "10", "currency": "CNY"}},
    {"deal_id": "x1", "kind": "disposal", "effective_on": "2021-02-01", "pledge": "p1",
     "mode": "auction", "proceeds": {"amount": "12", "currency": "CNY"},
     "to_parties": [{"party": uscc(7), "share": "1"}]},
]


def _ready(helper: FingerprintHelper, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not helper.ready:
        assert time.monotonic() < deadline, "the helper did not start"
        time.sleep(0.05)


@pytest.fixture
def helper() -> Iterator[FingerprintHelper]:
    started = FingerprintHelper(Metrics())
    started.start()
    _ready(started)
    yield started
    started.stop()


def test_the_helpers_fingerprints_are_the_writers(helper: FingerprintHelper) -> None:
    body = c.DealBatch.model_validate({"deals": DEALS * 20})
    prints = helper.fingerprints(body.model_dump_json().encode())
    assert prints is not None
    prints.expect(len(body.deals))
    deadline = time.monotonic() + 30
    while not prints.complete:  # everything sent: then every fingerprint is the helper's
        prints.of(len(body.deals) - 1, body.deals[-1])
        assert time.monotonic() < deadline
    made_while_waiting = prints.made_here
    made = [prints.of(i, deal) for i, deal in enumerate(body.deals)]
    assert made == [fingerprint(deal) for deal in body.deals]
    assert prints.made_here == made_while_waiting, "all had arrived: none should be made here"
    prints.close()
    assert helper.fingerprints(b'{"deals": []}') is not None, "the helper was not handed back"


def test_a_busy_helper_leaves_the_batch_to_make_its_own(helper: FingerprintHelper) -> None:
    body = {"deals": DEALS}
    first = helper.fingerprints(c.DealBatch.model_validate(body).model_dump_json().encode())
    assert first is not None
    assert helper.fingerprints(b"{}") is None, "one body at a time"
    first.expect(len(DEALS))
    first.close()


@pytest.fixture
def helped(service: LedgerService) -> Iterator[TestClient]:
    """A platform's client of an app whose batches are fingerprinted by a helper."""
    app = create_app(service, KeyRing.from_setting(KEY_SETTING), fingerprint_helper=True)
    with TestClient(app, headers=auth("platform")) as client:
        _ready(app.state.fingerprints)
        yield client


def _from_helper(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('ledger_batch_fingerprints_total{source="helper"}'):
            return float(line.split()[-1])
    return 0.0


def _setup(client: TestClient) -> None:
    party(client, ACME)
    party(client, BETA)
    party(client, uscc(7), kind="bank")
    patent(client, PATENT, {ACME: "1"})


def test_a_batch_fingerprinted_by_the_helper_replays_as_its_deals(
        helped: TestClient) -> None:
    _setup(helped)
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA, field=f"field {i}") for i in range(60)]
    response = helped.post("/v1/deals/batch", json={"deals": deals})
    assert response.status_code == 200, response.text[:300]
    assert [r["status"] for r in response.json()["results"]] == [201] * 60
    assert _from_helper(helped) > 0, "no fingerprint came from the helper"
    again = helped.post("/v1/deals", json=deals[59])
    assert again.status_code == 200, "a fingerprint differed from the writer's own"
    changed = helped.post("/v1/deals", json={**deals[59], "field": "other"})
    assert changed.status_code == 409


def test_a_refused_body_or_batch_hands_the_helper_back(helped: TestClient) -> None:
    _setup(helped)
    invalid = helped.post("/v1/deals/batch", json={"deals": [{**licence(
        "bad", [PATENT], [ACME], BETA), "ends_on": "2000-01-01"}]})
    assert invalid.status_code == 422
    refused = helped.post("/v1/deals/batch", json={"atomic": True, "deals": [
        licence("l-x", [PATENT], [ACME], BETA, kind="exclusive"),
        licence("l-y", [PATENT], [ACME], BETA, kind="exclusive"),  # INV-6: overlaps l-x
    ] + [licence(f"l-z{i}", [PATENT], [ACME], BETA) for i in range(100)]})
    assert refused.status_code == 409
    before = _from_helper(helped)
    stored = helped.post("/v1/deals/batch", json={"deals": [
        licence(f"l{i}", [PATENT], [ACME], BETA) for i in range(40)]})
    assert stored.status_code == 200
    assert _from_helper(helped) > before, "the helper was not handed back"
    assert event_count(helped) == 4 + 40


def test_a_dead_helper_costs_no_answer_and_is_started_again(
        helped: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    _setup(helped)
    monkeypatch.setattr(fingerprint_helper, "RESTART_SECONDS", 0.0)
    helper: FingerprintHelper = helped.app.state.fingerprints  # type: ignore[attr-defined]
    helper._process.kill()
    helper._process.join(10)
    deals = [licence(f"l{i}", [PATENT], [ACME], BETA) for i in range(30)]
    response = helped.post("/v1/deals/batch", json={"deals": deals})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [201] * 30
    assert helped.post("/v1/deals", json=deals[0]).status_code == 200  # same fingerprint
    helped.post("/v1/deals/batch", json={"deals": deals[:1]})  # finds none: starts one
    _ready(helper)
    before = _from_helper(helped)
    more = [licence(f"m{i}", [PATENT], [ACME], BETA) for i in range(30)]
    assert helped.post("/v1/deals/batch", json={"deals": more}).status_code == 200
    assert _from_helper(helped) > before, "the helper was not started again"


def test_the_helper_is_on_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_FINGERPRINT_HELPER", raising=False)
    assert Settings.from_environment().fingerprint_helper
    monkeypatch.setenv("LEDGER_FINGERPRINT_HELPER", "0")
    assert not Settings.from_environment().fingerprint_helper
    monkeypatch.setenv("LEDGER_FINGERPRINT_HELPER", "yes")
    with pytest.raises(ValueError, match="LEDGER_FINGERPRINT_HELPER must be 1"):
        Settings.from_environment()
