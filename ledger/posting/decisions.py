"""From a posted command to the events the ledger will store, or the reason it will not.

`decide` reads the register and never changes it. It answers in one of six ways:
`Accepted` (new events), `Replayed` (the same posting again: the first answer), `NotFound`
(the path names something the ledger does not have: 404), `Invalid` (a body's reference to
something the ledger does not know: 422), `Refusal` (a rule of law: 409 with the rule) or
`Conflict` (an idempotency key reused with another body: 409). The writer adds two of its
own: `Skipped` (a deal of an atomic batch left out because another failed: 424) and
`Faulted` (judging raised: 500 for that posting alone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any

from ledger.law import events as ev
from ledger.law.keys import (
    deal_key,
    listing_key,
    party_key,
    patent_key,
    pool_key,
    recovery_key,
    risk_event_key,
    subsidy_key,
    term_extension_key,
)
from ledger.law.rules import Refusal
from ledger.law.values import Money, expiry_date
from ledger.posting import commands as c
from ledger.posting.fingerprints import fingerprint
from ledger.posting.posted import Posted
from ledger.posting.preparation import (
    INTERMEDIARIES,
    REFERENCE_FIELD,
    PreparedDeal,
    prepare_deal,
)

FieldPath = list[str | int]

if TYPE_CHECKING:  # the writer's register; decisions only read it
    from ledger.engine.register import Register


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
class NotFound:
    """The thing the path names (a listing to end, ...) is not in the register (404): the
    request addresses nothing, unlike a body that refers to something unknown (`Invalid`)."""

    kind: str
    id: str

    @property
    def detail(self) -> str:
        return f"no {self.kind} {self.id!r} in the ledger"


@dataclass(frozen=True, slots=True)
class Conflict:
    detail: str
    facts: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Skipped:
    """In an atomic batch, a deal left out because the deal at `failed_at` failed."""

    failed_at: int


@dataclass(frozen=True, slots=True)
class Faulted:
    """Judging this posting raised where no rule says it may: a fault of the ledger's own,
    logged with its traceback by the writer. Only this posting fails (500); the others of
    its group are judged and stored as usual, so no input can take a group down with it."""

    error: str


Outcome = Accepted | Replayed | NotFound | Invalid | Refusal | Conflict | Skipped | Faulted


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who posts and when the ledger records it: set by the ledger, never by a client."""

    posted_by: str
    recorded_at: datetime


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: FieldPath, message: str) -> None:
        self.items.append({"path": path, "message": message})


def _idempotent(register: Register, key: str, print_: str) -> Replayed | Conflict | None:
    """The earlier answer for `key`: the same body is a replay, another body a conflict. An
    earlier posting still pending in this group (position 0) has no position to name yet: the
    writer adds it once the group is stored (ledger/engine/writer.py), a batch names its index."""
    posted = register.posted.get(key)
    if posted is None:
        return None
    if posted.fingerprint == print_:
        return Replayed(posted)
    facts: dict[str, Any] = {"key": key}
    if posted.position:
        facts["first_position"] = posted.position
    return Conflict(f"{key} was already posted with a different body", facts)


Decision = Callable[..., Outcome]


def wants(decide: Any, keys: set[str], numbers: set[str]) -> None:
    """Add to `keys` and `numbers` what `decide` will read of the register, so the writer
    loads a whole group's in one round trip (ledger/engine/register.py). A decision may say so
    itself (a `wants(keys, numbers)` method); the API's are read from their arguments. What
    is left out is still found, one round trip at a time."""
    own = getattr(decide, "wants", None)
    if own is not None:
        own(keys, numbers)
        return
    arguments: dict[str, Any] = getattr(decide, "keywords", None) or {}
    deal = arguments.get("deal")
    if isinstance(deal, PreparedDeal):
        deal_wants(deal, keys, numbers)
        return
    cmd = arguments.get("cmd")
    if isinstance(cmd, c.PartyCommand):
        keys.update([party_key(cmd.id), *map(party_key, cmd.related_to)])
    elif isinstance(cmd, c.PatentCommand):
        keys.update([patent_key(cmd.number), *(party_key(h.party) for h in cmd.owners)])
        numbers.add(cmd.number)
    elif isinstance(cmd, c.SubsidyCommand):
        keys.update([f"subsidy:{cmd.subsidy_id}", party_key(cmd.party),
                     *map(deal_key, cmd.deals)])
    elif isinstance(cmd, c.ListingCommand):
        keys.update([listing_key(cmd.listing_id), party_key(cmd.party)])
    elif isinstance(cmd, c.RiskEventCommand):  # issue 19
        keys.update([risk_event_key(cmd.event_id), deal_key(cmd.pledge), party_key(cmd.payer)])
    if "number" in arguments:
        numbers.add(arguments["number"])
        if isinstance(cmd, c.TermExtensionCommand):
            keys.add(term_extension_key(arguments["number"], cmd.extension_id))
    if "listing_id" in arguments:
        keys.update((listing_key(arguments["listing_id"]),
                     f"delisting:{arguments['listing_id']}"))
    if "anomaly_id" in arguments:
        keys.add(f"finding:{arguments['anomaly_id']}")
    if "subsidy_id" in arguments:  # issue 17 (credit): a recovery reads the subsidy and
        subsidy_id = arguments["subsidy_id"]  # its earlier recoveries (ledger/posting/recovery.py)
        keys.update([subsidy_key(subsidy_id), *(recovery_key(subsidy_id, n) for n in (1, 2, 3))])


def deal_wants(deal: PreparedDeal, keys: set[str], numbers: set[str]) -> None:
    """What judging `deal` reads: its own key, the deals it names, its parties, its patents."""
    keys.add(deal_key(deal.deal_id))
    for named in (deal.reference, deal.corrects, deal.fields.get("parent_licence")):
        if named:
            keys.add(deal_key(named))
    keys.update([party_key(party) for _, _, party in deal.parties])
    numbers.update(deal.patents)
    if deal.fields.get("pool"):  # issue 18 (pools): the pool a deal names
        keys.add(pool_key(deal.fields["pool"]))


def once(key: Callable[..., str]) -> Callable[[Decision], Decision]:
    """Idempotency, written once for every decision that has a key. `key(cmd, ...)` (given
    the decision's other arguments too) names the posting; the command's fingerprint tells a
    replay (the first answer) from a conflict (409); only a new key reaches the decision,
    which gets the fingerprint as `print_` to store. The command is the keyword argument
    `cmd` (how the API, importers and batches call every decide_*); a deal's key and
    fingerprint come with its preparation (`judge_deal`)."""

    def wrap(decide: Decision) -> Decision:
        @wraps(decide)
        def decided(register: Register, stamp: Stamp, *args: Any, cmd: Any,
                    **kwargs: Any) -> Outcome:
            print_ = fingerprint(cmd)
            earlier = _idempotent(register, key(cmd, *args, **kwargs), print_)
            if earlier is not None:
                return earlier
            return decide(register, stamp, *args, cmd=cmd, print_=print_, **kwargs)

        return decided

    return wrap


@once(lambda cmd: f"party:{cmd.id}")
def decide_party(
    register: Register, stamp: Stamp, cmd: c.PartyCommand, print_: str
) -> Outcome:
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


@once(lambda cmd: f"patent:{cmd.number}")
def decide_patent(
    register: Register, stamp: Stamp, cmd: c.PatentCommand, print_: str
) -> Outcome:
    errors = _Errors()
    for i, holding in enumerate(cmd.owners):
        if holding.party not in register.parties:
            errors.add(["body", "owners", i, "party"], f"unknown party {holding.party}")
    if errors.items:
        return Invalid(errors.items)
    kind = cmd.patent_kind()
    event = ev.PatentRegistered(
        originator_id=ev.stream_id("patent", cmd.number), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.granted_on or cmd.filed_on,
        posted_by=stamp.posted_by,
        number=cmd.number, title=cmd.title, patent_kind=kind, filed_on=cmd.filed_on,
        granted_on=cmd.granted_on, expires_on=expiry_date(kind, cmd.filed_on),
        owners={h.party: h.share for h in cmd.owners}, fingerprint=print_,
    )
    refusal = register.judge(event)  # INV-1: a registered patent changes owner only by a deal
    if refusal is not None:
        return refusal
    if cmd.ipc:  # issue 18 (pools): IPC symbols at registration, its first classification
        return Accepted([event, ev.PatentClassified(
            originator_id=event.originator_id, originator_version=2,
            timestamp=stamp.recorded_at, effective_on=event.effective_on,
            posted_by=stamp.posted_by, number=cmd.number, ipc=list(cmd.ipc),
            fingerprint=print_)])
    return Accepted([event])


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
                        status=cmd.status.value,
                        outcome=None if cmd.outcome is None else cmd.outcome.value)


@once(lambda cmd, number: term_extension_key(number, cmd.extension_id))
def decide_term_extension(
    register: Register, stamp: Stamp, number: str, cmd: c.TermExtensionCommand, print_: str
) -> Outcome:
    """Term compensation (Art. 42(2)-(3)), judged on the patent's timeline (INV-5)."""
    if number not in register.patents:
        return Invalid([{"path": ["path", "number"], "message": f"unknown patent {number}"}])
    stream = ev.stream_id("patent", number)
    event = ev.PatentTermExtended(
        originator_id=stream, originator_version=register.next_version(stream),
        timestamp=stamp.recorded_at, effective_on=cmd.effective_on, posted_by=stamp.posted_by,
        number=number, extension_id=cmd.extension_id, days=cmd.days, basis=cmd.basis.value,
        fingerprint=print_,
    )
    refusal = register.judge(event)
    return refusal if refusal is not None else Accepted([event])


def decide_inventors(
    register: Register, stamp: Stamp, number: str, cmd: c.InventorsCommand
) -> Outcome:
    return _patent_fact(register, stamp, number, cmd, ev.InventorsChanged,
                        inventors=list(cmd.inventors))


# --- Deals -------------------------------------------------------------------------------


# What a reference must name, by the kind of the deal that makes it.
_REFERENCED_KINDS: dict[str, tuple[type[ev.DealEvent], ...]] = {
    "licence_termination": (ev.LicenceGranted, ev.OpenLicenceTaken),
    "pledge_release": (ev.PledgeRegistered,),
    "default": (ev.PledgeRegistered,),
    "disposal": (ev.PledgeRegistered,),
    "pledge_change": (ev.PledgeRegistered,),  # issue 19
}

# Issue 19 (domain.md s11.4): the kinds of party that may arrange a deal.
INTERMEDIARY_KINDS = frozenset({"agency", "individual"})


def decide_deal(register: Register, stamp: Stamp, cmd: Any) -> Outcome:
    """One deal command, prepared and judged in one go (the single-deal path)."""
    return judge_deal(register, stamp, prepare_deal(cmd))


def judge_deal(register: Register, stamp: Stamp, deal: PreparedDeal) -> Outcome:
    """Turn a prepared deal into its event, checking references, then the rules. Its
    idempotency is `once`'s, with the key and fingerprint its preparation computed (in the
    batch preparer's process for a batch)."""
    earlier = _idempotent(register, deal_key(deal.deal_id), deal.fingerprint)
    if earlier is not None:
        return earlier
    errors = _Errors()
    patents = _resolve_patents(register, deal, errors)
    parties = register.parties
    if not all(ref[2] in parties for ref in deal.parties):
        _report_unknown_parties(register, deal, errors)
    if deal.corrects is not None and deal.corrects not in register.deals:
        errors.add(["body", "corrects"], f"unknown deal {deal.corrects}")
    if errors.items:
        return Invalid(errors.items)
    _check_intermediaries(register, deal, errors)
    if errors.items:
        return Invalid(errors.items)
    fields: dict[str, Any] = {
        "originator_id": ev.uuid_of(deal.stream), "originator_version": 1,
        "timestamp": stamp.recorded_at, "effective_on": deal.effective_on,
        "posted_by": stamp.posted_by, "deal_id": deal.deal_id, "signed_on": deal.signed_on,
        "patents": patents, "fingerprint": deal.fingerprint, "corrects": deal.corrects,
        "registered_on": deal.registered_on,
    }
    fields.update(deal.fields)
    if deal.kind == "transfer":  # the application rights it moves (Art. 10; K1 counts them)
        fields["applications"] = [n for n in patents if register.patents[n].current()
                                  .application_on(deal.effective_on)]
    if deal.kind == "disposal" and not _settle_disposal(register, deal, patents, fields, errors):
        return Invalid(errors.items)
    if fields.get("pool") and not pool_fields(register, deal, fields, errors):  # issue 18
        return Invalid(errors.items)
    event = deal.event_type.assemble(fields)
    refusal = register.judge(event)
    return refusal if refusal is not None else Accepted([event], deal.flags)


def _resolve_patents(register: Register, deal: PreparedDeal, errors: _Errors) -> list[str]:
    patents = deal.patents
    referenced: ev.DealEvent | None = None
    kinds = _REFERENCED_KINDS.get(deal.kind)
    if kinds is not None:
        name = REFERENCE_FIELD[deal.kind]
        referenced = register.deals.get(deal.reference or "")
        if referenced is None or not isinstance(referenced, kinds):
            expected = " or ".join(k.TOPIC for k in kinds)
            errors.add(["body", name],
                       f"unknown {name} {deal.reference}: no {expected} has that deal_id")
            return patents
    elif deal.kind == "licence" and deal.fields["parent_licence"] is not None:
        parent = deal.fields["parent_licence"]
        referenced = register.deals.get(parent)
        if not isinstance(referenced, ev.LicenceGranted | ev.OpenLicenceTaken):
            errors.add(["body", "parent_licence"], f"unknown licence {parent}")
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


def _report_unknown_parties(register: Register, deal: PreparedDeal, errors: _Errors) -> None:
    for name, index, party in deal.parties:
        if party in register.parties:
            continue
        path: FieldPath = ["body", name]
        if index is not None:
            path.append(index)
        if name == "to_parties":
            path.append("party")
        if name == "licence":  # issue 19: a disposal's licence
            path.append("licensee")
        errors.add(path, f"unknown party {party}")


def _check_intermediaries(register: Register, deal: PreparedDeal, errors: _Errors) -> None:
    """Issue 19: an agency, platform or technology manager is a party of kind agency, or
    an individual (a technology manager, 技术经理人); any other kind is a 422."""
    for name in INTERMEDIARIES:
        party = deal.fields.get(name)
        if party is None:
            continue
        registered = register.parties.get(party)
        if registered is not None and registered.party_kind not in INTERMEDIARY_KINDS:
            errors.add(["body", name], f"{name} {party} is a party of kind "
                       f"{registered.party_kind}: an intermediary is an agency or an individual")


def _settle_disposal(register: Register, deal: PreparedDeal, patents: list[str],
                     fields: dict[str, Any], errors: _Errors) -> bool:
    """INV-11: the proceeds pay the claim first, any surplus goes to the pledgor. Adds the
    claim paid, surplus and shortfall to `fields`; False (with the error) when the proceeds'
    currency is not the default's."""
    proceeds: Money = fields["proceeds"]
    pledge = register.patents[patents[0]].current().pledges.get(fields["pledge"])
    owed = pledge.outstanding if pledge is not None and pledge.outstanding else None
    if owed is not None and owed.currency != proceeds.currency:
        errors.add(["body", "proceeds", "currency"],
                   f"proceeds in {proceeds.currency}, but the default is in {owed.currency}")
        return False
    owed_amount = owed.amount if owed is not None else Decimal(0)
    paid = min(proceeds.amount, owed_amount)
    # Issue 19 (domain.md s11.3): risk-sharing payments cover what the proceeds left of the
    # claim, up to all of it; the shortfall is what neither covered (docs/law.md).
    compensated = pledge.compensated.get(proceeds.currency, Decimal(0)) if pledge else Decimal(0)
    covered = min(compensated, owed_amount - paid)
    fields["claim_paid"] = Money(paid, proceeds.currency)
    fields["surplus"] = Money(proceeds.amount - paid, proceeds.currency)
    fields["shortfall"] = Money(owed_amount - paid - covered, proceeds.currency)
    fields["compensation_covered"] = Money(covered, proceeds.currency)
    return True


# --- issue 18 (pools) ------------------------------------------------------------------------


def pool_fields(register: Register, deal: PreparedDeal, fields: dict[str, Any],
                errors: _Errors) -> bool:
    """The pool a pool entry, exit or pool licence names must exist (else 422); an entry
    carries the pool's administrator and field, which the patent's state then answers INV-2
    and INV-6 from. False (with the error) for an unknown pool."""
    pool = register.answered.get(pool_key(fields["pool"]))
    if not isinstance(pool, ev.PoolFormed):
        errors.add(["body", "pool"], f"unknown pool {fields['pool']}")
        return False
    if deal.kind == "pool_entry":
        fields["administrator"], fields["pool_field"] = pool.administrator, pool.field
    return True


# --- end issue 18 (pools) --------------------------------------------------------------------


# --- Regulators ----------------------------------------------------------------------------


@once(lambda cmd: f"subsidy:{cmd.subsidy_id}")
def decide_subsidy(
    register: Register, stamp: Stamp, cmd: c.SubsidyCommand, print_: str
) -> Outcome:
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


@once(lambda cmd: f"listing:{cmd.listing_id}")
def decide_listing(
    register: Register, stamp: Stamp, cmd: c.ListingCommand, print_: str
) -> Outcome:
    party = register.parties.get(cmd.party)
    if party is None:
        return Invalid([{"path": ["body", "party"], "message": f"unknown party {cmd.party}"}])
    if cmd.list.value == "abnormal_operations" and party.party_kind != "agency":
        # issue 19 (domain.md s11.4): the list of agencies and platforms (异常名录)
        return Invalid([{"path": ["body", "list"], "message":
                         f"the abnormal-operations list is for agencies and platforms: "
                         f"{cmd.party} is a party of kind {party.party_kind}"}])
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
        return NotFound("listing", listing_id)
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


@once(lambda cmd, anomaly_id: f"finding:{anomaly_id}")
def decide_finding(
    register: Register, stamp: Stamp, anomaly_id: str, cmd: c.FindingCommand, print_: str
) -> Outcome:
    cls = ev.AnomalyConfirmed if cmd.decision.value == "confirmed" else ev.AnomalyDismissed
    return Accepted([cls(
        originator_id=ev.stream_id("finding", anomaly_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=stamp.recorded_at.date(),
        posted_by=stamp.posted_by, anomaly_id=anomaly_id, note=cmd.note, fingerprint=print_,
    )])
