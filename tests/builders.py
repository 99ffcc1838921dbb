"""Small builders for request bodies, so a test reads like the deal it describes."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

# Real, valid unified social credit codes and check-correct variants (GB 32100-2015).
ACME = "91350100M000100Y43"
BETA = "914403001922038216"
PATENT = "201710601862.3"  # a real CNIPA invention number


def uscc(seed: int) -> str:
    """A valid unified social credit code derived from `seed` (check character computed)."""
    from ledger.law.identifiers import uscc_check_character

    body = f"91110000{seed:09d}"
    return body + uscc_check_character(body)


def cn_patent(year: int, kind: int, serial: int) -> str:
    from ledger.law.identifiers import cn_check_character

    digits = f"{year:04d}{kind}{serial:07d}"
    return f"{digits}.{cn_check_character(digits)}"


def party(client: TestClient, party_id: str, kind: str = "enterprise", **extra: Any) -> None:
    body = {"id": party_id, "name": f"Party {party_id}", "kind": kind, **extra}
    response = client.post("/v1/parties", json=body)
    assert response.status_code in (200, 201), response.text


def filed_in_numbers_year(number: str) -> str:
    """20 July of the year a Chinese number carries (the number-year rule), else of 2017."""
    from ledger.law.data_rules import number_year
    from ledger.law.identifiers import parse_patent_number

    return f"{number_year(parse_patent_number(number)) or 2017}-07-20"


def patent(client: TestClient, number: str, owners: dict[str, str], filed_on: str | None = None,
           granted_on: str = "2019-01-08", **extra: Any) -> None:
    body = {"number": number, "title": f"Patent {number}",
            "filed_on": filed_on or filed_in_numbers_year(number),
            "granted_on": granted_on,
            "owners": [{"party": p, "share": s} for p, s in owners.items()], **extra}
    response = client.post("/v1/patents", json=body)
    assert response.status_code in (200, 201), response.text


def transfer(deal_id: str, patents: list[str], from_: list[str], to: dict[str, str],
             effective_on: str = "2020-03-01", **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "transfer", "effective_on": effective_on,
            "patents": patents, "from_parties": from_,
            "to_parties": [{"party": p, "share": s} for p, s in to.items()],
            "consideration": "cash", "price": {"amount": "100000.00", "currency": "CNY"},
            **extra}


def licence(deal_id: str, patents: list[str], licensors: list[str], licensee: str,
            kind: str = "ordinary", starts_on: str = "2020-01-01", ends_on: str = "2024-12-31",
            effective_on: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "licence", "effective_on": effective_on or starts_on,
            "patents": patents, "licensors": licensors, "licensee": licensee,
            "licence_kind": kind, "territory": "CN", "field": "*", "starts_on": starts_on,
            "ends_on": ends_on, "fee": {"mode": "lump_sum",
                                        "amount": {"amount": "50000", "currency": "CNY"}},
            **extra}


def pledge(deal_id: str, patents: list[str], pledgors: list[str], pledgee: str,
           effective_on: str = "2020-06-01", due_on: str = "2023-06-01",
           **extra: Any) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "pledge", "effective_on": effective_on,
            "patents": patents, "pledgors": pledgors, "pledgee": pledgee,
            "secured_amount": {"amount": "5000000", "currency": "CNY"}, "due_on": due_on,
            **extra}


def event_count(client: TestClient, role: str = "auditor") -> int:
    """Events in the log as `role` reads them: an auditor reads them all (a platform does not
    read regulators' events, so "nothing was stored" is counted as an auditor)."""
    from tests.ledger_fixtures import auth

    headers = auth(role)
    response = client.get("/v1/events", params={"after": 0, "limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    return len(response.json()["events"])


def post_json(client: TestClient, path: str, body: Any, role: str = "platform") -> Any:
    """Posted as ASCII JSON, so that lone surrogates travel as `\\uXXXX` escapes (a raw
    surrogate cannot be UTF-8 encoded)."""
    from tests.ledger_fixtures import auth

    return client.post(path, content=json.dumps(body).encode(),
                       headers={**auth(role), "content-type": "application/json"})


def error_paths(response: Any) -> list[str]:
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"], problem
    return [".".join(map(str, e["path"])) for e in problem["errors"]]


def assert_refused(client: TestClient, path: str, body: Any, field: str,
                   role: str = "platform", message: str = "") -> None:
    """A 422 problem whose `errors` name `field` (and say `message`), and no new event."""
    before = event_count(client)
    response = post_json(client, path, body, role)
    assert response.status_code == 422, response.text
    paths = error_paths(response)
    assert any(p.endswith(field) for p in paths), (field, paths)
    assert message in response.text, response.text
    assert event_count(client) == before


def refused_by_rule(client: TestClient, body: dict[str, Any], rule: str,
                    path: str = "/v1/deals") -> dict[str, Any]:
    """Post `body`, expect 409 naming `rule` as problem+json with nothing stored; its facts."""
    before = event_count(client)
    response = client.post(path, json=body)
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["rule"] == rule, problem
    assert response.headers["content-type"].startswith("application/problem+json")
    assert event_count(client) == before, "a refused posting must store nothing"
    return dict(problem["facts"])
