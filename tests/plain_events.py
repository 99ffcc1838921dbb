"""Events built by hand, and a patent's state folded from them, with no database and no writer.

For the unit tests of the rules (tests/test_rules_plain.py): a test names the deals it needs in
a line each, and `patent(...)` folds them through the rules as the writer would, so a test's
history is itself lawful. Only the fields the rules and `apply` read are chosen; the rest get
the values a posted deal would carry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledger.law import events as ev
from ledger.law.patent_state import PatentState, apply, start_state
from ledger.law.rules import check
from ledger.law.values import Money, expiry_date
from tests.builders import ACME, BETA, PATENT, uscc

A, B = ACME, BETA  # the owners
C, D = uscc(3), uscc(4)  # buyers and licensees
BANK = uscc(5)

NUMBER = PATENT  # an invention: 20 years from filing
FILED = date(2017, 3, 1)
GRANTED = date(2019, 6, 1)
EXPIRES = expiry_date("invention", FILED)  # 2037-02-28
RECORDED = datetime(2024, 1, 1, tzinfo=UTC)


def cny(amount: str) -> Money:
    return Money(Decimal(amount), "CNY")


def registered(owners: dict[str, str] | None = None, granted_on: date | None = GRANTED,
               kind: str = "invention", filed_on: date = FILED) -> ev.PatentRegistered:
    """Granted on GRANTED by default; `granted_on=None` registers an application."""
    return ev.PatentRegistered(
        originator_id=ev.stream_id("patent", NUMBER), originator_version=1, timestamp=RECORDED,
        effective_on=granted_on or filed_on, posted_by="platform:test", number=NUMBER,
        title="A method", patent_kind=kind, filed_on=filed_on, granted_on=granted_on,
        expires_on=expiry_date(kind, filed_on),
        owners={party: Decimal(share) for party, share in (owners or {A: "1"}).items()},
        fingerprint="",
    )


def status(day: date, new_status: str, outcome: str | None = None) -> ev.PatentStatusChanged:
    return ev.PatentStatusChanged(
        originator_id=ev.stream_id("patent", NUMBER), originator_version=2, timestamp=RECORDED,
        effective_on=day, posted_by="platform:test", number=NUMBER, status=new_status,
        reason=None, outcome=outcome,
    )


def extension(day: date, days: int, basis: str = "grant_delay",
              extension_id: str = "E1") -> ev.PatentTermExtended:
    return ev.PatentTermExtended(
        originator_id=ev.stream_id("patent", NUMBER), originator_version=2, timestamp=RECORDED,
        effective_on=day, posted_by="platform:test", number=NUMBER, extension_id=extension_id,
        days=days, basis=basis, fingerprint="",
    )


def _deal(event_type: type[ev.DealEvent], deal_id: str, day: date, **fields: Any) -> Any:
    return event_type(
        originator_id=ev.stream_id("deal", deal_id), originator_version=1, timestamp=RECORDED,
        effective_on=day, posted_by="platform:test", deal_id=deal_id, signed_on=None,
        patents=[NUMBER], fingerprint="", corrects=None, registered_on=None,
        **{"agency": None, "platform": None, "technology_manager": None,
           "official_record": None, **fields},
    )


def transfer(deal_id: str, day: date, sellers: list[str], buyer: str,
             consent: bool = False) -> ev.OwnershipTransferred:
    return _deal(ev.OwnershipTransferred, deal_id, day, from_parties=sellers,
                 to_parties={buyer: Decimal(1)}, price=cny("400000"), consideration="cash",
                 pledgee_consent=consent, applications=[])


def equity(deal_id: str, day: date, owners: list[str], company: str,
           valuation: Money | None) -> ev.EquityContributed:
    return _deal(ev.EquityContributed, deal_id, day, from_parties=owners, company=company,
                 valuation=valuation, equity_share=Decimal("0.1"), pledgee_consent=False)


def licence(deal_id: str, day: date, licensors: list[str], licensee: str,
            kind: str = "ordinary", ends_on: date | None = None, territory: str = "CN",
            sublicensable: bool = False, parent: str | None = None,
            consent: bool = False) -> ev.LicenceGranted:
    return _deal(ev.LicenceGranted, deal_id, day, licensors=licensors, licensee=licensee,
                 licence_kind=kind, territory=territory, field="*", starts_on=day,
                 ends_on=ends_on or date(day.year + 2, day.month, day.day),
                 fee_mode="lump_sum", fee_amount=cny("50000"), fee_rate=None,
                 sublicensable=sublicensable, parent_licence=parent, filed_on=day, late=False,
                 pledgee_consent=consent)


def termination(deal_id: str, day: date, licence_id: str) -> ev.LicenceTerminated:
    return _deal(ev.LicenceTerminated, deal_id, day, licence=licence_id)


def open_declared(deal_id: str, day: date, ends_on: date, owners: list[str] | None = None,
                  evaluation_report: str | None = None) -> ev.OpenLicenceDeclared:
    return _deal(ev.OpenLicenceDeclared, deal_id, day, owners=owners or [A],
                 fee_mode="lump_sum", fee_amount=cny("1000"), fee_rate=None, starts_on=day,
                 ends_on=ends_on, pledgee_consent=False, evaluation_report=evaluation_report)


def open_withdrawn(deal_id: str, day: date) -> ev.OpenLicenceWithdrawn:
    return _deal(ev.OpenLicenceWithdrawn, deal_id, day, owners=[A])


def open_taken(deal_id: str, day: date, licensee: str) -> ev.OpenLicenceTaken:
    return _deal(ev.OpenLicenceTaken, deal_id, day, licensee=licensee)


def pledge(deal_id: str, day: date, pledgors: list[str], pledgee: str = BANK,
           due_on: date | None = None, acknowledged: bool = False) -> ev.PledgeRegistered:
    return _deal(ev.PledgeRegistered, deal_id, day, pledgors=pledgors, pledgee=pledgee,
                 secured_amount=cny("1000000"), due_on=due_on or date(day.year + 2, 1, 1),
                 invalidation_acknowledged=acknowledged, debtor=None, guarantors=[],
                 insurer=None, mixed_collateral=None)


def release(deal_id: str, day: date, pledge_id: str) -> ev.PledgeReleased:
    return _deal(ev.PledgeReleased, deal_id, day, pledge=pledge_id)


def default(deal_id: str, day: date, pledge_id: str) -> ev.LoanDefaulted:
    return _deal(ev.LoanDefaulted, deal_id, day, pledge=pledge_id, outstanding=cny("800000"))


def disposal(deal_id: str, day: date, pledge_id: str, buyer: str, mode: str = "auction",
             valuation: Money | None = None) -> ev.PledgeDisposed:
    return _deal(ev.PledgeDisposed, deal_id, day, pledge=pledge_id, mode=mode,
                 proceeds=cny("900000"), to_parties={buyer: Decimal(1)}, valuation=valuation,
                 claim_paid=cny("800000"), surplus=cny("100000"), shortfall=cny("0"),
                 compensation_covered=None, licensee=None, licence_kind=None,
                 licence_starts_on=None, licence_ends_on=None)


def patent(*history: ev.LedgerEvent, owners: dict[str, str] | None = None,
           start: ev.PatentRegistered | None = None) -> PatentState:
    """The patent registered to `owners` (A alone by default; or as `start` says), then each
    event of `history` judged by the rules (each must be lawful: the history is the test's
    premise) and applied."""
    state = start_state(start or registered(owners))
    for event in history:
        refusal = check(state, event)
        assert refusal is None, f"the test's history is unlawful: {refusal}"
        apply(state, event)
    return state


# --- issue 19 (pledges): pledge changes, risk payments, disposals that license ---------------


def pledge_change(deal_id: str, day: date, pledge_id: str, due_on: date | None = None,
                  secured_amount: Money | None = None) -> ev.PledgeChanged:
    return _deal(ev.PledgeChanged, deal_id, day, pledge=pledge_id, due_on=due_on,
                 secured_amount=secured_amount)


def risk_payment(event_id: str, day: date, pledge_id: str, kind: str = "guarantee_payment",
                 amount: Money | None = None, payer: str = D) -> ev.RiskPaymentMade:
    return ev.RiskPaymentMade(
        originator_id=ev.stream_id("risk-event", event_id), originator_version=1,
        timestamp=RECORDED, effective_on=day, posted_by="platform:test", event_id=event_id,
        pledge=pledge_id, risk_kind=kind, payer=payer, amount=amount or cny("100000"),
        patents=[NUMBER], fingerprint="",
    )


def licensing_disposal(deal_id: str, day: date, pledge_id: str, licensee: str,
                       kind: str = "ordinary", starts_on: date | None = None,
                       ends_on: date | None = None, mode: str = "licence_to_third_party",
                       buyer: str | None = None) -> ev.PledgeDisposed:
    """A disposal by `licence_to_third_party` (title stays) or, with `buyer`, by
    `acquisition_with_licence_back` (the buyer takes title and licenses `licensee`)."""
    starts = starts_on or day
    return _deal(ev.PledgeDisposed, deal_id, day, pledge=pledge_id, mode=mode,
                 proceeds=cny("300000"), to_parties={buyer: Decimal(1)} if buyer else {},
                 valuation=None, claim_paid=cny("300000"), surplus=cny("0"),
                 shortfall=cny("500000"), compensation_covered=cny("0"), licensee=licensee,
                 licence_kind=kind, licence_starts_on=starts,
                 licence_ends_on=ends_on or date(starts.year + 2, starts.month, 1))


# --- end issue 19 (pledges) ------------------------------------------------------------------
