"""A scenario with planted anomalies: one case of every rule and a near miss beside each.

Used by `patent-ledger demo` and by the tests that check each planted case is flagged with
its evidence and no near miss is. Postings are (path, body, role) in the order they must be
posted; `planted` maps each rule to its planted cases, each the deal ids one flag must cite
(a rule may be planted more than once: AR-12's seller and agency variants), `near_misses`
lists deal ids that must appear in no flag, and `queries` the GraphQL that shows them. A
lawful multi-year market (demo/market.MarketFlow) can be added around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from demo.market import party_id
from demo.pledges import plant_pledge_finance
from ledger.law.identifiers import cn_check_character

Posting = tuple[str, dict[str, Any], str]  # (path, body, role)


def _number(kind: int, serial: int) -> str:
    digits = f"2017{kind}{serial:07d}"
    return f"{digits}.{cn_check_character(digits)}"


@dataclass
class Scenario:
    postings: list[Posting] = field(default_factory=list)
    planted: dict[str, list[list[str]]] = field(default_factory=dict)
    near_misses: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    _serial: int = 0

    def plant(self, rule: str, deals: list[str]) -> None:
        """One case of `rule`: a flag of it must cite every deal of `deals`."""
        self.planted.setdefault(rule, []).append(deals)

    # --- building blocks ------------------------------------------------------------------

    def party(self, n: int, kind: str = "enterprise", **extra: Any) -> str:
        pid = party_id(50_000 + n)
        self.postings.append(("/v1/parties", {"id": pid, "name": f"{kind.title()} {n}",
                                              "kind": kind, "region": f"CN-{31 + n % 5}",
                                              **extra}, "platform"))
        return pid

    def patent(self, owner: str, kind: int = 1) -> str:
        self._serial += 1
        number = _number(kind, 500_000 + self._serial)
        self.postings.append(("/v1/patents", {
            "number": number, "title": f"Demo method {self._serial}", "filed_on": "2017-03-01",
            "granted_on": "2019-06-01", "owners": [{"party": owner, "share": "1"}]}, "platform"))
        return number

    def deal(self, body: dict[str, Any]) -> str:
        self.postings.append(("/v1/deals", body, "platform"))
        return str(body["deal_id"])

    def transfer(self, deal_id: str, number: str, seller: str, buyer: str, day: str,
                 price: str = "400000", **extra: Any) -> str:
        """`extra`: more fields of the deal (issue 19: its `agency`)."""
        return self.deal({"deal_id": deal_id, "kind": "transfer", "effective_on": day,
                          "patents": [number], "from_parties": [seller],
                          "to_parties": [{"party": buyer, "share": "1"}],
                          "price": {"amount": price, "currency": "CNY"},
                          "consideration": "cash", **extra})

    def licence(self, deal_id: str, number: str, licensor: str, licensee: str, day: str,
                fee: dict[str, Any] | None = None, ends_on: str = "2030-12-31") -> str:
        return self.deal({"deal_id": deal_id, "kind": "licence", "effective_on": day,
                          "patents": [number], "licensors": [licensor], "licensee": licensee,
                          "licence_kind": "ordinary", "territory": "CN", "field": "*",
                          "starts_on": day, "ends_on": ends_on,
                          "fee": fee or {"mode": "lump_sum",
                                         "amount": {"amount": "80000", "currency": "CNY"}}})

    def pledge(self, deal_id: str, number: str, pledgor: str, bank: str, day: str) -> str:
        return self.deal({"deal_id": deal_id, "kind": "pledge", "effective_on": day,
                          "patents": [number], "pledgors": [pledgor], "pledgee": bank,
                          "secured_amount": {"amount": "2000000", "currency": "CNY"},
                          "due_on": "2030-06-30"})

    def release(self, deal_id: str, number: str, pledge: str, day: str) -> str:
        return self.deal({"deal_id": deal_id, "kind": "pledge_release", "effective_on": day,
                          "patents": [number], "pledge": pledge})

    def inventors(self, number: str, day: str, names: list[str]) -> None:
        self.postings.append((f"/v1/patents/{number}/inventors",
                              {"inventors": names, "effective_on": day}, "platform"))

    def subsidy(self, subsidy_id: str, party: str, day: str, deals: list[str]) -> None:
        self.postings.append(("/v1/subsidies", {
            "subsidy_id": subsidy_id, "party": party, "programme": "transfer and conversion award",
            "amount": {"amount": "50000", "currency": "CNY"}, "awarded_on": day,
            "deals": deals}, "regulator"))


def planted_scenario() -> Scenario:
    """Every rule once, and the near miss the issue names for it."""
    s = Scenario()
    firms = [s.party(i, size=("micro", "small", "medium", "large")[i % 4],
                     founded_on="2008-05-01") for i in range(8)]
    a, b, c, d = firms[:4]
    uni = s.party(20, "university")
    bank, bank2 = s.party(21, "bank"), s.party(22, "bank")

    # AR-1: A -> B -> A in 150 days; near miss: a return after 400 days.
    p = s.patent(a)
    s.plant("AR-1", [s.transfer("D1-1", p, a, b, "2022-01-10"),
                     s.transfer("D1-2", p, b, a, "2022-06-09")])
    p = s.patent(a)
    s.transfer("N1-1", p, a, c, "2022-01-10")
    s.near_misses.append(s.transfer("N1-2", p, c, a, "2023-02-14"))
    # AR-2: three owners within a year.
    p = s.patent(a)
    s.plant("AR-2", [s.transfer("D2-1", p, a, b, "2022-02-01"),
                     s.transfer("D2-2", p, b, c, "2022-06-01"),
                     s.transfer("D2-3", p, c, d, "2022-10-01")])
    # AR-3: a young party receives five patents in the 90 days before a subsidy.
    young = s.party(30, size="small", founded_on="2022-01-03")
    inflow = [s.transfer(f"D3-{i}", s.patent(b), b, young, f"2022-0{3 + i % 2}-1{i}")
              for i in range(5)]
    s.subsidy("S-3", young, "2022-05-20", [])
    s.plant("AR-3", inflow)
    # AR-4: one utility model counted in two parties' subsidies.
    model = s.patent(c, kind=2)
    l1 = s.licence("D4-1", model, c, a, "2022-03-01", ends_on="2026-12-31")
    l2 = s.licence("D4-2", model, c, b, "2022-03-02", ends_on="2026-12-31")
    s.subsidy("S-4A", a, "2022-06-01", [l1])
    s.subsidy("S-4B", b, "2022-06-02", [l2])
    s.plant("AR-4", [])  # evidence: the two subsidies
    # AR-5: a 1-yuan sale; near miss: a fair-priced sale between related parties.
    related = s.party(31, size="medium", related_to=[d], founded_on="2010-01-01")
    s.plant("AR-5", [s.transfer("D5-1", s.patent(d), d, a, "2022-04-01", price="1")])
    s.near_misses.append(s.transfer("N5-1", s.patent(d), d, related, "2022-04-02",
                                    price="900000"))
    # AR-6: a free licence counted for a subsidy.
    free = s.licence("D6-1", s.patent(a), a, c, "2022-05-01", fee={"mode": "free"})
    s.subsidy("S-6", a, "2022-08-01", [free])
    s.plant("AR-6", [free])
    # AR-7: a sale during the fee grace period.
    p = s.patent(b)
    s.postings.append((f"/v1/patents/{p}/status",
                       {"status": "fee_grace", "effective_on": "2022-07-01"}, "platform"))
    s.plant("AR-7", [s.transfer("D7-1", p, b, c, "2022-08-01")])
    # AR-8: university -> two-month-old company -> pledge within 180 days.
    shell = s.party(32, size="micro", founded_on="2022-07-01")
    p = s.patent(uni)
    s.plant("AR-8", [s.transfer("D8-1", p, uni, shell, "2022-09-01"),
                     s.pledge("D8-2", p, shell, bank, "2022-11-01")])
    # AR-9: release and re-pledge on later days, twice; near miss: same-day refinancing.
    p = s.patent(c)
    s.pledge("D9-0", p, c, bank, "2022-01-05")
    s.plant("AR-9", [s.release("D9-R1", p, "D9-0", "2022-03-01"),
                     s.pledge("D9-1", p, c, bank2, "2022-03-15"),
                     s.release("D9-R2", p, "D9-1", "2022-06-01"),
                     s.pledge("D9-2", p, c, bank, "2022-06-20")])
    p = s.patent(d)
    s.pledge("N9-0", p, d, bank, "2022-01-05")
    s.near_misses += [s.release("N9-R1", p, "N9-0", "2022-03-01"),
                      s.pledge("N9-1", p, d, bank2, "2022-03-01"),
                      s.release("N9-R2", p, "N9-1", "2022-06-01"),
                      s.pledge("N9-2", p, d, bank, "2022-06-01")]
    # AR-10: a sale by a party on the dishonest list.
    listed = firms[4]
    s.postings.append(("/v1/listings", {"listing_id": "DEMO-L1", "party": listed,
                                        "list": "dishonest", "grounds": "unperformed judgment",
                                        "starts_on": "2022-01-01", "ends_on": "2024-12-31"},
                       "regulator"))
    s.plant("AR-10", [s.transfer("D10-1", s.patent(listed), listed, a, "2022-05-01")])
    # AR-13 (issue 17): a subsidy awarded to that party while it is listed.
    s.subsidy("S-13", listed, "2022-06-01", [])
    s.plant("AR-13", [])  # evidence: the subsidy and the listing
    # AR-11: the inventors changed 44 days after a sale; near miss: 404 days after.
    p = s.patent(firms[6])
    s.plant("AR-11", [s.transfer("D11-1", p, firms[6], b, "2022-04-01")])
    s.inventors(p, "2022-05-15", ["Wang Fang", "Li Lei"])
    p = s.patent(firms[7])
    s.near_misses.append(s.transfer("N11-1", p, firms[7], c, "2022-04-01"))
    s.inventors(p, "2023-05-09", ["Zhao Min"])
    # AR-12: one seller, five new micro buyers in a month.
    seller = firms[5]
    buyers = [s.party(40 + i, size="micro", founded_on="2022-06-01") for i in range(5)]
    s.plant("AR-12", [s.transfer(f"D12-{i}", s.patent(seller), seller, buyer,
                                 f"2022-09-0{i + 1}") for i, buyer in enumerate(buyers)])
    outcomes(s, uni, firms[2], firms[3])  # issue 18 (outcomes)
    # Issue 19 (pledges): pledge finance, intermediaries and AR-12's agency variant.
    plant_pledge_finance(s)
    return s


# --- issue 18 (outcomes): conversion outcomes, a product and its yearly reports ----------------


def outcomes(s: Scenario, uni: str, maker: str, partner: str) -> None:
    """A university's stock patents put to use (domain.md s10.1-10.2): one licensed
    exclusively and industrialised by its licensee, which files a product on it with two
    yearly reports; one used by a partner under a development contract; one left idle (the
    "stock patents of universities with no conversion" query finds it)."""
    licensed, developed = s.patent(uni), s.patent(uni)
    s.patent(uni)  # idle
    s.deal({"deal_id": "OUT-L1", "kind": "licence", "effective_on": "2022-02-01",
            "patents": [licensed], "licensors": [uni], "licensee": maker,
            "licence_kind": "exclusive", "territory": "CN", "field": "*",
            "starts_on": "2022-02-01", "ends_on": "2027-01-31",
            "fee": {"mode": "royalty", "rate": "0.03"}})
    s.postings.append((f"/v1/patents/{licensed}/industrialisation", {
        "report_id": "OUT-I1", "party": maker, "basis": "licence", "deal": "OUT-L1",
        "started_on": "2022-05-01"}, "platform"))
    s.postings.append((f"/v1/patents/{developed}/industrialisation", {
        "report_id": "OUT-I2", "party": partner, "basis": "development_contract",
        "contract_ref": "JS-2022-017", "started_on": "2022-08-01"}, "platform"))
    s.postings.append(("/v1/products", {
        "product_id": "OUT-P1", "name": "Smart valve actuator", "owner": maker,
        "patents": [licensed], "filed_on": "2022-06-01", "category": "equipment",
        "intensive": True}, "platform"))
    for year, output, employees in ((2022, "3200000", 41), (2023, "5100000", 58)):
        s.postings.append(("/v1/products/OUT-P1/reports", {
            "year": year, "output_value": {"amount": output, "currency": "CNY"},
            "employees": employees}, "platform"))


# --- end issue 18 (outcomes) ------------------------------------------------------------------
