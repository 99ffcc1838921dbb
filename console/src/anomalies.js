// The anomaly queue (auditors and regulators): open flags newest or highest score first,
// filtered by rule, region, party and date; each with its explanation, evidence events,
// parties and patents. Regulators confirm or dismiss a flag with a note (POST
// /v1/anomalies/{id}/finding) and see the status and the parties' grades that follow.

import { gql, mayPostFindings, rest } from "./api.js";
import { isoDate, number, rule, ruleCodes, t, term } from "./i18n.js";
import { busy, dateInput, field, h, input, partyLink, patentLink, select, showError, withProgress, routeForm } from "./ui.js";

const PAGE = 20; // at most 100 rows per request (the API's bound)

const QUERY = `query Queue($filter: AnomalyFilterInput, $first: Int, $after: String, $order: String!) {
  anomalies(filter: $filter, first: $first, after: $after, order: $order) {
    edges { cursor node { id rule ruleVersion score explanation status detectedOn
      finding { decision note recordedAt }
      parties { id name region } patents { number title }
      evidence { position kind dealId effectiveOn patents hash } } }
    pageInfo { hasNextPage endCursor } } }`;

const GRADES = `query Grades($id: String!) { party(id: $id) { id name credit { grade reasons { rule grade detail } } } }`;

function filterOf(params) {
  const f = { status: params.get("status") || "open" };
  if (f.status === "any") delete f.status;
  for (const [name, key] of [["rule", "rule"], ["region", "region"], ["party", "party"],
    ["detectedFrom", "from"], ["detectedTo", "to"]]) {
    if (params.get(key)) f[name] = params.get(key);
  }
  return f;
}

export function anomaliesPage(main, params, role) {
  const rules = ruleCodes().filter((c) => c.startsWith("AR-"));
  const form = h("form", { className: "filters", id: "anomaly-filters" },
    field(t("rule"), select([["", t("any")], ...rules.map((c) => [c, rule(c)])], params.get("rule") || "", { name: "rule" })),
    field(t("status"), select([["open", term("open")], ["confirmed", term("confirmed")], ["dismissed", term("dismissed")], ["any", t("any")]], params.get("status") || "open", { name: "status" })),
    field(t("region"), input({ name: "region", value: params.get("region") || "", placeholder: "350000" })),
    field(t("party"), input({ name: "party", value: params.get("party") || "" })),
    field(t("from"), dateInput({ name: "from", value: params.get("from") || "" })),
    field(t("to"), dateInput({ name: "to", value: params.get("to") || "" })),
    field(t("order"), select([["newest", t("newest")], ["score", t("highestScore")]], params.get("order") || "newest", { name: "order" })),
    h("button", { type: "submit" }, t("apply")));
  routeForm(form, "anomalies");
  const list = h("div", { id: "anomaly-list" });
  main.append(h("h2", {}, t("anomalies")), form, list);
  const order = params.get("order") === "score" ? "score" : "newest";
  loadPage(list, filterOf(params), order, null, role);
}

async function loadPage(list, filter, order, after, role) {
  const target = h("div", {});
  const more = list.querySelector(".more");
  if (more) more.remove();
  list.append(target);
  await withProgress(target, async () => {
    const data = await gql(QUERY, { filter, first: PAGE, after, order });
    const { edges, pageInfo } = data.anomalies;
    const shown = edges.length || after ? edges.map((e) => card(e.node, role)) : [h("p", { className: "empty" }, t("noRows"))];
    if (pageInfo.hasNextPage) {
      const button = h("button", { type: "button", className: "more" }, t("more"));
      button.addEventListener("click", () => loadPage(list, filter, order, pageInfo.endCursor, role));
      queueMicrotask(() => list.append(button));
    }
    return shown;
  });
}

function evidenceRow(e) {
  const target = e.patents && e.patents.length
    ? h("a", { href: `#/patent?number=${encodeURIComponent(e.patents[0])}&focus=${e.position}` }, `#${e.position}`)
    : `#${e.position}`;
  return h("li", {}, target, " ", term(e.kind), " ", isoDate(e.effectiveOn), e.dealId ? ` (${e.dealId})` : "",
    e.hash ? h("code", { className: "hash", title: e.hash }, ` ${e.hash.slice(0, 12)}…`) : null);
}

function card(a, role) {
  const status = h("span", { className: `status status-${a.status}`, "data-status": a.status }, term(a.status));
  const outcome = h("div", { className: "outcome", "aria-live": "polite" });
  const article = h("article", { className: "card anomaly", "data-id": a.id },
    h("h3", {}, rule(a.rule), h("small", {}, ` v${a.ruleVersion}`)),
    h("dl", {},
      h("dt", {}, t("status")), h("dd", {}, status),
      h("dt", {}, t("score")), h("dd", {}, number(a.score)),
      h("dt", {}, t("detectedOn")), h("dd", {}, isoDate(a.detectedOn)),
      h("dt", {}, t("explanation")), h("dd", {}, a.explanation),
      h("dt", {}, t("parties")), h("dd", {}, a.parties.flatMap((p, i) => [i ? ", " : "", partyLink(p.id, `${p.name} (${p.id})`)])),
      h("dt", {}, t("patents")), h("dd", {}, a.patents.flatMap((p, i) => [i ? ", " : "", patentLink(p.number)])),
      a.finding ? [h("dt", {}, t("finding")), h("dd", {}, `${term(a.finding.decision)}: ${a.finding.note}`)] : null),
    h("details", {}, h("summary", {}, `${t("evidence")} (${a.evidence.length})`), h("ul", {}, a.evidence.map(evidenceRow))),
    a.status === "open" && mayPostFindings(role) ? findingForm(a, status, outcome) : null,
    outcome);
  return article;
}

function findingForm(a, status, outcome) {
  const note = h("textarea", { name: "note", rows: 2, maxlength: 2000 });
  const form = h("form", { className: "finding" }, field(t("note"), note),
    h("button", { type: "submit", value: "confirmed", className: "confirm" }, t("confirm")),
    h("button", { type: "submit", value: "dismissed", className: "dismiss" }, t("dismiss")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = event.submitter ? event.submitter.value : "confirmed";
    form.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    outcome.replaceChildren(busy());
    try {
      await rest("POST", `/v1/anomalies/${encodeURIComponent(a.id)}/finding`, { decision, note: note.value });
      outcome.replaceChildren(h("p", { role: "status" }, t("waitingProjection")));
      const now = await settled(a, decision);
      status.textContent = term(now); status.className = `status status-${now}`; status.dataset.status = now;
      const grades = await Promise.all(a.parties.map((p) => gql(GRADES, { id: p.id })));
      form.remove();
      outcome.replaceChildren(h("h4", {}, t("gradeAfter")), h("ul", { className: "grades" }, grades.map((g) => g.party && h("li", {},
        partyLink(g.party.id, g.party.name), ": ", h("strong", { className: "grade" }, g.party.credit.grade),
        g.party.credit.reasons.length ? ` — ${g.party.credit.reasons.map((r) => `${rule(r.rule)} → ${r.grade}`).join("; ")}` : ""))));
    } catch (error) {
      form.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      outcome.replaceChildren(showError(error));
    }
  });
  return form;
}

/** The flag's status once the anomalies projection has folded the finding in (a second or so). */
async function settled(a, decision) {
  const filter = { rule: a.rule, status: decision };
  if (a.parties.length) filter.party = a.parties[0].id;
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const data = await gql(`query S($filter: AnomalyFilterInput) { anomalies(filter: $filter, first: 100) { edges { node { id status } } } }`, { filter });
    const found = data.anomalies.edges.find((e) => e.node.id === a.id);
    if (found) return found.node.status;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return "open";
}
