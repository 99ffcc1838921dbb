"""Post a scenario's bodies through the ledger's own command path, in process.

The same decisions the REST handlers make, handed to a `LedgerService` writer: several writer
processes share one log safely, so this can load into the database a running `serve` uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from ledger.engine.writer import Decide
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.posting import outcome_commands as oc  # issue 18 (outcomes)
from ledger.posting import outcome_decisions as od  # issue 18 (outcomes)
from ledger.posting import pools, risk_events
from ledger.posting.decisions import Accepted, Replayed
from ledger.posting.preparation import prepare_deal
from ledger.service import LedgerService

CHUNK = 500


def decision(path: str, body: dict[str, Any]) -> Decide:
    if path == "/v1/parties":
        return partial(d.decide_party, cmd=c.PartyCommand.model_validate(body))
    if path == "/v1/patents":
        return partial(d.decide_patent, cmd=c.PatentCommand.model_validate(body))
    if path.startswith("/v1/patents/") and path.endswith("/status"):
        return partial(d.decide_status, number=path.split("/")[3],
                       cmd=c.StatusCommand.model_validate(body))
    if path.startswith("/v1/patents/") and path.endswith("/inventors"):
        return partial(d.decide_inventors, number=path.split("/")[3],
                       cmd=c.InventorsCommand.model_validate(body))
    if path == "/v1/deals":
        return partial(d.judge_deal, deal=prepare_deal(c.DEAL.validate_python(body)))
    if path == "/v1/subsidies":
        return partial(d.decide_subsidy, cmd=c.SubsidyCommand.model_validate(body))
    if path == "/v1/listings":
        return partial(d.decide_listing, cmd=c.ListingCommand.model_validate(body))
    # issue 18 (outcomes): industrialisation reports, products and their yearly reports
    if path.startswith("/v1/patents/") and path.endswith("/industrialisation"):
        return partial(od.decide_industrialisation, number=path.split("/")[3],
                       cmd=oc.IndustrialisationCommand.model_validate(body))
    if path == "/v1/products":
        return partial(od.decide_product, cmd=oc.ProductCommand.model_validate(body))
    if path.startswith("/v1/products/") and path.endswith("/reports"):
        return partial(od.decide_product_report, product_id=path.split("/")[3],
                       cmd=oc.ProductReportCommand.model_validate(body))
    if path == "/v1/risk-events":  # issue 19: risk-sharing payments (the market posts them)
        return partial(risk_events.decide_risk_event,
                       cmd=c.RiskEventCommand.model_validate(body))
    return _pool_decision(path, body)  # issue 18 (pools)


def _pool_decision(path: str, body: dict[str, Any]) -> Decide:
    """Issue 18 (pools): pools, classifications, qualifications and size changes."""
    parts = path.split("/")
    if path == "/v1/pools":
        return partial(pools.decide_pool, cmd=c.PoolCommand.model_validate(body))
    if path.startswith("/v1/patents/") and path.endswith("/classification"):
        return partial(pools.decide_classification, number=parts[3],
                       cmd=c.ClassificationCommand.model_validate(body))
    if path.startswith("/v1/parties/") and path.endswith("/qualifications"):
        return partial(pools.decide_qualification, party_id=parts[3],
                       cmd=c.QualificationCommand.model_validate(body))
    if path.startswith("/v1/parties/") and path.endswith("/size"):
        return partial(pools.decide_size, party_id=parts[3],
                       cmd=c.SizeCommand.model_validate(body))
    raise ValueError(f"no decision for {path}")


def load(service: LedgerService, postings: Iterable[tuple[str, dict[str, Any], str]],
         progress: Any = None) -> tuple[int, list[str]]:
    """Post everything in order, CHUNK at a time; (stored, refusals as text)."""
    items = list(postings)
    stored, refused = 0, []
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        decisions = [decision(path, body) for path, body, _ in chunk]
        results = service.post_decisions(decisions, "demo", atomic=False).result(120)
        for (path, body, _), result in zip(chunk, results, strict=True):
            if isinstance(result.outcome, Accepted | Replayed):
                stored += isinstance(result.outcome, Accepted)
            else:
                refused.append(f"{path} {body.get('deal_id', '')}: {result.outcome}")
        if progress:
            progress(min(start + CHUNK, len(items)), len(items))
    return stored, refused
