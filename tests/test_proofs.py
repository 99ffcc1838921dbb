"""Each event's hash and inclusion proof in GraphQL, checked the way an auditor would: by the
bundle's standalone script, against the latest signed checkpoint and the public key alone.

Blocks of 4 links (instead of 256) make a few dozen events use stored subtrees at several
levels, a tail that is no whole block, and a gap in the log's positions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from ledger.integrity import merkle
from ledger.integrity.bundle_verifier import check_proof
from ledger.integrity.checkpoints import check_checkpoints, make_checkpoint, public_pem
from ledger.service import LedgerService
from projections.projectors import Projectors
from tests.builders import cn_patent, licence, party, patent, transfer, uscc
from tests.ledger_fixtures import auth, wait_projected

A, B, C = uscc(80), uscc(81), uscc(82)
EVENTS = """query($after: String) { events(first: 100, after: $after) {
  edges { node { position hash proof { position originatorId version topic state previousLink
    link leafIndex treeSize path
    checkpoint { position previous treeSize head root signedAt keyId signature statement } } } }
  pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merkle, "BLOCK_LEVEL", 2)


def post_deals(client: TestClient, first: int, count: int) -> None:
    number = cn_patent(2016, 1, 800)
    for i in range(first, first + count):
        month = f"{2020 + i // 12}-{i % 12 + 1:02d}"
        response = client.post("/v1/deals", json=licence(f"L{i}", [number], [A], C,
                                                         starts_on=f"{month}-01",
                                                         ends_on=f"{month}-28"))
        assert response.status_code == 201, response.text


def seed(client: TestClient) -> None:
    for pid in (A, B, C):
        party(client, pid)
    patent(client, cn_patent(2016, 1, 800), {A: "1"})
    patent(client, cn_patent(2016, 1, 801), {A: "1"})
    response = client.post("/v1/deals", json=transfer("T0", [cn_patent(2016, 1, 801)], [A],
                                                      {B: "1"}, "2020-01-01"))
    assert response.status_code == 201, response.text


def events(client: TestClient, projectors: Projectors) -> list[dict[str, Any]]:
    wait_projected(projectors, client.app.state.service.store.head())  # type: ignore[attr-defined]
    found: list[dict[str, Any]] = []
    after = None
    while True:
        body = client.post("/graphql", headers=auth("auditor"),
                           json={"query": EVENTS, "variables": {"after": after}}).json()
        assert "errors" not in body, body
        page = body["data"]["events"]
        found += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def snake(proof: dict[str, Any]) -> dict[str, Any]:
    from ledger.integrity.bundle_verifier import _snake
    return _snake(proof)  # type: ignore[no-any-return]


def test_every_event_is_proven_against_the_latest_checkpoint(
        client: TestClient, service: LedgerService, projectors: Projectors) -> None:
    key = Ed25519PrivateKey.generate()
    seed(client)
    post_deals(client, 0, 9)
    first = make_checkpoint(service.database_url, key)
    with psycopg.connect(service.database_url, autocommit=True) as conn:  # a gap in positions
        conn.execute("SELECT nextval(pg_get_serial_sequence('ledger_events', 'notification_id'))")
    post_deals(client, 9, 14)
    latest = make_checkpoint(service.database_url, key)
    post_deals(client, 23, 2)  # after the latest checkpoint: linked, not yet provable
    assert first is not None and latest is not None and latest.previous == first.position
    found = events(client, projectors)
    positions = [e["position"] for e in found]
    assert len(found) == 31 and positions != list(range(1, 32))  # the gap is there
    with psycopg.connect(service.database_url) as conn:
        links = {p: bytes(h) for p, h in conn.execute("SELECT position, hash FROM ledger_chain")}
    assert latest.tree_size == 29 and latest.root == merkle.merkle_root(
        links[p] for p in sorted(links) if p <= latest.position)
    for leaf_index, event in enumerate(found):
        assert event["hash"] == links[event["position"]].hex()
        if event["position"] > latest.position:
            assert event["proof"] is None
            continue
        proof = event["proof"]
        assert proof["leafIndex"] == leaf_index and proof["treeSize"] == 29
        assert proof["checkpoint"]["position"] == latest.position  # the latest, for old too
        assert check_proof(snake(proof), key.public_key()) is None, event["position"]
    assert check_checkpoints(service.database_url, key.public_key()) == []


def test_a_proof_checks_offline_and_a_doctored_one_does_not(
        client: TestClient, service: LedgerService, projectors: Projectors,
        tmp_path: Path) -> None:
    """The bundle's script, run with plain Python (`-I`) on a proof saved from GraphQL."""
    import base64

    key = Ed25519PrivateKey.generate()
    seed(client)
    post_deals(client, 0, 6)
    assert make_checkpoint(service.database_url, key) is not None
    proof = events(client, projectors)[4]["proof"]
    (tmp_path / "key.pem").write_bytes(public_pem(key))
    script = Path(__file__).parents[1] / "ledger" / "integrity" / "bundle_verifier.py"

    def check(doctored: dict[str, Any], name: str) -> subprocess.CompletedProcess[str]:
        (tmp_path / name).write_text(json.dumps(doctored))
        return subprocess.run([sys.executable, "-I", str(script), "--proof",
                               str(tmp_path / name), "--public-key", str(tmp_path / "key.pem")],
                              capture_output=True, text=True, timeout=60)

    good = check(proof, "proof.json")
    assert good.returncode == 0 and "the proof holds: event" in good.stdout, good.stdout
    state = base64.b64decode(proof["state"]).replace(b'"', b"'", 1)
    changes = {
        "state": ({**proof, "state": base64.b64encode(state).decode()}, "give its link"),
        "path": ({**proof, "path": [proof["path"][0][::-1], *proof["path"][1:]]},
                 "signed root"),
        "leaf": ({**proof, "leafIndex": proof["leafIndex"] + 1}, "signed root"),
        "root": ({**proof, "checkpoint": {**proof["checkpoint"], "root": "00" * 32}},
                 "signed root"),
    }
    for name, (doctored, problem) in changes.items():
        bad = check(doctored, f"{name}.json")
        assert bad.returncode == 1 and problem in bad.stdout, (name, bad.stdout)
    other = Ed25519PrivateKey.generate()
    (tmp_path / "key.pem").write_bytes(public_pem(other))
    assert "signature does not verify" in check(proof, "proof.json").stdout


def test_a_stored_subtree_altered_by_hand_is_caught_not_trusted(
        client: TestClient, service: LedgerService, projectors: Projectors) -> None:
    """The stored subtrees only speed things up: a proof built on an altered one fails its
    check, and a checkpoint signed over one is reported by `verify`'s recomputation."""
    key = Ed25519PrivateKey.generate()
    seed(client)
    post_deals(client, 0, 6)
    assert make_checkpoint(service.database_url, key) is not None
    with psycopg.connect(service.database_url) as conn:
        conn.execute("ALTER TABLE ledger_merkle DISABLE TRIGGER USER")
        conn.execute("UPDATE ledger_merkle SET hash = sha256(hash) WHERE level = 3 AND idx = 0")
        conn.execute("ALTER TABLE ledger_merkle ENABLE TRIGGER USER")
    post_deals(client, 6, 1)
    assert make_checkpoint(service.database_url, key) is not None
    proofs = [e["proof"] for e in events(client, projectors)]
    failing = [p["position"] for p in proofs if check_proof(snake(p), key.public_key())]
    # The new checkpoint's root was built on the altered subtree of leaves 0-7: their own
    # paths climb to its true hash, so they miss the signed root (the leaves after it, with
    # the altered hash as their sibling, reach it: only the recomputation below can tell).
    assert failing == [p["position"] for p in proofs if p["leafIndex"] < 8], failing
    problems = check_checkpoints(service.database_url, key.public_key())
    assert any("do not give the signed Merkle root" in p for p in problems), problems
