"""`patent-ledger export`: an evidence bundle that anyone can check offline.

The bundle is a directory:

- `events.jsonl`: every stored event after the start (the first, unless `--from` says
  otherwise) up to the latest signed checkpoint, one JSON object per line (position,
  originator id, version, topic, the stored state as base64, the link);
- `checkpoints.jsonl`: every signed checkpoint in that range (fields, signature);
- `start.json`: where the bundle starts (`--from`): the position before its first event, the
  link there, and the links before it as a compact range of the Merkle tree (a few subtree
  hashes), so the signed roots of the whole log can be recomputed from a part of it;
- `public-key.pem`: the Ed25519 public key that signed them;
- `verify_bundle.py` and `README.txt`: a short script that checks all of it with the Python
  standard library and `cryptography`, and how to run it.

The script recomputes the chain from the start, compares each stored link, and checks
each checkpoint's head, Merkle root and signature: a changed, missing or reordered line, or a
checkpoint signed by another key, makes it exit 1 with the first problem.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.integrity.chain import GENESIS
from ledger.integrity.checkpoints import CHECKPOINT_COLUMNS, checkpoint_from_row, latest
from ledger.integrity.merkle_nodes import prefix

VERIFIER = Path(__file__).with_name("bundle_verifier.py")
PAGE = 5_000
MAX_EVENTS = 2_000_000  # per bundle (about 2 GB): export a long log in parts with --from

README = """Evidence bundle of a patent-ledger event log.

Check it (Python 3.10+ and the `cryptography` package, nothing else):

    python3 verify_bundle.py .

It recomputes every event's SHA-256 link from the first event, compares the stored links, and
checks every checkpoint's head, Merkle root and Ed25519 signature with public-key.pem. Exit 0:
the bundle holds; exit 1: the first problem is printed. The link and checkpoint formats are
written out at the top of verify_bundle.py.

One event's inclusion proof, as the ledger's GraphQL API gives it (`proof` of an event, saved
as JSON), is checked against a signed checkpoint the same way:

    python3 verify_bundle.py --proof proof.json --public-key public-key.pem
"""


def export_bundle(database_url: str, out: Path, public: Ed25519PublicKey, after: int = 0
                  ) -> tuple[int, int]:
    """Write the bundle of the events after position `after` into `out` (created); returns
    (events, checkpoints) written."""
    with psycopg.connect(database_url) as conn:
        last = latest(conn)
        if last is None:
            raise ValueError("no signed checkpoint yet: run `patent-ledger checkpoint` first")
        if after >= last.position:
            raise ValueError(f"nothing to export after position {after}: the latest signed "
                             f"checkpoint is at {last.position}")
        row = conn.execute("SELECT count(*) FROM ledger_events WHERE notification_id > %s "
                           "AND notification_id <= %s", (after, last.position)).fetchone()
        if row is not None and row[0] > MAX_EVENTS:
            raise ValueError(f"{row[0]} events after position {after}: a bundle holds at most "
                             f"{MAX_EVENTS}; export it in parts with --from")
        out.mkdir(parents=True, exist_ok=True)
        _write_start(conn, out, after)
        events = _write_events(conn, out, after, last.position)
        rows = conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints "
                            "WHERE position > %s AND position <= %s ORDER BY position",
                            (after, last.position)).fetchall()
    with (out / "checkpoints.jsonl").open("w") as lines:
        for cp in map(checkpoint_from_row, rows):
            lines.write(json.dumps({
                "position": cp.position, "previous": cp.previous, "tree_size": cp.tree_size,
                "head": cp.head.hex(), "root": cp.root.hex(),
                "signed_at": cp.signed_at.isoformat(), "key_id": cp.key_id,
                "signature": cp.signature.hex()}) + "\n")
    (out / "public-key.pem").write_bytes(
        public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    (out / "verify_bundle.py").write_text(VERIFIER.read_text())
    (out / "README.txt").write_text(README)
    return events, len(rows)


def _write_start(conn: psycopg.Connection, out: Path, after: int) -> None:
    row = conn.execute("SELECT hash FROM ledger_chain WHERE position <= %s "
                       "ORDER BY position DESC LIMIT 1", (after,)).fetchone()
    size, parts = prefix(conn, after)
    (out / "start.json").write_text(json.dumps({
        "after": after, "link": (bytes(row[0]) if row else GENESIS).hex(), "tree_size": size,
        "parts": [[level, digest.hex()] for level, digest in parts]}) + "\n")


def _write_events(conn: psycopg.Connection, out: Path, after: int, upto: int) -> int:
    events = 0
    with (out / "events.jsonl").open("w") as lines, conn.cursor(name="ledger_export") as cur:
        cur.itersize = PAGE
        cur.execute("SELECT e.notification_id, e.originator_id, e.originator_version, "
                    "e.topic, e.state, c.hash FROM ledger_events e "
                    "JOIN ledger_chain c ON c.position = e.notification_id "
                    "WHERE e.notification_id > %s AND e.notification_id <= %s ORDER BY 1",
                    (after, upto))
        for position, originator, version, topic, state, link in cur:
            lines.write(json.dumps({
                "position": position, "originator_id": str(originator), "version": version,
                "topic": topic, "state": base64.b64encode(bytes(state)).decode(),
                "link": bytes(link).hex()}) + "\n")
            events += 1
    return events
