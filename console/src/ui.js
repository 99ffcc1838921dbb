// Small DOM helpers: elements built with textContent only (no HTML strings, so no injection),
// tables, a progress indicator and errors in the user's language.

import { rule, t } from "./i18n.js";

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A table: `columns` are [label, (row) => cell]. */
export function table(columns, rows, caption) {
  if (!rows.length) return h("p", { className: "empty" }, t("noRows"));
  return h("table", {},
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))));
}

export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { className: "field" }, h("label", { for: id }, label), input);
}

export function busy() {
  return h("p", { className: "busy", role: "status", "aria-live": "polite" }, h("span", { className: "spinner", "aria-hidden": "true" }), t("loading"));
}

export function showError(error) {
  const title = error.title || t("problem");
  return h("div", { className: "error", role: "alert" },
    h("strong", {}, title), error.rule ? h("span", { className: "rule" }, ` [${rule(error.rule)}]`) : null,
    error.detail ? h("p", {}, error.detail) : null);
}

/** Runs `load` with a progress indicator in `target`, then shows what it returns or its error. */
export async function withProgress(target, load) {
  target.replaceChildren(busy());
  target.setAttribute("aria-busy", "true");
  try {
    const shown = await load();
    target.replaceChildren(...[].concat(shown));
  } catch (error) {
    target.replaceChildren(showError(error));
  } finally {
    target.removeAttribute("aria-busy");
  }
}

export function link(href, text) { return h("a", { href }, text); }

export function patentLink(number) { return link(`#/patent?number=${encodeURIComponent(number)}`, number); }
export function partyLink(id, name) { return link(`#/party?id=${encodeURIComponent(id)}`, name || id); }

export function input(attrs) { return h("input", { type: "text", ...attrs }); }

export function select(options, value, attrs) {
  return h("select", attrs || {}, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

export function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), ...children);
}

/** A filter or search form that, when sent, puts its filled fields in the page's route (so
 * the page can be bookmarked and the browser's back button steps through searches). */
export function routeForm(form, page, adjust) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) query.set(k, v);
    if (adjust) adjust(query);
    location.hash = `#/${page}?${query}`;
  });
  return form;
}
