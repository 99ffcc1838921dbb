"""Request bodies of issue 18's outcome commands (domain.md s10.1-10.2), checked for shape.

`POST /v1/patents/{number}/industrialisation`, `POST /v1/products` and
`POST /v1/products/{id}/reports`. Like every command (`ledger/posting/commands.py`), each field
is one of the checked field types, unknown fields are refused, and every list has a bound
(README limits table); what needs the register (INV-4, INV-17, references) comes after, in the
writer (`ledger/posting/outcome_decisions.py`).
"""

from __future__ import annotations

from pydantic import Field, StrictBool, field_validator, model_validator

from ledger.law.outcomes import IndustrialisationBasis
from ledger.posting.commands import MoneyIn, Strict
from ledger.posting.fields import Day, DealId, Name, PartyId, PatentNo, ShortName, WholeNumber

MAX_PRODUCTS_PER_REPORT = 100  # products an industrialisation report names
MAX_PATENTS_PER_PRODUCT = 100  # patents a product names
FIRST_REPORT_YEAR = 1985  # the Patent Law's first year in force
LAST_REPORT_YEAR = 2199  # the last year a date may carry (ledger/posting/fields.py)
MAX_EMPLOYEES = 10_000_000  # more than any enterprise employs


class IndustrialisationCommand(Strict):
    """Use of the patent by a licensee (`basis: licence`) or by a partner under a technical
    service or development contract (which the report must name: `contract_ref`)."""

    report_id: DealId
    party: PartyId
    basis: IndustrialisationBasis
    contract_ref: ShortName | None = None
    deal: DealId | None = None  # the licence the use rests on (basis licence)
    started_on: Day
    products: list[DealId] = Field(default_factory=list, max_length=MAX_PRODUCTS_PER_REPORT)

    @model_validator(mode="after")
    def _basis_needs(self) -> IndustrialisationCommand:
        if self.basis is IndustrialisationBasis.LICENCE:
            if self.contract_ref is not None:
                raise ValueError("contract_ref names a service or development contract; a "
                                 "licensee's use names its licence in `deal`")
        elif self.contract_ref is None:
            raise ValueError(f"a {self.basis.value} names its contract in contract_ref")
        elif self.deal is not None:
            raise ValueError("`deal` names a licence: only basis licence rests on one")
        if len(set(self.products)) != len(self.products):
            raise ValueError("a product is named twice in products")
        return self


class ProductCommand(Strict):
    """A patent product filed (专利产品备案): INV-17 holds `patents` to those `owner` holds or
    is licensed under on `filed_on`."""

    product_id: DealId
    name: Name
    owner: PartyId
    patents: list[PatentNo] = Field(min_length=1, max_length=MAX_PATENTS_PER_PRODUCT)
    filed_on: Day
    category: ShortName | None = None
    intensive: StrictBool = False  # patent-intensive product (专利密集型产品)

    @field_validator("patents")
    @classmethod
    def _once_each(cls, patents: list[str]) -> list[str]:
        if len(set(patents)) != len(patents):
            raise ValueError("a patent is named twice")
        return patents


class ProductReportCommand(Strict):
    """A product's figures for one year: its output value and the employees it keeps."""

    year: WholeNumber = Field(ge=FIRST_REPORT_YEAR, le=LAST_REPORT_YEAR)
    output_value: MoneyIn
    employees: WholeNumber = Field(ge=0, le=MAX_EMPLOYEES)
