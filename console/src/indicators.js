// Indicators for evaluators: K1..K12 by period, region and recipient kind as bars by period
// (one series per dimension), with a line for the target path where a programme's target
// exists (K7 target rows' `expected`); the same rows in a table below, exportable as CSV;
// flagged deals left out or counted; K8 rows with what was recovered and the shortfall left
// (issue 19); K11 with the patents of each conversion category below it (issue 18).

import { gql } from "./api.js";
import { dimension, isoDate, money, number, rule, t, term } from "./i18n.js";
import { dateInput, field, h, input, select, table, withProgress, routeForm } from "./ui.js";
import { conversionList } from "./conversions.js";

const KS = ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K10", "K11", "K12"];
const QUERY = `query Indicators($from: Date!, $to: Date!, $granularity: String!, $region: String, $recipientKind: String,
  $excludeFlagged: Boolean!, $programme: String, $ipcSection: String, $qualification: String) {
  indicators(from: $from, to: $to, granularity: $granularity, region: $region, recipientKind: $recipientKind,
    excludeFlagged: $excludeFlagged, programme: $programme, ipcSection: $ipcSection, qualification: $qualification) {
    indicator period dimension value count patents amount yoyGrowth target expected progress recovered shortfall } }`;
const PROGRAMMES = "query { programmes { id name region } }";
const COLUMNS = ["indicator", "period", "dimension", "value", "count", "patents", "amount", "yoyGrowth", "target", "expected",
  "progress", "recovered", "shortfall"];
const QUALIFICATIONS = ["high_tech", "specialised_sme", "ip_advantage", "ip_demonstration", "sample_enterprise"];

let echartsLoaded = null;
function loadECharts() {
  // The library's own file, served by the ledger from console/node_modules (no CDN).
  echartsLoaded = echartsLoaded || new Promise((resolve, reject) => {
    const script = h("script", { src: "/console/vendor/echarts.min.js" });
    script.addEventListener("load", () => resolve(window.echarts));
    script.addEventListener("error", reject);
    document.head.append(script);
  });
  return echartsLoaded;
}

export function indicatorsPage(main, params) {
  const p = (k, d) => params.get(k) || d;
  const programme = select([["", t("none")]], p("programme", ""), { name: "programme" });
  const form = h("form", { className: "filters", id: "indicator-filters" },
    field(t("indicator"), select(KS.map((k) => [k, rule(k)]), p("k", "K1"), { name: "k" })),
    field(t("from"), dateInput({ name: "from", value: p("from", "2019-01-01"), required: true })),
    field(t("to"), dateInput({ name: "to", value: p("to", "2022-12-31"), required: true })),
    field(t("granularity"), select([["year", t("year")], ["quarter", t("quarter")], ["month", t("month")]], p("granularity", "year"), { name: "granularity" })),
    field(t("region"), input({ name: "region", value: p("region", ""), placeholder: "410000" })),
    field(t("recipientKind"), select([["", t("any")], ...["enterprise", "university", "research_institute", "individual", "bank", "government", "foreign"].map((k) => [k, term(k)])], p("recipientKind", ""), { name: "recipientKind" })),
    field(t("programme"), programme),
    field(t("ipcSection"), select([["", t("any")], ..."ABCDEFGH".split("").map((c) => [c, c])], p("ipcSection", ""), { name: "ipcSection" })),
    field(t("qualification"), select([["", t("any")], ...QUALIFICATIONS.map((q) => [q, term(q)])], p("qualification", ""), { name: "qualification" })),
    h("div", { className: "field check" }, h("input", { type: "checkbox", id: "exclude-flagged", name: "excludeFlagged", value: "1", checked: p("excludeFlagged", "1") === "1" }),
      h("label", { for: "exclude-flagged" }, t("excludeFlagged"))),
    h("button", { type: "submit" }, t("apply")));
  gql(PROGRAMMES).then((data) => {
    for (const g of data.programmes) programme.append(h("option", { value: g.id, selected: g.id === p("programme", "") }, `${g.name} (${g.region})`));
  }).catch(() => {});
  routeForm(form, "indicators", (q) => { if (!q.has("excludeFlagged")) q.set("excludeFlagged", "0"); });
  const body = h("div", { id: "indicator-body" });
  main.append(h("h2", {}, t("indicators")), form, body);
  const k = p("k", "K1");
  const vars = { from: p("from", "2019-01-01"), to: p("to", "2022-12-31"), granularity: p("granularity", "year"),
    region: p("region", "") || null, recipientKind: p("recipientKind", "") || null,
    excludeFlagged: p("excludeFlagged", "1") === "1", programme: p("programme", "") || null,
    ipcSection: p("ipcSection", "") || null, qualification: p("qualification", "") || null };
  withProgress(body, async () => {
    const [data, echarts] = await Promise.all([gql(QUERY, vars), loadECharts()]);
    const rows = data.indicators.filter((r) => r.indicator === k);
    const chart = h("div", { className: "chart", id: "indicator-chart", role: "img", "aria-label": `${rule(k)} — ${t("chart")}` });
    const download = h("button", { type: "button", id: "export-csv" }, t("exportCsv"));
    download.addEventListener("click", () => exportCsv(rows, `${k}-${vars.from}-${vars.to}.csv`));
    setTimeout(() => draw(echarts, chart, rows), 0); // once the chart is in the page (it needs its size)
    const k8 = k === "K8" ? [[t("recovered"), (r) => (r.recovered === null ? "—" : money(r.recovered, "CNY"))],
      [t("shortfall"), (r) => (r.shortfall === null ? "—" : money(r.shortfall, "CNY"))]] : [];
    return [h("h3", {}, rule(k)), chart, download,
      table([[t("period"), (r) => isoDate(r.period)], [t("dimension"), (r) => dimension(r.dimension)],
        [t("value"), (r) => number(r.value)], [t("count"), (r) => r.count], [t("patents"), (r) => r.patents],
        [t("amount"), (r) => (r.amount === null ? "—" : money(r.amount, "CNY"))], ...k8, [t("target"), (r) => number(r.target)],
        [t("expected"), (r) => number(r.expected)], [t("progress"), (r) => number(r.progress)]], rows),
      k === "K11" ? conversionList(vars) : null];
  });
}

function draw(echarts, node, rows) {
  if (!rows.length) return;
  const periods = [...new Set(rows.map((r) => isoDate(r.period)))].sort();
  const dimensions = [...new Set(rows.filter((r) => r.target === null).map((r) => r.dimension))];
  const series = dimensions.map((d) => ({ type: "bar", name: dimension(d),
    data: periods.map((p) => { const r = rows.find((x) => x.dimension === d && isoDate(x.period) === p); return r ? Number(r.value) : 0; }) }));
  const targets = rows.filter((r) => r.expected !== null);
  for (const d of [...new Set(targets.map((r) => r.dimension))]) {
    series.push({ type: "bar", name: `${dimension(d)} — ${t("value")}`,
      data: periods.map((p) => { const r = targets.find((x) => x.dimension === d && isoDate(x.period) === p); return r ? Number(r.value) : null; }) });
    series.push({ type: "line", name: `${dimension(d)} — ${t("expected")}`, lineStyle: { type: "dashed" },
      data: periods.map((p) => { const r = targets.find((x) => x.dimension === d && isoDate(x.period) === p); return r ? Number(r.expected) : null; }) });
  }
  const chart = echarts.init(node, null, { renderer: "canvas" });
  chart.setOption({ animation: false, tooltip: { trigger: "axis" }, legend: { type: "scroll" },
    xAxis: { type: "category", data: periods }, yAxis: { type: "value" }, series });
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function exportCsv(rows, name) {
  const lines = [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(","))];
  const blob = new Blob([`${lines.join("\n")}\n`], { type: "text/csv;charset=utf-8" });
  const anchor = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(anchor); anchor.click(); anchor.remove();
}
