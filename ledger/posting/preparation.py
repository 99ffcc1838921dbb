"""A deal command made ready for judgement: everything about it that needs no register.

The fingerprint, the deal's stream, its event's class and fields, the parties and deals it
names: all follow from the command alone, so they can be worked out anywhere. The writer
judges a `PreparedDeal` against the register (`decisions.judge_deal`); a batch's deals are
prepared in the batch preparer's own process (ledger/engine/batch_preparer.py), beside the writer's
interpreter lock rather than under it, and reach the writer pickled.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, NamedTuple

from pydantic import BaseModel

from ledger.law import events as ev
from ledger.law.rules import open_licence_short
from ledger.law.values import Money, add_months
from ledger.posting import commands as c
from ledger.posting.fingerprints import fingerprint

INTERMEDIARIES = ("agency", "platform", "technology_manager")  # issue 19 (domain.md s11.4)

# Fields naming parties, in the order their unknown parties are reported.
_PARTY_FIELDS = (
    "from_parties", "licensors", "licensee", "owners", "pledgors", "pledgee", "company",
    # issue 19: the pledge's debt and the deal's intermediaries
    "debtor", "guarantors", "insurer", *INTERMEDIARIES,
)

PartyRef = tuple[str, int | None, str]  # field, index in the field's list (None: one party), id


class PreparedDeal(NamedTuple):
    """One deal command as the writer needs it. `fields` are the event's own (its class's)
    beyond the envelope every deal shares; the envelope's patents and the stamp come when it
    is judged, since a reference may name the patents for it."""

    deal_id: str
    kind: str
    fingerprint: str
    stream: int  # the deal stream's UUID as an int (`events.uuid_of`)
    event_type: type[ev.DealEvent]
    effective_on: date
    signed_on: date | None
    patents: list[str]  # as posted; empty when a referenced deal names them
    corrects: str | None
    registered_on: date | None
    reference: str | None  # the deal a termination, release, default or disposal names
    parties: list[PartyRef]
    fields: dict[str, Any]
    flags: list[str]


def prepare_deal(cmd: Any) -> PreparedDeal:
    """`cmd` is one of the deal commands of `ledger.posting.commands` (validated)."""
    fields, flags = _event_fields(cmd)
    fields.update(agency=cmd.agency, platform=cmd.platform,  # issue 19: every deal
                  technology_manager=cmd.technology_manager, official_record=cmd.official_record)
    reference = getattr(cmd, REFERENCE_FIELD[cmd.kind]) if cmd.kind in REFERENCE_FIELD else None
    return PreparedDeal(
        cmd.deal_id, cmd.kind, fingerprint(cmd), ev.stream_number("deal", cmd.deal_id),
        _EVENT_TYPE[cmd.kind], cmd.effective_on, cmd.signed_on, list(cmd.patents),
        cmd.corrects, cmd.registered_on, reference, _party_refs(cmd), fields, flags,
    )


# The field naming the deal that a deal refers to, by kind.
REFERENCE_FIELD = {
    "licence_termination": "licence", "pledge_release": "pledge", "default": "pledge",
    "disposal": "pledge", "pledge_change": "pledge",  # issue 19
}

_EVENT_TYPE: dict[str, type[ev.DealEvent]] = {
    "transfer": ev.OwnershipTransferred, "equity_contribution": ev.EquityContributed,
    "licence": ev.LicenceGranted, "licence_termination": ev.LicenceTerminated,
    "open_licence_declaration": ev.OpenLicenceDeclared,
    "open_licence_withdrawal": ev.OpenLicenceWithdrawn,
    "open_licence_take_up": ev.OpenLicenceTaken, "pledge": ev.PledgeRegistered,
    "pledge_release": ev.PledgeReleased, "default": ev.LoanDefaulted,
    "disposal": ev.PledgeDisposed,
    "pool_entry": ev.PoolEntered, "pool_exit": ev.PoolExited,  # issue 18 (pools)
    "pledge_change": ev.PledgeChanged,  # issue 19
}


@functools.cache
def _party_fields(command_type: type[BaseModel]) -> tuple[tuple[str, ...], bool]:
    """Which fields of a command name parties, and whether it has holdings (cached: a
    missing attribute costs pydantic microseconds to refuse)."""
    fields = command_type.model_fields
    return tuple(n for n in _PARTY_FIELDS if n in fields), "to_parties" in fields


def _party_refs(cmd: BaseModel) -> list[PartyRef]:
    refs: list[PartyRef] = []
    names, has_holdings = _party_fields(type(cmd))
    for name in names:
        value = getattr(cmd, name)
        if value is None:
            continue
        if isinstance(value, list):
            refs.extend([(name, i, party) for i, party in enumerate(value)])
        else:
            refs.append((name, None, value))
    if has_holdings:
        holdings: list[c.Holding] = cmd.to_parties  # type: ignore[attr-defined]
        refs.extend([("to_parties", i, h.party) for i, h in enumerate(holdings)])
    licence = getattr(cmd, "licence", None)  # issue 19: a disposal's licensee
    if isinstance(licence, c.DisposalLicence):
        refs.append(("licence", None, licence.licensee))
    return refs


def _money(value: c.MoneyIn | None) -> Money | None:
    return value.value() if value is not None else None


def _event_fields(cmd: Any) -> tuple[dict[str, Any], list[str]]:
    """The event's fields beyond the deal envelope, in its class's order, and any flags."""
    kind = cmd.kind
    # str() of a StrEnum member is its value as a plain str, without `.value`'s lookup.
    if kind == "transfer":
        return {"from_parties": list(cmd.from_parties),
                "to_parties": {h.party: h.share for h in cmd.to_parties},
                "price": _money(cmd.price), "consideration": str(cmd.consideration),
                "pledgee_consent": cmd.pledgee_consent,
                "applications": []}, []  # which are applications: judged on the register
    if kind == "equity_contribution":
        return {"from_parties": list(cmd.from_parties), "company": cmd.company,
                "valuation": _money(cmd.valuation), "equity_share": cmd.equity_share,
                "pledgee_consent": cmd.pledgee_consent}, []
    if kind == "licence":
        filed_on: date = cmd.filed_on or cmd.effective_on
        # INV-13 (domain.md s9): three months from the contract's effective date, the day it
        # was signed where given ("自合同生效之日起3个月内"), else the licence's start.
        late = filed_on > add_months(cmd.signed_on or cmd.starts_on, 3)
        return {"licensors": list(cmd.licensors), "licensee": cmd.licensee,
                # issue 18 (pools): a pool licence is ordinary unless stated
                "licence_kind": str(cmd.licence_kind or "ordinary"), "territory": cmd.territory,
                "field": cmd.field, "starts_on": cmd.starts_on, "ends_on": cmd.ends_on,
                "fee_mode": str(cmd.fee.mode), "fee_amount": _money(cmd.fee.amount),
                "fee_rate": cmd.fee.rate, "sublicensable": cmd.sublicensable,
                "parent_licence": cmd.parent_licence, "filed_on": filed_on, "late": late,
                "pledgee_consent": cmd.pledgee_consent, "pool": cmd.pool,
                }, ["INV-13"] if late else []
    if kind == "licence_termination":
        return {"licence": cmd.licence}, []
    if kind == "open_licence_declaration":
        return {"owners": list(cmd.owners), "fee_mode": str(cmd.fee.mode),
                "fee_amount": _money(cmd.fee.amount), "fee_rate": cmd.fee.rate,
                "starts_on": cmd.starts_on, "ends_on": cmd.ends_on,
                "pledgee_consent": cmd.pledgee_consent,
                "evaluation_report": cmd.evaluation_report}, (
                    ["INV-5"] if open_licence_short(cmd.starts_on, cmd.ends_on) else [])
    if kind == "open_licence_withdrawal":
        return {"owners": list(cmd.owners)}, []
    if kind == "open_licence_take_up":
        return {"licensee": cmd.licensee}, []
    if kind == "pledge":
        return {"pledgors": list(cmd.pledgors), "pledgee": cmd.pledgee,
                "secured_amount": _money(cmd.secured_amount), "due_on": cmd.due_on,
                "invalidation_acknowledged": cmd.invalidation_acknowledged,
                "debtor": cmd.debtor, "guarantors": list(cmd.guarantors), "insurer": cmd.insurer,
                "mixed_collateral": None if cmd.mixed_collateral is None
                else cmd.mixed_collateral.model_dump()}, []
    if kind == "pledge_release":
        return {"pledge": cmd.pledge}, []
    if kind == "default":
        return {"pledge": cmd.pledge, "outstanding": cmd.outstanding.value()}, []
    if kind == "disposal":  # the claim paid, surplus and shortfall need the register
        licence = cmd.licence
        return {"pledge": cmd.pledge, "mode": str(cmd.mode), "proceeds": cmd.proceeds.value(),
                "to_parties": {h.party: h.share for h in cmd.to_parties},
                "valuation": _money(cmd.valuation),
                "licensee": licence and licence.licensee,
                "licence_kind": licence and str(licence.licence_kind),
                "licence_starts_on": licence and licence.starts_on,
                "licence_ends_on": licence and licence.ends_on}, []
    if kind == "pledge_change":  # issue 19
        return {"pledge": cmd.pledge, "due_on": cmd.due_on,
                "secured_amount": _money(cmd.secured_amount)}, []
    if kind == "pool_entry":  # issue 18 (pools): the pool's administrator and field are
        # the register's, filled in when the entry is judged (decisions.pool_fields)
        return {"pool": cmd.pool, "owners": list(cmd.owners), "starts_on": cmd.starts_on,
                "ends_on": cmd.ends_on, "administrator": "", "pool_field": ""}, []
    if kind == "pool_exit":
        return {"pool": cmd.pool, "owners": list(cmd.owners)}, []
    raise AssertionError(f"unhandled deal kind {kind}")
