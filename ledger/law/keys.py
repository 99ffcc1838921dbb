"""What an event is filed under: the idempotency key that finds it again, and its patents.

The writer's state tables (migrations/014_writer_state.sql) index the log by exactly these, so
the writer that appends an event and the writer that later loads it agree on one spelling.
"""

from __future__ import annotations

from ledger.law import events as ev


def deal_key(deal_id: str) -> str:
    """The idempotency key of a deal (the writer's and the decisions' one spelling of it)."""
    return f"deal:{deal_id}"


def party_key(party_id: str) -> str:
    return f"party:{party_id}"


def patent_key(number: str) -> str:
    return f"patent:{number}"


def listing_key(listing_id: str) -> str:
    return f"listing:{listing_id}"


def subsidy_key(subsidy_id: str) -> str:
    return f"subsidy:{subsidy_id}"


def recovery_key(subsidy_id: str, sequence: int) -> str:
    """The n-th recovery of a subsidy (issue 17): recoveries are numbered, not named by the
    client, so the next one finds the last and its running total (ledger/posting/recovery.py)."""
    return f"recovery:{subsidy_id}:{sequence}"


def term_extension_key(number: str, extension_id: str) -> str:
    """A term extension is named by its patent and the client's id for it (issue 17)."""
    return f"term-extension:{number}:{extension_id}"


# --- issue 18 (pools) ------------------------------------------------------------------------


def pool_key(pool_id: str) -> str:
    return f"pool:{pool_id}"


def classification_key(number: str, fingerprint: str) -> str:
    """A classification has no id in the contract: the body is its id (the same list posted
    again is the same classification; `effective_on` tells a return to an earlier one)."""
    return f"classification:{number}:{fingerprint[:24]}"


def qualification_key(party: str, qualification: str, valid_from: str) -> str:
    """A party's qualification is named by the party, the title and its first day."""
    return f"qualification:{party}:{qualification}:{valid_from}"


def size_key(party: str, effective_on: str) -> str:
    """A party's size change is named by the party and the day it takes effect."""
    return f"size:{party}:{effective_on}"


def _pool_posting_key(event: ev.LedgerEvent) -> str | None:
    if isinstance(event, ev.PoolFormed):
        return pool_key(event.pool_id)
    if isinstance(event, ev.PatentClassified):
        return classification_key(event.number, event.fingerprint)
    if isinstance(event, ev.PartyQualified):
        return qualification_key(event.party, event.qualification,
                                 event.valid_from.isoformat())
    if isinstance(event, ev.PartySizeChanged):
        return size_key(event.party, event.effective_on.isoformat())
    return None


# --- end issue 18 (pools) --------------------------------------------------------------------


def risk_event_key(event_id: str) -> str:
    """A risk-sharing payment, named by the client's event_id (issue 19)."""
    return f"risk-event:{event_id}"
# --- issue 18 (outcomes) ------------------------------------------------------------------


def industrialisation_key(number: str, report_id: str) -> str:
    """An industrialisation report is named by its patent and the client's id for it."""
    return f"industrialisation:{number}:{report_id}"


def product_key(product_id: str) -> str:
    return f"product:{product_id}"


def product_report_key(product_id: str, year: int) -> str:
    """A product's report for a year: one each, so the year is its idempotency key."""
    return f"product-report:{product_id}:{year}"


# --- end issue 18 (outcomes) --------------------------------------------------------------


def posting_key(event: ev.LedgerEvent) -> str | None:
    """The idempotency key under which a retry of the same posting finds its first answer."""
    if isinstance(event, ev.DealEvent):
        return deal_key(event.deal_id)
    if isinstance(event, ev.SubsidyAwarded):
        return subsidy_key(event.subsidy_id)
    if isinstance(event, ev.SubsidyRecovered):  # issue 17 (credit)
        return recovery_key(event.subsidy_id, event.sequence)
    if isinstance(event, ev.PartyListed):
        return listing_key(event.listing_id)
    if isinstance(event, ev.PartyDelisted):
        return f"delisting:{event.listing_id}"
    if isinstance(event, ev.AnomalyFinding):
        return f"finding:{event.anomaly_id}"
    if isinstance(event, ev.PartyRegistered):
        return party_key(event.party_id)
    if isinstance(event, ev.PatentRegistered):
        return patent_key(event.number)
    if isinstance(event, ev.PatentTermExtended):
        return term_extension_key(event.number, event.extension_id)
    if isinstance(event, ev.RiskPaymentMade):  # issue 19
        return risk_event_key(event.event_id)
    if isinstance(event, ev.IndustrialisationReported):  # issue 18 (outcomes)
        return industrialisation_key(event.number, event.report_id)
    if isinstance(event, ev.ProductFiled):  # issue 18 (outcomes)
        return product_key(event.product_id)
    if isinstance(event, ev.ProductReported):  # issue 18 (outcomes)
        return product_report_key(event.product_id, event.year)
    return _pool_posting_key(event)  # issue 18 (pools)


def patents_of(event: ev.LedgerEvent) -> list[str]:
    """The patents whose timeline the event belongs to (a registration starts one)."""
    if isinstance(event, ev.DealEvent | ev.RiskPaymentMade):  # issue 19: the pledge's
        return event.patents
    if isinstance(event, ev.PatentStatusChanged | ev.InventorsChanged | ev.PatentRegistered
                  | ev.PatentTermExtended | ev.PatentClassified):
        return [event.number]
    return []
