"""Importing the real USPTO daily file (ad20160101.xml, 199 records, 578 properties).

Expectations were counted by hand from the XML: conveyance texts, which properties carry a
granted patent (kind B/E/S), and who conveyed what to whom in which record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from importers.names import normalise, party_id, party_kind
from importers.uspto import ImportReport, UsptoImport
from importers.uspto_xml import AssignmentRecord, BrokenRecord, read_records
from ledger.law.values import PartyKind
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.ledger_fixtures import auth, wait_projected

# A copy of ../shared/data/uspto/ad20160101.xml (public USPTO data), kept with the tests.
FILE = Path(__file__).resolve().parent / "data" / "ad20160101.xml"

PATENT = """query($n: String!) { patent(number: $n) {
  owners { share party { id name kind } }
  pledge { dealId status securedAmount { amount } dueOn registeredOn
           pledgee { id } pledgors { id } }
  history { edges { dealId kind payload } } } }"""


def run(service: LedgerService, *paths: Path) -> ImportReport:
    return UsptoImport(service).run(list(paths))


def patent(client: TestClient, projectors: Projectors, number: str) -> dict[str, Any]:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    body = client.post("/graphql", headers=auth("auditor"),
                       json={"query": PATENT, "variables": {"n": number}}).json()
    assert "errors" not in body, body
    return body["data"]["patent"]


def owners(found: dict[str, Any]) -> set[str]:
    return {o["party"]["id"] for o in found["owners"]}


# --- reading the file (no database) -------------------------------------------------------


def test_the_file_reads_as_199_records_by_conveyance() -> None:
    records = [r for r in read_records(FILE)]
    assert all(isinstance(r, AssignmentRecord) for r in records)
    assert len(records) == 199
    assert sum(len(r.properties) for r in records if isinstance(r, AssignmentRecord)) == 578
    first = records[0]
    assert isinstance(first, AssignmentRecord)
    assert (first.reel, first.frame, first.recorded_on.isoformat()) == (37388, 92, "2015-12-30")
    assert first.executed_on.isoformat() == "2006-03-30"  # the last of three signatures
    assert first.properties[0].granted is not None
    assert first.properties[0].granted.number == "9219817"


def test_names_are_normalised_conservatively() -> None:
    assert normalise("SOUNDBITE COMMUNICATIONS, INC.") == "SOUNDBITE COMMUNICATIONS INC"
    assert party_id("Soundbite Communications Incorporated") == \
        party_id("SOUNDBITE COMMUNICATIONS, INC.")
    # Two legal persons: one conveyed its patents to the other (reel 37391 frame 382).
    assert party_id("COEN COMPANY, INC") != party_id("COEN COMPANY, LLC")
    assert normalise("HENKEL AG & CO. KGAA") == "HENKEL AG AND CO KGAA"
    assert party_kind("WEINSTEIN, DAMON") is PartyKind.INDIVIDUAL
    assert party_kind("WELLS FARGO BANK, N.A.") is PartyKind.BANK
    assert party_kind("DANA-FARBER CANCER INSTITUTE, INC.") is PartyKind.RESEARCH_INSTITUTE


# --- importing ----------------------------------------------------------------------------


def test_counts_by_conveyance_and_what_was_left_out(service: LedgerService) -> None:
    report = run(service, FILE)
    assert report.records_read == 199
    assert dict(report.by_conveyance) == {
        "assignment": 140, "merger": 35, "security": 13, "release": 7, "nunc_pro_tunc": 2,
        "licence": 1, "name_change": 1}
    assert report.pending_properties == 578 - 399  # properties with no granted patent
    assert report.broken == []
    skipped = dict(report.skipped)
    assert "pending application" in skipped["37388/705"]  # Dana-Farber: applications only
    assert "expired" in skipped["37390/886"]  # a design patent whose term had run out
    assert report.deals_stored + len(report.skipped) == 199
    assert report.deals_stored > 90


def test_a_refinancing_keeps_the_new_bank_and_reports_the_old_release(
        service: LedgerService, client: TestClient, projectors: Projectors) -> None:
    """LOGICNOW: a security interest to Wells Fargo (37389/696) and a release by Pacific
    Western Bank (37391/918), both executed 2015-12-31, on the same three patents."""
    report = run(service, FILE)
    skipped = dict(report.skipped)
    assert "PACIFIC WESTERN BANK" in skipped["37391/918"]  # its interest predates the file
    for number in ("US9232427", "US9036471", "US9215152"):
        found = patent(client, projectors, number)
        assert owners(found) == {party_id("LOGICNOW LIMITED")}
        pledge = found["pledge"]
        assert pledge["dealId"] == "USPTO-37389-696"
        assert pledge["status"] == "active"
        assert pledge["pledgee"]["id"] == party_id(
            "WELLS FARGO BANK, NATIONAL ASSOCIATION, LONDON BRANCH, AS AGENT")
        assert pledge["securedAmount"] is None and pledge["dueOn"] is None  # not disclosed
    # US9232427 was granted on 2016-01-05: the interest binds the patent from its grant.
    assert patent(client, projectors, "US9232427")["pledge"]["registeredOn"] == "2016-01-05"


def test_a_chain_of_conveyances_ends_with_the_right_owner(
        service: LedgerService, client: TestClient, projectors: Projectors) -> None:
    """Coen Company, Inc -> Coen Company, LLC (37391/382, 2014-12-30) -> by merger John
    Zink Company, LLC (37391/427, 2014-12-31), five granted patents."""
    run(service, FILE)
    for number in ("US6027330", "US6062848", "US7422427", "US8794960", "US8118588"):
        found = patent(client, projectors, number)
        assert owners(found) == {party_id("JOHN ZINK COMPANY, LLC")}
        deals = [e["dealId"] for e in found["history"]["edges"] if e["dealId"]]
        assert deals == ["USPTO-37391-382", "USPTO-37391-427"]
        merger = found["history"]["edges"][-1]["payload"]
        assert merger["consideration"] == "merger"
        assert merger["signed_on"] == "2014-12-31" and merger["registered_on"] == "2015-12-31"
    # Survivalink: inventors (2000) then Cardiac Science (2002), both before the patent was
    # granted on 2008-12-09: the chain takes effect at grant, in recorded order.
    found = patent(client, projectors, "US7463923")
    assert owners(found) == {party_id("CARDIAC SCIENCE, INC.")}


def test_current_owners_of_a_sample_of_properties(
        service: LedgerService, client: TestClient, projectors: Projectors) -> None:
    run(service, FILE)
    expected = {
        "US9219817": "SOUNDBITE COMMUNICATIONS, INC.",  # 37388/92, three inventors
        "US8268887": "XGENE PHARMACEUTICAL INC.",  # Xu -> Kyphia -> Xgene, one day
        "US6996847": "TRANSFORMATIONAL LICENSING, LLC",  # two nunc pro tunc assignments
    }
    for number, owner in expected.items():
        found = patent(client, projectors, number)
        assert owners(found) == {party_id(owner)}, number
        assert found["owners"][0]["party"]["name"] == owner  # the raw name is kept


def test_importing_again_changes_nothing(service: LedgerService) -> None:
    first = run(service, FILE)
    head = service.store.head()
    again = run(service, FILE)
    assert first.events_written > 0
    assert again.events_written == 0
    assert again.deals_stored == first.deals_stored
    assert service.store.head() == head


def test_a_broken_record_is_reported_and_the_rest_imported(
        service: LedgerService, tmp_path: Path) -> None:
    text = FILE.read_text()
    broken = tmp_path / "broken.xml"
    # Record 37388/92: its recorded date is no date.
    broken.write_text(text.replace("<date>20151230</date>", "<date>2015-13-45</date>", 1))
    report = run(service, broken)
    assert len(report.broken) == 1
    where, reason = report.broken[0]
    assert "record 1 (37388/92)" in where and "recorded date" in reason
    assert report.records_read == 199
    assert report.deals_stored + len(report.skipped) == 198
    assert "USPTO-37388-92" not in service.writer._register.deals  # type: ignore[union-attr]


def test_a_truncated_file_imports_what_it_could_read(
        service: LedgerService, tmp_path: Path) -> None:
    text = FILE.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("<reel-no>37389</reel-no>")])
    report = run(service, cut)
    assert report.broken and "not well-formed" in report.broken[-1][1]
    assert 0 < report.records_read < 199
    assert report.deals_stored > 0


def test_read_records_reports_a_record_without_frame(tmp_path: Path) -> None:
    text = FILE.read_text().replace("<frame-no>92</frame-no>", "", 1)
    path = tmp_path / "noframe.xml"
    path.write_text(text)
    first = next(iter(read_records(path)))
    assert isinstance(first, BrokenRecord) and "frame" in first.reason


def test_a_merger_is_not_counted_as_a_transfer(
        service: LedgerService, client: TestClient, projectors: Projectors) -> None:
    """John Zink's merger (37391/427, effective 2014-12-31) changes the owner's identity; the
    assignment the day before (37391/382) is a transfer of the same five patents."""
    run(service, FILE)
    wait_projected(projectors, service.store.head())
    query = """{ indicators(from: "2014-12-01", to: "2014-12-31", granularity: "month",
                             excludeFlagged: false) { indicator dimension count patents } }"""
    rows = client.post("/graphql", headers=auth("auditor"), json={"query": query}).json()
    k1 = [r for r in rows["data"]["indicators"] if r["indicator"] == "K1"]
    # Issue 17: K1 splits transfers by the right moved; these were granted patents.
    assert k1 == [{"indicator": "K1", "dimension": "patent_right", "count": 1, "patents": 5},
                  {"indicator": "K1", "dimension": "transfers", "count": 1, "patents": 5}]


def test_the_import_command_shows_progress_and_a_report(
        service: LedgerService, database_url: str, tmp_path: Path) -> None:
    """`patent-ledger import uspto FILE` beside a running writer (the service fixture)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LEDGER_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "api.cli", "import", "uspto", str(FILE)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "[import uspto]" in done.stderr and "100%" in done.stderr
    assert "records read: 199 (assignment 140, licence 1, merger 35" in done.stdout
    assert "skipped 37391/918: no security interest of" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "api.cli", "import", "uspto",
                              str(tmp_path / "nothing.xml")], env=env, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_a_corrective_assignment_corrects_the_deal_it_names(
        service: LedgerService, client: TestClient, projectors: Projectors,
        tmp_path: Path) -> None:
    """A corrective record naming reel 37388 frame 92 (the Soundbite assignment, imported
    first) moves the patent to the corrected assignee as a correction of that deal."""
    text = FILE.read_text()
    head, _, rest = text.partition("<patent-assignments>")
    first = rest[: rest.index("</patent-assignment>") + len("</patent-assignment>")]
    corrective = (first.replace("<reel-no>37388</reel-no>", "<reel-no>37400</reel-no>")
                  .replace("<frame-no>92</frame-no>", "<frame-no>1</frame-no>")
                  .replace("ASSIGNMENT OF ASSIGNORS INTEREST (SEE DOCUMENT FOR DETAILS).",
                           "CORRECTIVE ASSIGNMENT TO CORRECT THE ASSIGNEE NAME PREVIOUSLY "
                           "RECORDED ON REEL 037388 FRAME 0092. ASSIGNOR(S) HEREBY CONFIRMS "
                           "THE ASSIGNMENT.")
                  .replace("SOUNDBITE COMMUNICATIONS, INC.", "SOUNDBITE COMMUNICATIONS LLC")
                  .replace("<date>20151230</date>", "<date>20160110</date>"))
    path = tmp_path / "corrective.xml"
    path.write_text(head + "<patent-assignments>" + first + corrective
                    + "</patent-assignments></us-patent-assignments>")
    report = run(service, path)
    assert report.deals_stored == 2, report.skipped
    found = patent(client, projectors, "US9219817")
    assert owners(found) == {party_id("SOUNDBITE COMMUNICATIONS LLC")}
    correction = found["history"]["edges"][-1]
    assert correction["dealId"] == "USPTO-37400-1"
    assert correction["payload"]["corrects"] == "USPTO-37388-92"
    assert correction["payload"]["from_parties"] == [party_id("SOUNDBITE COMMUNICATIONS, INC.")]


def test_a_record_naming_its_assignor_as_assignee_is_reported_not_stored(
        service: LedgerService, tmp_path: Path) -> None:
    """A transfer to its own givers is refused by the shape (ledger/law/data_rules.py) inside the
    writer, where the importer builds the deal: it is reported, and the rest is imported."""
    import re

    blocks = FILE.read_text().split("<patent-assignment>")
    changed = 0
    for i, block in enumerate(blocks):
        assignors = re.findall(r"<patent-assignor>\s*<name>([^<]*)</name>", block)
        if "ASSIGNMENT OF ASSIGNOR" in block and len(assignors) == 1:
            blocks[i] = re.sub(r"(<patent-assignee>\s*<name>)[^<]*(</name>)",
                               lambda m, a=assignors[0]: m.group(1) + a + m.group(2), block)
            changed += 1
    path = tmp_path / "self.xml"
    path.write_text("<patent-assignment>".join(blocks))
    report = run(service, path)
    to_themselves = [key for key, reason in report.skipped if "receivers are the givers" in reason]
    assert changed and to_themselves
    assert report.deals_stored > 0
    assert not any(k in service.writer._register.deals  # type: ignore[union-attr]
                   for k in (f"USPTO-{key.replace('/', '-')}" for key in to_themselves))
