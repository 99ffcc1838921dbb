"""Value types shared by commands, events and rules: money, shares, enumerations, dates.

Money is `Decimal`, never float (architecture.md s2). Currencies are checked against ISO 4217.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

# Active ISO 4217 alphabetic codes (list of 2024), plus XAU/XAG/XDR which contracts can name.
ISO_4217 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
    BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR
    KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS
    UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG XAU XAG XDR
    """.split()
)

MAX_AMOUNT = Decimal("1e15")  # a bound on any single amount: above the GDP of most countries
# The days the ledger records: from the first patent act (United States, 1790) to 2199. A day
# outside is a typing error, and a term added to it (20 years) must stay in Python's calendar.
FIRST_DAY = date(1790, 1, 1)
LAST_DAY = date(2199, 12, 31)


def outside_the_calendar(day: date) -> str | None:
    """Why the ledger cannot record `day`, or None when it can."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day.isoformat()} is outside the days the ledger records ({FIRST_DAY} to {LAST_DAY})"


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def as_json(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    def __reduce__(self) -> tuple[type[Money], tuple[Decimal, str]]:
        """Pickled as its two values: a slotted dataclass's own state functions are Python
        code, run per value when the batch preparer's deals are unpickled."""
        return Money, (self.amount, self.currency)


class PartyKind(StrEnum):
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    BANK = "bank"
    AGENCY = "agency"
    INDIVIDUAL = "individual"
    GOVERNMENT = "government"
    FOREIGN = "foreign"


class PartySize(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class PatentStatus(StrEnum):
    """Statuses a platform may post (gazette codes CF01, CX01, IW01, PP01/PD01 ...)."""

    FEE_GRACE = "fee_grace"
    LAPSED = "lapsed"
    RESTORED = "restored"
    EXPIRED = "expired"
    INVALIDATED = "invalidated"
    PRESERVED = "preserved"
    PRESERVATION_LIFTED = "preservation_lifted"
    DISPUTE_SUSPENDED = "dispute_suspended"
    DISPUTE_LIFTED = "dispute_lifted"
    # Issue 17 (domain.md s9): an application granted later; an invalidation request pending
    # until its decision (which names an `InvalidationOutcome`).
    GRANTED = "granted"
    INVALIDATION_REQUESTED = "invalidation_requested"
    INVALIDATION_DECIDED = "invalidation_decided"


class InvalidationOutcome(StrEnum):
    """The decision on an invalidation request (Patent Law Art. 45-46)."""

    UPHELD = "upheld"
    PARTIALLY_INVALIDATED = "partially_invalidated"
    INVALIDATED = "invalidated"


class ExtensionBasis(StrEnum):
    """Why a term is compensated (Patent Law Art. 42(2) and 42(3), since 2021-06-01)."""

    GRANT_DELAY = "grant_delay"
    DRUG_REVIEW = "drug_review"


class Consideration(StrEnum):
    CASH = "cash"
    EQUITY = "equity"
    DEBT = "debt"
    GIFT = "gift"
    MERGER = "merger"  # succession by merger: a change of the owner's identity, not a sale
    NAME_CHANGE = "name_change"  # the same owner under a new name
    COURT_ORDER = "court_order"
    UNDISCLOSED = "undisclosed"  # e.g. a recorded US assignment, which names none


class LicenceKind(StrEnum):
    EXCLUSIVE = "exclusive"  # 独占
    SOLE = "sole"  # 排他
    ORDINARY = "ordinary"  # 普通
    UNKNOWN = "unknown"  # recorded elsewhere without its terms (a US "LICENSE" record)


class FeeMode(StrEnum):
    LUMP_SUM = "lump_sum"
    ROYALTY = "royalty"
    FREE = "free"
    UNDISCLOSED = "undisclosed"


class DisposalMode(StrEnum):
    AGREED_PRICE = "agreed_price"
    AUCTION = "auction"
    SALE = "sale"
    TRANSFER = "transfer"
    REVERSE_LICENCE = "reverse_licence"
    DEBT_TO_EQUITY = "debt_to_equity"
    # issue 19 (domain.md s11.3): modes the seeds name
    LICENCE_TO_THIRD_PARTY = "licence_to_third_party"  # title stays; a licence pays the claim
    EQUITY_CONTRIBUTION = "equity_contribution"  # 作价入股 into a company: a valuation (INV-15)
    ACQUISITION_WITH_LICENCE_BACK = "acquisition_with_licence_back"  # 收购许可 (Jiyuan)


class RiskKind(StrEnum):
    """Issue 19: risk-sharing payments towards a pledged loan (domain.md s11.3)."""

    PRE_COMPENSATION = "pre_compensation"  # 前补偿 (Shanghai): may come while the loan runs
    BAD_DEBT_DEPOSIT = "bad_debt_deposit"  # 保证金 (Shanghai)
    GUARANTEE_PAYMENT = "guarantee_payment"  # Huainan
    INSURANCE_PAYMENT = "insurance_payment"  # Huainan
    AGENCY_COMPENSATION = "agency_compensation"  # Jiyuan


class CreditList(StrEnum):
    DISHONEST = "dishonest"
    SERIOUS_DISHONESTY = "serious_dishonesty"
    ABNORMAL_OPERATIONS = "abnormal_operations"  # issue 19: agencies and platforms (异常名录)


class FindingDecision(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


_DESIGN_TERM_CHANGE = date(2021, 6, 1)  # Patent Law 2020 amendment in force


def term_years(kind: str, filed_on: date) -> int:
    """Patent Law Art. 42: invention 20 years, utility model 10, design 15 (10 before 2021-06-01)."""
    if kind == "invention":
        return 20
    if kind == "utility_model":
        return 10
    return 15 if filed_on >= _DESIGN_TERM_CHANGE else 10


def expiry_date(kind: str, filed_on: date) -> date:
    """The last day in force: the term counts from the filing date (INV-5)."""
    return add_years(filed_on, term_years(kind, filed_on)) - timedelta(days=1)
