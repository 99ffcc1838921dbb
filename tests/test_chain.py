"""Tamper evidence: every stored event is linked by SHA-256 to the one before it, and
`patent-ledger verify` names the first event that was changed, deleted or moved.

Tampering is done as a database superuser would: with the append-only triggers switched off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.integrity.chain import GENESIS, link, links
from ledger.integrity.verify import verify_log
from ledger.service import LedgerService
from tests.builders import cn_patent, licence, party, patent, transfer, uscc

A, B, C = uscc(70), uscc(71), uscc(72)


def seed(client: TestClient) -> list[int]:
    """Ten events; returns their positions."""
    for pid in (A, B, C):
        party(client, pid)
    numbers = [cn_patent(2016, 1, 700 + i) for i in range(3)]
    for number in numbers:
        patent(client, number, {A: "1"})
    for i, number in enumerate(numbers):
        response = client.post("/v1/deals", json=transfer(f"T{i}", [number], [A], {B: "1"},
                                                          f"2020-0{i + 1}-01"))
        assert response.status_code == 201, response.text
    response = client.post("/v1/deals", json=licence("L1", [numbers[0]], [B], C))
    assert response.status_code == 201, response.text
    with psycopg.connect(client.app.state.service.database_url) as conn:  # type: ignore[attr-defined]
        return [r[0] for r in conn.execute(
            "SELECT notification_id FROM ledger_events ORDER BY 1").fetchall()]


def tamper(database_url: str, *statements: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER USER")
        conn.execute("ALTER TABLE ledger_chain DISABLE TRIGGER USER")
        for statement in statements:
            conn.execute(statement)
        conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER USER")
        conn.execute("ALTER TABLE ledger_chain ENABLE TRIGGER USER")


def test_every_event_is_linked_to_the_one_before(client: TestClient,
                                                 service: LedgerService) -> None:
    positions = seed(client)
    with psycopg.connect(service.database_url) as conn:
        rows = conn.execute("SELECT notification_id, originator_id, originator_version, topic,"
                            " state FROM ledger_events ORDER BY 1").fetchall()
        stored = conn.execute("SELECT position, hash FROM ledger_chain ORDER BY 1").fetchall()
    recomputed = list(links(GENESIS, [(p, o, v, t, bytes(s)) for p, o, v, t, s in rows]))
    assert [(p, bytes(h)) for p, h in stored] == recomputed
    assert [p for p, _ in stored] == positions
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.events == verdict.linked == len(positions)


@pytest.mark.parametrize("how", ["change", "delete", "swap"])
def test_each_kind_of_tampering_is_found_at_its_event(
        client: TestClient, service: LedgerService, how: str) -> None:
    positions = seed(client)
    target, other = positions[5], positions[8]
    statement = {
        # One space after the JSON: the event reads the same, its bytes do not.
        "change": f"UPDATE ledger_events SET state = state || '\\x20'::bytea "
                  f"WHERE notification_id = {target}",
        "delete": f"DELETE FROM ledger_events WHERE notification_id = {target}",
        "swap": f"UPDATE ledger_events a SET state = b.state, topic = b.topic "
                f"FROM ledger_events b "
                f"WHERE (a.notification_id, b.notification_id) IN "
                f"(({target}, {other}), ({other}, {target}))",
    }[how]
    assert verify_log(service.database_url).holds
    tamper(service.database_url, statement)
    verdict = verify_log(service.database_url)
    assert verdict.broken is not None, f"{how} went unnoticed"
    assert verdict.broken.position == target, verdict  # the first event changed or gone


def test_a_forged_link_breaks_the_next_one(client: TestClient,
                                           service: LedgerService) -> None:
    """Whoever changes an event and recomputes its link still breaks the link after it."""
    positions = seed(client)
    target = positions[5]
    with psycopg.connect(service.database_url) as conn:
        before = conn.execute("SELECT hash FROM ledger_chain WHERE position = %s",
                              (positions[4],)).fetchone()
        row = conn.execute("SELECT originator_id, originator_version, topic, state "
                           "FROM ledger_events WHERE notification_id = %s",
                           (target,)).fetchone()
    assert before is not None and row is not None
    forged_state = bytes(row[3]) + b" "
    forged = link(bytes(before[0]), target, row[0], row[1], row[2], forged_state)
    tamper(service.database_url,
           f"UPDATE ledger_events SET state = '\\x{forged_state.hex()}'::bytea "
           f"WHERE notification_id = {target}",
           f"UPDATE ledger_chain SET hash = '\\x{forged.hex()}'::bytea "
           f"WHERE position = {target}")
    verdict = verify_log(service.database_url)
    assert verdict.broken is not None and verdict.broken.position == positions[6]


def test_the_verify_command_reports_and_exits_by_the_verdict(
        client: TestClient, service: LedgerService, tmp_path: Path) -> None:
    positions = seed(client)
    env = {**os.environ, "LEDGER_DATABASE_URL": service.database_url,
           "LEDGER_DATA_DIR": str(tmp_path)}  # no signing key, no checkpoints yet
    command = [sys.executable, "-m", "api.cli", "verify"]
    clean = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stderr
    assert f"the chain holds: {len(positions)} events" in clean.stdout
    assert "[verify]" in clean.stderr
    tamper(service.database_url, f"UPDATE ledger_events SET state = state || '\\x20'::bytea "
                                 f"WHERE notification_id = {positions[3]}")
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1
    assert f"BROKEN at position {positions[3]}" in broken.stdout


def test_events_stored_before_the_chain_are_linked_at_the_next_write(
        client: TestClient, service: LedgerService) -> None:
    positions = seed(client)
    tamper(service.database_url, "DELETE FROM ledger_chain")  # a log from before the chain
    assert verify_log(service.database_url).linked == 0
    response = client.post("/v1/deals", json=transfer("T9", [cn_patent(2016, 1, 700)], [B],
                                                      {A: "1"}, "2021-01-01"))
    assert response.status_code == 201, response.text
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == len(positions) + 1


def test_the_databases_links_follow_the_chains_definition_for_every_kind_of_row(
        client: TestClient, service: LedgerService) -> None:
    """The links the writer stores (ledger/storage/group_append.py) are the chain's definition
    (ledger/integrity/chain.py) recomputed from the stored rows, for later stream versions, non-ASCII
    text and long states too."""
    party(client, A, name="杭州某某科技有限公司 " * 40)  # a long state, multi-byte text
    number = cn_patent(2016, 1, 720)
    patent(client, number, {A: "1"})
    for fact, body in (("status", {"status": "preserved", "effective_on": "2020-01-01"}),
                       ("inventors", {"inventors": ["李四", "Zoë"], "effective_on": "2020-02-01"}),
                       ("status", {"status": "preservation_lifted",
                                   "effective_on": "2020-03-01"})):
        response = client.post(f"/v1/patents/{number}/{fact}", json=body)
        assert response.status_code == 201, response.text
    with psycopg.connect(service.database_url) as conn:
        rows = conn.execute("SELECT notification_id, originator_id, originator_version, topic,"
                            " state FROM ledger_events ORDER BY 1").fetchall()
        stored = conn.execute("SELECT position, hash FROM ledger_chain ORDER BY 1").fetchall()
    assert max(r[2] for r in rows) == 4  # the patent's stream: registered, then three facts
    recomputed = list(links(GENESIS, [(p, o, v, t, bytes(s)) for p, o, v, t, s in rows]))
    assert [(p, bytes(h)) for p, h in stored] == recomputed


def test_a_write_that_stores_nothing_still_links_what_was_left_unlinked(
        client: TestClient, service: LedgerService) -> None:
    positions = seed(client)
    tamper(service.database_url, "DELETE FROM ledger_chain")
    refused = client.post("/v1/deals", json=transfer("T9", [cn_patent(2016, 1, 700)], [C],
                                                     {A: "1"}, "2021-01-01"))
    assert refused.status_code == 409, refused.text  # C owns nothing: INV-2
    verdict = verify_log(service.database_url)
    assert verdict.holds and verdict.linked == verdict.events == len(positions)


# --- signed checkpoints ------------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_the_root_of_every_link(
        client: TestClient, service: LedgerService) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.integrity.checkpoints import check_checkpoints, make_checkpoint
    from ledger.integrity.merkle import merkle_root

    key = Ed25519PrivateKey.generate()
    positions = seed(client)
    first = make_checkpoint(service.database_url, key)
    assert first is not None and first.position == positions[-1] and first.previous == 0
    assert make_checkpoint(service.database_url, key) is None  # nothing new
    response = client.post("/v1/deals", json=transfer("T9", [cn_patent(2016, 1, 700)], [B],
                                                      {A: "1"}, "2021-01-01"))
    assert response.status_code == 201
    second = make_checkpoint(service.database_url, key)
    assert second is not None and second.previous == first.position
    with psycopg.connect(service.database_url) as conn:
        chain = [bytes(h) for (h,) in conn.execute(
            "SELECT hash FROM ledger_chain ORDER BY position").fetchall()]
    assert second.tree_size == len(chain) == 11
    assert second.root == merkle_root(chain) and second.head == chain[-1]
    # Anyone with the public key checks the signature offline, on the statement's bytes.
    key.public_key().verify(second.signature, second.statement())
    assert check_checkpoints(service.database_url, key.public_key()) == []
    other = Ed25519PrivateKey.generate().public_key()
    assert "does not verify" in check_checkpoints(service.database_url, other)[0]


def test_a_cut_tail_and_a_rewritten_history_are_caught_by_the_checkpoint(
        client: TestClient, service: LedgerService) -> None:
    """Deleting the last events with their links leaves a chain that holds, but shorter than
    what was signed; rewriting from some point on with fresh links breaks the signed head."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.integrity.checkpoints import check_checkpoints, make_checkpoint

    key = Ed25519PrivateKey.generate()
    positions = seed(client)
    assert make_checkpoint(service.database_url, key) is not None
    cut = positions[-2:]
    tamper(service.database_url,
           f"DELETE FROM ledger_events WHERE notification_id >= {cut[0]}",
           f"DELETE FROM ledger_chain WHERE position >= {cut[0]}")
    assert verify_log(service.database_url).holds  # the chain alone cannot tell
    problems = check_checkpoints(service.database_url, key.public_key())
    assert any("tail was cut" in p for p in problems), problems
    assert any("not the signed head" in p for p in problems), problems


def test_verify_checks_the_checkpoints_with_the_configured_key(
        client: TestClient, service: LedgerService, tmp_path: Path) -> None:
    seed(client)
    env = {**os.environ, "LEDGER_DATABASE_URL": service.database_url,
           "LEDGER_SIGNING_KEY": str(tmp_path / "key.pem"), "LEDGER_DATA_DIR": str(tmp_path)}
    signed = subprocess.run([sys.executable, "-m", "api.cli", "checkpoint"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert signed.returncode == 0 and "checkpoint signed at position" in signed.stdout, \
        signed.stderr
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0  # the key is private
    ok = subprocess.run([sys.executable, "-m", "api.cli", "verify"], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "every signed checkpoint verifies" in ok.stdout, ok.stdout
    production = subprocess.run([sys.executable, "-m", "api.cli", "serve"],
                                env={**env, "LEDGER_ENV": "production",
                                     "LEDGER_SIGNING_KEY": "", "LEDGER_API_KEYS": "admin:" + "k" * 32},
                                capture_output=True, text=True, timeout=60)
    assert production.returncode == 2 and "LEDGER_SIGNING_KEY" in production.stderr


def test_an_exported_bundle_checks_offline_and_shows_tampering(
        client: TestClient, service: LedgerService, tmp_path: Path) -> None:
    """The bundle's own script, run with plain Python, on the bundle and on altered copies."""
    import json
    import shutil

    seed(client)
    env = {**os.environ, "LEDGER_DATABASE_URL": service.database_url,
           "LEDGER_SIGNING_KEY": str(tmp_path / "key.pem"), "LEDGER_DATA_DIR": str(tmp_path)}
    for command in (["checkpoint"], ["export", "--out", str(tmp_path / "bundle")]):
        done = subprocess.run([sys.executable, "-m", "api.cli", *command], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    bundle = tmp_path / "bundle"
    assert {p.name for p in bundle.iterdir()} == {"events.jsonl", "checkpoints.jsonl",
                                                  "start.json", "public-key.pem",
                                                  "verify_bundle.py", "README.txt"}

    def check(directory: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-I", str(directory / "verify_bundle.py"),
                               str(directory)], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)

    good = check(bundle)
    assert good.returncode == 0 and "the bundle holds: 10 events" in good.stdout, good.stdout
    altered = tmp_path / "altered"
    shutil.copytree(bundle, altered)
    lines = (altered / "events.jsonl").read_text().splitlines()
    event = json.loads(lines[4])
    event["version"] += 1
    lines[4] = json.dumps(event)
    (altered / "events.jsonl").write_text("\n".join(lines) + "\n")
    bad = check(altered)
    assert bad.returncode == 1 and "line 5" in bad.stdout, bad.stdout
    cut = tmp_path / "cut"
    shutil.copytree(bundle, cut)
    original = (bundle / "events.jsonl").read_text().splitlines()
    (cut / "events.jsonl").write_text("\n".join(original[:8]) + "\n")
    assert "signed head" in check(cut).stdout


def test_a_bundle_of_part_of_the_log_checks_against_the_whole_tree(
        client: TestClient, service: LedgerService, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`export --from`: the events after a position, with the links before it as a compact
    range (blocks of 4 here, so stored subtrees and a loose tail both make it up)."""
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.integrity import evidence, merkle
    from ledger.integrity.bundle_verifier import check_bundle
    from ledger.integrity.checkpoints import make_checkpoint

    monkeypatch.setattr(merkle, "BLOCK_LEVEL", 2)
    key = Ed25519PrivateKey.generate()
    positions = seed(client)
    assert make_checkpoint(service.database_url, key) is not None
    for i in range(3):
        response = client.post("/v1/deals", json=licence(
            f"L{i + 2}", [cn_patent(2016, 1, 701)], [B], C, starts_on=f"202{i + 1}-01-01",
            ends_on=f"202{i + 1}-06-30"))
        assert response.status_code == 201, response.text
    last = make_checkpoint(service.database_url, key)
    assert last is not None and last.tree_size == 13
    after = positions[6]  # seven links before: a subtree of 4, then 2 and 1 from the tail
    events, checkpoints = evidence.export_bundle(service.database_url, tmp_path / "part",
                                                 key.public_key(), after)
    assert (events, checkpoints) == (6, 2)  # both checkpoints lie after position 7
    start = json.loads((tmp_path / "part" / "start.json").read_text())
    assert start["tree_size"] == 7 and [level for level, _ in start["parts"]] == [2, 1, 0]
    assert check_bundle(tmp_path / "part") is None
    start["parts"][1][1] = "00" * 32
    (tmp_path / "part" / "start.json").write_text(json.dumps(start))
    assert "do not give the signed root" in str(check_bundle(tmp_path / "part"))
    with pytest.raises(ValueError, match="nothing to export after"):
        evidence.export_bundle(service.database_url, tmp_path / "none", key.public_key(),
                               last.position)
    monkeypatch.setattr(evidence, "MAX_EVENTS", 5)
    with pytest.raises(ValueError, match="at most 5; export it in parts with --from"):
        evidence.export_bundle(service.database_url, tmp_path / "big", key.public_key())
    assert not (tmp_path / "big").exists()
