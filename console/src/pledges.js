// The pledge book by status and pledgee: due dates, defaults, and totals by status and
// currency. Read through the API's own pages (at most 100 rows a request); the totals walk the
// whole book page by page, showing how far they have come.

import { gql } from "./api.js";
import { isoDate, money, t, term } from "./i18n.js";
import { field, h, input, partyLink, patentLink, section, select, table, withProgress, routeForm } from "./ui.js";

const PAGE = 100;
const STATUSES = ["active", "defaulted", "released", "disposed", "collateral_lost"];
const QUERY = `query Pledges($status: String, $pledgee: String, $first: Int, $after: String) {
  pledges(status: $status, pledgee: $pledgee, first: $first, after: $after) {
    edges { cursor node { dealId status securedAmount { amount currency } outstanding { amount currency } dueOn registeredOn defaultedOn endedOn
      pledgee { id name } pledgors { id name } patent { number } } }
    pageInfo { hasNextPage endCursor } } }`;

export function pledgesPage(main, params) {
  const form = h("form", { className: "filters", id: "pledge-filters" },
    field(t("status"), select([["", t("any")], ...STATUSES.map((s) => [s, term(s)])], params.get("status") || "", { name: "status" })),
    field(t("pledgee"), input({ name: "pledgee", value: params.get("pledgee") || "", placeholder: t("pledgeePlaceholder") })),
    h("button", { type: "submit" }, t("apply")));
  routeForm(form, "pledges");
  const totals = h("div", { id: "pledge-totals" });
  const rows = h("div", { id: "pledge-rows" });
  main.append(h("h2", {}, t("pledges")), form, section(t("totals"), h("p", { className: "hint" }, t("totalsNote")), totals), rows);
  const vars = { status: params.get("status") || null, pledgee: params.get("pledgee") || null };
  showPage(rows, vars, null);
  sumBook(totals, vars);
}

/** One page of 20 pledges, and a button for the next (the API's cursor). */
function showPage(rows, vars, after) {
  const target = h("div", {});
  rows.querySelector(".more")?.remove();
  rows.append(target);
  withProgress(target, async () => {
    const data = await gql(QUERY, { ...vars, first: 20, after });
    const { edges, pageInfo } = data.pledges;
    if (pageInfo.hasNextPage) {
      const more = h("button", { type: "button", className: "more" }, t("more"));
      more.addEventListener("click", () => showPage(rows, vars, pageInfo.endCursor));
      setTimeout(() => rows.append(more), 0);
    }
    return pledgeTable(edges.map((e) => e.node));
  });
}

function pledgeTable(rows) {
  return table([[t("deal"), (p) => p.dealId], [t("patent"), (p) => (p.patent ? patentLink(p.patent.number) : "—")],
    [t("status"), (p) => term(p.status)], [t("pledgee"), (p) => partyLink(p.pledgee.id, p.pledgee.name)],
    [t("pledgors"), (p) => p.pledgors.map((x) => x.name).join(", ")],
    [t("securedAmount"), (p) => (p.securedAmount ? money(p.securedAmount.amount, p.securedAmount.currency) : "—")],
    [t("registeredOn"), (p) => isoDate(p.registeredOn)], [t("dueOn"), (p) => isoDate(p.dueOn)],
    [t("defaultedOn"), (p) => isoDate(p.defaultedOn)]], rows);
}

async function sumBook(target, vars) {
  const sums = new Map(); // status|currency -> {count, amount}
  let after = null;
  let read = 0;
  const progress = h("p", { role: "status", className: "busy" }, t("loading"));
  target.replaceChildren(progress);
  try {
    do {
      const data = await gql(QUERY, { ...vars, first: PAGE, after });
      for (const { node } of data.pledges.edges) {
        const currency = node.securedAmount ? node.securedAmount.currency : "CNY";
        const key = `${node.status}|${currency}`;
        const sum = sums.get(key) || { status: node.status, currency, count: 0, amount: 0 };
        sum.count += 1;
        sum.amount += node.securedAmount ? Number(node.securedAmount.amount) : 0;
        sums.set(key, sum);
      }
      read += data.pledges.edges.length;
      progress.textContent = `${t("loading")} ${read}`;
      after = data.pledges.pageInfo.hasNextPage ? data.pledges.pageInfo.endCursor : null;
    } while (after);
    target.replaceChildren(table([[t("status"), (s) => term(s.status)], [t("count"), (s) => s.count],
      [t("securedAmount"), (s) => money(s.amount, s.currency)]], [...sums.values()]));
  } catch (error) {
    target.replaceChildren(h("p", { className: "error", role: "alert" }, `${error.title}: ${error.detail}`));
  }
}
