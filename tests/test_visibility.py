"""Roles hold on every read path: event kind x role x read path (ledger/law/audiences.py).

One ledger holds an event of every kind, a real anomaly with a confirmed and a dismissed
finding among them. Each cell asks one read path as one role and checks that the kind shows
exactly when the contract says: "auditor and regulator see all; platform sees no anomalies,
credit or listings" (architecture.md s3). The expectations are written out here, not read
from the policy, so a change to the policy that breaks the contract fails a named cell.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from psycopg import sql

from api import visibility
from api.app import create_app
from api.auth import ROLES, KeyRing
from ledger.integrity.checkpoints import make_checkpoint
from ledger.law import audiences
from ledger.law import events as ev
from ledger.service import LedgerService
from projections.event_facts import KIND_NAMES
from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, pledge, transfer, uscc
from tests.ledger_fixtures import KEY_SETTING, auth, wait_projected

A, B, C, BANK, COMPANY = (uscc(300 + i) for i in range(5))
CHEAP, CHEAPER, LICENSED, OPEN, PLEDGED, RELEASED, CONTRIBUTED = (
    cn_patent(2016, 1, 900 + i) for i in range(7))
PATENTS = (CHEAP, CHEAPER, LICENSED, OPEN, PLEDGED, RELEASED, CONTRIBUTED)
EXTENDED = cn_patent(2016, 1, 907)  # granted late enough for term compensation (Art. 42(2))
PARTIES = (A, B, C, BANK, COMPANY)
DEALS = ("T-1", "T-2", "EQ-1", "L-1", "L-END", "O-1", "O-TAKE", "O-END", "P-1", "P-DEF",
         "P-DISP", "P-2", "P-REL", "POOL-IN", "POOL-OUT",  # issue 18 (pools): these two
         "P-CH")  # issue 19
OTHER_IDS = ("S-1", "LIST-1")  # a subsidy's and a listing's: not deals, for any role

ROLES_READ = ("platform", "auditor", "regulator", "admin")
OVERSIGHT_KINDS = {"SubsidyAwarded", "PartyListed", "PartyDelisted", "AnomalyConfirmed",
                   "AnomalyDismissed", "SubsidyRecovered"}
ALL_KINDS = {cls.TOPIC for cls in ev.ALL_EVENTS}
DEAL_KINDS = {cls.TOPIC for cls in ev.DEAL_EVENTS.values()}

# What each read path holds in this ledger, for a role that may read everything.
HOLDS: dict[str, set[str]] = {
    "rest_events": ALL_KINDS,
    "gql_events": ALL_KINDS,
    "gql_proofs": ALL_KINDS,
    "patent_history": {"PatentRegistered", "PatentStatusChanged", "InventorsChanged",
                       "PatentTermExtended", "PatentClassified", *DEAL_KINDS,
                       "RiskPaymentMade",  # issue 19: on the pledged patents' timeline
                       "IndustrialisationReported", "ProductFiled"},  # issue 18 (outcomes)
    # Findings, status and inventor changes, and deals on a pledge or licence name no party.
    "party_history": {"PartyRegistered", "PatentRegistered", "OwnershipTransferred",
                      "EquityContributed", "LicenceGranted", "OpenLicenceDeclared",
                      "OpenLicenceWithdrawn", "OpenLicenceTaken", "PledgeRegistered",
                      "PledgeDisposed", "SubsidyAwarded", "PartyListed", "PartyDelisted",
                      "SubsidyRecovered",
                      # issue 18 (pools)
                      "PoolFormed", "PoolEntered", "PoolExited", "PartyQualified",
                      "PartySizeChanged",
                      "RiskPaymentMade",  # issue 19: its payer
                      # issue 18 (outcomes)
                      "IndustrialisationReported", "ProductFiled", "ProductReported"},
    "deal": DEAL_KINDS,
    "evidence": set(),  # filled below: what patents' and anomalies' evidence lists hold
}
PATHS = tuple(HOLDS)


def expected(role: str, kind: str) -> bool:
    """The contract, written out: platforms read no subsidy, listing or finding."""
    return role != "platform" or kind not in OVERSIGHT_KINDS


@dataclass
class World:
    client: TestClient
    anomalies: list[str]
    seen: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)


def post(client: TestClient, path: str, body: dict[str, Any], role: str = "platform") -> int:
    response = client.post(path, json=body, headers=auth(role))
    assert response.status_code == 201, response.text
    return int(response.json().get("position", 0))


def deal(client: TestClient, body: dict[str, Any]) -> int:
    return post(client, "/v1/deals", body)


def build(client: TestClient, projectors: Projectors) -> list[str]:
    """One event of every kind; two AR-5 flags (nominal prices), confirmed and dismissed."""
    for pid in (A, B, C, BANK):
        party(client, pid, kind="bank" if pid == BANK else "enterprise")
    party(client, COMPANY)
    for number in PATENTS:
        patent(client, number, {A: "1"}, filed_on="2016-03-01", granted_on="2018-06-01")
    post(client, f"/v1/patents/{LICENSED}/status",
         {"status": "fee_grace", "effective_on": "2020-02-01"})
    post(client, f"/v1/patents/{LICENSED}/inventors",
         {"inventors": ["Wang Fang"], "effective_on": "2020-02-02"})
    patent(client, EXTENDED, {A: "1"}, filed_on="2016-03-01", granted_on="2021-09-01")
    post(client, f"/v1/patents/{EXTENDED}/term-extensions",
         {"extension_id": "X-1", "days": 100, "basis": "grant_delay",
          "effective_on": "2021-10-01"})
    # issue 18 (pools): a pool, an entry and exit, a classification, a qualification, a size
    post(client, "/v1/pools", {"pool_id": "POOL-1", "name": "Pool", "administrator": BANK,
                               "formed_on": "2021-01-01"})
    for deal_id, kind, day in (("POOL-IN", "pool_entry", "2021-11-01"),
                               ("POOL-OUT", "pool_exit", "2022-01-01")):
        deal(client, {"deal_id": deal_id, "kind": kind, "effective_on": day,
                      "patents": [EXTENDED], "pool": "POOL-1", "owners": [A],
                      **({"starts_on": day} if kind == "pool_entry" else {})})
    post(client, f"/v1/patents/{EXTENDED}/classification", {"ipc": ["F16K 1/00"]})
    post(client, f"/v1/parties/{C}/qualifications", {"qualification": "high_tech",
                                                     "from": "2020-01-01"})
    post(client, f"/v1/parties/{C}/size", {"size": "small", "effective_on": "2021-01-01"})
    for deal_id, number in (("T-1", CHEAP), ("T-2", CHEAPER)):
        deal(client, transfer(deal_id, [number], [A], {B: "1"}, "2020-03-01",
                              price={"amount": "1", "currency": "CNY"}))
    deal(client, {"deal_id": "EQ-1", "kind": "equity_contribution", "effective_on": "2020-05-01",
                  "patents": [CONTRIBUTED], "from_parties": [A], "company": COMPANY,
                  "valuation": {"amount": "3000000", "currency": "CNY"}})
    deal(client, licence("L-1", [LICENSED], [A], C))
    deal(client, {"deal_id": "L-END", "kind": "licence_termination",
                  "effective_on": "2021-01-01", "patents": [LICENSED], "licence": "L-1"})
    deal(client, {"deal_id": "O-1", "kind": "open_licence_declaration",
                  "effective_on": "2020-01-01", "patents": [OPEN], "owners": [A],
                  "fee": {"mode": "royalty", "rate": "0.02"}, "starts_on": "2020-01-01",
                  "ends_on": "2022-12-31"})
    deal(client, {"deal_id": "O-TAKE", "kind": "open_licence_take_up",
                  "effective_on": "2020-03-01", "patents": [OPEN], "licensee": C})
    deal(client, {"deal_id": "O-END", "kind": "open_licence_withdrawal",
                  "effective_on": "2021-06-01", "patents": [OPEN], "owners": [A]})
    deal(client, pledge("P-1", [PLEDGED], [A], BANK))
    deal(client, {"deal_id": "P-DEF", "kind": "default", "effective_on": "2023-07-01",
                  "patents": [PLEDGED], "pledge": "P-1",
                  "outstanding": {"amount": "4500000", "currency": "CNY"}})
    deal(client, {"deal_id": "P-DISP", "kind": "disposal", "effective_on": "2023-09-01",
                  "patents": [PLEDGED], "pledge": "P-1", "mode": "auction",
                  "proceeds": {"amount": "6000000", "currency": "CNY"},
                  "to_parties": [{"party": C, "share": "1"}]})
    deal(client, pledge("P-2", [RELEASED], [A], BANK))
    deal(client, {"deal_id": "P-CH", "kind": "pledge_change", "effective_on": "2020-09-01",
                  "pledge": "P-2", "due_on": "2023-12-01"})  # issue 19
    deal(client, {"deal_id": "P-REL", "kind": "pledge_release", "effective_on": "2021-01-01",
                  "patents": [RELEASED], "pledge": "P-2"})
    post(client, "/v1/risk-events", {  # issue 19: a risk fund's pre-compensation
        "event_id": "R-1", "pledge": "P-1", "kind": "pre_compensation", "payer": B,
        "amount": {"amount": "100000", "currency": "CNY"}, "paid_on": "2022-01-01"})
    # Issue 18 (outcomes): a patent put to use, a product naming it, the product's report.
    post(client, f"/v1/patents/{CHEAP}/industrialisation", {
        "report_id": "IND-1", "party": C, "basis": "service_contract", "contract_ref": "TECH-SVC-7",
        "started_on": "2020-06-01"})
    post(client, "/v1/products", {"product_id": "PROD-1", "name": "Valve", "owner": B,
                                  "patents": [CHEAP], "filed_on": "2020-07-01"})
    post(client, "/v1/products/PROD-1/reports", {
        "year": 2021, "output_value": {"amount": "800000", "currency": "CNY"},
        "employees": 12})
    post(client, "/v1/subsidies", {"subsidy_id": "S-1", "party": B, "programme": "award",
                                   "amount": {"amount": "100000", "currency": "CNY"},
                                   "awarded_on": "2020-05-20", "deals": ["T-1"]}, "regulator")
    post(client, "/v1/subsidies/S-1/recovery", {  # issue 17: a recovery is oversight's too
        "amount": {"amount": "100000", "currency": "CNY"}, "recovered_on": "2021-01-05",
        "grounds": "a gift between friends"}, "regulator")
    post(client, "/v1/listings", {"listing_id": "LIST-1", "party": B, "list": "dishonest",
                                  "grounds": "unpaid judgment", "starts_on": "2020-04-01",
                                  "ends_on": "2022-12-31"}, "regulator")
    post(client, "/v1/listings/LIST-1/end", {}, "regulator")
    flags = gql(client, projectors, "auditor", """{ anomalies(filter: {rule: "AR-5"}) {
        edges { node { id evidence { dealId } } } } }""")["anomalies"]["edges"]
    by_deal = {edge["node"]["evidence"][0]["dealId"]: edge["node"]["id"] for edge in flags}
    assert set(by_deal) >= {"T-1", "T-2"}, flags
    post(client, f"/v1/anomalies/{by_deal['T-1']}/finding",
         {"decision": "confirmed", "note": "sham sale"}, "regulator")
    post(client, f"/v1/anomalies/{by_deal['T-2']}/finding",
         {"decision": "dismissed", "note": "a gift between friends"}, "regulator")
    make_checkpoint(client.app.state.service.database_url,  # type: ignore[attr-defined]
                    Ed25519PrivateKey.generate())
    return [by_deal["T-1"], by_deal["T-2"]]


def gql(client: TestClient, projectors: Projectors | None, role: str, query: str,
        **variables: Any) -> dict[str, Any]:
    if projectors is not None:
        wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    body = client.post("/graphql", headers=auth(role),
                       json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def world(postgres_server_url: str) -> Iterator[World]:
    """Built once for the module: every cell reads the same ledger."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))
    url = urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    service = LedgerService(url).start()
    projectors = Projectors(url, service.store, service.metrics).start()
    try:
        with TestClient(create_app(service, KeyRing.from_setting(KEY_SETTING)),
                        headers=auth("platform")) as client:
            anomalies = build(client, projectors)
            wait_projected(projectors, service.store.head())
            yield World(client, anomalies)
    finally:
        projectors.stop()
        service.stop()
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


# --- each read path, as one role: the events it answers, as {kind (topic), payload...} ----

_TOPIC = {name: cls.TOPIC for cls, name in KIND_NAMES.items()}
_EVENT = "position kind dealId payload"


def rest_events(world: World, role: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        response = world.client.get("/v1/events", params={"after": after, "limit": 7},
                                    headers=auth(role))
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["events"]
        if not page["has_more"]:
            return found
        assert page["next_after"] > after, "a page must move the consumer on"
        after = page["next_after"]


def _gql_events(world: World, role: str, query: str, path: str,
                **variables: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        data = gql(world.client, None, role, query, after=after, **variables)
        for step in path.split("."):
            data = data[step]
        found += [{**edge["node"], "kind": _TOPIC[edge["node"]["kind"]]}
                  for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return found
        after = data["pageInfo"]["endCursor"]


def gql_events(world: World, role: str) -> list[dict[str, Any]]:
    query = ("query($after: String) { events(first: 6, after: $after) { edges { node { "
             + _EVENT + " } } pageInfo { hasNextPage endCursor } } }")
    return _gql_events(world, role, query, "events")


def gql_proofs(world: World, role: str) -> list[dict[str, Any]]:
    """Each event's inclusion proof: its stored topic, the bytes a platform must not get."""
    query = ("query($after: String) { events(first: 100, after: $after) { edges { node { "
             "position kind proof { topic } } } pageInfo { hasNextPage endCursor } } }")
    found = _gql_events(world, role, query, "events")
    assert all(e["proof"] is not None for e in found), found
    return [{**e, "kind": e["proof"]["topic"]} for e in found]


def patent_history(world: World, role: str) -> list[dict[str, Any]]:
    query = ("query($n: String!, $after: String) { patent(number: $n) { history(first: 3, "
             "after: $after) { edges { node { " + _EVENT
             + " } } pageInfo { hasNextPage endCursor } } } }")
    return [e for n in (*PATENTS, EXTENDED)
            for e in _gql_events(world, role, query, "patent.history", n=n)]


def party_history(world: World, role: str) -> list[dict[str, Any]]:
    query = ("query($p: String!, $after: String) { party(id: $p) { history(first: 3, "
             "after: $after) { edges { node { " + _EVENT
             + " } } pageInfo { hasNextPage endCursor } } } }")
    return [e for p in PARTIES for e in _gql_events(world, role, query, "party.history", p=p)]


def deals(world: World, role: str) -> list[dict[str, Any]]:
    found = []
    for deal_id in (*DEALS, *OTHER_IDS):
        data = gql(world.client, None, role, """query($id: String!) { deal(id: $id) {
            dealId kind position payload event { """ + _EVENT + " } } }", id=deal_id)
        if data["deal"] is not None:
            got = data["deal"]
            assert got["payload"] == got["event"]["payload"], got
            found.append({**got["event"], "kind": _TOPIC[got["kind"]]})
    return found


def evidence(world: World, role: str) -> list[dict[str, Any]]:
    """Every evidence list a role may open: owners, licences, pledges; anomalies' for
    oversight (a platform is refused those whole, test_oversight_views_refuse_platforms)."""
    found: list[dict[str, Any]] = []
    for number in PATENTS:
        data = gql(world.client, None, role, """query($n: String!) { patent(number: $n) {
            owners { evidence { """ + _EVENT + """ } } licences { evidence { """ + _EVENT
                   + """ } } pledges { evidence { """ + _EVENT + " } } } }", n=number)
        for name in ("owners", "licences", "pledges"):
            found += [e for item in data["patent"][name] for e in item["evidence"]]
    if audiences.may_read_oversight(role):
        data = gql(world.client, None, role, "{ anomalies { edges { node { evidence { "
                   + _EVENT + " } } } } }")
        found += [e for edge in data["anomalies"]["edges"] for e in edge["node"]["evidence"]]
    return [{**e, "kind": _TOPIC[e["kind"]]} for e in found]


READERS = {"rest_events": rest_events, "gql_events": gql_events, "gql_proofs": gql_proofs,
           "patent_history": patent_history, "party_history": party_history, "deal": deals,
           "evidence": evidence}
# Owners' evidence: registrations and transfers, disposal, contribution; licences' and
# pledges' their deals; anomalies' (AR-5) the two transfers, and (AR-13, issue 17: S-1 went to
# B while B was listed) the subsidy and the listing, which only oversight reads (platforms are
# refused anomalies whole).
HOLDS["evidence"] = {"PatentRegistered", "OwnershipTransferred", "EquityContributed",
                     "PledgeDisposed", "LicenceGranted", "LicenceTerminated",
                     "OpenLicenceTaken", "PledgeRegistered", "LoanDefaulted",
                     "PledgeReleased", "SubsidyAwarded", "PartyListed",
                     "PledgeChanged", "RiskPaymentMade"}  # issue 19: a pledge's evidence


def answers(world: World, path: str, role: str) -> list[dict[str, Any]]:
    if (path, role) not in world.seen:
        world.seen[path, role] = READERS[path](world, role)
    return world.seen[path, role]


# --- the matrix ------------------------------------------------------------------------------

CELLS = [pytest.param(path, role, kind, id=f"{path}-{role}-{kind}")
         for path in PATHS for role in ROLES_READ for kind in sorted(HOLDS[path])]


@pytest.mark.parametrize(("path", "role", "kind"), CELLS)
def test_a_role_reads_a_kind_on_a_path_exactly_when_the_contract_says(
        world: World, path: str, role: str, kind: str) -> None:
    kinds = {e["kind"] for e in answers(world, path, role)}
    if expected(role, kind):
        assert kind in kinds, f"{role} cannot read {kind} on {path}"
    else:
        assert kind not in kinds, f"{role} reads {kind} on {path}"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("role", ROLES_READ)
def test_a_path_answers_no_kind_it_should_not_hold(world: World, path: str, role: str) -> None:
    """No stray kind (nor a hidden one under another name): each answer is a kind the path
    holds and the role may read."""
    kinds = {e["kind"] for e in answers(world, path, role)}
    assert kinds == {k for k in HOLDS[path] if expected(role, k)}


PAYLOAD_PATHS = ("rest_events", "gql_events", "patent_history", "party_history", "deal",
                 "evidence")


@pytest.mark.parametrize("path", PAYLOAD_PATHS)
@pytest.mark.parametrize("role", ROLES_READ)
def test_payloads_are_whole_or_withheld_members_are_absent(world: World, path: str,
                                                           role: str) -> None:
    """Against the auditor's answer for the same event: every member an auditor reads is
    there, except those withheld from the role (absent, never null or blanked)."""
    full = {e["position"]: e["payload"] for e in answers(world, path, "auditor")}
    for event in answers(world, path, role):
        cls = audiences.kind_of_topic(event["kind"])
        hidden = audiences.withheld_members(role, cls)
        assert hidden <= full[event["position"]].keys()
        assert event["payload"] == {k: v for k, v in full[event["position"]].items()
                                    if k not in hidden}, (path, role, event["kind"])


def test_no_grounds_notes_or_subsidy_reach_a_platform_in_any_text(world: World) -> None:
    """The oversight events' own words are nowhere in what a platform reads."""
    words = ("unpaid judgment", "sham sale", "a gift between friends", "LIST-1", "S-1")
    assert all(w in str(answers(world, "rest_events", "auditor")) for w in words)
    for path in PATHS:
        text = str(answers(world, path, "platform"))
        assert [w for w in words if w in text] == [], path


def test_a_page_of_hidden_events_still_moves_a_platform_on(world: World) -> None:
    """The last five events are oversight events: a platform reading from before them gets
    an empty, final page, and its position does not go backwards."""
    head = world.client.app.state.service.store.head()  # type: ignore[attr-defined]
    auditor = [e["position"] for e in answers(world, "rest_events", "auditor")]
    last_visible = max(e["position"] for e in answers(world, "rest_events", "platform"))
    page = world.client.get("/v1/events", params={"after": last_visible, "limit": 2},
                            headers=auth("platform")).json()
    assert page == {"events": [], "next_after": last_visible, "has_more": False}
    assert auditor[-1] == head and last_visible < head


@pytest.mark.parametrize("query", [
    "{ anomalies { edges { node { id } } } }",
    "{ blacklist { party { id } } }",
    f'{{ party(id: "{B}") {{ listings {{ listingId }} }} }}',
    f'{{ party(id: "{B}") {{ blacklisted }} }}',
    f'{{ party(id: "{B}") {{ credit {{ grade reasons {{ evidence {{ position }} }} }} }} }}',
])
def test_oversight_views_refuse_platforms(world: World, query: str) -> None:
    body = world.client.post("/graphql", headers=auth("platform"), json={"query": query}).json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
    for role in ("auditor", "regulator", "admin"):
        assert "errors" not in world.client.post("/graphql", headers=auth(role),
                                                 json={"query": query}).json()


def test_a_platform_filtering_for_a_hidden_kind_gets_nothing(world: World) -> None:
    query = ('{ events(filter: {kinds: ["listing", "finding_confirmed", "transfer"]}) '
             "{ edges { node { kind } } } }")
    platform = gql(world.client, None, "platform", query)["events"]["edges"]
    assert {e["node"]["kind"] for e in platform} == {"transfer"}
    auditor = gql(world.client, None, "auditor", query)["events"]["edges"]
    assert {e["node"]["kind"] for e in auditor} == {"listing", "finding_confirmed", "transfer"}
    only_hidden = '{ events(filter: {kinds: ["subsidy"]}) { edges { node { kind } } } }'
    assert gql(world.client, None, "platform", only_hidden)["events"]["edges"] == []


# --- the policy itself: complete, consistent, and equal to the docs -----------------------

def test_the_policy_names_every_role_and_every_kind() -> None:
    assert audiences.ROLES == ROLES
    assert set(audiences.READERS) == set(ev.ALL_EVENTS)
    assert audiences.readable(None) == () and audiences.readable("intruder") == ()
    for role in ROLES:
        for cls in ev.ALL_EVENTS:
            assert audiences.may_read(role, cls) == expected(role, cls.TOPIC), (role, cls)


def test_the_oversight_views_follow_the_oversight_events() -> None:
    """anomalies, credit and listings refuse exactly the roles that may not read findings
    and listings (they are made from them)."""
    for role in ROLES:
        assert audiences.may_read_oversight(role) == all(
            audiences.may_read(role, cls) for cls in (ev.PartyListed, ev.PartyDelisted,
                                                      ev.AnomalyConfirmed, ev.AnomalyDismissed))


# Every member of the kinds platforms read. A new member makes this fail on purpose: decide
# whether platforms may read it (ledger/law/audiences.py WITHHELD), then add it here.
# Issue 19: every deal names its intermediaries and official record, which platforms read
# (they post them); so are a pledge's debt, a disposal's licence and compensation covered,
# pledge changes and risk payments (banks post those too).
_DEAL = ("corrects deal_id fingerprint patents registered_on signed_on agency platform "
         "technology_manager official_record")
PLATFORM_MEMBERS = {
    "PartyRegistered": "fingerprint founded_on name party_id party_kind region related_to size "
                       "state_owned",
    "PatentRegistered": "expires_on filed_on fingerprint granted_on number owners patent_kind "
                        "title",
    "PatentStatusChanged": "number outcome reason status",
    "PatentTermExtended": "basis days extension_id fingerprint number",
    "InventorsChanged": "inventors number reason",
    # issue 18 (outcomes): what platforms post of a patent's use, decided like a deal's
    "IndustrialisationReported": "basis category contract_ref deal fingerprint holders number "
                                 "party products report_id started_on",
    "ProductFiled": "category filed_on fingerprint intensive name owner patents product_id",
    "ProductReported": "employees fingerprint output_value owner product_id year",
    "OwnershipTransferred": f"{_DEAL} applications consideration from_parties "
                            "pledgee_consent price to_parties",
    "EquityContributed": f"{_DEAL} company equity_share from_parties pledgee_consent valuation",
    "LicenceGranted": f"{_DEAL} ends_on fee_amount fee_mode fee_rate field filed_on late "
                      "licence_kind licensee licensors parent_licence pledgee_consent starts_on "
                      "sublicensable territory pool",
    "LicenceTerminated": f"{_DEAL} licence",
    "OpenLicenceDeclared": f"{_DEAL} ends_on evaluation_report fee_amount fee_mode fee_rate "
                           "owners pledgee_consent starts_on",
    "OpenLicenceWithdrawn": f"{_DEAL} owners",
    "OpenLicenceTaken": f"{_DEAL} licensee",
    "PledgeRegistered": f"{_DEAL} due_on invalidation_acknowledged pledgee pledgors "
                        "secured_amount debtor guarantors insurer mixed_collateral",
    "PledgeReleased": f"{_DEAL} pledge",
    "LoanDefaulted": f"{_DEAL} outstanding pledge",
    "PledgeDisposed": f"{_DEAL} claim_paid mode pledge proceeds shortfall surplus to_parties "
                      "valuation compensation_covered licensee licence_kind licence_starts_on "
                      "licence_ends_on",
    # issue 18 (pools): posted by platforms, read by every role
    "PoolEntered": f"{_DEAL} administrator ends_on owners pool pool_field starts_on",
    "PoolExited": f"{_DEAL} owners pool",
    "PoolFormed": "administrator field fingerprint name pool_id",
    "PatentClassified": "fingerprint ipc number",
    "PartyQualified": "certificate fingerprint party qualification valid_from valid_to",
    "PartySizeChanged": "fingerprint party size",
    "PledgeChanged": f"{_DEAL} pledge due_on secured_amount",
    "RiskPaymentMade": "event_id pledge risk_kind payer amount patents fingerprint",
}
_ENVELOPE = {"originator_id", "originator_version", "timestamp", "effective_on", "posted_by"}


def test_every_member_a_platform_reads_was_decided() -> None:
    readable = {cls.TOPIC: cls for cls in audiences.readable("platform")}
    assert set(readable) == set(PLATFORM_MEMBERS)
    for topic, cls in readable.items():
        members = {f.name for f in dataclasses.fields(cls)} - _ENVELOPE
        assert members == set(PLATFORM_MEMBERS[topic].split()), (
            f"{topic} changed its members: decide what platforms may read of it "
            "(ledger/law/audiences.py WITHHELD) and update PLATFORM_MEMBERS")
        assert audiences.withheld_members("platform", cls) <= members


def test_the_docs_table_is_the_policy() -> None:
    """docs/reliability.md shows `python -m api.visibility`'s table, exactly."""
    docs = (Path(__file__).parent.parent / "docs" / "reliability.md").read_text()
    section = docs.split("### What each role may read", 1)[1]
    table = "\n".join(re.findall(r"^\|.*\|$", section.split("\n#", 1)[0], re.MULTILINE))
    assert table + "\n" == visibility.docs_table(), \
        "the docs' table is stale: python -m api.visibility"


def test_a_withheld_member_is_absent_for_its_role_and_its_proof_with_it(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """No member is withheld today; this holds the mechanism ready for the day one is: here,
    a transfer's price withheld from platforms on every path that shows a payload."""
    monkeypatch.setitem(audiences.WITHHELD, ev.OwnershipTransferred,
                        {"platform": frozenset({"price"})})
    assert "| platform: price |" in visibility.docs_table()
    for path in PAYLOAD_PATHS:
        for role in ROLES_READ:
            world.seen.pop((path, role), None)  # asked afresh under the changed policy
        platform = [e for e in answers(world, path, "platform")
                    if e["kind"] == "OwnershipTransferred"]
        auditor = [e for e in answers(world, path, "auditor")
                   if e["kind"] == "OwnershipTransferred"]
        assert platform and auditor, path
        assert all("price" not in e["payload"] for e in platform), path
        assert all(e["payload"]["price"]["amount"] == "1" for e in auditor), path
        world.seen.pop((path, "platform"))
        world.seen.pop((path, "auditor"))
    proofs = '{ events(filter: {kinds: ["transfer"]}) { edges { node { proof { topic } } } } }'
    assert [e["node"]["proof"] for e in gql(world.client, None, "platform", proofs)[
        "events"]["edges"]] == [None, None]
    assert all(e["node"]["proof"] for e in gql(world.client, None, "auditor", proofs)[
        "events"]["edges"])
