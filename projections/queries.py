"""Reading the read models: every SQL query the GraphQL API runs, batched by key.

Each method takes many keys and runs one query, so DataLoaders can gather a whole page's
lookups into a handful of statements. `queries_run` counts statements, for the tests that hold
a page of 100 patents to a bounded number of queries.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from ledger.law import events as ev
from ledger.law.values import Money
from projections import regions
from projections.credit import Listing, listing_from_row
from projections.event_facts import parties_of, patents_of, payload_of
from projections.indicator_flag_sql import ADJUSTED_QUERY, VALID
from projections.indicator_sql import RAW_QUERY, ROLLUP_QUERY
from projections.licence_pages import (
    COUNT_SQL,
    PAGE_SQL,
    LicenceCount,
    LicencePage,
    by_shape,
    licence_of_row,
    sql_filter,
)
from projections.patent_view import (
    LicenceView,
    OpenLicenceView,
    OwnerView,
    PatentHead,
    PledgeView,
)

# How K1..K10 can be answered: all three agree (tests/test_indicators.py).
INDICATOR_QUERIES = {"facts": RAW_QUERY, "rollup": ROLLUP_QUERY, "adjusted": ADJUSTED_QUERY}

Decode = Callable[[UUID, int, str, bytes, int], ev.LedgerEvent]  # ..., state, position
POOL_SIZE = 8
EVENT_CACHE = 10_000  # decoded events kept by position (immutable, so never stale); ~4 KB each
STATEMENT_TIMEOUT_MS = 5_000  # a read that takes longer is a bug or an attack: cut it off

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PartyRow:
    id: str
    name: str
    kind: str
    size: str | None
    state_owned: bool | None
    region: str | None
    founded_on: date | None
    related_to: tuple[str, ...]
    position: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    position: int
    kind: str
    deal_id: str | None
    effective_on: date
    recorded_at: datetime
    patents: tuple[str, ...]
    parties: tuple[str, ...]
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventFilter:
    patent: str | None = None
    party: str | None = None
    deal_id: str | None = None
    kinds: tuple[str, ...] = ()
    effective_from: date | None = None
    effective_to: date | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    # issue 19 (domain.md s11.4): deals naming the party as their agency; `arranged_by`: as
    # agency, platform or technology manager (GraphQL party { arranged })
    agency: str | None = None
    arranged_by: str | None = None


ARRANGING_ROLES = ("agency", "platform", "technology_manager")


@dataclass(frozen=True, slots=True)
class AnomalyRow:
    id: str
    rule: str
    rule_version: int
    score: Decimal
    explanation: str
    detected_on: date
    position: int
    parties: tuple[str, ...]
    patents: tuple[str, ...]
    evidence: tuple[int, ...]
    decision: str | None  # the regulator's finding, if any
    note: str | None
    found_at: datetime | None

    @property
    def status(self) -> str:
        return self.decision or "open"


@dataclass(frozen=True, slots=True)
class AnomalyFilter:
    rule: str | None = None
    status: str | None = None  # open, confirmed, dismissed
    party: str | None = None
    patent: str | None = None
    detected_from: date | None = None
    detected_to: date | None = None
    region: str | None = None  # some party's region lies within it (GB/T 2260 codes nest)


# How a page of anomalies is ordered (`anomalies(order:)`): the SQL order and the keyset
# comparison that continues after a cursor. "log": oldest evidence first (the contract's
# order); "newest": newest first; "score": highest score first, newest first among equals.
ANOMALY_ORDERS = {
    "log": ("a.position, a.id", "(a.position, a.id) > (%s, %s)"),
    "newest": ("a.position DESC, a.id DESC", "(a.position, a.id) < (%s, %s)"),
    "score": ("a.score DESC, a.position DESC, a.id DESC",
              "(a.score, a.position, a.id) < (%s, %s, %s)"),
}


@dataclass(frozen=True, slots=True)
class ProjectionStanding:
    name: str
    position: int
    generation: int
    updated_at: datetime
    error: str | None = None  # why it stopped (projections/stops.py); None while it follows


class ReadModels:
    def __init__(self, database_url: str, decode: Decode, pool_size: int = POOL_SIZE,
                 connection: Mapping[str, Any] | None = None, **pool: Any) -> None:
        """`connection` and `pool`: more options for a replica's pool (api/read_replicas.py:
        short connect and wait timeouts, a check of each connection handed out)."""
        self._pool = AsyncConnectionPool(
            database_url, min_size=1, max_size=pool_size, open=False,
            # JIT compilation cost about a second per indicators query and saves nothing on
            # reads this size: off for the read pool.
            kwargs={"options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c jit=off",
                    "autocommit": True, **(connection or {})}, **pool)
        self._decode = decode
        self.queries_run = 0
        self._records: OrderedDict[int, EventRecord] = OrderedDict()  # events never change

    async def open(self, wait: bool = True) -> None:
        await self._pool.open(wait=wait, timeout=10)

    async def close(self) -> None:
        await self._pool.close()

    async def _rows(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()
                    ) -> list[dict[str, Any]]:
        self.queries_run += 1
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query, params)
            return await cur.fetchall()

    # --- the register now ---------------------------------------------------------------

    async def patents(self, numbers: Sequence[str]) -> dict[str, PatentHead]:
        rows = await self._rows("SELECT * FROM rm_patents WHERE number = ANY(%s)",
                                (list(numbers),))
        return {r["number"]: _head(r) for r in rows}

    async def owners(self, numbers: Sequence[str]) -> dict[str, list[OwnerView]]:
        rows = await self._rows(
            "SELECT number, party, share, positions FROM rm_owners WHERE number = ANY(%s)"
            " ORDER BY number, party", (list(numbers),))
        found: dict[str, list[OwnerView]] = defaultdict(list)
        for r in rows:
            found[r["number"]].append(OwnerView(r["party"], r["share"], tuple(r["positions"])))
        return found

    async def licence_pages(self, asked: Sequence[LicencePage]
                            ) -> dict[LicencePage, list[LicenceView]]:
        """A page of licences for each question (projections/licence_pages.py), filtered,
        ordered and cut by PostgreSQL: one statement per shape of question."""
        found: dict[LicencePage, list[LicenceView]] = {}
        for pages in by_shape(asked, lambda p: (p.day, p.in_force, p.after, p.first,
                                                p.open_only)).values():
            shape = pages[0]
            where, params = sql_filter(shape.day, shape.in_force, shape.open_only, shape.after)
            rows = await self._rows(PAGE_SQL.format(where=where),
                                    ([p.number for p in pages], *params, shape.first))
            listed: dict[str, list[LicenceView]] = defaultdict(list)
            for r in rows:
                listed[r["number"]].append(licence_of_row(r))
            found.update((p, listed[p.number]) for p in pages)
        return found

    async def licence_counts(self, asked: Sequence[LicenceCount]) -> dict[LicenceCount, int]:
        """How many licences each question's list holds over all its pages."""
        found: dict[LicenceCount, int] = {}
        for counts in by_shape(asked, lambda c: (c.day, c.in_force)).values():
            where, params = sql_filter(counts[0].day, counts[0].in_force, False)
            rows = await self._rows(COUNT_SQL.format(where=where),
                                    ([c.number for c in counts], *params))
            counted = {r["number"]: int(r["n"]) for r in rows}
            found.update((c, counted.get(c.number, 0)) for c in counts)
        return found

    async def open_licences(self, numbers: Sequence[str]) -> dict[str, OpenLicenceView]:
        rows = await self._rows("SELECT * FROM rm_open_licences WHERE number = ANY(%s)",
                                (list(numbers),))
        return {r["number"]: OpenLicenceView(r["deal_id"], r["fee"], r["starts_on"],
                                             r["ends_on"], r["withdrawn_on"],
                                             tuple(r["positions"])) for r in rows}

    async def pledges(self, numbers: Sequence[str]) -> dict[str, list[PledgeView]]:
        rows = await self._rows(
            "SELECT * FROM rm_pledges WHERE number = ANY(%s) ORDER BY number, position",
            (list(numbers),))
        found: dict[str, list[PledgeView]] = defaultdict(list)
        for r in rows:
            found[r["number"]].append(_pledge(r))
        return found

    async def parties(self, ids: Sequence[str]) -> dict[str, PartyRow]:
        rows = await self._rows("SELECT * FROM rm_parties WHERE id = ANY(%s)", (list(ids),))
        return {r["id"]: PartyRow(r["id"], r["name"], r["kind"], r["size"], r["state_owned"],
                                  r["region"], r["founded_on"], tuple(r["related_to"]),
                                  r["position"]) for r in rows}

    async def holdings(self, ids: Sequence[str]) -> dict[str, list[tuple[str, Decimal]]]:
        rows = await self._rows(
            "SELECT party, number, share FROM rm_owners WHERE party = ANY(%s)"
            " ORDER BY party, number", (list(ids),))
        found: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
        for r in rows:
            found[r["party"]].append((r["number"], r["share"]))
        return found

    # --- pages (keyset: a cursor is the last key seen) -----------------------------------

    async def patent_page(self, owner: str | None, after: str | None,
                          first: int) -> list[str]:
        if owner is None:
            rows = await self._rows(
                "SELECT number FROM rm_patents WHERE number > %s ORDER BY number LIMIT %s",
                (after or "", first))
        else:
            rows = await self._rows(
                "SELECT number FROM rm_owners WHERE party = %s AND number > %s"
                " ORDER BY number LIMIT %s", (owner, after or "", first))
        return [r["number"] for r in rows]

    async def pledge_page(self, status: str | None, pledgee: str | None,
                          after: tuple[int, str] | None, first: int
                          ) -> list[tuple[str, PledgeView]]:
        where: list[str] = ["(position, number) > (%s, %s)"]
        params: list[Any] = [*(after or (0, ""))]
        if status is not None:
            where.append("status = %s")
            params.append(status)
        if pledgee is not None:
            where.append("pledgee = %s")
            params.append(pledgee)
        rows = await self._rows(
            f"SELECT * FROM rm_pledges WHERE {' AND '.join(where)}"
            " ORDER BY position, number LIMIT %s", (*params, first))
        return [(r["number"], _pledge(r)) for r in rows]

    async def event_page(self, where: EventFilter, after: int, first: int,
                         until: int | None = None) -> list[EventRecord]:
        """Events matching `where`, in log order, after the cursor position."""
        clauses: list[str] = ["e.position > %s"]
        params: list[Any] = [after]
        source = "rm_events e"
        if where.patent is not None:
            source = "rm_event_patents x JOIN rm_events e ON e.position = x.position"
            clauses.append("x.number = %s")
            params.append(where.patent)
        elif where.party is not None:
            source = "rm_event_parties x JOIN rm_events e ON e.position = x.position"
            clauses.append("x.party = %s")
            params.append(where.party)
        if where.party is not None and where.patent is not None:
            clauses.append("EXISTS (SELECT 1 FROM rm_event_parties y"
                           " WHERE y.position = e.position AND y.party = %s)")
            params.append(where.party)
        for intermediary, roles in ((where.agency, ["agency"]),
                                    (where.arranged_by, list(ARRANGING_ROLES))):
            if intermediary is None:  # issue 19: who arranged the deal
                continue
            if source == "rm_events e":  # read through the intermediaries' index
                source = ("(SELECT DISTINCT position FROM rm_event_intermediaries WHERE party = %s"
                          " AND role = ANY(%s) AND position > %s) x"
                          " JOIN rm_events e ON e.position = x.position")
                params[:0] = [intermediary, roles, after]
            else:
                clauses.append("EXISTS (SELECT 1 FROM rm_event_intermediaries y WHERE"
                               " y.position = e.position AND y.party = %s AND y.role = ANY(%s))")
                params.extend([intermediary, roles])
        for column, op, value in (
            ("e.deal_id", "=", where.deal_id),
            ("e.effective_on", ">=", where.effective_from),
            ("e.effective_on", "<=", where.effective_to),
            ("e.recorded_at", ">=", where.recorded_from),
            ("e.recorded_at", "<=", where.recorded_to),
            ("e.position", "<=", until),
        ):
            if value is not None:
                clauses.append(f"{column} {op} %s")
                params.append(value)
        if where.kinds:
            clauses.append("e.kind = ANY(%s)")
            params.append(list(where.kinds))
        order = "x.position" if source != "rm_events e" else "e.position"
        rows = await self._rows(
            f"SELECT e.*, l.originator_id, l.originator_version, l.topic, l.state"
            f" FROM {source} JOIN ledger_events l ON l.notification_id = e.position"
            f" WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT %s", (*params, first))
        return [self._record(r) for r in rows]

    async def events(self, positions: Sequence[int]) -> dict[int, EventRecord]:
        rows = await self._rows(
            "SELECT e.*, l.originator_id, l.originator_version, l.topic, l.state"
            " FROM rm_events e JOIN ledger_events l ON l.notification_id = e.position"
            " WHERE e.position = ANY(%s)", (list(positions),))
        return {r["position"]: self._record(r) for r in rows}

    async def links(self, positions: Sequence[int]) -> dict[int, bytes]:
        """Each event's link in the hash chain (ledger/integrity/chain.py)."""
        rows = await self._rows("SELECT position, hash FROM ledger_chain WHERE position = ANY(%s)",
                                (list(positions),))
        return {r["position"]: bytes(r["hash"]) for r in rows}

    async def run(self, read: Callable[[AsyncConnection[Any]], Awaitable[T]]) -> T:
        """A read the read side does not own (an inclusion proof: ledger/integrity), on its
        pool and counted with its queries."""
        self.queries_run += 1
        async with self._pool.connection() as conn:
            return await read(conn)

    async def deal_positions(self, deal_ids: Sequence[str]) -> dict[str, int]:
        rows = await self._rows("SELECT deal_id, position FROM rm_events WHERE deal_id = ANY(%s)",
                                (list(deal_ids),))
        return {r["deal_id"]: r["position"] for r in rows}

    async def anomaly_flagged(self, anomaly_id: str) -> bool:
        """Whether the anomalies projection holds a flag with this id (a finding names one)."""
        rows = await self._rows("SELECT 1 FROM rm_anomalies WHERE id = %s", (anomaly_id,))
        return bool(rows)

    async def anomaly_page(self, where: AnomalyFilter, after: tuple[Any, ...] | None,
                           first: int, order: str = "log") -> list[AnomalyRow]:
        """A page of flags in `order` (ANOMALY_ORDERS), after the key `after` of the last
        flag of the page before: (position, id), or (score, position, id) by score."""
        sort, continues = ANOMALY_ORDERS[order]
        clauses: list[str] = []
        params: list[Any] = []
        if after is not None:
            clauses.append(continues)
            params.extend(after)
        for clause, value in (("a.rule = %s", where.rule),
                              ("%s = ANY(a.parties)", where.party),
                              ("%s = ANY(a.patents)", where.patent),
                              ("a.detected_on >= %s", where.detected_from),
                              ("a.detected_on <= %s", where.detected_to),
                              ("coalesce(f.decision, 'open') = %s", where.status)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if where.region is not None:
            region = regions.parameters(where.region)
            clauses.append("EXISTS (SELECT 1 FROM rm_parties r WHERE r.id = ANY(a.parties)"
                           " AND (r.region = %s::text OR (r.region ~ '^[0-9]{6}$'"
                           " AND left(r.region, length(%s::text)) = %s::text)))")
            params.extend((region["region"], region["region_prefix"], region["region_prefix"]))
        rows = await self._rows(
            "SELECT a.*, f.decision, f.note, f.recorded_at AS found_at FROM rm_anomalies a"
            " LEFT JOIN rm_findings f ON f.anomaly_id = a.id"
            f" WHERE {' AND '.join(clauses) or 'true'} ORDER BY {sort} LIMIT %s",
            (*params, first))
        return [AnomalyRow(r["id"], r["rule"], r["rule_version"], r["score"], r["explanation"],
                           r["detected_on"], r["position"], tuple(r["parties"]),
                           tuple(r["patents"]), tuple(r["evidence"]), r["decision"], r["note"],
                           r["found_at"]) for r in rows]

    # --- credit and the blacklist -------------------------------------------------------

    async def credit_inputs(self, parties: Sequence[str]) -> dict[str, CreditInputs]:
        """Listings, marks and findings of each party (three queries for a whole page)."""
        keys = (list(parties),)
        found = {p: CreditInputs([], [], []) for p in parties}
        for row in await self._rows("SELECT * FROM rm_listings WHERE party = ANY(%s)", keys):
            found[row["party"]].listings.append(listing_from_row(row))
        for row in await self._rows("SELECT * FROM rm_credit_marks WHERE party = ANY(%s)", keys):
            found[row["party"]].marks.append(row)
        for row in await self._rows(_FINDINGS + " WHERE p.party = ANY(%s)", keys):
            found[row["party"]].findings.append(row)
        for row in await self._rows(_ARRANGED_FINDINGS, keys):  # issue 19: intermediaries
            found[row["party"]].findings.append(row)
        return found

    async def blacklist_inputs(self, day: date) -> list[Listing]:
        """Regulators' listings in force on `day`: nothing else lists a party (domain.md
        s9: unresolved defaults and confirmed anomalies are risk marks)."""
        return [listing_from_row(r) for r in await self._rows(
            "SELECT * FROM rm_listings WHERE starts_on <= %s"
            " AND coalesce(ended_on, ends_on, 'infinity') > %s ORDER BY starts_on, listing_id",
            (day, day))]

    # --- indicators ------------------------------------------------------------------------

    async def indicator_rows(self, parameters: dict[str, Any],
                             source: str | None = None) -> list[dict[str, Any]]:
        """K1..K10 by period and dimension (one statement; see projections/indicator_sql.py):
        from the rollup when the question allows it (`parameters["rollup"]`), else from the
        facts. The rollup's flagged deals are taken out by the settled adjustments
        (projections/indicator_flag_sql.py) while they match the tables they were computed
        from, else by the query itself. `source` ("facts", "rollup", "adjusted") overrides
        the choice: the tests hold the three to each other."""
        if source is None:
            source = "facts" if not parameters["rollup"] else \
                "adjusted" if await self.flags_settled() else "rollup"
        return await self._rows(INDICATOR_QUERIES[source], parameters)

    async def flags_settled(self) -> bool:
        """Whether the flagged deals' adjustments match the current tables (not after a
        rebuild until the settler has computed them afresh, nor while it fails)."""
        rows = await self._rows(VALID)
        return bool(rows and next(iter(rows[0].values())))

    async def target_rows(self, query: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        """What a programme's targets achieved (`projections/programme_progress.py` makes
        the statement from the reviewed configuration, never from a request's text)."""
        return await self._rows(query, parameters)

    # --- the raw events behind time travel ----------------------------------------------

    async def patent_events(self, number: str) -> list[tuple[int, ev.LedgerEvent]]:
        """Every event of one patent, decoded, in log order (for folding to a date)."""
        rows = await self._rows(
            "SELECT l.notification_id, l.originator_id, l.originator_version, l.topic, l.state"
            " FROM rm_event_patents x JOIN ledger_events l ON l.notification_id = x.position"
            " WHERE x.number = %s ORDER BY x.position", (number,))
        return [(r["notification_id"], self._decode(r["originator_id"],
                                                    r["originator_version"], r["topic"],
                                                    r["state"], r["notification_id"]))
                for r in rows]

    async def patents_ever_held(self, party: str) -> list[str]:
        rows = await self._rows(
            "SELECT DISTINCT p.number FROM rm_event_parties x JOIN rm_event_patents p"
            " ON p.position = x.position WHERE x.party = %s ORDER BY 1",
            (party,))
        return [r["number"] for r in rows]

    # --- the ledger itself --------------------------------------------------------------

    async def standings(self) -> list[ProjectionStanding]:
        rows = await self._rows("SELECT name, position, generation, updated_at, error"
                                " FROM projection_positions ORDER BY name")
        return [ProjectionStanding(**r) for r in rows]

    async def head(self) -> int:
        rows = await self._rows("SELECT coalesce(max(notification_id), 0) AS head"
                                " FROM ledger_events")
        return int(rows[0]["head"])

    def _record(self, r: dict[str, Any]) -> EventRecord:
        """The event of a row, decoded once: stored events are immutable, so cache them."""
        cached = self._records.get(r["position"])
        if cached is not None:
            self._records.move_to_end(r["position"])
            return cached
        record = self._decode_record(r)
        self._records[r["position"]] = record
        if len(self._records) > EVENT_CACHE:
            self._records.popitem(last=False)
        return record

    def _decode_record(self, r: dict[str, Any]) -> EventRecord:
        event = self._decode(r["originator_id"], r["originator_version"], r["topic"], r["state"],
                             r["position"])
        return EventRecord(r["position"], r["kind"], r["deal_id"], r["effective_on"],
                           r["recorded_at"], tuple(patents_of(event)), tuple(parties_of(event)),
                           payload_of(event))


_FINDINGS = (
    "SELECT a.id, a.rule, a.explanation, a.evidence, f.decision, f.recorded_at AS found_at,"
    " f.position AS finding_position, p.party FROM rm_anomalies a"
    " JOIN rm_findings f ON f.anomaly_id = a.id CROSS JOIN unnest(a.parties) AS p(party)")


# Issue 19 (domain.md s11.4): findings on flags whose evidence is a deal the party arranged
# (as agency, platform or technology manager), where the flag does not name it already.
_ARRANGED_FINDINGS = (
    "SELECT DISTINCT ON (a.id, i.party) a.id, a.rule, 'on a deal it arranged (' || i.role"
    " || '): ' || a.explanation AS explanation, a.evidence, f.decision,"
    " f.recorded_at AS found_at, f.position AS finding_position, i.party"
    " FROM rm_event_intermediaries i JOIN rm_anomalies a ON a.evidence @> ARRAY[i.position]"
    " JOIN rm_findings f ON f.anomaly_id = a.id"
    " WHERE i.party = ANY(%s) AND NOT i.party = ANY(a.parties)"
    " ORDER BY a.id, i.party, i.position")


@dataclass(frozen=True, slots=True)
class CreditInputs:
    listings: list[Listing]
    marks: list[dict[str, Any]]
    findings: list[dict[str, Any]]


def _head(r: dict[str, Any]) -> PatentHead:
    return PatentHead(r["number"], r["kind"], r["title"], r["status"], r["preserved"],
                      r["dispute_suspended"], r["filed_on"], r["granted_on"], r["expires_on"],
                      r["invalidation_pending"])


def _pledge(r: dict[str, Any]) -> PledgeView:
    outstanding = None if r["outstanding"] is None else Money(r["outstanding"], r["currency"])
    secured = None if r["secured_amount"] is None else Money(r["secured_amount"], r["currency"])
    return PledgeView(
        deal_id=r["deal_id"], pledgors=tuple(r["pledgors"]), pledgee=r["pledgee"],
        secured_amount=secured, due_on=r["due_on"],
        registered_on=r["registered_on"], status=r["status"], defaulted_on=r["defaulted_on"],
        outstanding=outstanding, ended_on=r["ended_on"], position=r["position"],
        positions=tuple(r["positions"]))
