"""The market's pledge finance (issue 19; domain.md s11): pledges with their debt, and how
each one ends.

A pledge names its bank and, now and then, a debtor that is not the pledgor (a group
company borrowing on its sister's patent), a guarantor, an insurer, trademarks pledged with
the patent (专利商标混合质押) and its CNIPA registration number. Most loans are repaid and the
pledge released before its due date; a few are extended first (a `pledge_change`, which is no
release and re-pledge, so AR-9 stays quiet); a few default, and then a guarantor, insurer,
agency or deposit fund may compensate the bank (`POST /v1/risk-events`) before the patent is
sold at auction, licensed to a third party, contributed to a company, or bought by an
acquirer that licenses it back (收购许可). A district fund pays some banks a pre-compensation
(前补偿) while the loan runs. Every step is scheduled on the pledge's own dates, so it is
lawful when posted in order (INV-5, INV-11, INV-12).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from demo.market_book import DEALS, REPLEDGE_GAP, Book, Holding, Posting

YEAR = timedelta(days=365)
# How a defaulted pledge is disposed of (domain.md s11.3), cumulative shares.
DISPOSALS = (("auction", 0.55), ("licence_to_third_party", 0.70), ("equity_contribution", 0.85),
             ("acquisition_with_licence_back", 1.0))


class PledgeDesk:
    """Registers pledges and settles them on their scheduled days."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.terms: dict[str, dict[str, Any]] = {}  # open pledges' bodies, by deal id

    def pledge(self, patent: Holding) -> dict[str, Any] | None:
        b, day = self.book, self.book.day
        if (patent.pledge is not None or patent.pledge_free > day
                or b.kinds[patent.owner] != "enterprise"
                or patent.expires <= day + timedelta(days=1200)):
            return None
        bank = b.random.choice(b.role("bank"))
        due = day + YEAR * b.random.randint(1, 3)
        amount = b.random.randint(50, 2_000) * 10_000
        body: dict[str, Any] = {**b.common("pledge", patent), "pledgors": [patent.owner],
                                "pledgee": bank, "secured_amount": b.money(amount),
                                "due_on": due.isoformat()}
        self._debt(body, patent)
        patent.pledge, patent.pledgee = body["deal_id"], bank
        self.terms[body["deal_id"]] = body  # the flow adds its intermediaries in place
        later = {"number": patent.number, "pledge": body["deal_id"], "amount": amount}
        if b.chance(0.02):  # 前补偿: before any release (due - 60 days at the earliest)
            b.schedule(day + timedelta(days=b.random.randint(30, 200)),
                       {**later, "settle": "pre_compensation"})
        fate = b.random.random()
        if fate < 0.05 and patent.expires > due + YEAR + timedelta(days=30):
            b.schedule(due - timedelta(days=30), {**later, "settle": "change",
                                                  "due": (due + YEAR).isoformat()})
        elif fate < 0.13:
            b.schedule(due + timedelta(days=30), {**later, "settle": "default"})
        else:
            b.schedule(due - timedelta(days=b.random.randint(0, 60)),
                       {**later, "settle": "release"})
        return body

    def _debt(self, body: dict[str, Any], patent: Holding) -> None:
        """Who borrowed, who shares the risk, what else is pledged, its registration number."""
        b = self.book
        if b.chance(0.15):
            body["debtor"] = b.other(b.role("sme"), patent.owner)
        if b.chance(0.2) and b.role("guarantor"):
            body["guarantors"] = [b.random.choice(b.role("guarantor"))]
        if b.chance(0.1) and b.role("insurer"):
            body["insurer"] = b.random.choice(b.role("insurer"))
        if b.chance(0.05):
            body["mixed_collateral"] = {"trademarks": b.random.randint(1, 12)}
        if b.chance(0.6):  # 登记号: Y, the year, 98, a serial
            body["official_record"] = f"Y{b.day.year}98{b.serial % 10**8:08d}"

    def settle(self, later: dict[str, Any]) -> Posting | None:
        """A scheduled step of a pledge, if the pledge is still the patent's."""
        b = self.book
        patent = b.patents[later["number"]]
        if patent.pledge != later["pledge"]:
            return None
        step = later["settle"]
        if step == "pre_compensation":
            return self._risk(later, "pre_compensation", b.role("fund"))
        if step == "risk":
            return self._risk(later, *self._compensator(later["pledge"]))
        body = {"deal_id": b.id(step[:3]), "effective_on": b.day.isoformat(),
                "patents": [patent.number], "pledge": later["pledge"]}
        if step == "release":
            self._ended(patent)
            return DEALS, {**body, "kind": "pledge_release"}
        if step == "change":  # extended a year; then repaid before the new date
            due = date.fromisoformat(later["due"])
            b.schedule(due - timedelta(days=b.random.randint(0, 60)),
                       {**later, "settle": "release"})
            return DEALS, {**body, "kind": "pledge_change", "due_on": later["due"]}
        if step == "default":
            if b.chance(0.5):
                b.schedule(b.day + timedelta(days=60), {**later, "settle": "risk"})
            b.schedule(b.day + timedelta(days=120), {**later, "settle": "disposal"})
            return DEALS, {**body, "kind": "default", "outstanding": b.money(later["amount"])}
        return DEALS, self._disposal(body, patent, later["amount"])

    def _compensator(self, pledge: str) -> tuple[str, list[str]]:
        """Who pays after a default: a guarantor, insurer or agency the pledge named, or
        else the district's bad-debt deposit (保证金)."""
        terms = self.terms[pledge]
        if terms.get("guarantors"):
            return "guarantee_payment", terms["guarantors"]
        if terms.get("insurer"):
            return "insurance_payment", [terms["insurer"]]
        if terms.get("agency"):
            return "agency_compensation", [terms["agency"]]
        return "bad_debt_deposit", self.book.role("fund")

    def _risk(self, later: dict[str, Any], kind: str, payers: list[str]) -> Posting | None:
        b = self.book
        if not payers:
            return None
        share = b.random.randint(10, 40)
        return "/v1/risk-events", {
            "event_id": b.id("risk"), "pledge": later["pledge"], "kind": kind,
            "payer": b.random.choice(payers), "amount": b.money(later["amount"] * share // 100),
            "paid_on": b.day.isoformat()}

    def _disposal(self, body: dict[str, Any], patent: Holding, owed: int) -> dict[str, Any]:
        """The defaulted patent sold, licensed out, contributed, or bought and licensed back."""
        b, day = self.book, self.book.day
        roll = b.random.random()
        mode = next(m for m, share in DISPOSALS if roll < share)
        if mode in ("licence_to_third_party", "acquisition_with_licence_back") \
                and patent.exclusive_until >= day:
            mode = "auction"  # INV-6: no licence beside an exclusive one still running
        proceeds = owed * b.random.randint(40, 110) // 100
        body = {**body, "kind": "disposal", "mode": mode, "proceeds": b.money(proceeds)}
        pledgor = patent.owner
        self._ended(patent)
        if mode in ("licence_to_third_party", "acquisition_with_licence_back"):
            ends = min(day + YEAR * 3, patent.expires - timedelta(days=1))
            patent.licensed_until = max(patent.licensed_until, ends)
            licensee = (b.other(b.role("enterprise"), pledgor)
                        if mode == "licence_to_third_party" else pledgor)
            body["licence"] = {"licensee": licensee, "starts_on": day.isoformat(),
                               "ends_on": ends.isoformat()}
        if mode == "licence_to_third_party":
            return body  # title stays with the pledgor
        buyer = b.other(b.role("enterprise"), pledgor)
        body["to_parties"] = [{"party": buyer, "share": "1"}]
        if mode == "equity_contribution":  # INV-15: at a valuation
            patent.valuation = max(proceeds, owed)
            body["valuation"] = b.money(patent.valuation)
        patent.owner, patent.moved = buyer, day
        return body

    def _ended(self, patent: Holding) -> None:
        assert patent.pledge is not None
        self.terms.pop(patent.pledge, None)
        patent.pledge = patent.pledgee = None
        patent.pledge_free = self.book.day + REPLEDGE_GAP
