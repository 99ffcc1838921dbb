"""From a posted command to the events the ledger will store, or the reason it will not.

`decide` reads the register and never changes it. It answers in one of five ways:
`Accepted` (new events), `Replayed` (the same posting again: the first answer), `Invalid`
(a reference to something the ledger does not know: 422), `Refusal` (a rule of law: 409 with
the rule) or `Conflict` (an idempotency key reused with another body: 409).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ledger import commands as c
from ledger import events as ev
from ledger.register import Posted, Register, deal_key
from ledger.rules import Refusal
from ledger.values import Money, add_months, expiry_date

FieldPath = list[str | int]


@dataclass(frozen=True, slots=True)
class Accepted:
    events: list[ev.LedgerEvent]
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Replayed:
    posted: Posted


@dataclass(frozen=True, slots=True)
class Invalid:
    """References the register cannot resolve: unknown parties, patents or deals (422)."""

    errors: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Conflict:
    detail: str
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    """In an atomic batch, a deal left out because the deal at `failed_at` failed."""

    failed_at: int


Outcome = Accepted | Replayed | Invalid | Refusal | Conflict | Skipped


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who posts and when the ledger records it: set by the ledger, never by a client."""

    posted_by: str
    recorded_at: datetime


# `registered_on` was added to deals after deals were first stored: it is left out of the
# fingerprint while unset, so a replay of an older posting still matches the fingerprint it was
# stored with.
_UNSET_REGISTERED_ON = b',"registered_on":null'


def fingerprint(command: BaseModel) -> str:
    """SHA-256 of the command's canonical JSON (pydantic's, fields in declared order).

    Cut from the serialised bytes rather than with pydantic's `exclude`, which costs about
    2 us a deal on the writer's path. The cut is exact: the field follows others (never
    first), only the deal itself has it, and inside a JSON string every quote is escaped.
    """
    body = type(command).__pydantic_serializer__.to_json(command)
    if getattr(command, "registered_on", False) is None:
        body = body.replace(_UNSET_REGISTERED_ON, b"", 1)
    return hashlib.sha256(body).hexdigest()


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: FieldPath, message: str) -> None:
        self.items.append({"path": path, "message": message})


def _idempotent(register: Register, key: str, print_: str) -> Replayed | Conflict | None:
    posted = register.posted.get(key)
    if posted is None:
        return None
    if posted.fingerprint == print_:
        return Replayed(posted)
    return Conflict(
        f"{key} was already posted with a different body",
        {"key": key, "first_position": posted.position},
    )


def decide_party(
    register: Register, stamp: Stamp, cmd: c.PartyCommand
) -> Outcome:
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, f"party:{cmd.id}", print_)
    if earlier is not None:
        return earlier
    errors = _Errors()
    for i, related in enumerate(cmd.related_to):
        if related not in register.parties and related != cmd.id:
            errors.add(["body", "related_to", i], f"unknown party {related}")
    if errors.items:
        return Invalid(errors.items)
    return Accepted([ev.PartyRegistered(
        originator_id=ev.stream_id("party", cmd.id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.founded_on or stamp.recorded_at.date(),
        posted_by=stamp.posted_by, party_id=cmd.id, name=cmd.name, party_kind=cmd.kind.value,
        size=cmd.size.value if cmd.size else None, state_owned=cmd.state_owned,
        region=cmd.region, founded_on=cmd.founded_on, related_to=list(cmd.related_to),
        fingerprint=print_,
    )])


def decide_patent(
    register: Register, stamp: Stamp, cmd: c.PatentCommand
) -> Outcome:
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, f"patent:{cmd.number}", print_)
    errors = _Errors()
    for i, holding in enumerate(cmd.owners):
        if holding.party not in register.parties:
            errors.add(["body", "owners", i, "party"], f"unknown party {holding.party}")
    if errors.items:
        return Invalid(errors.items)
    kind = cmd.patent_kind()
    event = ev.PatentRegistered(
        originator_id=ev.stream_id("patent", cmd.number), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.granted_on, posted_by=stamp.posted_by,
        number=cmd.number, title=cmd.title, patent_kind=kind, filed_on=cmd.filed_on,
        granted_on=cmd.granted_on, expires_on=expiry_date(kind, cmd.filed_on),
        owners={h.party: h.share for h in cmd.owners}, fingerprint=print_,
    )
    if isinstance(earlier, Replayed):
        return earlier
    refusal = register.judge(event)  # INV-1: a registered patent changes owner only by a deal
    return refusal if refusal is not None else Accepted([event])


def _patent_fact(register: Register, stamp: Stamp, number: str,
                 cmd: c.StatusCommand | c.InventorsCommand,
                 event_class: type[ev.PatentStatusChanged | ev.InventorsChanged],
                 **fields: Any) -> Outcome:
    """A recorded fact about one registered patent, judged on its timeline like a deal."""
    if number not in register.patents:
        return Invalid([{"path": ["path", "number"], "message": f"unknown patent {number}"}])
    stream = ev.stream_id("patent", number)
    event = event_class(
        originator_id=stream, originator_version=register.next_version(stream),
        timestamp=stamp.recorded_at, effective_on=cmd.effective_on, posted_by=stamp.posted_by,
        number=number, reason=cmd.reason, **fields,
    )
    refusal = register.judge(event)
    return refusal if refusal is not None else Accepted([event])


def decide_status(
    register: Register, stamp: Stamp, number: str, cmd: c.StatusCommand
) -> Outcome:
    return _patent_fact(register, stamp, number, cmd, ev.PatentStatusChanged,
                        status=cmd.status.value)


def decide_inventors(
    register: Register, stamp: Stamp, number: str, cmd: c.InventorsCommand
) -> Outcome:
    return _patent_fact(register, stamp, number, cmd, ev.InventorsChanged,
                        inventors=list(cmd.inventors))


# --- Deals -------------------------------------------------------------------------------


_REFERENCE_FIELD = {
    "licence_termination": ("licence", (ev.LicenceGranted, ev.OpenLicenceTaken)),
    "pledge_release": ("pledge", (ev.PledgeRegistered,)),
    "default": ("pledge", (ev.PledgeRegistered,)),
    "disposal": ("pledge", (ev.PledgeRegistered,)),
}

_PARTY_FIELDS = (
    "from_parties", "licensors", "licensee", "owners", "pledgors", "pledgee", "company",
)


def decide_deal(
    register: Register, stamp: Stamp, cmd: Any
) -> Outcome:
    """Turn one deal command into its event, checking references, then the rules."""
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, deal_key(cmd.deal_id), print_)
    if earlier is not None:
        return earlier
    errors = _Errors()
    patents = _resolve_patents(register, cmd, errors)
    _check_parties(register, cmd, errors)
    if cmd.corrects is not None and cmd.corrects not in register.deals:
        errors.add(["body", "corrects"], f"unknown deal {cmd.corrects}")
    if errors.items:
        return Invalid(errors.items)
    event, flags = _build_deal_event(register, cmd, patents, print_, stamp, errors)
    if errors.items or event is None:
        return Invalid(errors.items)
    refusal = register.judge(event)
    return refusal if refusal is not None else Accepted([event], flags)


def _resolve_patents(register: Register, cmd: Any, errors: _Errors) -> list[str]:
    patents = list(cmd.patents)
    reference = _REFERENCE_FIELD.get(cmd.kind)
    referenced: ev.DealEvent | None = None
    if reference is not None:
        name, kinds = reference
        deal_id = getattr(cmd, name)
        referenced = register.deals.get(deal_id)
        if referenced is None or not isinstance(referenced, kinds):
            expected = " or ".join(k.TOPIC for k in kinds)
            errors.add(["body", name], f"unknown {name} {deal_id}: no {expected} has that deal_id")
            return patents
    elif cmd.kind == "licence" and cmd.parent_licence is not None:
        referenced = register.deals.get(cmd.parent_licence)
        if not isinstance(referenced, ev.LicenceGranted | ev.OpenLicenceTaken):
            errors.add(["body", "parent_licence"], f"unknown licence {cmd.parent_licence}")
            return patents
    if referenced is not None:
        if not patents:
            return list(referenced.patents)
        for i, number in enumerate(patents):
            if number not in referenced.patents:
                errors.add(["body", "patents", i],
                           f"patent {number} is not covered by deal {referenced.deal_id}")
        return patents
    if not patents:
        errors.add(["body", "patents"], "name at least one patent")
    for i, number in enumerate(patents):
        if number not in register.patents:
            errors.add(["body", "patents", i], f"unknown patent {number}")
    return patents


@functools.cache
def _party_fields(command_type: type[BaseModel]) -> tuple[tuple[str, ...], bool]:
    """Which fields of a command name parties (cached: asked once per deal)."""
    fields = command_type.model_fields
    return tuple(n for n in _PARTY_FIELDS if n in fields), "to_parties" in fields


def _check_parties(register: Register, cmd: BaseModel, errors: _Errors) -> None:
    names, has_holdings = _party_fields(type(cmd))
    for name in names:
        value = getattr(cmd, name)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for i, party in enumerate(values):
            if party not in register.parties:
                path: FieldPath = ["body", name, i] if isinstance(value, list) else ["body", name]
                errors.add(path, f"unknown party {party}")
    holdings: list[c.Holding] = cmd.to_parties if has_holdings else []  # type: ignore[attr-defined]
    for i, holding in enumerate(holdings):
        if holding.party not in register.parties:
            errors.add(["body", "to_parties", i, "party"], f"unknown party {holding.party}")


def _money(value: c.MoneyIn | None) -> Money | None:
    return value.value() if value is not None else None


def _build_deal_event(
    register: Register, cmd: Any, patents: list[str], print_: str, stamp: Stamp, errors: _Errors
) -> tuple[ev.DealEvent | None, list[str]]:
    common: dict[str, Any] = {
        "originator_id": ev.stream_id("deal", cmd.deal_id), "originator_version": 1,
        "timestamp": stamp.recorded_at, "effective_on": cmd.effective_on,
        "posted_by": stamp.posted_by, "deal_id": cmd.deal_id, "signed_on": cmd.signed_on,
        "patents": patents, "fingerprint": print_, "corrects": cmd.corrects,
        "registered_on": cmd.registered_on,
    }
    flags: list[str] = []
    kind = cmd.kind
    # str() of a StrEnum member is its value as a plain str, without `.value`'s lookup.
    if kind == "transfer":
        return ev.OwnershipTransferred.assemble(
            common, from_parties=list(cmd.from_parties),
            to_parties={h.party: h.share for h in cmd.to_parties}, price=_money(cmd.price),
            consideration=str(cmd.consideration), pledgee_consent=cmd.pledgee_consent,
        ), flags
    if kind == "equity_contribution":
        return ev.EquityContributed.assemble(
            common, from_parties=list(cmd.from_parties), company=cmd.company,
            valuation=_money(cmd.valuation), equity_share=cmd.equity_share,
            pledgee_consent=cmd.pledgee_consent,
        ), flags
    if kind == "licence":
        filed_on: date = cmd.filed_on or cmd.effective_on
        late = filed_on > add_months(cmd.starts_on, 3)
        if late:
            flags.append("INV-13")
        return ev.LicenceGranted.assemble(
            common, licensors=list(cmd.licensors), licensee=cmd.licensee,
            licence_kind=str(cmd.licence_kind), territory=cmd.territory, field=cmd.field,
            starts_on=cmd.starts_on, ends_on=cmd.ends_on, fee_mode=str(cmd.fee.mode),
            fee_amount=_money(cmd.fee.amount), fee_rate=cmd.fee.rate,
            sublicensable=cmd.sublicensable, parent_licence=cmd.parent_licence,
            filed_on=filed_on, late=late, pledgee_consent=cmd.pledgee_consent,
        ), flags
    if kind == "licence_termination":
        return ev.LicenceTerminated.assemble(common, licence=cmd.licence), flags
    if kind == "open_licence_declaration":
        return ev.OpenLicenceDeclared.assemble(
            common, owners=list(cmd.owners), fee_mode=str(cmd.fee.mode),
            fee_amount=_money(cmd.fee.amount), fee_rate=cmd.fee.rate, starts_on=cmd.starts_on,
            ends_on=cmd.ends_on, pledgee_consent=cmd.pledgee_consent,
        ), flags
    if kind == "open_licence_withdrawal":
        return ev.OpenLicenceWithdrawn.assemble(common, owners=list(cmd.owners)), flags
    if kind == "open_licence_take_up":
        return ev.OpenLicenceTaken.assemble(common, licensee=cmd.licensee), flags
    if kind == "pledge":
        return ev.PledgeRegistered.assemble(
            common, pledgors=list(cmd.pledgors), pledgee=cmd.pledgee,
            secured_amount=_money(cmd.secured_amount), due_on=cmd.due_on,
        ), flags
    if kind == "pledge_release":
        return ev.PledgeReleased.assemble(common, pledge=cmd.pledge), flags
    if kind == "default":
        return ev.LoanDefaulted.assemble(common, pledge=cmd.pledge, outstanding=cmd.outstanding.value()), flags
    if kind == "disposal":
        return _disposal_event(register, cmd, patents, common, errors), flags
    raise AssertionError(f"unhandled deal kind {kind}")


def _disposal_event(
    register: Register, cmd: c.DisposalDeal, patents: list[str], common: dict[str, Any],
    errors: _Errors,
) -> ev.PledgeDisposed | None:
    """INV-11: the proceeds pay the claim first, any surplus goes to the pledgor."""
    proceeds = cmd.proceeds.value()
    pledge = register.patents[patents[0]].current().pledges.get(cmd.pledge)
    owed = pledge.outstanding if pledge is not None and pledge.outstanding else None
    if owed is not None and owed.currency != proceeds.currency:
        errors.add(["body", "proceeds", "currency"],
                   f"proceeds in {proceeds.currency}, but the default is in {owed.currency}")
        return None
    owed_amount = owed.amount if owed is not None else Decimal(0)
    paid = min(proceeds.amount, owed_amount)
    return ev.PledgeDisposed.assemble(
        common, pledge=cmd.pledge, mode=str(cmd.mode), proceeds=proceeds,
        to_parties={h.party: h.share for h in cmd.to_parties}, valuation=_money(cmd.valuation),
        claim_paid=Money(paid, proceeds.currency),
        surplus=Money(proceeds.amount - paid, proceeds.currency),
        shortfall=Money(owed_amount - paid, proceeds.currency),
    )


# --- Regulators ----------------------------------------------------------------------------


def decide_subsidy(
    register: Register, stamp: Stamp, cmd: c.SubsidyCommand
) -> Outcome:
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, f"subsidy:{cmd.subsidy_id}", print_)
    if earlier is not None:
        return earlier
    errors = _Errors()
    if cmd.party not in register.parties:
        errors.add(["body", "party"], f"unknown party {cmd.party}")
    for i, deal_id in enumerate(cmd.deals):
        if deal_id not in register.deals:
            errors.add(["body", "deals", i], f"unknown deal {deal_id}")
    if errors.items:
        return Invalid(errors.items)
    return Accepted([ev.SubsidyAwarded(
        originator_id=ev.stream_id("subsidy", cmd.subsidy_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.awarded_on, posted_by=stamp.posted_by,
        subsidy_id=cmd.subsidy_id, party=cmd.party, programme=cmd.programme,
        amount=cmd.amount.value(), deals=list(cmd.deals), fingerprint=print_,
    )])


def decide_listing(
    register: Register, stamp: Stamp, cmd: c.ListingCommand
) -> Outcome:
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, f"listing:{cmd.listing_id}", print_)
    if earlier is not None:
        return earlier
    if cmd.party not in register.parties:
        return Invalid([{"path": ["body", "party"], "message": f"unknown party {cmd.party}"}])
    return Accepted([ev.PartyListed(
        originator_id=ev.stream_id("listing", cmd.listing_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.starts_on, posted_by=stamp.posted_by,
        listing_id=cmd.listing_id, party=cmd.party, credit_list=cmd.list.value,
        grounds=cmd.grounds, starts_on=cmd.starts_on, ends_on=cmd.ends_on, fingerprint=print_,
    )])


def decide_listing_end(
    register: Register, stamp: Stamp, listing_id: str, cmd: c.ListingEndCommand
) -> Outcome:
    listing = register.listings.get(listing_id)
    if listing is None:
        return Invalid([{"path": ["path", "id"], "message": f"unknown listing {listing_id}"}])
    earlier = register.posted.get(f"delisting:{listing_id}")
    if earlier is not None:
        return Replayed(earlier)
    ended_on = cmd.ended_on or stamp.recorded_at.date()
    if ended_on < listing.starts_on:
        return Invalid([{"path": ["body", "ended_on"],
                         "message": f"before the listing started on {listing.starts_on}"}])
    stream = ev.stream_id("listing", listing_id)
    return Accepted([ev.PartyDelisted(
        originator_id=stream, originator_version=register.next_version(stream),
        timestamp=stamp.recorded_at, effective_on=ended_on, posted_by=stamp.posted_by,
        listing_id=listing_id, party=listing.party,
    )])


def decide_finding(
    register: Register, stamp: Stamp, anomaly_id: str, cmd: c.FindingCommand
) -> Outcome:
    print_ = fingerprint(cmd)
    earlier = _idempotent(register, f"finding:{anomaly_id}", print_)
    if earlier is not None:
        return earlier
    cls = ev.AnomalyConfirmed if cmd.decision.value == "confirmed" else ev.AnomalyDismissed
    return Accepted([cls(
        originator_id=ev.stream_id("finding", anomaly_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=stamp.recorded_at.date(),
        posted_by=stamp.posted_by, anomaly_id=anomaly_id, note=cmd.note, fingerprint=print_,
    )])
