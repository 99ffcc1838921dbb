"""Batches validated and prepared in the child process while the writer judges them.

The writer starts on a batch's first deals before the child has validated the last, ahead of
the table lock: a deal found invalid later must take the whole batch back (422 with pydantic's
own errors, nothing stored, the register as before), the writer must never hold the lock while
it waits for a slice, and the child's parsing must not accept or change what validating the
raw body would refuse or keep.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError

from ledger.engine.batch_preparation import _Shell
from ledger.engine.writer import Decide, PostingWithdrawn, _Posting
from ledger.integrity.verify import verify_log
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


class _Slices:
    """A streamed posting whose slices come when a test lets them."""

    def __init__(self, slices: list[list[Decide]], gate: threading.Event | None = None,
                 then: Exception | None = None) -> None:
        self._slices, self._gate, self._then = slices, gate, then

    def __len__(self) -> int:
        return sum(map(len, self._slices)) + (1 if self._then else 0)

    def __iter__(self) -> Iterator[Decide]:
        for part in self.slices():
            yield from part

    def slices(self) -> Iterator[list[Decide]]:
        for i, part in enumerate(self._slices):
            if i and self._gate is not None:
                assert self._gate.wait(30), "the test never opened the gate"
            yield part
        if self._then is not None:
            raise self._then


def _decisions(deals: list[dict[str, Any]]) -> list[Decide]:
    adapter: TypeAdapter[Any] = TypeAdapter(DealCommand)
    return [partial(d.decide_deal, cmd=adapter.validate_python(deal)) for deal in deals]


def test_a_streamed_posting_withdrawn_midway_leaves_the_rest_of_its_group(
        registered: TestClient, service: LedgerService) -> None:
    """Judged as one group with a posting before and after it."""
    head = service.store.head()
    before = _Posting(_decisions(_licences(1, "a")), "platform:test", atomic=False)
    withdrawn = _Posting(_Slices([_decisions(_licences(3, "w"))],
                                 then=PostingWithdrawn("the rest of the body was invalid")),
                         "platform:test", atomic=False, streamed=True)
    after = _Posting(_decisions(_licences(1, "b")), "platform:test", atomic=False)
    service.writer._commit_group([before, withdrawn, after])

    assert [type(r.outcome).__name__ for r in before.future.result(10)] == ["Accepted"]
    assert [type(r.outcome).__name__ for r in after.future.result(10)] == ["Accepted"]
    with pytest.raises(PostingWithdrawn):
        withdrawn.future.result(10)
    assert [e.deal_id for _, e in service.store.read_all(head)] == ["a0", "b0"]
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events
    again = registered.post("/v1/deals/batch", json={"deals": _licences(3, "w")})
    assert [r["status"] for r in again.json()["results"]] == [201] * 3


def test_the_writer_waits_for_a_slice_without_the_table_lock(
        registered: TestClient, service: LedgerService, database_url: str) -> None:
    """Another writer process stores a deal while this one waits for a batch's next slice;
    then the batch is judged again on the log as it now stands, and the other process's
    deal decides it: the later licence is refused, not stored beside it."""
    gate = threading.Event()
    batch = _Posting(_Slices([_decisions(_licences(2, "s")),
                              _decisions([licence("x1", [PATENT], [ACME], BETA,
                                                  kind="exclusive", starts_on="2025-06-01",
                                                  ends_on="2026-06-01")])],
                             gate), "platform:test", atomic=False, streamed=True)
    service.writer._queue.put(batch)
    other = LedgerService(database_url).start()
    try:
        posted = other.writer.post(partial(d.decide_deal, cmd=TypeAdapter(DealCommand)
                                           .validate_python(licence("o1", [PATENT], [ACME], BETA,
                                                                    starts_on="2025-01-01",
                                                                    ends_on="2026-12-31"))),
                                   "platform:other").result(10)
        assert type(posted[0].outcome).__name__ == "Accepted", posted[0].outcome
    finally:
        gate.set()
        other.stop()
    results = batch.future.result(30)
    assert [type(r.outcome).__name__ for r in results] == ["Accepted", "Accepted", "Refusal"]
    assert results[2].outcome.rule == "INV-6"  # type: ignore[union-attr]
    assert service.metrics.value("ledger_groups_judged_again_total") == 1
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events


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
