"""After random deal streams, every read model equals the state the writer folded from the log.

Hypothesis draws each next deal knowing the register (who owns what, which pledges and
licences exist), so most deals are lawful and many are refused near the edges; the read models
must agree with the writer's register either way, including after backdated postings.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from ledger.law.patent_state import PatentState
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import wait_projected

PARTIES = [uscc(200 + i) for i in range(5)]
BANKS = [uscc(300), uscc(301)]
START = date(2019, 6, 1)
_runs = itertools.count()


def _day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


def _state(service: LedgerService, number: str) -> PatentState:
    register = service.writer._register  # the writer's own fold: what the rules judged against
    assert register is not None
    return register.patents[number].current()


def _draw_deal(data: st.DataObject, service: LedgerService, numbers: list[str],
               run: int, step: int) -> tuple[str, dict[str, Any]]:
    number = data.draw(st.sampled_from(numbers))
    state = _state(service, number)
    owners = sorted(state.owners)
    offset = data.draw(st.integers(0, 1500))  # backdated or not: any day over four years
    deal_id = f"R{run}-{step}"
    kind = data.draw(st.sampled_from(
        ["transfer", "licence", "licence", "termination", "pledge", "release", "default",
         "status", "open", "take_up"]))
    if kind == "transfer":
        buyer = data.draw(st.sampled_from(PARTIES))
        return "/v1/deals", transfer(deal_id, [number], owners, {buyer: "1"}, _day(offset),
                                     pledgee_consent=data.draw(st.booleans()))
    if kind == "licence":
        licensee = data.draw(st.sampled_from(PARTIES))
        lk = data.draw(st.sampled_from(["ordinary", "ordinary", "sole", "exclusive"]))
        return "/v1/deals", licence(deal_id, [number], owners, licensee, lk, _day(offset),
                                    _day(offset + data.draw(st.integers(30, 900))))
    if kind == "termination" and state.licences:
        target = data.draw(st.sampled_from(sorted(state.licences)))
        return "/v1/deals", {"deal_id": deal_id, "kind": "licence_termination",
                             "effective_on": _day(offset), "patents": [number],
                             "licence": target}
    if kind == "pledge":
        return "/v1/deals", pledge(deal_id, [number], owners, data.draw(st.sampled_from(BANKS)),
                                   _day(offset), _day(offset + 700))
    if kind in ("release", "default") and state.pledges:
        target = data.draw(st.sampled_from(sorted(state.pledges)))
        body = {"deal_id": deal_id, "kind": "pledge_release" if kind == "release" else "default",
                "effective_on": _day(offset), "patents": [number], "pledge": target}
        if kind == "default":
            body["outstanding"] = {"amount": "1000", "currency": "CNY"}
        return "/v1/deals", body
    if kind == "status":
        value = data.draw(st.sampled_from(["fee_grace", "restored", "lapsed", "preserved",
                                           "preservation_lifted"]))
        return f"/v1/patents/{number}/status", {"status": value, "effective_on": _day(offset)}
    if kind == "open":
        return "/v1/deals", {
            "deal_id": deal_id, "kind": "open_licence_declaration", "effective_on": _day(offset),
            "patents": [number], "owners": owners, "starts_on": _day(offset),
            "ends_on": _day(offset + 800), "fee": {"mode": "royalty", "rate": "0.03"}}
    licensee = data.draw(st.sampled_from(PARTIES))
    return "/v1/deals", {"deal_id": deal_id, "kind": "open_licence_take_up",
                         "effective_on": _day(offset), "patents": [number],
                         "licensee": licensee}


def _expected(state: PatentState) -> dict[str, Any]:
    return {
        "status": state.status,
        "owners": {p: Decimal(s) for p, s in state.owners.items()},
        "licences": {d: (lic.licensee, lic.kind, lic.terminated_on)
                     for d, lic in state.licences.items()},
        "pledges": {d: (p.status, p.pledgee) for d, p in state.pledges.items()},
        "open": None if state.open_licence is None else (state.open_licence.deal_id,
                                                          state.open_licence.withdrawn_on),
    }


def _projected(conn: psycopg.Connection, number: str) -> dict[str, Any]:
    def rows(query: str) -> list[tuple[Any, ...]]:
        return conn.execute(query, (number,)).fetchall()

    opened = rows("SELECT deal_id, withdrawn_on FROM rm_open_licences WHERE number = %s")
    return {
        "status": rows("SELECT status FROM rm_patents WHERE number = %s")[0][0],
        "owners": dict(rows("SELECT party, share FROM rm_owners WHERE number = %s")),
        "licences": {r[0]: r[1:] for r in rows(
            "SELECT deal_id, licensee, licence_kind, terminated_on FROM rm_licences"
            " WHERE number = %s")},
        "pledges": {r[0]: r[1:] for r in rows(
            "SELECT deal_id, status, pledgee FROM rm_pledges WHERE number = %s")},
        "open": opened[0] if opened else None,
    }


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_read_models_equal_the_writers_register_after_random_streams(
        data: st.DataObject, client: TestClient, service: LedgerService,
        projectors: Projectors, database_url: str) -> None:
    run = next(_runs)
    if run == 0:
        for p in PARTIES:
            party(client, p)
        for bank in BANKS:
            party(client, bank, kind="bank")
    numbers = [cn_patent(2018, 1, 100 * run + i) for i in range(3)]
    for i, number in enumerate(numbers):
        patent(client, number, {PARTIES[i]: "1"}, filed_on="2018-03-01",
               granted_on="2019-05-01")
    accepted = 0
    for step in range(data.draw(st.integers(5, 25))):
        path, body = _draw_deal(data, service, numbers, run, step)
        response = client.post(path, json=body)
        assert response.status_code in (201, 409, 422), response.text  # 422: e.g. licensee = licensor
        accepted += response.status_code == 201
    note(f"{accepted} deals accepted")
    wait_projected(projectors, service.store.head())
    with psycopg.connect(database_url) as conn:
        for number in numbers:
            assert _projected(conn, number) == _expected(_state(service, number)), number
        indexed = conn.execute("SELECT count(*) FROM rm_event_patents WHERE number = ANY(%s)",
                               (numbers,)).fetchone()
    register = service.writer._register
    assert register is not None
    # every event of each patent, from the writer's state tables (its cache keeps states)
    folded = sum(len(register.whole(n).events) + 1 for n in numbers)  # type: ignore[union-attr]
    assert indexed == (folded,), "the audit index must hold each patent event exactly once"
