// The console's only way to the ledger: the public REST and GraphQL API, with the key the user
// signed in with sent as a Bearer header. The key lives in sessionStorage (this tab's
// session): never in a URL, never sent anywhere but this origin.

import { problemTitle, t } from "./i18n.js";

const KEY = "console.key";

export function key() { return sessionStorage.getItem(KEY); }
export function setKey(value) { sessionStorage.setItem(KEY, value); }
export function forget() { sessionStorage.removeItem(KEY); sessionStorage.removeItem("console.role"); }

/** An error as the user reads it: the problem's title in their language, its rule, detail. */
export class LedgerError extends Error {
  constructor(kind, title, detail, rule, status) {
    super(detail || title);
    this.kind = kind; this.title = problemTitle(kind, title); this.detail = detail;
    this.rule = rule || null; this.status = status || 0;
  }
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${key() || ""}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" });
  } catch (error) {
    throw new LedgerError("network", t("problem"), String(error));
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_error) { data = { detail: text }; }
  if (!response.ok) {
    const p = data || {};
    const kind = (p.type || "").split("/").pop() || `http-${response.status}`;
    throw new LedgerError(kind, p.title || `HTTP ${response.status}`, p.detail || "", p.rule, response.status);
  }
  return data;
}

export function rest(method, path, body) { return call(method, path, body); }

/** A GraphQL query; its first error (with its rule or code) becomes a LedgerError. */
export async function gql(query, variables) {
  const answer = await call("POST", "/graphql", { query, variables: variables || {} });
  if (answer && answer.errors && answer.errors.length) {
    const first = answer.errors[0];
    const ext = first.extensions || {};
    const kind = ext.code === "FORBIDDEN" ? "forbidden" : "graphql";
    throw new LedgerError(kind, t("problem"), first.message, ext.rule, 200);
  }
  return answer.data;
}

/** The roles' pages, as the API enforces them (platforms read no anomalies nor credit). */
export function mayReadOversight(role) { return role === "auditor" || role === "regulator" || role === "admin"; }
export function mayPostFindings(role) { return role === "regulator" || role === "admin"; }
