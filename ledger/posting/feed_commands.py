"""Official-record feeds: registrations and status changes posted in batches.

A patent office publishes its grants and its fee lapses as a gazette, a registry as a daily
file: thousands of records at once, where the single endpoints take one request each. A
national log is mostly such records (bench/national_mix.py: about 70 % of a year's postings
are fee lapses, each on a patent registered first), so they get the deals' batch shape
(`DealBatch`): up to MAX_BATCH items, `atomic` or each on its own. Each item is exactly the
body its single endpoint takes (a status change names its patent, which the single endpoint
has in its path), and is judged by that endpoint's decision (ledger/posting/decisions.py).
"""

from __future__ import annotations

from pydantic import Field, StrictBool

from ledger.posting.command_base import Strict
from ledger.posting.commands import MAX_BATCH, PatentCommand, StatusCommand
from ledger.posting.fields import PatentNo


class PatentBatch(Strict):
    """Registrations, as `POST /v1/patents` takes each (idempotent by the patent's number)."""

    patents: list[PatentCommand] = Field(min_length=1, max_length=MAX_BATCH)
    atomic: StrictBool = False


class StatusChange(StatusCommand):
    """What `POST /v1/patents/{number}/status` takes, with the number of its path."""

    number: PatentNo


class StatusBatch(Strict):
    """Status changes (a gazette's lapses, grants, invalidations), judged in order: two
    changes of one patent in one batch see each other, as two single postings would."""

    changes: list[StatusChange] = Field(min_length=1, max_length=MAX_BATCH)
    atomic: StrictBool = False
