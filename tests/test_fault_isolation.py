"""One posting whose judging raises fails alone: the rest of its group is judged and stored.

Before, a decision that raised (a date whose 20-year term left Python's calendar did) failed
the writer's whole group: every caller heard 503 and the register was reloaded, so a client
retrying such a posting could keep other clients' deals out. The dates are now bounded at the
edge (test_hostile_text.py, test_hostile_input.py); this holds the writer to it for any other
fault of the ledger's own.
"""

from __future__ import annotations

import concurrent.futures
import threading
from functools import partial

from fastapi.testclient import TestClient

from ledger.engine.register import Register
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.posting.decisions import Stamp
from ledger.service import LedgerService
from tests.builders import event_count, uscc


def _faulty(register: Register, stamp: Stamp) -> d.Outcome:
    raise OverflowError("date value out of range")


def test_a_posting_that_raises_fails_alone_and_its_group_is_stored(
        client: TestClient, service: LedgerService) -> None:
    writer = service.writer
    parties = [c.PartyCommand.model_validate({"id": uscc(700 + i), "name": f"Party {i}",
                                              "kind": "enterprise"}) for i in range(6)]
    gate = threading.Event()

    def held(register: Register, stamp: Stamp) -> d.Outcome:
        gate.wait(5)  # keeps the writer busy so the postings below queue into one group
        return d.decide_party(register, stamp, cmd=parties[0])

    first = writer.post(held, "test")
    lawful = [writer.post(partial(d.decide_party, cmd=p), "test") for p in parties[1:3]]
    faulty = writer.post(_faulty, "test")
    more = [writer.post(partial(d.decide_party, cmd=p), "test") for p in parties[3:]]
    gate.set()
    results = [f.result(10)[0] for f in [first, *lawful, faulty, *more]]
    outcomes = [type(r.outcome).__name__ for r in results]
    assert outcomes == ["Accepted"] * 3 + ["Faulted"] + ["Accepted"] * 3
    assert event_count(client) == 6  # the six parties, nothing of the faulty posting
    # The writer goes on as before: the register was not reloaded, a lawful posting works.
    again = writer.post(partial(d.decide_party, cmd=parties[0]), "test").result(10)[0]
    assert isinstance(again.outcome, d.Replayed)


def test_a_faulted_deal_of_a_batch_answers_500_in_its_row_and_the_others_are_stored(
        service: LedgerService) -> None:
    parties = [c.PartyCommand.model_validate({"id": uscc(800 + i), "name": f"Party {i}",
                                              "kind": "enterprise"}) for i in range(2)]
    decisions = [partial(d.decide_party, cmd=parties[0]), _faulty,
                 partial(d.decide_party, cmd=parties[1])]
    future: concurrent.futures.Future[list] = service.writer.post_many(  # type: ignore[type-arg]
        decisions, "test", atomic=False)
    results = future.result(10)
    assert [type(r.outcome).__name__ for r in results] == ["Accepted", "Faulted", "Accepted"]
    atomic = service.writer.post_many(
        [partial(d.decide_party, cmd=c.PartyCommand.model_validate(
            {"id": uscc(900), "name": "P", "kind": "enterprise"})), _faulty],
        "test", atomic=True).result(10)
    assert [type(r.outcome).__name__ for r in atomic] == ["Skipped", "Faulted"]
    assert uscc(900) not in service.writer._current_register().parties  # taken back
