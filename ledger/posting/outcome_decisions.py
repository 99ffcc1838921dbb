"""Judging issue 18's outcome commands: industrialisation reports, products, product reports.

Each is idempotent by its key (`ledger/law/keys.py`): the same body again is the first answer
(200), another body under the same id 409. References the register cannot resolve are 422;
the law (INV-4, INV-17; `ledger/law/outcomes.py`) is judged on each patent's state on the
report's or the filing's date, the register as it stood then (a backdated licence is seen).
These events are not placed on the patents' timelines: no later deal is judged against them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.law import events as ev
from ledger.law.keys import industrialisation_key, product_key, product_report_key
from ledger.law.outcomes import (
    IndustrialisationBasis,
    industrialisation_category,
    inv_4_used_alive,
    inv_17_industrialised_by_licensee,
    inv_17_product_patent,
)
from ledger.law.patent_state import PatentState
from ledger.posting.decisions import Accepted, Invalid, NotFound, Outcome, Stamp, once
from ledger.posting.outcome_commands import (
    IndustrialisationCommand,
    ProductCommand,
    ProductReportCommand,
)

if TYPE_CHECKING:
    from ledger.engine.register import Register


def _state_on(register: Register, number: str, day: date) -> PatentState | None:
    """The patent on `day`, every event dated up to it folded in (None: not registered)."""
    timeline = register.whole(number)
    return None if timeline is None else timeline.state_on(day)


@once(lambda cmd, number: industrialisation_key(number, cmd.report_id))
def decide_industrialisation(register: Register, stamp: Stamp, number: str,
                             cmd: IndustrialisationCommand, print_: str) -> Outcome:
    """Categories 7 and 8 of s10.1: the patent alive on started_on (INV-4); a licensee's
    use on a licence in force for it then (INV-17)."""
    errors: list[dict[str, Any]] = []
    if cmd.party not in register.parties:
        errors.append({"path": ["body", "party"], "message": f"unknown party {cmd.party}"})
    for i, product_id in enumerate(cmd.products):
        product = register.answered.get(product_key(product_id))
        if not isinstance(product, ev.ProductFiled):
            errors.append({"path": ["body", "products", i],
                           "message": f"unknown product {product_id}"})
        elif number not in product.patents:
            errors.append({"path": ["body", "products", i],
                           "message": f"product {product_id} does not name patent {number}"})
    if cmd.deal is not None and not isinstance(register.deals.get(cmd.deal),
                                               ev.LicenceGranted | ev.OpenLicenceTaken):
        errors.append({"path": ["body", "deal"], "message": f"unknown licence {cmd.deal}"})
    state = _state_on(register, number, cmd.started_on)
    if state is None:
        errors.insert(0, {"path": ["path", "number"], "message": f"unknown patent {number}"})
    if errors or state is None:
        return Invalid(errors)
    refusal = inv_4_used_alive(state, cmd.started_on)
    if refusal is None and cmd.basis is IndustrialisationBasis.LICENCE:
        refusal = inv_17_industrialised_by_licensee(state, cmd.party, cmd.started_on, cmd.deal)
    if refusal is not None:
        return refusal
    return Accepted([ev.IndustrialisationReported(
        originator_id=ev.stream_id("industrialisation", f"{number}:{cmd.report_id}"),
        originator_version=1, timestamp=stamp.recorded_at, effective_on=cmd.started_on,
        posted_by=stamp.posted_by, report_id=cmd.report_id, number=number, party=cmd.party,
        basis=cmd.basis.value, category=industrialisation_category(cmd.basis),
        contract_ref=cmd.contract_ref, deal=cmd.deal, started_on=cmd.started_on,
        products=list(cmd.products), holders=sorted(state.owners), fingerprint=print_,
    )])


@once(lambda cmd: product_key(cmd.product_id))
def decide_product(register: Register, stamp: Stamp, cmd: ProductCommand,
                   print_: str) -> Outcome:
    """A product filed: its owner known, its patents registered, each one the owner's or
    licensed to it on filed_on (INV-17)."""
    errors: list[dict[str, Any]] = []
    if cmd.owner not in register.parties:
        errors.append({"path": ["body", "owner"], "message": f"unknown party {cmd.owner}"})
    states: list[PatentState] = []
    for i, number in enumerate(cmd.patents):
        state = _state_on(register, number, cmd.filed_on)
        if state is None:
            errors.append({"path": ["body", "patents", i], "message": f"unknown patent {number}"})
        else:
            states.append(state)
    if errors:
        return Invalid(errors)
    for state in states:
        refusal = inv_17_product_patent(state, cmd.owner, cmd.filed_on)
        if refusal is not None:
            return refusal
    return Accepted([ev.ProductFiled(
        originator_id=ev.stream_id("product", cmd.product_id), originator_version=1,
        timestamp=stamp.recorded_at, effective_on=cmd.filed_on, posted_by=stamp.posted_by,
        product_id=cmd.product_id, name=cmd.name, owner=cmd.owner, patents=list(cmd.patents),
        filed_on=cmd.filed_on, category=cmd.category, intensive=cmd.intensive,
        fingerprint=print_,
    )])


def decide_product_report(register: Register, stamp: Stamp, product_id: str,
                          cmd: ProductReportCommand) -> Outcome:
    """One report a year: 404 for a product the ledger does not hold, 422 for a year
    before the product was filed."""
    product = register.answered.get(product_key(product_id))
    if not isinstance(product, ev.ProductFiled):
        return NotFound("product", product_id)
    return _report(register, stamp, product_id=product_id, cmd=cmd, product=product)


@once(lambda cmd, product_id, product: product_report_key(product_id, cmd.year))
def _report(register: Register, stamp: Stamp, product_id: str, cmd: ProductReportCommand,
            product: ev.ProductFiled, print_: str) -> Outcome:
    if cmd.year < product.filed_on.year:
        return Invalid([{"path": ["body", "year"], "message":
                         f"before product {product_id} was filed on {product.filed_on}"}])
    return Accepted([ev.ProductReported(
        originator_id=ev.stream_id("product-report", f"{product_id}:{cmd.year}"),
        originator_version=1, timestamp=stamp.recorded_at,
        effective_on=date(cmd.year, 12, 31), posted_by=stamp.posted_by,
        product_id=product_id, owner=product.owner, year=cmd.year,
        output_value=cmd.output_value.value(), employees=cmd.employees, fingerprint=print_,
    )])
