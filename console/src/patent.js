// A patent for auditors: number search; owners, licences, pledge and status on any effective
// date (asOf) and as the ledger knew it at any moment (asKnownAt); the full history as a
// timeline with each event's hash, and any event's inclusion proof as the JSON that
// `verify_bundle.py --proof` checks.

import { gql } from "./api.js";
import { isoDate, isoMoment, money, t, term } from "./i18n.js";
import { dateInput, field, h, input, isoMomentValue, momentInput, pagedTable, pageRows, partyLink, section, table,
  withProgress, routeForm } from "./ui.js";
import { PATENT_FIELDS, conversionsSection, poolsSection, productsSection } from "./outcomes.js";

const HISTORY_PAGE = 50;
const LICENCE_PAGE = 20; // rows a request (the route's `rows` may ask 1 to 100)

const QUERY = `query Patent($number: String!, $asOf: Date, $asKnownAt: DateTime) {
  patent(number: $number, asOf: $asOf, asKnownAt: $asKnownAt) {
    number kind title status filedOn grantedOn expiresOn invalidationPending
    owners { share party { id name } }
    pledge { dealId status securedAmount { amount currency } dueOn registeredOn defaultedOn pledgee { id name } }
    ${PATENT_FIELDS} } }`;

const LICENCES = `query Licences($number: String!, $asOf: Date, $asKnownAt: DateTime, $first: Int!, $after: String) {
  patent(number: $number, asOf: $asOf, asKnownAt: $asKnownAt) { licenceCount
    licences(first: $first, after: $after) { cursor dealId licenceKind startsOn endsOn inForce licensee { id name } fee { mode amount { amount currency } } } } }`;

const HISTORY = `query History($number: String!, $asOf: Date, $asKnownAt: DateTime, $first: Int, $after: String) {
  patent(number: $number, asOf: $asOf, asKnownAt: $asKnownAt) {
    history(first: $first, after: $after) { edges { cursor position kind dealId effectiveOn recordedAt hash parties }
      pageInfo { hasNextPage endCursor } } } }`;

const PROOF = `query Proof($number: String!, $after: String) { patent(number: $number) {
  history(first: 1, after: $after) { edges { position proof { position originatorId version topic state previousLink link leafIndex treeSize path
    checkpoint { position previous treeSize head root signedAt keyId signature statement } } } } } }`;

export function patentPage(main, params) {
  const number = params.get("number") || "";
  const rows = pageRows(params, LICENCE_PAGE);
  const form = h("form", { className: "filters", id: "patent-search", role: "search" },
    field(t("number"), input({ name: "number", value: number, required: true, placeholder: "ZL201710601862.3" })),
    field(t("asOf"), dateInput({ name: "asOf", value: params.get("asOf") || "" })),
    field(t("asKnownAt"), momentInput({ name: "asKnownAt", value: params.get("asKnownAt") || "" })),
    h("button", { type: "submit" }, t("search")));
  routeForm(form, "patent", (q) => { if (params.get("rows")) q.set("rows", String(rows)); });
  const body = h("div", { id: "patent-body" });
  main.append(h("h2", {}, t("patent")), form, body);
  if (!number) return;
  const vars = { number, asOf: params.get("asOf") || null,
    asKnownAt: params.get("asKnownAt") ? isoMomentValue(params.get("asKnownAt")) : null };
  withProgress(body, async () => {
    const data = await gql(QUERY, vars);
    const p = data.patent;
    if (!p) return h("p", { className: "empty", id: "patent-missing" }, t("notFound"));
    const timeline = h("div", { id: "timeline" });
    loadHistory(timeline, vars, null);
    const licences = h("h2", {}, t("licences"));
    let seen = 0;
    return [
      h("dl", { className: "facts", id: "patent-facts" },
        h("dt", {}, t("number")), h("dd", {}, p.number),
        h("dt", {}, t("titleField")), h("dd", {}, p.title),
        h("dt", {}, t("kind")), h("dd", {}, term(p.kind)),
        h("dt", {}, t("status")), h("dd", { id: "patent-status" }, term(p.status)),
        h("dt", {}, t("filedOn")), h("dd", {}, isoDate(p.filedOn)),
        h("dt", {}, t("grantedOn")), h("dd", {}, isoDate(p.grantedOn)),
        h("dt", {}, t("expiresOn")), h("dd", {}, isoDate(p.expiresOn)),
        h("dt", {}, t("ipc")), h("dd", { id: "patent-ipc" }, p.ipc.length ? p.ipc.join(", ") : "—")),
      section(t("owners"), table([[t("party"), (o) => partyLink(o.party.id, `${o.party.name} (${o.party.id})`)],
        [t("share"), (o) => o.share]], p.owners)),
      h("section", { id: "patent-licences" }, licences, pagedTable([
        [t("deal"), (l) => l.dealId], [t("licensee"), (l) => partyLink(l.licensee.id, l.licensee.name)],
        [t("licenceKind"), (l) => term(l.licenceKind)], [t("startsOn"), (l) => isoDate(l.startsOn)],
        [t("endsOn"), (l) => isoDate(l.endsOn)], [t("inForce"), (l) => (l.inForce ? t("yes") : t("no"))],
        [t("amount"), (l) => (l.fee.amount ? money(l.fee.amount.amount, l.fee.amount.currency) : term(l.fee.mode))]],
      async (after) => {
        const page = (await gql(LICENCES, { ...vars, first: rows, after })).patent;
        licences.textContent = `${t("licences")} (${page.licenceCount})`;
        seen += page.licences.length;
        const last = page.licences[page.licences.length - 1];
        // A page shorter than `first` is the last; after a full one, licenceCount says if more follow.
        const next = page.licences.length === rows && seen < page.licenceCount ? last.cursor : null;
        return { rows: page.licences, total: page.licenceCount, next };
      })),
      section(t("pledge"), p.pledge ? h("dl", { className: "facts" },
        h("dt", {}, t("status")), h("dd", {}, term(p.pledge.status)),
        h("dt", {}, t("pledgee")), h("dd", {}, partyLink(p.pledge.pledgee.id, p.pledge.pledgee.name)),
        h("dt", {}, t("securedAmount")), h("dd", {}, p.pledge.securedAmount ? money(p.pledge.securedAmount.amount, p.pledge.securedAmount.currency) : "—"),
        h("dt", {}, t("registeredOn")), h("dd", {}, isoDate(p.pledge.registeredOn)),
        h("dt", {}, t("dueOn")), h("dd", {}, isoDate(p.pledge.dueOn))) : h("p", { className: "empty" }, t("noRows"))),
      conversionsSection(p), productsSection(p.products), poolsSection(p, vars.asOf),
      section(t("history"), timeline)];
  });
}

function loadHistory(timeline, vars, after) {
  const target = h("ol", { className: "timeline" });
  timeline.querySelector(".more")?.remove();
  timeline.append(target);
  withProgress(target, async () => {
    const data = await gql(HISTORY, { ...vars, first: HISTORY_PAGE, after });
    const { edges, pageInfo } = data.patent.history;
    const items = edges.map((e) => event(vars.number, e));
    if (pageInfo.hasNextPage) {
      const more = h("button", { type: "button", className: "more" }, t("more"));
      more.addEventListener("click", () => loadHistory(timeline, vars, pageInfo.endCursor));
      queueMicrotask(() => timeline.append(more));
    }
    return items.length ? items : [h("li", { className: "empty" }, t("noRows"))];
  });
}

function event(number, e) {
  const status = h("span", { "aria-live": "polite" });
  const button = h("button", { type: "button", className: "proof", "data-position": e.position }, t("downloadProof"));
  button.addEventListener("click", async () => {
    status.textContent = t("working");
    try {
      // The cursor just before this event in the whole history (a cursor is its position).
      const after = e.position > 1 ? btoa(String(e.position - 1)).replace(/\+/g, "-").replace(/\//g, "_") : null;
      const data = await gql(PROOF, { number, after });
      const edge = data.patent.history.edges[0];
      if (!edge || !edge.proof) { status.textContent = t("noProof"); return; }
      const blob = new Blob([JSON.stringify(edge.proof, null, 2)], { type: "application/json" });
      const anchor = h("a", { href: URL.createObjectURL(blob), download: `proof-${edge.position}.json` });
      document.body.append(anchor); anchor.click(); anchor.remove();
      status.textContent = "";
    } catch (error) {
      status.textContent = `${error.title}: ${error.detail}`;
    }
  });
  return h("li", { className: "event", id: `event-${e.position}`, "data-kind": e.kind },
    h("strong", {}, `#${e.position} ${term(e.kind)}`), " ",
    `${t("effectiveOn")} ${isoDate(e.effectiveOn)} · ${t("recordedAt")} ${isoMoment(e.recordedAt)}`,
    e.dealId ? ` · ${t("deal")} ${e.dealId}` : "",
    h("div", {}, h("code", { className: "hash", title: t("hash") }, e.hash || "—")), button, status);
}
