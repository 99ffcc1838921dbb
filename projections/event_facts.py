"""What the read side needs to know about any event: its kind, patents, parties and payload.

One place answers these for every event class, so the audit index, the time-travel reader and
GraphQL agree on what an event "touches".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.law import events as ev
from ledger.law.values import Money

_DEAL_KINDS: dict[type[ev.LedgerEvent], str] = {cls: kind for kind, cls in ev.DEAL_EVENTS.items()}
_OTHER_KINDS: dict[type[ev.LedgerEvent], str] = {
    ev.PartyRegistered: "party_registered",
    ev.PatentRegistered: "patent_registered",
    ev.PatentStatusChanged: "status_changed",
    ev.InventorsChanged: "inventors_changed",
    ev.PatentTermExtended: "term_extended",
    ev.SubsidyAwarded: "subsidy",
    ev.PartyListed: "listing",
    ev.PartyDelisted: "listing_end",
    ev.AnomalyConfirmed: "finding_confirmed",
    ev.AnomalyDismissed: "finding_dismissed",
    ev.SubsidyRecovered: "subsidy_recovery",  # issue 17 (credit)
    ev.PoolFormed: "pool_formed",  # issue 18 (pools)
    ev.PatentClassified: "classified",
    ev.PartyQualified: "qualification",
    ev.PartySizeChanged: "size_changed",
    ev.RiskPaymentMade: "risk_payment",  # issue 19
    ev.IndustrialisationReported: "industrialisation",  # issue 18 (outcomes)
    ev.ProductFiled: "product_filed",  # issue 18 (outcomes)
    ev.ProductReported: "product_report",  # issue 18 (outcomes)
}
EVENT_KINDS: tuple[str, ...] = (*_OTHER_KINDS.values(), *ev.DEAL_EVENTS)
# Each event class by its read-side kind name (`rm_events.kind`, GraphQL `kind`), and back.
KIND_NAMES: dict[type[ev.LedgerEvent], str] = {**_OTHER_KINDS, **_DEAL_KINDS}
CLASS_OF_KIND: dict[str, type[ev.LedgerEvent]] = {name: cls for cls, name in KIND_NAMES.items()}
_ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp"})


def kind_of(event: ev.LedgerEvent) -> str:
    """The deal kind of the REST contract (`transfer`, `pledge`...), or the registry fact."""
    return _DEAL_KINDS.get(type(event)) or _OTHER_KINDS[type(event)]


def patents_of(event: ev.LedgerEvent) -> list[str]:
    if isinstance(event, ev.DealEvent | ev.RiskPaymentMade):  # issue 19: the pledge's
        return list(event.patents)
    if isinstance(event, ev.PatentStatusChanged | ev.PatentRegistered | ev.InventorsChanged
                  | ev.PatentTermExtended | ev.PatentClassified
                  | ev.IndustrialisationReported):
        return [event.number]
    if isinstance(event, ev.ProductFiled):  # issue 18 (outcomes): in its patents' history
        return list(event.patents)
    return []


def parties_of(event: ev.LedgerEvent) -> list[str]:
    """Every party the event names, in a stable order without repeats."""
    named: list[str] = []
    match event:
        case ev.PartyRegistered():
            named = [event.party_id]
        case ev.PatentRegistered():
            named = list(event.owners)
        case ev.OwnershipTransferred():
            named = [*event.from_parties, *event.to_parties]
        case ev.EquityContributed():
            named = [*event.from_parties, event.company]
        case ev.LicenceGranted():
            named = [*event.licensors, event.licensee]
        case ev.OpenLicenceDeclared() | ev.OpenLicenceWithdrawn():
            named = list(event.owners)
        case ev.OpenLicenceTaken():
            named = [event.licensee]
        case ev.PledgeRegistered():  # issue 19: and the debt's parties
            named = [*event.pledgors, event.pledgee, *([event.debtor] if event.debtor else []),
                     *event.guarantors, *([event.insurer] if event.insurer else [])]
        case ev.PledgeDisposed():
            named = [*event.to_parties, *([event.licensee] if event.licensee else [])]
        case ev.RiskPaymentMade():  # issue 19
            named = [event.payer]
        case ev.SubsidyAwarded() | ev.SubsidyRecovered() | ev.PartyListed() | ev.PartyDelisted():
            named = [event.party]
        case ev.PartyQualified() | ev.PartySizeChanged():  # issue 18 (pools)
            named = [event.party]
        case ev.PoolFormed():
            named = [event.administrator]
        case ev.PoolEntered() | ev.PoolExited():
            named = list(event.owners)
        case ev.IndustrialisationReported():  # issue 18 (outcomes)
            named = [event.party, *event.holders]
        case ev.ProductFiled() | ev.ProductReported():  # issue 18 (outcomes)
            named = [event.owner]
    if isinstance(event, ev.DealEvent):  # issue 19: who arranged it
        named += intermediaries_of(event).values()
    return list(dict.fromkeys(named))


def intermediaries_of(event: ev.DealEvent) -> dict[str, str]:
    """Issue 19: the deal's agency, platform and technology manager, by role, where named
    (a deal stored before they were recorded reads None for each: its upcast)."""
    return {role: party for role in ("agency", "platform", "technology_manager")
            if (party := getattr(event, role, None)) is not None}


def deal_id_of(event: ev.LedgerEvent) -> str | None:
    return event.deal_id if isinstance(event, ev.DealEvent) else None


def payload_of(event: ev.LedgerEvent) -> dict[str, Any]:
    """The event's own fields as JSON values (money as {amount, currency}, dates ISO)."""
    return {name: _json(value) for name, value in vars(event).items() if name not in _ENVELOPE}


def _json(value: Any) -> Any:
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value
