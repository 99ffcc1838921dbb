"""AR-1 to AR-13 (domain.md sections 6 and 9): one function per rule, each returning flags.

Basis for all: the seeds' "curb transfers and licences not made to protect or use innovation"
and "punish subsidy-taking (套取补贴)", and the 2021 rules on abnormal patent behaviour. A flag
never refuses anything: it is shown to regulators with a score, a sentence and the events that
are its evidence. Thresholds live in `config/anomaly_rules.toml`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from projections.anomaly_config import RuleParams
from projections.anomaly_facts import AGENCY_PREFIX, AnomalyFacts, PatentFacts

# A flag's id: its rule, a hyphen and 12 hex digits of its evidence (`Flag.id`); a finding
# names one (POST /v1/anomalies/{id}/finding).
ID_PATTERN = r"^AR-[0-9]{1,2}-[0-9a-f]{12}$"


@dataclass(frozen=True, slots=True)
class Flag:
    rule: str
    version: int
    score: float
    explanation: str
    scope: str
    detected_on: date  # the effective date of the event that completed the pattern
    parties: tuple[str, ...]
    patents: tuple[str, ...]
    evidence: tuple[int, ...]  # log positions

    @property
    def id(self) -> str:  # shaped as ID_PATTERN
        """Stable across re-evaluations while the evidence is the same (findings attach here)."""
        key = f"{self.rule}|{self.scope}|{','.join(map(str, self.evidence))}"
        return f"{self.rule}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _flag(p: RuleParams, scope: str, day: date, explanation: str, parties: object,
          patents: object, evidence: object, score: float | None = None) -> Flag:
    return Flag(p.rule, p.version, p.score if score is None else score, explanation, scope, day,
                tuple(sorted(set(parties))), tuple(sorted(set(patents))),  # type: ignore[call-overload]
                tuple(sorted(set(evidence))))  # type: ignore[call-overload]


def _days(a: date, b: date) -> int:
    return (b - a).days


def _names(parties: frozenset[str]) -> str:
    return ", ".join(sorted(parties))


# --- patent rules ------------------------------------------------------------------------------


def ar_1_round_trip(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-1: the patent returns to an earlier owner (A->B->A, A->B->C->A) within the window."""
    flags, changes = [], patent.changes
    for i, back in enumerate(changes):
        for j in range(i - 1, -1, -1):
            out = changes[j]
            if _days(out.day, back.day) > p.days("window_days"):
                break
            if out.sellers == back.buyers:
                chain = changes[j:i + 1]
                flags.append(_flag(
                    p, f"patent:{patent.number}", back.day,
                    f"{patent.number} went from {_names(out.sellers)} on {out.day} and came back "
                    f"on {back.day}, {_days(out.day, back.day)} days later, through "
                    f"{len(chain)} transfers",
                    [x for c in chain for x in c.sellers | c.buyers], [patent.number],
                    [c.position for c in chain]))
                break
    return flags


def ar_2_rapid_flip(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-2: too many ownership changes in a window, or an owner that held too briefly."""
    flags, changes, many = [], patent.changes, p.count("changes")
    for i in range(many - 1, len(changes)):
        run = changes[i - many + 1:i + 1]
        if _days(run[0].day, run[-1].day) <= p.days("window_days") and \
                (i == len(changes) - 1 or
                 _days(changes[i - many + 2].day, changes[i + 1].day) > p.days("window_days")):
            flags.append(_flag(
                p, f"patent:{patent.number}", run[-1].day,
                f"{patent.number} changed owner {len(run)} times between {run[0].day} and "
                f"{run[-1].day}", [x for c in run for x in c.sellers | c.buyers],
                [patent.number], [c.position for c in run]))
    for bought, sold in itertools.pairwise(changes):
        held = _days(bought.day, sold.day)
        if held < p.days("min_holding_days") and bought.buyers == sold.sellers:
            flags.append(_flag(
                p, f"patent:{patent.number}", sold.day,
                f"{_names(bought.buyers)} held {patent.number} for {held} days "
                f"({bought.day} to {sold.day})", bought.buyers | sold.buyers, [patent.number],
                [bought.position, sold.position]))
    return flags


def ar_5_nominal_price(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-5: a transfer at a nominal price (≤ 1 yuan, or under 10 % of the latest valuation);
    stronger between related parties. A fair price between related parties is not flagged."""
    flags = []
    exempt = p.names("exempt_considerations")
    recorded = [d for d in patent.of_kind("valuation") if d.amount]
    for change in patent.changes:
        if change.kind != "OwnershipTransferred" or change.consideration in exempt:
            continue
        price = change.price.amount if change.price is not None else Decimal(0)
        valuations = [d for d in recorded
                      if (d.day, d.position) < (change.day, change.position)]
        why = None
        if price <= p.amount("nominal_price"):
            why = f"a price of {price}"
        elif valuations:
            latest = valuations[-1].amount
            assert latest is not None
            if price < latest.amount * p.amount("valuation_share"):
                why = (f"a price of {price}, under {p.amount('valuation_share'):.0%} of the "
                       f"{latest.amount} valuation recorded on {valuations[-1].day}")
        if why is None:
            continue
        related = any(world.related(s, b) for s in change.sellers for b in change.buyers)
        flags.append(_flag(
            p, f"patent:{patent.number}", change.day,
            f"{patent.number} went from {_names(change.sellers)} to {_names(change.buyers)} "
            f"for {why}{' between related parties' if related else ''}",
            change.sellers | change.buyers, [patent.number],
            [change.position, *(v.position for v in valuations[-1:])],
            p.number("related_score") if related else None))
    return flags


def ar_7_dying_asset(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-7: a transfer, licence or pledge of a patent about to die: little term left, in its
    fee grace period, or lapsing soon after the deal."""
    flags = []
    statuses = patent.of_kind(*(f"status:{s}" for s in ("fee_grace", "restored", "lapsed")))
    for deal in patent.of_kind("transfer", "licence", "pledge"):
        left = _days(deal.day, patent.expires_on)
        grace = [s for s in statuses if s.day <= deal.day]
        lapse = [s for s in statuses if s.kind == "status:lapsed" and
                 deal.day <= s.day <= deal.day + timedelta(days=p.days("lapse_within_days"))]
        if left < p.days("term_left_days"):
            why, evidence = f"{left} days of term left", [deal.position]
        elif grace and grace[-1].kind == "status:fee_grace":
            why, evidence = f"in its fee grace period since {grace[-1].day}", \
                [deal.position, grace[-1].position]
        elif lapse:
            why, evidence = f"lapsed {_days(deal.day, lapse[0].day)} days later", \
                [deal.position, lapse[0].position]
        else:
            continue
        flags.append(_flag(p, f"patent:{patent.number}", deal.day,
                           f"{deal.kind} {deal.deal_id} of {patent.number} on {deal.day}: {why}",
                           deal.parties, [patent.number], evidence))
    return flags


def ar_8_university_shell_pledge(patent: PatentFacts, world: AnomalyFacts,
                                 p: RuleParams) -> list[Flag]:
    """AR-8: a university or institute transfers to a company under a year old, which pledges
    the patent within 180 days."""
    flags = []
    pledges = patent.of_kind("pledge")
    for change in patent.changes:
        if not any(world.parties[s].party_kind in ("university", "research_institute")
                   for s in change.sellers if s in world.parties):
            continue
        for company in change.buyers:
            founded = world.founded(company)
            if founded is None or _days(founded, change.day) >= p.days("company_age_days"):
                continue
            for pledge in pledges:
                if company in pledge.parties and \
                        0 <= _days(change.day, pledge.day) <= p.days("pledge_within_days"):
                    flags.append(_flag(
                        p, f"patent:{patent.number}", pledge.day,
                        f"{_names(change.sellers)} transferred {patent.number} to {company}, "
                        f"founded {_days(founded, change.day)} days before, which pledged it "
                        f"{_days(change.day, pledge.day)} days later",
                        change.sellers | {company}, [patent.number],
                        [change.position, pledge.position]))
    return flags


def ar_9_pledge_churn(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-9: repeated release and re-pledge; a re-pledge on the day of the release (same-day
    refinancing) is normal and not counted."""
    events = patent.of_kind("pledge", "pledge_release")
    repledges: list[tuple[int, int]] = []  # (release position, re-pledge position)
    days: list[date] = []
    last_release = None
    for item in events:
        if item.kind == "pledge_release":
            last_release = item
        elif last_release is not None:
            if item.day != last_release.day:
                repledges.append((last_release.position, item.position))
                days.append(item.day)
            last_release = None
    many = p.count("repledges")
    flags = []
    for i in range(many - 1, len(repledges)):
        if _days(days[i - many + 1], days[i]) <= p.days("window_days"):
            evidence = [x for pair in repledges[i - many + 1:i + 1] for x in pair]
            flags.append(_flag(
                p, f"patent:{patent.number}", days[i],
                f"{patent.number} was released and pledged again {many} times between "
                f"{days[i - many + 1]} and {days[i]}, each time on a later day",
                [x for e in events if e.position in evidence for x in e.parties],
                [patent.number], evidence))
    return flags


def ar_10_tainted_origin(patent: PatentFacts, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-10: a transfer from a party that was on a credit list that day."""
    flags = []
    for change in patent.changes:
        for seller in sorted(change.sellers):
            listing = world.listed_on(seller, change.day)
            if listing is None:
                continue
            listed_at = next(pos for pos, e in world.listings[seller]
                             if e.listing_id == listing.listing_id)
            flags.append(_flag(
                p, f"patent:{patent.number}", change.day,
                f"{seller} transferred {patent.number} on {change.day} while on the "
                f"{listing.credit_list} list ({listing.listing_id}, since {listing.starts_on})",
                change.sellers | change.buyers, [patent.number],
                [change.position, listed_at]))
    return flags


def ar_11_inventors_around_transfer(patent: PatentFacts, world: AnomalyFacts, p: RuleParams
                                    ) -> list[Flag]:
    """AR-11: the inventors changed within the window before or after a sale of the patent
    (a bought patent dressed as in-house R&D for a high-tech or talent application)."""
    flags = []
    exempt = p.names("exempt_considerations")
    for change in patent.of_kind("inventors"):
        for sale in patent.changes:
            gap = _days(sale.day, change.day)
            if abs(gap) > p.days("window_days") or sale.consideration in exempt:
                continue
            when = f"{gap} days after" if gap >= 0 else f"{-gap} days before"
            flags.append(_flag(
                p, f"patent:{patent.number}", max(sale.day, change.day),
                f"the inventors of {patent.number} were changed on {change.day}, {when} its "
                f"transfer from {_names(sale.sellers)} to {_names(sale.buyers)} on {sale.day}",
                sale.sellers | sale.buyers, [patent.number], [sale.position, change.position]))
    return flags


# --- party rules -------------------------------------------------------------------------------


def ar_3_inflow_before_subsidy(party: str, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-3: a party receives many patents in the window before a subsidy award; stronger if
    the party is under a year old."""
    flags = []
    for subsidy_id in world.subsidies_of.get(party, []):
        position, subsidy = world.subsidies[subsidy_id]
        awarded = subsidy.effective_on
        window = [m for m in world.received.get(party, [])
                  if 0 <= _days(m.day, awarded) <= p.days("window_days")]
        if len({m.number for m in window}) < p.count("patents"):
            continue
        founded = world.founded(party)
        young = founded is not None and _days(founded, awarded) < p.days("young_party_days")
        flags.append(_flag(
            p, f"party:{party}", awarded,
            f"{party} received {len({m.number for m in window})} patents in the "
            f"{p.days('window_days')} days before subsidy {subsidy_id} ({subsidy.programme}, "
            f"{awarded}){' and was under a year old' if young else ''}",
            [party, *(x for m in window for x in m.counterparties)],
            [m.number for m in window], [position, *(m.position for m in window)],
            p.number("young_score") if young else None))
    return flags


def ar_12_fan_out(party: str, world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-12: one seller transfers to many new small buyers within a window; or (issue 19,
    domain.md s11.4) many new small buyers share one agent: the deals' `agency` (scope
    `party:agency:<id>`). The shared-address variant needs data the ledger does not hold."""
    def new_small(buyer: str, day: date) -> bool:
        registered = world.parties.get(buyer)
        return (registered is not None and registered.size in p.names("buyer_sizes")
                and registered.founded_on is not None
                and _days(registered.founded_on, day) < p.days("buyer_age_days"))

    sales = [(m, b) for m in world.sold.get(party, []) for b in sorted(m.counterparties)
             if new_small(b, m.day)]
    flags, seen_end = [], -1
    for i, (last, _) in enumerate(sales):
        if i <= seen_end:
            continue
        window = [(m, b) for m, b in sales[:i + 1]
                  if 0 <= _days(m.day, last.day) <= p.days("window_days")]
        buyers = {b for _, b in window}
        if len(buyers) >= p.count("buyers"):
            agency = party.removeprefix(AGENCY_PREFIX) if party.startswith(AGENCY_PREFIX) \
                else None
            flags.append(_flag(
                p, f"party:{party}", last.day,
                (f"{len(buyers)} small buyers under a year old bought patents through agency "
                 f"{agency} within {p.days('window_days')} days (to {last.day})"
                 if agency is not None else
                 f"{party} transferred patents to {len(buyers)} small buyers under a year old "
                 f"within {p.days('window_days')} days (to {last.day})"),
                {agency or party, *buyers}, [m.number for m, _ in window],
                [m.position for m, _ in window]))
            seen_end = i
    return flags


def ar_13_subsidy_to_listed_party(party: str, world: AnomalyFacts, p: RuleParams
                                  ) -> list[Flag]:
    """AR-13: a subsidy awarded to a party on a regulator's list that day (domain.md s9, Henan).

    Henan: "出现套取补贴等异常行为的单位…给予相应的惩戒"; a listing's consequences include no
    subsidy (国办发〔2020〕49号), so an award during one is shown to regulators. Only the lists
    named in the config count: risk marks list nobody."""
    flags = []
    for subsidy_id in world.subsidies_of.get(party, []):
        position, subsidy = world.subsidies[subsidy_id]
        awarded = subsidy.effective_on
        for listed_at, listing in world.listings.get(party, []):
            ends = listing.ends_on
            if listing.credit_list not in p.names("lists") or not (
                    listing.starts_on <= awarded and (ends is None or awarded < ends)):
                continue
            flags.append(_flag(
                p, f"party:{party}", awarded,
                f"subsidy {subsidy_id} ({subsidy.programme}, {subsidy.amount.amount} "
                f"{subsidy.amount.currency}) was awarded to {party} on {awarded}, while it was "
                f"on the {listing.credit_list.replace('_', ' ')} list ({listing.listing_id}, "
                f"from {listing.starts_on}{f' to {ends}' if ends else ''})",
                [party], [], [position, listed_at]))
    return flags


# --- subsidy rules -----------------------------------------------------------------------------


def ar_4_reused_patent(world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-4: the same utility model or design counted in subsidy claims of two parties."""
    claims: dict[str, list[tuple[int, str, str]]] = {}
    for subsidy_id, (position, subsidy) in world.subsidies.items():
        for deal_id in subsidy.deals:
            _, deal = world.deals.get(deal_id, (0, None))
            for number in getattr(deal, "patents", ()):
                facts = world.patents.get(number)
                if facts is not None and facts.kind in p.names("kinds"):
                    claims.setdefault(number, []).append((position, subsidy.party, subsidy_id))
    flags = []
    for number, claimed in sorted(claims.items()):
        parties = {party for _, party, _ in claimed}
        if len(parties) < 2:
            continue
        latest = max(claimed)
        day = world.subsidies[latest[2]][1].effective_on
        flags.append(_flag(
            p, "subsidies", day,
            f"{world.patents[number].kind.replace('_', ' ')} {number} was counted in subsidies "
            f"of {len(parties)} parties ({', '.join(sorted(s for _, _, s in claimed))})",
            parties, [number], [pos for pos, _, _ in claimed]))
    return flags


def ar_6_nominal_licence(world: AnomalyFacts, p: RuleParams) -> list[Flag]:
    """AR-6: a subsidy counts a licence that is free or for a nominal fee."""
    from ledger.law import events as ev

    flags = []
    for subsidy_id, (position, subsidy) in world.subsidies.items():
        for deal_id in subsidy.deals:
            deal_at, deal = world.deals.get(deal_id, (0, None))
            if not isinstance(deal, ev.LicenceGranted):
                continue
            amount = deal.fee_amount.amount if deal.fee_amount is not None else Decimal(0)
            nominal = (deal.fee_mode == "free" or
                       (deal.fee_mode == "lump_sum" and amount <= p.amount("nominal_amount")) or
                       (deal.fee_mode == "royalty" and (deal.fee_rate or 0) == 0))
            if nominal:
                flags.append(_flag(
                    p, "subsidies", subsidy.effective_on,
                    f"subsidy {subsidy_id} to {subsidy.party} counts licence {deal_id}, "
                    f"granted for a {deal.fee_mode.replace('_', ' ')} fee of {amount}",
                    [subsidy.party, *deal.licensors, deal.licensee], deal.patents,
                    [position, deal_at]))
    return flags


PatentRule = Callable[[PatentFacts, AnomalyFacts, RuleParams], list[Flag]]
PartyRule = Callable[[str, AnomalyFacts, RuleParams], list[Flag]]
SubsidyRule = Callable[[AnomalyFacts, RuleParams], list[Flag]]

PATENT_RULES: dict[str, PatentRule] = {
    "AR-1": ar_1_round_trip, "AR-2": ar_2_rapid_flip, "AR-5": ar_5_nominal_price,
    "AR-7": ar_7_dying_asset, "AR-8": ar_8_university_shell_pledge,
    "AR-9": ar_9_pledge_churn, "AR-10": ar_10_tainted_origin,
    "AR-11": ar_11_inventors_around_transfer,
}
PARTY_RULES: dict[str, PartyRule] = {"AR-3": ar_3_inflow_before_subsidy, "AR-12": ar_12_fan_out,
                                     "AR-13": ar_13_subsidy_to_listed_party}
SUBSIDY_RULES: dict[str, SubsidyRule] = {"AR-4": ar_4_reused_patent,
                                         "AR-6": ar_6_nominal_licence}


