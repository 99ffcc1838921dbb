// Ledger health: the log's head, each projection's lag, the last signed checkpoint and whether
// `patent-ledger verify` last passed.

import { gql } from "./api.js";
import { isoMoment, t } from "./i18n.js";
import { h, section, table, withProgress } from "./ui.js";

const QUERY = `query { ledger { position projections { name position lag updatedAt error }
  checkpoint { position treeSize root signedAt keyId }
  verification { verifiedAt holds events linked problem } } }`;

export function healthPage(main) {
  const body = h("div", { id: "health-body" });
  const refresh = h("button", { type: "button" }, t("refresh"));
  refresh.addEventListener("click", () => show(body));
  main.append(h("h2", {}, t("health")), refresh, body);
  show(body);
}

function show(body) {
  withProgress(body, async () => {
    const { ledger } = await gql(QUERY);
    const cp = ledger.checkpoint;
    const v = ledger.verification;
    return [
      h("dl", { className: "facts" }, h("dt", {}, t("headPosition")), h("dd", { id: "head" }, ledger.position)),
      section(t("projection"), table([[t("projection"), (p) => p.name], [t("position"), (p) => p.position],
        [t("lag"), (p) => p.lag], [t("updatedAt"), (p) => isoMoment(p.updatedAt)], [t("error"), (p) => p.error || "—"]], ledger.projections)),
      section(t("checkpoint"), cp ? h("dl", { className: "facts", id: "checkpoint" },
        h("dt", {}, t("position")), h("dd", {}, cp.position), h("dt", {}, t("treeSize")), h("dd", {}, cp.treeSize),
        h("dt", {}, t("signedAt")), h("dd", {}, isoMoment(cp.signedAt)), h("dt", {}, t("keyId")), h("dd", {}, cp.keyId),
        h("dt", {}, t("root")), h("dd", {}, h("code", { className: "hash" }, cp.root))) : h("p", { className: "empty" }, t("noRows"))),
      section(t("verification"), v ? h("dl", { className: "facts", id: "verification" },
        h("dt", {}, t("status")), h("dd", { className: v.holds ? "ok" : "bad" }, v.holds ? t("passed") : t("failed")),
        h("dt", {}, t("verifiedAt")), h("dd", {}, isoMoment(v.verifiedAt)), h("dt", {}, t("events")), h("dd", {}, v.events),
        v.problem ? [h("dt", {}, t("problem")), h("dd", {}, v.problem)] : null) : h("p", { id: "verification" }, t("neverVerified")))];
  });
}
