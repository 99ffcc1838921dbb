// A party on any date: holdings, deals, and for auditors and regulators its credit grade with
// reasons and evidence, and its listings.

import { gql, mayReadOversight } from "./api.js";
import { isoDate, rule, t, term } from "./i18n.js";
import { dateInput, field, h, input, pagedTable, pageRows, patentLink, section, table, withProgress, routeForm } from "./ui.js";
import { PARTY_FIELDS, arrangedSection, productsSection, qualificationsSection } from "./outcomes.js";

const DEALS_PAGE = 20;
const HOLDINGS_PAGE = 50; // rows a request (the route's `rows` may ask 1 to 100)

const HOLDINGS = `query Holdings($id: String!, $asOf: Date, $first: Int, $after: String) { party(id: $id, asOf: $asOf) {
  holdings(first: $first, after: $after) { cursor share patent { number title } } } }`;

const BASE = `id name kind size region stateOwned foundedOn ${PARTY_FIELDS}
  history(first: $first, after: $after) { edges { cursor position kind dealId effectiveOn patents } pageInfo { hasNextPage endCursor } }`;
const OVERSIGHT = `credit { grade reasons { rule grade detail evidence { position kind patents } } }
  listings { listingId list grounds startsOn endsOn } blacklisted`;

function query(oversight) {
  return `query Party($id: String!, $asOf: Date, $first: Int, $after: String) { party(id: $id, asOf: $asOf) { ${BASE} ${oversight ? OVERSIGHT : ""} } }`;
}

export function partyPage(main, params, role) {
  const id = params.get("id") || "";
  const form = h("form", { className: "filters", id: "party-search", role: "search" },
    field(t("partyId"), input({ name: "id", value: id, required: true })),
    field(t("asOf"), dateInput({ name: "asOf", value: params.get("asOf") || "" })),
    h("button", { type: "submit" }, t("search")));
  const rows = pageRows(params, HOLDINGS_PAGE);
  routeForm(form, "party", (q) => { if (params.get("rows")) q.set("rows", String(rows)); });
  const body = h("div", { id: "party-body" });
  main.append(h("h2", {}, t("party")), form, body);
  if (!id) return;
  const oversight = mayReadOversight(role);
  const vars = { id, asOf: params.get("asOf") || null, first: pageRows(params, DEALS_PAGE), after: null };
  withProgress(body, async () => {
    const data = await gql(query(oversight), vars);
    const p = data.party;
    if (!p) return h("p", { className: "empty" }, t("notFound"));
    const deals = h("div", {});
    showDeals(deals, p.history, vars, oversight);
    return [
      h("dl", { className: "facts" },
        h("dt", {}, t("partyId")), h("dd", {}, p.id), h("dt", {}, t("name")), h("dd", {}, p.name),
        h("dt", {}, t("kind")), h("dd", {}, term(p.kind)), h("dt", {}, t("size")), h("dd", {}, term(p.size)),
        h("dt", {}, t("sizeOn")), h("dd", {}, term(p.sizeOn)),
        h("dt", {}, t("region")), h("dd", {}, p.region || "—"),
        oversight ? [h("dt", {}, t("credit")), h("dd", {}, h("strong", { className: "grade", id: "party-grade" }, p.credit.grade)),
          h("dt", {}, t("blacklisted")), h("dd", {}, p.blacklisted ? t("yes") : t("no"))] : null),
      oversight ? section(t("reasons"), table([[t("rule"), (r) => rule(r.rule)], [t("credit"), (r) => r.grade],
        [t("explanation"), (r) => r.detail],
        [t("evidence"), (r) => r.evidence.flatMap((e, i) => [i ? ", " : "", e.patents.length
          ? h("a", { href: `#/patent?number=${encodeURIComponent(e.patents[0])}` }, `#${e.position} ${term(e.kind)}`)
          : `#${e.position} ${term(e.kind)}`])]], p.credit.reasons)) : null,
      oversight ? section(t("listings"), table([[t("list"), (l) => term(l.list)], [t("grounds"), (l) => l.grounds],
        [t("startsOn"), (l) => isoDate(l.startsOn)], [t("endsOn"), (l) => isoDate(l.endsOn)]], p.listings)) : null,
      h("section", { id: "party-holdings" }, h("h2", {}, t("holdings")), pagedTable([
        [t("patent"), (x) => (x.patent ? patentLink(x.patent.number) : "—")],
        [t("titleField"), (x) => (x.patent ? x.patent.title : "—")], [t("share"), (x) => x.share]], async (after) => {
        const held = (await gql(HOLDINGS, { id, asOf: vars.asOf, first: rows, after })).party.holdings;
        // A page shorter than `first` is the last.
        return { rows: held, next: held.length === rows ? held[held.length - 1].cursor : null };
      })),
      section(t("deals"), deals),
      qualificationsSection(p), productsSection(p.products), arrangedSection(id, vars.asOf, pageRows(params, DEALS_PAGE), patentLink)];
  });
}

function showDeals(target, history, vars, oversight) {
  target.querySelector(".more")?.remove();
  target.append(table([[t("position"), (e) => `#${e.position}`], [t("kind"), (e) => term(e.kind)],
    [t("deal"), (e) => e.dealId || "—"], [t("effectiveOn"), (e) => isoDate(e.effectiveOn)],
    [t("patents"), (e) => e.patents.flatMap((n, i) => [i ? ", " : "", patentLink(n)])]], history.edges));
  if (history.pageInfo.hasNextPage) {
    const more = h("button", { type: "button", className: "more" }, t("more"));
    more.addEventListener("click", async () => {
      const next = h("div", {});
      more.replaceWith(next);
      await withProgress(next, async () => {
        const data = await gql(query(oversight), { ...vars, after: history.pageInfo.endCursor });
        showDeals(target, data.party.history, vars, oversight);
        return [];
      });
    });
    target.append(more);
  }
}
