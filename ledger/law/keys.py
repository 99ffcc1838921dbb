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
    if isinstance(event, ev.IndustrialisationReported):  # issue 18 (outcomes)
        return industrialisation_key(event.number, event.report_id)
    if isinstance(event, ev.ProductFiled):  # issue 18 (outcomes)
        return product_key(event.product_id)
    if isinstance(event, ev.ProductReported):  # issue 18 (outcomes)
        return product_report_key(event.product_id, event.year)
    return None


def patents_of(event: ev.LedgerEvent) -> list[str]:
    """The patents whose timeline the event belongs to (a registration starts one)."""
    if isinstance(event, ev.DealEvent):
        return event.patents
    if isinstance(event, ev.PatentStatusChanged | ev.InventorsChanged | ev.PatentRegistered
                  | ev.PatentTermExtended):
        return [event.number]
    return []
