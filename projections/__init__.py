"""The read side: projections that derive the register's current state from the event log."""

from __future__ import annotations

from projections.anomalies import AnomalyProjection
from projections.audit import AuditProjection
from projections.indicator_rollup import IndicatorProjection
from projections.pools import PoolProjection  # issue 18 (pools)
from projections.products import ProductProjection  # issue 18 (outcomes)
from projections.register_model import RegisterProjection
from projections.runner import Projection


def all_projections() -> list[Projection]:
    """A fresh instance of every projection, in the order they are run and rebuilt."""
    return [RegisterProjection(), AuditProjection(), AnomalyProjection(), IndicatorProjection(),
            PoolProjection(),  # issue 18 (pools)
            ProductProjection()]  # issue 18 (outcomes)
