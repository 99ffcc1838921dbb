"""Batches validated and prepared in the child process before the writer judges them.

A deal found invalid anywhere in a batch refuses the whole batch (422 with pydantic's own
errors, nothing stored, the register as before) before the writer sees any of it, and the
child's parsing must not accept or change what validating the raw body would refuse or keep.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from ledger.engine.batch_preparation import _Shell
from ledger.engine.writer import _Posting
from ledger.posting import decisions as d
from ledger.posting.commands import DealBatch, DealCommand
from ledger.service import LedgerService
from ledger.storage import group_append
from tests.builders import ACME, BETA, PATENT, licence, transfer


def _licences(count: int, prefix: str) -> list[dict[str, Any]]:
    return [licence(f"{prefix}{i}", [PATENT], [ACME], BETA) for i in range(count)]


@pytest.mark.parametrize("atomic", [False, True])
def test_a_deal_found_invalid_late_takes_the_whole_batch_back(
        registered: TestClient, service: LedgerService, atomic: bool) -> None:
    deals = _licences(1_000, "l")
    deals[950]["fee"]["amount"]["amount"] = "-1"  # judged last: the writer is well under way
    body = json.dumps({"deals": deals, "atomic": atomic}).encode()
    head = service.store.head()

    response = registered.post("/v1/deals/batch", content=body,
                               headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text[:300]
    with pytest.raises(ValidationError) as whole_body:
        DealBatch.model_validate_json(body)
    expected = [["body", *e["loc"]] for e in whole_body.value.errors()]
    assert [e["path"] for e in response.json()["errors"]] == expected
    assert expected[0][:3] == ["body", "deals", 950]
    assert service.store.head() == head, "an invalid batch stored something"
    again = registered.post("/v1/deals/batch", json={"deals": deals[:950], "atomic": atomic})
    assert again.status_code == 200
    assert {r["status"] for r in again.json()["results"]} == {201}, (
        "the register kept deals of the batch that was taken back (they answered as replays)")


def test_an_invalid_batch_never_reaches_the_writer(
        registered: TestClient, service: LedgerService) -> None:
    """The writer judges under the event table's lock, which every other writer waits for:
    it must never wait there for the rest of a client's body. A batch reaches it only once
    every deal is valid, so an invalid one costs the writer no group at all."""
    deals = _licences(600, "w")
    deals[599]["ends_on"] = "not a day"
    groups = service.metrics.value("ledger_groups_total")
    head = service.store.head()

    response = registered.post("/v1/deals/batch", json={"deals": deals})

    assert response.status_code == 422
    assert response.json()["errors"][0]["path"][:3] == ["body", "deals", 599]
    assert service.metrics.value("ledger_groups_total") == groups, "the writer judged it"
    assert service.store.head() == head
    again = registered.post("/v1/deals/batch", json={"deals": deals[:599]})
    assert [r["status"] for r in again.json()["results"]] == [201] * 599


def test_amounts_given_as_json_numbers_keep_every_digit(
        registered: TestClient, service: LedgerService) -> None:
    """A float would keep 17 digits of 12345678901234.123456; validating the raw body keeps
    all 20, and so must the child."""
    deal = transfer("t1", [PATENT], [ACME], {BETA: "1"})
    text = json.dumps({"deals": [deal]}).replace(
        '"amount": "100000.00"', '"amount": 12345678901234.123456')
    response = registered.post("/v1/deals/batch", content=text.encode(),
                               headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    stored = [e for _, e in service.store.read_all() if getattr(e, "deal_id", None) == "t1"]
    assert stored[0].price.amount == Decimal("12345678901234.123456")


def test_a_string_that_is_not_unicode_is_refused_as_invalid_json(
        registered: TestClient, service: LedgerService) -> None:
    """`json` reads a lone surrogate escape into a str; the raw body's validation refuses it
    (it could not be stored as UTF-8), and so does the batch endpoint."""
    head = service.store.head()
    deals = _licences(2, "s")
    text = json.dumps({"deals": deals}).replace('"field": "*"', '"field": "\\ud800"', 1)
    response = registered.post("/v1/deals/batch", content=text.encode(),
                               headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert service.store.head() == head


def test_a_batch_that_is_not_json_is_refused_with_pydantics_error(
        registered: TestClient, service: LedgerService) -> None:
    head = service.store.head()
    response = registered.post("/v1/deals/batch", content=b'{"deals": [{"deal_id": ',
                               headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert service.store.head() == head


def test_the_preparer_is_started_again_after_it_stops(
        registered: TestClient, service: LedgerService) -> None:
    first = registered.post("/v1/deals/batch", json={"deals": _licences(2, "p")})
    assert first.status_code == 200
    child = registered.app.state.batch_preparer._child  # type: ignore[attr-defined]
    child.process.kill()
    child.process.wait()

    second = registered.post("/v1/deals/batch", json={"deals": _licences(2, "q")})

    assert second.status_code == 200, second.text
    assert [r["status"] for r in second.json()["results"]] == [201, 201]
    metrics = registered.get("/metrics").text
    assert "ledger_batch_preparer_starts_total 2" in metrics



def test_postings_taken_back_do_not_break_the_groups_that_follow(
        registered: TestClient, service: LedgerService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each refused atomic posting rolls back to its savepoint inside the writer's pipeline.
    psycopg discards its prepared statements on a rollback, and in a pipeline it did so out
    of order: groups failed (503) on statements the server no longer had. (Chunks of one,
    so that every atomic posting goes behind a savepoint.)"""
    adapter: TypeAdapter[Any] = TypeAdapter(DealCommand)
    monkeypatch.setattr(group_append, "CHUNK", 1)
    monkeypatch.setattr(group_append, "TAIL_CHUNK", 1)

    def posting(deals: list[dict[str, Any]], atomic: bool) -> _Posting:
        return _Posting([partial(d.decide_deal, cmd=adapter.validate_python(deal))
                         for deal in deals], "platform:test", atomic)

    for round_ in range(20):
        refused = posting([licence(f"r{round_}", [PATENT], [ACME], BETA),
                           licence(f"x{round_}", [PATENT], [ACME], BETA, kind="exclusive")],
                          atomic=True)  # INV-6: an exclusive licence over an ordinary one
        service.writer._commit_group([refused])
        lawful = posting([licence(f"ok{round_}", [PATENT], [ACME], BETA)], atomic=False)
        service.writer._commit_group([lawful])
        assert [type(r.outcome).__name__ for r in refused.future.result(10)] == \
            ["Skipped", "Refusal"], f"round {round_}"
        assert [type(r.outcome).__name__ for r in lawful.future.result(10)] == \
            ["Accepted"], f"round {round_}"


def test_the_childs_outer_shape_is_the_batch_models() -> None:
    """The child checks a batch's outer shape with a model of its own before its deals; if
    it drifted from `DealBatch` (a field, a bound, a default), bodies the raw validation
    refuses could start the writer."""
    shell, batch = _Shell.model_fields, DealBatch.model_fields
    assert shell.keys() == batch.keys()
    assert shell["deals"].metadata == batch["deals"].metadata
    assert shell["atomic"].default == batch["atomic"].default
    assert shell["atomic"].annotation == batch["atomic"].annotation
    assert _Shell.model_config.get("extra") == DealBatch.model_config.get("extra")
