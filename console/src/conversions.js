// Under K11 on the indicators page: the patents behind the counts, by conversion category
// (domain.md s10.1; GraphQL `conversions`), for the same period and region, a page at a time
// through the API's own cursor. Category "none" lists stock patents with no conversion.

import { gql } from "./api.js";
import { isoDate, t, term } from "./i18n.js";
import { field, h, pagedTable, patentLink, select } from "./ui.js";

const PAGE = 20;
const CATEGORIES = ["transferred", "equity_contributed", "open_licensed", "ordinary_licensed", "sole_licensed",
  "exclusive_licensed", "industrialised_by_licensee", "industrialised_by_partner", "pooled"];
const HOLDERS = ["university", "research_institute", "enterprise", "individual"];
const QUERY = `query Conversions($filter: ConversionFilterInput, $first: Int, $after: String) {
  conversions(filter: $filter, first: $first, after: $after) {
    edges { cursor node { number category since evidence { position kind dealId } } } pageInfo { hasNextPage endCursor } } }`;

export function conversionList(vars) {
  const category = select([["", t("anyCategory")], ...CATEGORIES.map((c) => [c, term(c)]), ["none", t("none")]], "", { id: "conversion-category" });
  const holder = select([["", t("any")], ...HOLDERS.map((k) => [k, term(k)])], "", { id: "conversion-holder" });
  const list = h("div", { id: "conversion-list" });
  const show = () => {
    const filter = { from: vars.from, to: vars.to, region: vars.region, category: category.value || null, holderKind: holder.value || null };
    list.replaceChildren(pagedTable([[t("patent"), (e) => patentLink(e.number)], [t("category"), (e) => term(e.category)],
      [t("since"), (e) => isoDate(e.since)],
      [t("evidence"), (e) => e.evidence.map((x) => `#${x.position} ${term(x.kind)}${x.dealId ? ` (${x.dealId})` : ""}`).join(", ")]],
    async (after) => {
      const { edges, pageInfo } = (await gql(QUERY, { filter, first: PAGE, after })).conversions;
      return { rows: edges.map((e) => e.node), next: pageInfo.hasNextPage ? pageInfo.endCursor : null };
    }));
  };
  category.addEventListener("change", show);
  holder.addEventListener("change", show);
  show();
  return h("section", { id: "conversions" }, h("h3", {}, t("conversionList")),
    h("div", { className: "filters" }, field(t("category"), category), field(t("holderKind"), holder)), list);
}
