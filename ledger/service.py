"""The write side assembled, and its commands: one method per thing a client can post.

`api` and the command line build one `LedgerService` and call its methods; nothing else opens
the store for writing. Each method turns a checked command into the writer's decision and
queues it; the future gives the writer's answer (`Result` per posting), so the API can bound
its wait and the command line can block on it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from functools import partial

from ledger.engine.register import CACHE_EVENTS
from ledger.engine.writer import Decisions, Result, Writer
from ledger.metrics import Metrics
from ledger.posting import commands as c
from ledger.posting import decisions as d
from ledger.posting import feed_commands as fc  # official-record feeds
from ledger.posting import outcome_commands as oc  # issue 18 (outcomes)
from ledger.posting import outcome_decisions as od  # issue 18 (outcomes)
from ledger.posting import pools  # issue 18 (pools)
from ledger.posting.preparation import prepare_deal
from ledger.posting.recovery import decide_recovery
from ledger.posting.risk_events import decide_risk_event
from ledger.storage.migrations import migrate
from ledger.storage.store import LedgerStore, open_store

log = logging.getLogger("ledger.service")


class LedgerService:
    def __init__(self, database_url: str, metrics: Metrics | None = None,
                 cache_events: int = CACHE_EVENTS) -> None:
        self.database_url = database_url
        self.metrics = metrics or Metrics()
        self.store: LedgerStore = open_store(database_url)
        applied = migrate(database_url)
        if applied:
            log.info("migrations applied: %s", ", ".join(applied))
        self.writer = Writer(self.store, self.metrics, cache_events)

    def start(self) -> LedgerService:
        self.writer.start()
        return self

    def stop(self) -> None:
        self.writer.stop()
        self.store.close()

    # --- commands: one each, as the REST API names them ---------------------------------

    def register_party(self, cmd: c.PartyCommand, posted_by: str) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_party, cmd=cmd), posted_by)

    def register_patent(self, cmd: c.PatentCommand, posted_by: str) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_patent, cmd=cmd), posted_by)

    def change_status(self, number: str, cmd: c.StatusCommand, posted_by: str
                      ) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_status, number=number, cmd=cmd), posted_by)

    def change_inventors(self, number: str, cmd: c.InventorsCommand, posted_by: str
                         ) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_inventors, number=number, cmd=cmd),
                                posted_by)

    # --- issue 17 (law): term compensation ------------------------------------------------

    def extend_term(self, number: str, cmd: c.TermExtensionCommand, posted_by: str
                    ) -> Future[list[Result]]:
        """Term compensation (Patent Law Art. 42(2)-(3)); INV-5 judges its bounds."""
        return self.writer.post(partial(d.decide_term_extension, number=number, cmd=cmd),
                                posted_by)

    # --- end issue 17 (law) ----------------------------------------------------------------

    # --- issue 18 (pools): pools, classification, qualifications, sizes -----------------

    def form_pool(self, cmd: c.PoolCommand, posted_by: str) -> Future[list[Result]]:
        return self.writer.post(partial(pools.decide_pool, cmd=cmd), posted_by)

    def classify_patent(self, number: str, cmd: c.ClassificationCommand, posted_by: str
                        ) -> Future[list[Result]]:
        return self.writer.post(partial(pools.decide_classification, number=number, cmd=cmd),
                                posted_by)

    def qualify_party(self, party_id: str, cmd: c.QualificationCommand, posted_by: str
                      ) -> Future[list[Result]]:
        return self.writer.post(partial(pools.decide_qualification, party_id=party_id,
                                        cmd=cmd), posted_by)

    def change_size(self, party_id: str, cmd: c.SizeCommand, posted_by: str
                    ) -> Future[list[Result]]:
        return self.writer.post(partial(pools.decide_size, party_id=party_id, cmd=cmd),
                                posted_by)

    # --- end issue 18 (pools) -------------------------------------------------------------
    # --- issue 18 (outcomes): industrialisation, products, product reports ---------------

    def report_industrialisation(self, number: str, cmd: oc.IndustrialisationCommand,
                                 posted_by: str) -> Future[list[Result]]:
        """A patent's use by a licensee or partner (s10.1); INV-4 and INV-17 judge it."""
        return self.writer.post(partial(od.decide_industrialisation, number=number, cmd=cmd),
                                posted_by)

    def file_product(self, cmd: oc.ProductCommand, posted_by: str) -> Future[list[Result]]:
        """A patent product filed (s10.2); INV-17 judges its patents on its filing date."""
        return self.writer.post(partial(od.decide_product, cmd=cmd), posted_by)

    def report_product(self, product_id: str, cmd: oc.ProductReportCommand, posted_by: str
                       ) -> Future[list[Result]]:
        return self.writer.post(partial(od.decide_product_report, product_id=product_id,
                                        cmd=cmd), posted_by)

    # --- end issue 18 (outcomes) ----------------------------------------------------------

    def post_deal(self, cmd: c.DealCommand, posted_by: str) -> Future[list[Result]]:
        """Prepared here, on the caller's thread: the writer only judges."""
        return self.writer.post(partial(d.judge_deal, deal=prepare_deal(cmd)), posted_by)

    def post_batch(self, deals: Decisions, posted_by: str, *, atomic: bool
                   ) -> Future[list[Result]]:
        """A batch's deals as the batch preparer's child validates and prepares them: the
        writer judges them as they come and takes the batch back if one is invalid."""
        return self.writer.post_many(deals, posted_by, atomic=atomic, streamed=True)

    # --- official-record feeds: registrations and status changes in batches -------------

    def post_registrations(self, cmds: Sequence[c.PatentCommand], posted_by: str, *,
                           atomic: bool) -> Future[list[Result]]:
        """A registry's feed: each patent judged by `decide_patent`, as `register_patent`
        judges one, in one posting through the writer's group commit."""
        return self.writer.post_many([partial(d.decide_patent, cmd=cmd) for cmd in cmds],
                                     posted_by, atomic=atomic)

    def post_status_changes(self, changes: Sequence[fc.StatusChange], posted_by: str, *,
                            atomic: bool) -> Future[list[Result]]:
        """A gazette's status changes: each judged by `decide_status`, as `change_status`
        judges one, in order."""
        return self.writer.post_many(
            [partial(d.decide_status, number=change.number, cmd=change) for change in changes],
            posted_by, atomic=atomic)

    # --- end official-record feeds --------------------------------------------------------

    def award_subsidy(self, cmd: c.SubsidyCommand, posted_by: str) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_subsidy, cmd=cmd), posted_by)

    def recover_subsidy(self, subsidy_id: str, cmd: c.RecoveryCommand, posted_by: str
                        ) -> Future[list[Result]]:
        """Issue 17 (credit): a regulator's recovery of a subsidy (INV-18)."""
        return self.writer.post(partial(decide_recovery, subsidy_id=subsidy_id, cmd=cmd),
                                posted_by)

    def record_risk_event(self, cmd: c.RiskEventCommand, posted_by: str
                          ) -> Future[list[Result]]:
        """Issue 19: a risk-sharing payment towards a pledged loan (INV-11)."""
        return self.writer.post(partial(decide_risk_event, cmd=cmd), posted_by)

    def list_party(self, cmd: c.ListingCommand, posted_by: str) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_listing, cmd=cmd), posted_by)

    def end_listing(self, listing_id: str, cmd: c.ListingEndCommand, posted_by: str
                    ) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_listing_end, listing_id=listing_id, cmd=cmd),
                                posted_by)

    def record_finding(self, anomaly_id: str, cmd: c.FindingCommand, posted_by: str
                       ) -> Future[list[Result]]:
        return self.writer.post(partial(d.decide_finding, anomaly_id=anomaly_id, cmd=cmd),
                                posted_by)

    def post_decisions(self, decisions: Decisions, posted_by: str, *, atomic: bool
                       ) -> Future[list[Result]]:
        """Decisions an importer builds itself (they judge against the register as it
        stands: a release names the security interest only the register knows)."""
        return self.writer.post_many(decisions, posted_by, atomic=atomic)

