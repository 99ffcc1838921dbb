// Small DOM helpers: elements built with textContent only (no HTML strings, so no injection),
// tables, a progress indicator and errors in the user's language.

import { fill, rule, t } from "./i18n.js";

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
  return h("div", { className: "field" }, h("label", { for: id }, label), input, input.extras || null);
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

// Dates are typed as ISO text, not `<input type=date>`, whose face follows the browser's
// locale (mm/dd/yyyy in an en-US Chromium): the console reads YYYY-MM-DD in both languages.
const ISO_DATE = "\\d{4}-\\d{2}-\\d{2}";
const ISO_MOMENT = "\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2})?Z?";

/** A real calendar day written YYYY-MM-DD (2022-02-30 is not one). */
export function isIsoDate(text) {
  if (!new RegExp(`^${ISO_DATE}$`).test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text;
}

/** A moment written YYYY-MM-DD HH:MM[:SS], read as UTC (as the console shows moments). */
export function isoMomentValue(text) {
  if (!new RegExp(`^${ISO_MOMENT}$`).test(text) || !isIsoDate(text.slice(0, 10))) return null;
  const [hh, mm, ss] = text.slice(11).replace("Z", "").split(":").map(Number);
  if (hh > 23 || mm > 59 || (ss || 0) > 59) return null;
  return `${text.slice(0, 10)}T${text.slice(11, 16)}:${String(ss || 0).padStart(2, "0")}Z`;
}

function checkedText(attrs, valid, hintKey, messageKey) {
  const id = attrs.id || `f-${attrs.name}-${Math.random().toString(36).slice(2, 7)}`;
  const field = h("input", { type: "text", inputmode: "numeric", autocomplete: "off", spellcheck: "false",
    placeholder: hintKey === "isoHint" ? "YYYY-MM-DD" : "YYYY-MM-DD HH:MM:SS", ...attrs, id,
    "aria-describedby": `${id}-hint ${id}-error`, className: "iso" });
  const hint = h("span", { className: "hint", id: `${id}-hint` }, t(hintKey));
  const error = h("span", { className: "field-error", id: `${id}-error`, "aria-live": "polite" });
  const check = () => {
    const value = field.value.trim();
    const bad = value !== "" && !valid(value);
    field.setCustomValidity(bad ? t(messageKey) : "");
    field.setAttribute("aria-invalid", bad ? "true" : "false");
    error.textContent = bad ? t(messageKey) : "";
    return !bad;
  };
  field.addEventListener("change", check);
  field.addEventListener("blur", check);
  field.addEventListener("input", () => { if (error.textContent) check(); });
  field.addEventListener("invalid", check);
  field.check = check;
  field.extras = [hint, error];
  return field;
}

/** A date field: ISO text, checked as a real day, its message in the user's language. */
export function dateInput(attrs) { return checkedText(attrs, isIsoDate, "isoHint", "badDate"); }

/** A moment field (asKnownAt): ISO text in UTC. */
export function momentInput(attrs) { return checkedText(attrs, (v) => isoMomentValue(v) !== null, "momentHint", "badMoment"); }

/** How many rows a list asks for at a time: the route's `rows` (1 to 100, the API's bound). */
export function pageRows(params, fallback) {
  const asked = Number.parseInt(params.get("rows") || "", 10);
  return Number.isInteger(asked) && asked >= 1 && asked <= 100 ? asked : fallback;
}

/** "12 of 40 shown" under a paged list. */
export function shownOf(shown, total) { return h("p", { className: "hint shown" }, fill("rowsShown", { shown, total })); }

/** A "more" button that runs `next` once (the list's next page from the API's cursor). */
export function moreButton(next) {
  const more = h("button", { type: "button", className: "more" }, t("more"));
  more.addEventListener("click", () => { more.remove(); next(); });
  return more;
}

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
    const fields = [...form.querySelectorAll("input.iso")];
    if (!fields.map((f) => f.check()).every(Boolean)) { fields.find((f) => !f.check()).focus(); return; }
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) query.set(k, v);
    if (adjust) adjust(query);
    location.hash = `#/${page}?${query}`;
  });
  return form;
}

/** A table read a page at a time: `load(after)` answers { rows, next, total } (next: the API's
 * cursor for the following page, or null at the end; total when the API counts the list).
 * Rows of later pages are appended under the same header. */
export function pagedTable(columns, load, attrs) {
  const body = h("tbody", {});
  const grid = h("table", {}, h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))), body);
  const footer = h("div", { className: "pager" });
  const holder = h("div", attrs || {}, grid, footer);
  let shown = 0;
  const page = (after) => withProgress(footer, async () => {
    const { rows, next, total } = await load(after);
    body.append(...rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))));
    shown += rows.length;
    grid.hidden = shown === 0;
    return [shown === 0 ? h("p", { className: "empty" }, t("noRows")) : null,
      shown && total !== undefined && total !== null ? shownOf(shown, total) : null,
      next ? moreButton(() => page(next)) : null].filter(Boolean);
  });
  page(null);
  return holder;
}
