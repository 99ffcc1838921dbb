"""The projections: read models follow the log exactly once, and equal the writer's register."""

from __future__ import annotations

from decimal import Decimal

import psycopg
from fastapi.testclient import TestClient

from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.builders import ACME, BETA, PATENT, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import wait_projected

BANK = uscc(900)


def _post(client: TestClient, body: dict) -> int:
    response = client.post("/v1/deals", json=body)
    assert response.status_code == 201, response.text
    return response.json()["position"]


def test_register_tables_follow_transfers_licences_and_pledges(
        client: TestClient, service: LedgerService, projectors: Projectors,
        database_url: str) -> None:
    for p in (ACME, BETA):
        party(client, p)
    party(client, BANK, kind="bank")
    patent(client, PATENT, {ACME: "1"})
    _post(client, licence("L-1", [PATENT], [ACME], BETA))
    _post(client, transfer("T-1", [PATENT], [ACME], {BETA: "0.6", ACME: "0.4"}))
    last = _post(client, pledge("P-1", [PATENT], [BETA, ACME], BANK))
    wait_projected(projectors, last)

    with psycopg.connect(database_url) as conn:
        owners = dict(conn.execute(
            "SELECT party, share FROM rm_owners WHERE number = %s", (PATENT,)).fetchall())
        licences = conn.execute(
            "SELECT deal_id, licensee, fee->>'mode' FROM rm_licences WHERE number = %s",
            (PATENT,)).fetchall()
        pledges = conn.execute(
            "SELECT deal_id, pledgee, status, secured_amount FROM rm_pledges WHERE number = %s",
            (PATENT,)).fetchall()
        indexed = conn.execute("SELECT count(*) FROM rm_events").fetchone()
    assert owners == {BETA: Decimal("0.6"), ACME: Decimal("0.4")}
    assert licences == [("L-1", BETA, "lump_sum")]  # INV-14: the licence survives the transfer
    assert pledges == [("P-1", BANK, "active", Decimal("5000000"))]
    assert indexed == (service.store.head(),)


def test_graphql_patent_shows_owners_licences_pledge_and_history(
        client: TestClient, projectors: Projectors) -> None:
    for p in (ACME, BETA):
        party(client, p)
    party(client, BANK, kind="bank")
    patent(client, PATENT, {ACME: "1"})
    _post(client, licence("L-1", [PATENT], [ACME], BETA))
    last = _post(client, pledge("P-1", [PATENT], [ACME], BANK))
    wait_projected(projectors, last)
    query = """query($n: String!) { patent(number: $n) {
        number kind status owners { party { id name } share evidence { position kind } }
        licences { dealId licensee { id } licenceKind territory field startsOn endsOn }
        pledge { dealId status pledgee { id } securedAmount { amount currency } dueOn }
        history(first: 10) { edges { position kind dealId node { payload } } } } }"""
    from tests.ledger_fixtures import auth
    response = client.post("/graphql", json={"query": query, "variables": {"n": PATENT}},
                           headers=auth("auditor"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    got = body["data"]["patent"]
    assert got["owners"][0]["party"]["id"] == ACME
    assert got["owners"][0]["evidence"][0]["kind"] == "patent_registered"
    assert got["licences"][0]["dealId"] == "L-1"
    assert got["pledge"]["securedAmount"] == {"amount": "5000000", "currency": "CNY"}
    kinds = [e["kind"] for e in got["history"]["edges"]]
    assert kinds == ["patent_registered", "licence", "pledge"]
