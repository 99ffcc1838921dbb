"""The demo's pools, qualifications, size changes and IPC codes (issue 18 items 3-4).

Two pools with entries (one co-owned patent entering by both owners), a pool licence in
each, a patent leaving one; IPC symbols at registration and by a later classification;
qualifications and a size change dated so that the indicators read them on each deal's date.
`patent-ledger demo` posts these after the planted scenario and shows a query for each.
"""

from __future__ import annotations

from typing import Any

from demo.market import party_id
from ledger.law.identifiers import cn_check_character

Posting = tuple[str, dict[str, Any], str]


def _number(serial: int) -> str:
    digits = f"2018{1}{700_000 + serial:07d}"
    return f"{digits}.{cn_check_character(digits)}"


VALVES, DISPLAYS = "DEMO-POOL-VALVES", "DEMO-POOL-DISPLAYS"
QUERIES = """{ pool(id: "DEMO-POOL-VALVES") { name administrator field
    patents { number startsOn entryDealId } licences { dealId licensee licenceKind patents } } }
{ patent(number: "%s") { ipc pools { poolId startsOn lastDay } } }
{ party(id: "%s", asOf: "2022-06-01") { size sizeOn qualifications { qualification from to } } }
{ indicators(from: "2021-01-01", to: "2023-12-31", granularity: "year",
    qualification: "high_tech") { indicator period dimension count qualification } }
{ indicators(from: "2021-01-01", to: "2023-12-31", granularity: "year", ipcSection: "F") {
    indicator period dimension count ipcSection } }"""


def pool_postings() -> tuple[list[Posting], str]:
    """The postings, in order, and the GraphQL queries that show them."""
    p: list[Posting] = []
    owner_a, owner_b, admin, maker = (party_id(60_000 + n) for n in range(4))
    for n, pid in enumerate((owner_a, owner_b, admin, maker)):
        p.append(("/v1/parties", {"id": pid, "name": f"Pool party {n}", "kind": "enterprise",
                                  "size": "small", "region": "CN-31",
                                  "founded_on": "2012-01-01"}, "platform"))
    numbers = [_number(i) for i in range(4)]
    ipc = ["F16K 1/00", "F16K 31/02", "G09G 3/32", "H10K 59/12"]
    owners = [{owner_a: "0.5", owner_b: "0.5"}, {owner_a: "1"}, {owner_b: "1"}, {owner_a: "1"}]
    for i, (number, held) in enumerate(zip(numbers, owners, strict=True)):
        body: dict[str, Any] = {
            "number": number, "title": f"Demo pooled invention {i}", "filed_on": "2018-03-01",
            "granted_on": "2020-06-01",
            "owners": [{"party": x, "share": s} for x, s in held.items()]}
        if i < 2:
            body["ipc"] = [ipc[i]]  # at registration; the others by a classification
        p.append(("/v1/patents", body, "platform"))
    for number, symbol in zip(numbers[2:], ipc[2:], strict=True):
        p.append((f"/v1/patents/{number}/classification",
                  {"ipc": [symbol], "effective_on": "2020-07-01"}, "platform"))
    for pool_id, name, field in ((VALVES, "Valve pool", "valves"),
                                 (DISPLAYS, "Display pool", "*")):
        p.append(("/v1/pools", {"pool_id": pool_id, "name": name, "administrator": admin,
                                "field": field, "formed_on": "2021-01-01"}, "platform"))

    def entry(deal_id: str, pool: str, number: str, who: list[str], day: str) -> None:
        p.append(("/v1/deals", {"deal_id": deal_id, "kind": "pool_entry", "effective_on": day,
                                "pool": pool, "patents": [number], "owners": who,
                                "starts_on": day}, "platform"))

    entry("DEMO-PE-1", VALVES, numbers[0], [owner_a, owner_b], "2021-02-01")
    entry("DEMO-PE-2", VALVES, numbers[1], [owner_a], "2021-02-01")
    entry("DEMO-PE-3", DISPLAYS, numbers[2], [owner_b], "2021-03-01")
    entry("DEMO-PE-4", DISPLAYS, numbers[3], [owner_a], "2021-03-01")
    # high-tech from 2021 to 2023; small until 2022, medium after
    p.append((f"/v1/parties/{maker}/qualifications",
              {"qualification": "high_tech", "from": "2021-01-01", "to": "2023-12-31",
               "certificate": "GR202131000001"}, "platform"))
    p.append((f"/v1/parties/{maker}/qualifications",
              {"qualification": "specialised_sme", "from": "2022-01-01"}, "platform"))
    p.append((f"/v1/parties/{maker}/size", {"size": "medium", "effective_on": "2022-01-01"},
              "platform"))
    fee = {"mode": "royalty", "rate": "0.03"}
    for deal_id, pool, patents, day in (("DEMO-PL-1", VALVES, numbers[:2], "2021-06-01"),
                                        ("DEMO-PL-2", DISPLAYS, numbers[2:], "2022-06-01")):
        p.append(("/v1/deals", {"deal_id": deal_id, "kind": "licence", "effective_on": day,
                                "patents": patents, "pool": pool, "licensors": [admin],
                                "licensee": maker, "territory": "CN", "field": "*",
                                "starts_on": day, "ends_on": "2024-12-31", "fee": fee},
                  "platform"))
    p.append(("/v1/deals", {"deal_id": "DEMO-PX-1", "kind": "pool_exit",
                            "effective_on": "2025-01-01", "pool": DISPLAYS,
                            "patents": [numbers[3]], "owners": [owner_a]}, "platform"))
    return p, QUERIES % (numbers[0], maker)
