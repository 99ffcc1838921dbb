// Issue 18's facts where the console already shows a patent or a party: conversion outcomes
// (domain.md s10.1), patent products with their yearly reports (s10.2), pools with the pool's
// own record (s10.3, `pool(id)`), IPC symbols and dated qualifications (s10.4); and issue 19's
// deals a party arranged as an intermediary. Every label in both languages (i18n.js).

import { gql } from "./api.js";
import { isoDate, money, number, t, term } from "./i18n.js";
import { h, pagedTable, partyLink, table } from "./ui.js";

function part(id, title, ...children) { return h("section", { id }, h("h2", {}, title), ...children); }

/** The GraphQL fields a patent's page asks for these sections. */
export const PATENT_FIELDS = `ipc
  conversions { category since evidence { position kind dealId effectiveOn } }
  products { id name filedOn category intensive owner { id name } reports { year outputValue { amount currency } employees } }
  pools { poolId startsOn lastDay entryDealId exitDealId }`;

/** The GraphQL fields a party's page asks for. */
export const PARTY_FIELDS = `sizeOn
  products { id name filedOn category intensive owner { id name } reports { year outputValue { amount currency } employees } }
  qualifications(all: true) { qualification from to certificate }`;

const POOL = `query Pool($id: String!, $asOf: Date) { pool(id: $id, asOf: $asOf) {
  id name administrator field formedOn licences(first: 100) { dealId licensee licenceKind startsOn endsOn patents } } }`;

const ARRANGED = `query Arranged($id: String!, $asOf: Date, $first: Int, $after: String) { party(id: $id, asOf: $asOf) {
  arranged(first: $first, after: $after) { edges { position kind dealId effectiveOn patents } pageInfo { hasNextPage endCursor } } } }`;

function evidenceList(events) {
  return events.flatMap((e, i) => [i ? ", " : "", `#${e.position} ${term(e.kind)}${e.dealId ? ` (${e.dealId})` : ""}`]);
}

export function conversionsSection(p) {
  return part("patent-conversions", t("conversions"), table([[t("category"), (c) => term(c.category)], [t("since"), (c) => isoDate(c.since)],
    [t("evidence"), (c) => evidenceList(c.evidence)]], p.conversions));
}

export function productsSection(products) {
  return part("products", t("products"), table([[t("productId"), (x) => x.id], [t("name"), (x) => x.name],
    [t("owner"), (x) => partyLink(x.owner.id, x.owner.name)], [t("filedOn"), (x) => isoDate(x.filedOn)],
    [t("category"), (x) => x.category || "—"], [t("intensive"), (x) => (x.intensive ? t("yes") : t("no"))],
    [t("reports"), (x) => (x.reports.length ? h("ul", { className: "plain" }, x.reports.map((r) => h("li", {},
      `${r.year}: ${t("outputValue")} ${money(r.outputValue.amount, r.outputValue.currency)} · ${t("employees")} ${number(r.employees)}`))) : "—")]],
  products));
}

/** The patent's pools, each with the pool's own record on the same date. */
export function poolsSection(p, asOf) {
  const body = h("div", {});
  if (!p.pools.length) body.append(h("p", { className: "empty" }, t("noRows")));
  for (const m of p.pools) {
    const facts = h("div", { className: "card pool", "data-pool": m.poolId });
    body.append(facts);
    gql(POOL, { id: m.poolId, asOf }).then(({ pool }) => {
      const mine = pool ? pool.licences.filter((l) => l.patents.includes(p.number)) : [];
      facts.replaceChildren(h("h3", {}, pool ? `${pool.name} (${pool.id})` : m.poolId),
        h("dl", { className: "facts" },
          h("dt", {}, t("administrator")), h("dd", {}, pool ? partyLink(pool.administrator) : "—"),
          h("dt", {}, t("fieldOfUse")), h("dd", {}, pool ? pool.field : "—"),
          h("dt", {}, t("formedOn")), h("dd", {}, pool ? isoDate(pool.formedOn) : "—"),
          h("dt", {}, t("startsOn")), h("dd", {}, isoDate(m.startsOn)),
          h("dt", {}, t("lastDay")), h("dd", {}, isoDate(m.lastDay)),
          h("dt", {}, t("entryDeal")), h("dd", {}, m.entryDealId),
          h("dt", {}, t("exitDeal")), h("dd", {}, m.exitDealId || "—")),
        h("h4", {}, t("poolLicences")),
        table([[t("deal"), (l) => l.dealId], [t("licensee"), (l) => partyLink(l.licensee)],
          [t("licenceKind"), (l) => term(l.licenceKind)], [t("startsOn"), (l) => isoDate(l.startsOn)],
          [t("endsOn"), (l) => isoDate(l.endsOn)]], mine));
    }).catch((error) => facts.replaceChildren(h("p", { className: "error", role: "alert" }, `${error.title}: ${error.detail}`)));
  }
  return part("patent-pools", t("pools"), body);
}

export function qualificationsSection(p) {
  return part("party-qualifications", t("qualifications"), table([[t("qualification"), (q) => term(q.qualification)],
    [t("from"), (q) => isoDate(q.from)], [t("to"), (q) => isoDate(q.to)], [t("certificate"), (q) => q.certificate || "—"]],
  p.qualifications));
}

/** Deals the party arranged as agency, platform or technology manager (issue 19), paged. */
export function arrangedSection(id, asOf, rows, patentLink) {
  return part("arranged", t("arranged"), pagedTable([[t("position"), (e) => `#${e.position}`], [t("kind"), (e) => term(e.kind)],
    [t("deal"), (e) => e.dealId || "—"], [t("effectiveOn"), (e) => isoDate(e.effectiveOn)],
    [t("patents"), (e) => e.patents.flatMap((n, i) => [i ? ", " : "", patentLink(n)])]], async (after) => {
    const data = await gql(ARRANGED, { id, asOf, first: rows, after });
    const { edges, pageInfo } = data.party.arranged;
    return { rows: edges, next: pageInfo.hasNextPage ? pageInfo.endCursor : null };
  }, { id: "party-arranged" }));
}
