"""The law on patent pools (domain.md s10.3; issue 18) on a plain `PatentState`: no database.

Each rule has its refusal (the rule's code and the facts) and the near case the law allows.
docs/pools.md explains each reading; the REST tests are tests/test_pools.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger.law import events as ev
from ledger.law.classification import parse_ipc
from ledger.law.rules import check
from tests.plain_events import A, B, C, D, _deal, licence, patent

POOL, ADMIN = "P1", "admin-party"
DAY = date(2021, 1, 1)


def entry(deal_id: str, day: date, owners: list[str], pool: str = POOL, field: str = "*",
          ends_on: date | None = None) -> ev.PoolEntered:
    return _deal(ev.PoolEntered, deal_id, day, pool=pool, owners=owners, starts_on=day,
                 ends_on=ends_on, administrator=ADMIN, pool_field=field)


def exit_(deal_id: str, day: date, owners: list[str], pool: str = POOL) -> ev.PoolExited:
    return _deal(ev.PoolExited, deal_id, day, pool=pool, owners=owners)


def pool_licence(deal_id: str, day: date, licensors: list[str], ends_on: date | None = None,
                 pool: str = POOL, **more: Any) -> ev.LicenceGranted:
    made = licence(deal_id, day, licensors, C, ends_on=ends_on, **more)
    return ev.LicenceGranted.assemble({**vars(made), "pool": pool})


def exclusive(deal_id: str, day: date, field: str = "*") -> ev.LicenceGranted:
    made = licence(deal_id, day, [A, B], D, kind="exclusive")
    return ev.LicenceGranted.assemble({**vars(made), "field": field})


CO_OWNED = {A: "0.5", B: "0.5"}


def test_every_co_owner_must_join_a_pool() -> None:
    state = patent(owners=CO_OWNED)
    refusal = check(state, entry("E1", DAY, [A]))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["missing_owners"] == [B]
    assert check(state, entry("E1", DAY, [A, B])) is None


def test_only_a_patent_in_the_pool_leaves_it() -> None:
    state = patent(owners=CO_OWNED)
    refusal = check(state, exit_("X1", DAY, [A, B]))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["pool_term"] is None
    pooled = patent(entry("E1", DAY, [A, B]), owners=CO_OWNED)
    assert check(pooled, exit_("X1", date(2022, 1, 1), [A, B])) is None
    left = patent(entry("E1", DAY, [A, B]), exit_("X1", date(2022, 1, 1), [A, B]),
                  owners=CO_OWNED)
    assert left.pools[POOL].last_day() == date(2021, 12, 31)


def test_a_patent_enters_a_pool_once_at_a_time() -> None:
    pooled = patent(entry("E1", DAY, [A]))
    refusal = check(pooled, entry("E2", date(2021, 6, 1), [A]))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["entry"] == "E1"
    ended = patent(entry("E1", DAY, [A], ends_on=date(2021, 5, 31)))
    assert check(ended, entry("E2", date(2021, 6, 1), [A])) is None


def test_a_pool_licence_is_granted_by_the_administrator() -> None:
    pooled = patent(entry("E1", DAY, [A, B]), owners=CO_OWNED)
    refusal = check(pooled, pool_licence("L1", DAY, [A]))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["administrator"] == ADMIN
    assert check(pooled, pool_licence("L1", DAY, [ADMIN])) is None


def test_a_pool_licence_stays_within_the_pool_term() -> None:
    pooled = patent(entry("E1", DAY, [A], ends_on=date(2022, 12, 31)))
    refusal = check(pooled, pool_licence("L1", DAY, [ADMIN], ends_on=date(2023, 6, 30)))
    assert refusal is not None and refusal.rule == "INV-2"
    assert refusal.facts["pool_term"] == ["2021-01-01", "2022-12-31"]
    assert check(pooled, pool_licence("L1", DAY, [ADMIN], ends_on=date(2022, 12, 31))) is None
    outside = patent()
    refusal = check(outside, pool_licence("L1", DAY, [ADMIN]))
    assert refusal is not None and refusal.rule == "INV-2"


def test_an_exclusive_licence_outside_the_pool_may_not_overlap_its_field() -> None:
    pooled = patent(entry("E1", DAY, [A, B], field="valves"), owners=CO_OWNED)
    refusal = check(pooled, exclusive("X", date(2021, 3, 1), field="valves"))
    assert refusal is not None and refusal.rule == "INV-6"
    assert refusal.facts["pool"] == POOL and refusal.facts["pool_field"] == "valves"
    assert check(pooled, exclusive("X", date(2021, 3, 1), field="pumps")) is None


def test_an_exclusive_licence_after_the_patent_left_the_pool_is_lawful() -> None:
    left = patent(entry("E1", DAY, [A, B]), exit_("X1", date(2021, 2, 1), [A, B]),
                  owners=CO_OWNED)
    assert check(left, exclusive("X", date(2021, 3, 1))) is None


def test_a_patent_under_an_exclusive_licence_of_the_field_does_not_enter() -> None:
    licensed = patent(exclusive("X", DAY, field="valves"), owners=CO_OWNED)
    refusal = check(licensed, entry("E1", date(2021, 6, 1), [A, B], field="valves"))
    assert refusal is not None and refusal.rule == "INV-6"
    assert refusal.facts["overlapping_licence"] == "X"
    assert check(licensed, entry("E1", date(2021, 6, 1), [A, B], field="pumps")) is None


@pytest.mark.parametrize(("raw", "symbol"), [
    ("F16K 1/00", "F16K 1/00"), ("f16k1/00", "F16K 1/00"), ("G06F  16/245", "G06F 16/245"),
    ("A61K 031/7088", "A61K 31/7088"),
])
def test_ipc_symbols_have_one_spelling(raw: str, symbol: str) -> None:
    assert parse_ipc(raw) == symbol


@pytest.mark.parametrize("raw", ["F16K", "Z16K 1/00", "F16K 1/0", "F1K 1/00", "F16K 0/00",
                                 "F16K 1-00", "F16K 12345/00"])
def test_a_malformed_ipc_symbol_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="IPC symbol"):
        parse_ipc(raw)
