"""The demo's pledge finance and intermediaries (issue 19; domain.md s11).

A pledge that names its debt (a debtor who is not the pledgor, a guarantor, an insurer) and
the agency, technology manager and CNIPA record behind it; an extension posted as one
`pledge_change` (AR-9's near miss); a pre-compensation while the loan runs and a guarantor's
payment after the default; a disposal by `licence_to_third_party` whose allocation shows what
compensation covered (K8); an acquisition with licence back (AR-1's near miss); five new
micro buyers sharing one agency (AR-12's agency variant) beside four sharing another (its near
miss); and the abnormal-operations listing (异常名录) of the first agency. `planted_scenario`
adds these to the scenario, which `patent-ledger demo` posts and whose queries it prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from demo.scenario import Scenario

AGENCY_VARIANT_BUYERS = 5  # AR-12's `buyers` (config/anomaly_rules.toml)

QUERIES = """# issue 19: pledge finance and intermediaries
{ deal(id: "DEMO-PF-1") { kind payload parties { id }
    intermediaries(asOf: "2024-06-01") { role partyId abnormalOperations } } }
{ before: patent(number: "%(pledged)s", asOf: "2022-12-31") { pledge { dealId status dueOn } }
  after: patent(number: "%(pledged)s", asOf: "2023-06-01") { pledge { dealId status dueOn } } }
{ events(filter: {patent: "%(pledged)s", kinds: ["risk_payment", "disposal"]}) {
    edges { kind effectiveOn payload } } }
{ patent(number: "%(pledged)s") { owners { party { id } } licences { dealId licensee { id } } } }
{ indicators(from: "2024-01-01", to: "2024-12-31", granularity: "year") {
    indicator dimension count amount recovered shortfall } }
{ party(id: "%(agency)s") { credit { grade reasons { rule detail } }
    arranged(first: 10) { edges { dealId kind effectiveOn } } }
  before: party(id: "%(agency)s", asOf: "2023-12-31") { credit { grade } } }
{ anomalies(filter: {rule: "AR-12"}, first: 5) {
    edges { node { explanation evidence { dealId } } } } }"""


def plant_pledge_finance(s: Scenario) -> None:
    """Adds issue 19's postings to `s`, plants AR-12's agency variant, names the near misses
    (an extension is no release: AR-9; a licence back is no round trip: AR-1) and the
    queries that show it all."""
    firm = s.party(73, size="medium", founded_on="2006-04-01")
    debtor = s.party(74, size="small", founded_on="2012-09-01")  # the firm's subsidiary
    guarantor, insurer = s.party(75, size="large"), s.party(76, size="large")
    fund = s.party(77, "government")  # a risk-compensation fund (风险补偿资金池)
    bank = s.party(78, "bank")
    licensee, acquirer = s.party(79, size="large"), s.party(68, size="large")
    agency, other_agency = s.party(70, "agency"), s.party(71, "agency")
    manager = s.party(72, "individual")  # a technology manager (技术经理人)

    pledged = s.patent(firm)
    s.deal({"deal_id": "DEMO-PF-1", "kind": "pledge", "effective_on": "2022-02-01",
            "patents": [pledged], "pledgors": [firm], "pledgee": bank,
            "secured_amount": {"amount": "3000000", "currency": "CNY"},
            "due_on": "2023-02-01", "debtor": debtor, "guarantors": [guarantor],
            "insurer": insurer, "mixed_collateral": {"trademarks": 2},
            "agency": agency, "technology_manager": manager,
            "official_record": "Y2022980000101"})
    _risk(s, "DEMO-RE-1", "pre_compensation", fund, "300000", "2022-06-01", "regulator")
    # The loan extended by a year: one change, not a release and a new pledge (AR-9).
    s.near_misses.append(s.deal({"deal_id": "DEMO-PF-2", "kind": "pledge_change",
                                 "effective_on": "2023-01-15", "patents": [pledged],
                                 "pledge": "DEMO-PF-1", "due_on": "2024-02-01"}))
    s.deal({"deal_id": "DEMO-PF-3", "kind": "default", "effective_on": "2024-03-01",
            "patents": [pledged], "pledge": "DEMO-PF-1",
            "outstanding": {"amount": "2500000", "currency": "CNY"}})
    _risk(s, "DEMO-RE-2", "guarantee_payment", guarantor, "500000", "2024-04-01", "platform")
    # By hand: proceeds 1,200,000 pay that much of the 2,500,000 claim; compensation
    # (300,000 + 500,000) covers 800,000 more; 500,000 is left short (K8).
    s.deal(_disposal("DEMO-PF-4", pledged, "DEMO-PF-1", "licence_to_third_party", "1200000",
                     "2024-06-01", [], licensee, "2029-05-31"))

    # A licence back to the pledgor after an acquisition (收购许可): title does not return.
    other_firm = s.party(69, size="medium", founded_on="2007-01-01")
    acquired = s.patent(other_firm)
    s.deal({"deal_id": "DEMO-PF-5", "kind": "pledge", "effective_on": "2022-03-01",
            "patents": [acquired], "pledgors": [other_firm], "pledgee": bank,
            "secured_amount": {"amount": "1500000", "currency": "CNY"},
            "due_on": "2024-03-01"})
    s.deal({"deal_id": "DEMO-PF-6", "kind": "default", "effective_on": "2023-01-02",
            "patents": [acquired], "pledge": "DEMO-PF-5",
            "outstanding": {"amount": "1500000", "currency": "CNY"}})
    s.near_misses.append(s.deal(_disposal(
        "DEMO-PF-7", acquired, "DEMO-PF-5", "acquisition_with_licence_back", "1600000",
        "2023-03-01", [{"party": acquirer, "share": "1"}], other_firm, "2027-12-31")))

    # AR-12's agency variant: five new micro buyers, five sellers, one agency, one week;
    # near miss: four new buyers through another agency.
    for agent, count, prefix, day in ((agency, AGENCY_VARIANT_BUYERS, "DEMO-AG", 1),
                                      (other_agency, AGENCY_VARIANT_BUYERS - 1, "DEMO-AGN", 11)):
        deals = []
        for i in range(count):
            seller = s.party(80 + i + (5 if agent == other_agency else 0), size="medium",
                             founded_on="2005-01-01")
            buyer = s.party(90 + i + (5 if agent == other_agency else 0), size="micro",
                            founded_on="2023-01-01")
            deals.append(s.transfer(f"{prefix}-{i}", s.patent(seller), seller, buyer,
                                    f"2023-04-{day + i:02d}", price="300000", agency=agent))
        if agent == agency:
            s.plant("AR-12", deals)
        else:
            s.near_misses.extend(deals)
    s.postings.append(("/v1/listings", {
        "listing_id": "DEMO-AB-1", "party": agency, "list": "abnormal_operations",
        "grounds": "false registration materials in arranged deals (Huainan 异常名录)",
        "starts_on": "2024-01-01"}, "regulator"))
    s.queries.append(QUERIES % {"pledged": pledged, "agency": agency})


def _risk(s: Scenario, event_id: str, kind: str, payer: str, amount: str, day: str,
          role: str) -> None:
    s.postings.append(("/v1/risk-events", {
        "event_id": event_id, "pledge": "DEMO-PF-1", "kind": kind, "payer": payer,
        "amount": {"amount": amount, "currency": "CNY"}, "paid_on": day}, role))


def _disposal(deal_id: str, number: str, pledge: str, mode: str, proceeds: str, day: str,
              to_parties: list[dict[str, str]], licensee: str, ends_on: str) -> dict[str, Any]:
    return {"deal_id": deal_id, "kind": "disposal", "effective_on": day, "patents": [number],
            "pledge": pledge, "mode": mode,
            "proceeds": {"amount": proceeds, "currency": "CNY"}, "to_parties": to_parties,
            "licence": {"licensee": licensee, "starts_on": day, "ends_on": ends_on}}

