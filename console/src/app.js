// The console: sign-in, the language switch, navigation by role, and the page router.
// Pages live in their own modules and read the ledger through api.js only.

import { forget, key, rest, setKey } from "./api.js";
import { lang, setLang, t, term } from "./i18n.js";
import { h, showError } from "./ui.js";
import { anomaliesPage } from "./anomalies.js";
import { patentPage } from "./patent.js";
import { partyPage } from "./party.js";
import { pledgesPage } from "./pledges.js";
import { indicatorsPage } from "./indicators.js";
import { healthPage } from "./health.js";

const PAGES = [
  ["anomalies", anomaliesPage, true], ["patent", patentPage, false], ["party", partyPage, false],
  ["pledges", pledgesPage, false], ["indicators", indicatorsPage, false], ["health", healthPage, false],
];

function role() { return sessionStorage.getItem("console.role"); }

function oversight(r) { return r === "auditor" || r === "regulator" || r === "admin"; }

function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [name, query] = raw.split("?");
  return { name: name || "", params: new URLSearchParams(query || "") };
}

function chrome() {
  document.title = `${t("title")} · patent-ledger`;
  document.getElementById("title").textContent = t("title");
  document.getElementById("skip").textContent = t("skip");
  document.getElementById("lang-label").textContent = t("language");
  document.getElementById("lang").value = lang() === "en" ? "en" : "zh";
  const out = document.getElementById("sign-out");
  out.textContent = t("signOut");
  out.hidden = !key();
  document.getElementById("who").textContent = role() ? `${t("signedInAs")}: ${term(role())}` : "";
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav"));
  const current = route().name;
  nav.replaceChildren(key() ? h("ul", {},
    PAGES.filter(([, , needs]) => !needs || oversight(role())).map(([name]) =>
      h("li", {}, h("a", { href: `#/${name}`, "aria-current": current === name ? "page" : null, id: `nav-${name}` }, t(name)))),
    h("li", {}, h("a", { href: "/graphql" }, t("graphiql"))),
    h("li", {}, h("a", { href: "/docs" }, t("apiDocs")))) : "");
}

function signInForm(main) {
  const field = h("input", { type: "password", id: "api-key", autocomplete: "off", required: true, minlength: 16 });
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { id: "sign-in", className: "card" },
    h("h2", {}, t("signIn")),
    h("label", { for: "api-key" }, t("apiKey")), field,
    h("p", { className: "hint" }, t("keyHint")),
    h("button", { type: "submit" }, t("signIn")), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setKey(field.value.trim());
    status.replaceChildren(h("p", { role: "status" }, t("working")));
    try {
      const me = await rest("GET", "/v1/whoami");
      sessionStorage.setItem("console.role", me.role);
      location.hash = oversight(me.role) ? "#/anomalies" : "#/patent";
      render();
    } catch (error) {
      forget();
      status.replaceChildren(showError(error));
    }
  });
  main.replaceChildren(form);
  field.focus();
}

function render() {
  chrome();
  const main = document.getElementById("main");
  if (!key()) { signInForm(main); return; }
  const { name, params } = route();
  const page = PAGES.find(([n]) => n === name);
  if (!page) { location.hash = oversight(role()) ? "#/anomalies" : "#/patent"; return; }
  const [, show, needs] = page;
  if (needs && !oversight(role())) {
    main.replaceChildren(h("h2", {}, t(name)), h("p", { className: "error", role: "alert" }, t("notPermitted")));
    return;
  }
  main.replaceChildren();
  show(main, params, role());
}

document.getElementById("lang").addEventListener("change", (event) => { setLang(event.target.value); render(); });
document.getElementById("sign-out").addEventListener("click", () => { forget(); location.hash = ""; render(); });
window.addEventListener("hashchange", render);
setLang(lang() === "en" ? "en" : "zh");
render();
