"""A catalogue of hostile requests, sent as an attacker would, against one running ledger.

Each attack must be answered with a specific client error (never a 5xx, never a traceback or an
internal message), store nothing, and leave the read side following the log: after the whole
catalogue the projections reach the head, `/healthz` says ok, and a lawful posting made last
is readable through GraphQL. The counts of this catalogue are quoted in docs/reliability.md
("Hostile input"); `test_the_catalogue_is_as_large_as_the_docs_say` keeps them equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from projections.projectors import Projectors
from tests.builders import ACME, BETA, PATENT, event_count, licence, party, patent, transfer
from tests.ledger_fixtures import auth, wait_projected

# Characters no registry would accept inside text: NUL, another C0 control, DEL, a bidi
# override and a bidi isolate, and a lone surrogate (only expressible as a JSON escape).
HOSTILE_CHARACTERS = {
    "NUL": "\u0000",
    "ESC": "\u001b",
    "DEL": "\u007f",
    "RLO": "\u202e",
    "RLI": "\u2067",
    "lone surrogate": "\ud800",
}
# Words that only an internal fault puts into an answer.
INTERNALS = re.compile(r"Traceback|offset-naive|psycopg|NoneType|object has no attribute|"
                       r"KeyError|IndexError|sqlalchemy|File \"/", re.IGNORECASE)


@dataclass(frozen=True)
class Attack:
    name: str
    method: str
    path: str
    expect: frozenset[int]
    role: str | None = "platform"
    body: Any = None  # sent as JSON with every non-ASCII character escaped
    raw: bytes | None = None  # sent as it is
    headers: dict[str, str] = field(default_factory=dict)


def _json_bytes(body: Any) -> bytes:
    """JSON with ASCII escapes, so a lone surrogate travels as `\\ud800` (it has no UTF-8)."""
    return json.dumps(body, ensure_ascii=True).encode()


def _text_attacks() -> Iterator[Attack]:
    """Every text field of every endpoint, with each hostile character inside a lawful value."""
    deal = transfer("hostile-deal", [PATENT], [ACME], {BETA: "1"})
    lic = licence("hostile-licence", [PATENT], [ACME], BETA)
    listing = {"listing_id": "hostile-listing", "party": ACME, "list": "dishonest",
               "grounds": "court ruling", "starts_on": "2024-01-01"}
    subsidy = {"subsidy_id": "hostile-subsidy", "party": ACME, "programme": "Henan pledge",
               "amount": {"amount": "1000", "currency": "CNY"}, "awarded_on": "2024-01-01"}
    targets: list[tuple[str, str, str, dict[str, Any], str]] = [
        ("/v1/parties", "platform", "name",
         {"id": "91350100M00500005C", "name": "Acme", "kind": "enterprise"}, "Ac{}me"),
        ("/v1/parties", "platform", "id",
         {"id": "91350100M00500005C", "name": "Acme", "kind": "enterprise"},
         "91350100M0050{}0005C"),
        ("/v1/patents", "platform", "title",
         {"number": "201810000001.7", "title": "A pump", "filed_on": "2018-01-02",
          "granted_on": "2019-01-02", "owners": [{"party": ACME, "share": "1"}]}, "A p{}ump"),
        ("/v1/patents/" + PATENT + "/inventors", "platform", "inventors",
         {"inventors": ["Wang Fang"], "effective_on": "2024-05-01"}, "Wang{}Fang"),
        ("/v1/patents/" + PATENT + "/status", "platform", "reason",
         {"status": "fee_grace", "effective_on": "2024-05-01", "reason": "late"}, "la{}te"),
        ("/v1/deals", "platform", "deal_id", deal, "hostile{}deal"),
        ("/v1/deals", "platform", "field", lic, "pumps{}"),
        ("/v1/deals", "platform", "territory", lic, "C{}N"),
        ("/v1/listings", "regulator", "grounds", listing, "court{}ruling"),
        ("/v1/listings", "regulator", "listing_id", listing, "hostile{}listing"),
        ("/v1/subsidies", "regulator", "programme", subsidy, "Henan{}pledge"),
        ("/v1/subsidies", "regulator", "subsidy_id", subsidy, "hostile{}subsidy"),
    ]
    for path, role, name, body, template in targets:
        for label, character in HOSTILE_CHARACTERS.items():
            value: Any = template.format(character)
            if name == "inventors":
                value = [value]
            yield Attack(f"{label} in {path} {name}", "POST", path, frozenset({422}), role,
                         raw=_json_bytes({**body, name: value}),
                         headers={"content-type": "application/json"})


def _shape_attacks() -> Iterator[Attack]:
    """Bodies, paths and queries a client should never send."""
    refused = frozenset({422})
    party_ok = {"id": "91350100M00500005C", "name": "Acme", "kind": "enterprise"}
    json_header = {"content-type": "application/json"}
    yield Attack("not JSON", "POST", "/v1/parties", refused, raw=b"{not json",
                 headers=json_header)
    yield Attack("a JSON array", "POST", "/v1/parties", refused, raw=b"[]", headers=json_header)
    yield Attack("nesting 5,000 deep", "POST", "/v1/parties", refused,
                 raw=b"[" * 5000 + b"]" * 5000, headers=json_header)
    huge = _json_bytes(transfer("huge-price", [PATENT], [ACME], {BETA: "1"},
                                price={"amount": "HUGE", "currency": "CNY"}))
    yield Attack("a number past float", "POST", "/v1/deals", refused,
                 raw=huge.replace(b'"HUGE"', b"1e999"), headers=json_header)
    yield Attack("an amount past the bound", "POST", "/v1/deals", refused,
                 raw=huge.replace(b'"HUGE"', b'"1e30"'), headers=json_header)
    for amount in ("1_000", " 5", "1e3", "NaN", "１２", "-0"):  # Decimal() reads every one
        yield Attack(f"the amount {amount!r}", "POST", "/v1/deals", refused,
                     body=transfer(f"amount-{len(amount)}", [PATENT], [ACME], {BETA: "1"},
                                   price={"amount": amount, "currency": "CNY"}))
    yield Attack("an unknown field", "POST", "/v1/parties", refused,
                 body={**party_ok, "pledgee_concent": True})
    yield Attack("blank name", "POST", "/v1/parties", refused, body={**party_ok, "name": "   "})
    yield Attack("zero-width name", "POST", "/v1/parties", refused,
                 body={**party_ok, "name": "\u200b\u200d"})
    yield Attack("founded in the future", "POST", "/v1/parties", refused,
                 body={**party_ok, "founded_on": "2999-01-01"})
    yield Attack("a transfer to oneself", "POST", "/v1/deals", refused,
                 body=transfer("self-transfer", [PATENT], [ACME], {ACME: "1"}))
    yield Attack("number year not the filing year", "POST", "/v1/patents", refused,
                 body={"number": "201810000001.7", "title": "A pump", "filed_on": "2016-01-02",
                       "granted_on": "2019-01-02", "owners": [{"party": ACME, "share": "1"}]})
    yield Attack("a patent filed in 9999 (its term leaves the calendar)", "POST", "/v1/patents",
                 refused, body={"number": "999910000005.3", "title": "A pump",
                                "filed_on": "9999-01-02", "granted_on": "9999-06-01",
                                "owners": [{"party": ACME, "share": "1"}]})
    yield Attack("a licence in 9999", "POST", "/v1/deals", refused,
                 body=licence("l-9999", [PATENT], [ACME], BETA, starts_on="9999-12-30",
                              ends_on="9999-12-31"))
    yield Attack("a status change in year 1", "POST", f"/v1/patents/{PATENT}/status", refused,
                 body={"status": "lapsed", "effective_on": "0001-01-01"})
    yield Attack("a day given as a number", "POST", "/v1/deals", refused,
                 body=transfer("day-number", [PATENT], [ACME], {BETA: "1"},
                               effective_on=20200301))
    yield Attack("Arabic-Indic digits in a path", "POST", "/v1/patents/١٢/status", refused,
                 body={"status": "fee_grace", "effective_on": "2024-05-01"})
    yield Attack("NUL in a path", "POST", "/v1/patents/2017%00106018623/status",
                 frozenset({422, 404}), body={"status": "fee_grace", "effective_on": "2024-05-01"})
    yield Attack("negative after", "GET", "/v1/events?after=-1", refused)
    yield Attack("limit over the page", "GET", "/v1/events?limit=100000", refused)
    yield Attack("after not a number", "GET", "/v1/events?after=abc", refused)
    yield Attack("a chunked body over the limit", "POST", "/v1/parties", frozenset({413}),
                 raw=b'{"name": "' + b"a" * 300_000 + b'"}',
                 headers={**json_header, "transfer-encoding": "chunked"})
    yield Attack("a declared body over the limit", "POST", "/v1/parties", frozenset({413}),
                 raw=b'{"name": "' + b"a" * 300_000 + b'"}', headers=json_header)


def _graphql_transport_attacks() -> Iterator[Attack]:
    """Bodies to /graphql that are no GraphQL request: 400 problem+json, never a 500."""
    json_header = {"content-type": "application/json"}
    nested = (b'{"query": "{ ledger { position } }", "variables": ' + b'{"a":' * 5000 + b"1"
              + b"}" * 5000 + b"}")
    yield Attack("GraphQL variables nested 5,000 deep", "POST", "/graphql", frozenset({400}),
                 "auditor", raw=nested, headers=json_header)
    yield Attack("a GraphQL body json takes for UTF-32 and cannot decode", "POST", "/graphql",
                 frozenset({400}), "auditor", raw=b"\x00\x00\x00{", headers=json_header)
    yield Attack("a GraphQL operationName that is a number", "POST", "/graphql",
                 frozenset({400}), "auditor",
                 body={"query": "{ ledger { position } }", "operationName": 5})


def _reference_attacks() -> Iterator[Attack]:
    """References to things that do not exist: 404, nothing stored."""
    finding = {"decision": "confirmed", "note": "checked"}
    yield Attack("a finding on no anomaly", "POST", "/v1/anomalies/999999999/finding",
                 frozenset({404}), "regulator", body=finding)
    yield Attack("a finding by SQL injection", "POST", "/v1/anomalies/1' OR 1=1--/finding",
                 frozenset({404}), "regulator", body=finding)
    yield Attack("ending no listing", "POST", "/v1/listings/never-listed/end", frozenset({404}),
                 "regulator", body={})
    yield Attack("revoking no key", "DELETE", "/v1/admin/keys/aaaaaaaaaaaa", frozenset({404}),
                 "admin")


def _access_attacks() -> Iterator[Attack]:
    party_ok = {"id": "91350100M00500005C", "name": "Acme", "kind": "enterprise"}
    yield Attack("no key", "POST", "/v1/parties", frozenset({401}), None, body=party_ok)
    yield Attack("an unknown key", "POST", "/v1/parties", frozenset({401}), None, body=party_ok,
                 headers={"Authorization": "Bearer not-a-key"})
    yield Attack("a platform lists a party", "POST", "/v1/listings", frozenset({403}),
                 "platform", body={"listing_id": "l1", "party": ACME, "list": "dishonest",
                                   "grounds": "x", "starts_on": "2024-01-01"})
    yield Attack("an auditor posts a deal", "POST", "/v1/deals", frozenset({403}), "auditor",
                 body=transfer("by-auditor", [PATENT], [ACME], {BETA: "1"}))
    yield Attack("a platform issues a key", "POST", "/v1/admin/keys", frozenset({403}),
                 "platform", body={"role": "admin"})


# GraphQL: (name, query, variables, the error code expected)
GRAPHQL_ATTACKS: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("a time without a zone", f'{{ patent(number: "{PATENT}", asKnownAt: "2021-06-01T00:00:00") '
     "{ number } }", {}, "BAD_USER_INPUT"),
    ("a date that is no date", f'{{ patent(number: "{PATENT}", asOf: "2021-02-30") '
     "{ number } }", {}, "BAD_USER_INPUT"),
    ("NUL in a patent number", "query($n: String!) { patent(number: $n) { number } }",
     {"n": "2017\u000010601862.3"}, "BAD_USER_INPUT"),
    ("bidi override in a party id", "query($p: String!) { party(id: $p) { id } }",
     {"p": "\u202e91350100M000100Y43"}, "BAD_USER_INPUT"),
    ("a negative page", "{ events(first: -1) { edges { position } } }", {}, "BAD_USER_INPUT"),
    ("a page past the bound", "{ events(first: 100000) { edges { position } } }", {},
     "BAD_USER_INPUT"),
    ("a forged cursor", '{ events(first: 5, after: "!!not-a-cursor") { edges { position } } }',
     {}, "BAD_USER_INPUT"),
    ("a granularity of centuries", '{ indicators(from: "2020-01-01", to: "2021-01-01", '
     'granularity: "century") { indicator } }', {}, "BAD_USER_INPUT"),
    ("indicators in the year 9999", '{ indicators(from: "9990-01-01", to: "9999-12-31", '
     'granularity: "year") { indicator } }', {}, "BAD_USER_INPUT"),
    ("a register as of year 1", f'{{ patent(number: "{PATENT}", asOf: "0001-01-01") '
     "{ number } }", {}, "BAD_USER_INPUT"),
    ("an event kind that does not exist", '{ events(filter: {kinds: ["secret"]}) '
     "{ edges { node { kind } } } }", {}, "BAD_USER_INPUT"),
    ("a field that does not exist", "{ ledger { secrets } }", {}, None),
]


def catalogue() -> list[Attack]:
    return [*_text_attacks(), *_shape_attacks(), *_graphql_transport_attacks(),
            *_reference_attacks(), *_access_attacks()]


def _send(client: TestClient, attack: Attack) -> Any:
    headers = {"Authorization": "", **attack.headers}  # the client's own key is not sent
    if attack.role is not None:
        headers.update(auth(attack.role))
    if attack.raw is not None:
        content: Any = attack.raw
        if headers.get("transfer-encoding") == "chunked":
            headers.pop("transfer-encoding")
            body = attack.raw
            content = (body[i:i + 16_384] for i in range(0, len(body), 16_384))
        return client.request(attack.method, attack.path, content=content, headers=headers)
    if attack.body is not None:
        return client.request(attack.method, attack.path, json=attack.body, headers=headers)
    return client.request(attack.method, attack.path, headers=headers)


def _faults_of(attack: Attack, response: Any) -> list[str]:
    faults = []
    if response.status_code not in attack.expect:
        faults.append(f"status {response.status_code}, expected {sorted(attack.expect)}: "
                      f"{response.text[:300]}")
    if response.status_code >= 500:
        faults.append("a server error")
    if INTERNALS.search(response.text):
        faults.append(f"internals in the answer: {response.text[:300]}")
    if response.status_code >= 400:
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            faults.append(f"content-type {response.headers.get('content-type')}")
        elif response.status_code == 422 and not response.json().get("errors"):
            faults.append("a 422 without errors")
    return faults


def test_every_hostile_request_is_refused_and_the_read_side_goes_on(
        client: TestClient, projectors: Projectors) -> None:
    party(client, ACME)
    party(client, BETA)
    patent(client, PATENT, {ACME: "1"})
    before = event_count(client)
    faults: dict[str, list[str]] = {}
    for attack in catalogue():
        found = _faults_of(attack, _send(client, attack))
        if found:
            faults[attack.name] = found
    for name, query, variables, code in GRAPHQL_ATTACKS:
        response = client.post("/graphql", json={"query": query, "variables": variables},
                               headers=auth("auditor"))
        errors = response.json().get("errors") if response.status_code < 500 else None
        found = []
        if not errors:
            found.append(f"no GraphQL error ({response.status_code}): {response.text[:200]}")
        elif code is not None and errors[0].get("extensions", {}).get("code") != code:
            found.append(f"code {errors[0].get('extensions')}, expected {code}: {errors[0]}")
        if INTERNALS.search(response.text):
            found.append(f"internals in the answer: {response.text[:300]}")
        if found:
            faults[f"GraphQL: {name}"] = found
    assert not faults, json.dumps(faults, indent=1, ensure_ascii=False)
    assert event_count(client) == before, "a refused request stored an event"

    lawful = client.post("/v1/deals", json=transfer("after-the-storm", [PATENT], [ACME],
                                                     {BETA: "1"}))
    assert lawful.status_code == 201, lawful.text
    wait_projected(projectors, lawful.json()["position"])
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok", health.text
    answer = client.post("/graphql", headers=auth("auditor"), json={
        "query": f'{{ patent(number: "{PATENT}") {{ owners {{ party {{ id }} }} }} }}'})
    assert answer.json()["data"]["patent"]["owners"] == [{"party": {"id": BETA}}]


def test_the_catalogue_is_as_large_as_the_docs_say() -> None:
    """docs/reliability.md quotes the catalogue's size; the two must not drift."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "reliability.md").read_text()
    rest, graphql = len(catalogue()), len(GRAPHQL_ATTACKS)
    assert f"{rest} REST requests" in docs and f"{graphql} GraphQL queries" in docs, (rest, graphql)
