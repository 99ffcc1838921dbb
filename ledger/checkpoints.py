"""Signed checkpoints of the hash chain: position, head link and a Merkle root, Ed25519-signed.

A checkpoint says "the log held this many events, ending in this link, and these are the
links since the checkpoint before", signed with a key kept outside the database (a PEM file:
`LEDGER_SIGNING_KEY`, or `signing-key.pem` in the data directory, generated once for
development). Whoever holds the public key can check a checkpoint offline with SHA-256 and
Ed25519 alone. The chain shows an event was changed; a checkpoint also shows the log was cut
short or rewritten from some point on, since no one without the key can sign a new one.

Merkle tree (RFC 6962 style): leaf = SHA-256(0x00 || link), node = SHA-256(0x01 || left ||
right), an odd node is carried up unchanged; the leaves are the links after the previous
checkpoint, up to and including this one's position.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

STATEMENT_VERSION = "patent-ledger checkpoint v1"
CHECKPOINT_SECONDS = 60.0  # how often `serve` signs the new links
log = logging.getLogger("ledger.checkpoints")


def leaf(link: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + link).digest()


def merkle_root(links: list[bytes]) -> bytes:
    """The root over `links` (SHA-256 of nothing for an empty range)."""
    level = [leaf(x) for x in links]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                 if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    position: int  # the last event it covers
    previous: int  # the position of the checkpoint before (0 for the first)
    head: bytes  # the chain's link at `position`
    root: bytes  # Merkle root of the links in (previous, position]
    signed_at: datetime
    key_id: str  # SHA-256 of the raw public key, hex, first 16 characters
    signature: bytes

    def statement(self) -> bytes:
        """The exact bytes signed: version, positions, head, root, time (UTC ISO)."""
        return "|".join((STATEMENT_VERSION, str(self.previous), str(self.position),
                         self.head.hex(), self.root.hex(),
                         self.signed_at.astimezone(UTC).isoformat())).encode()


# --- keys ------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_or_create_key(path: Path, create: bool) -> Ed25519PrivateKey:
    """The signing key from a PEM file; created (mode 0600) only when `create` is true."""
    if path.is_file():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key
    if not create:
        raise ValueError(f"no signing key at {path} (set LEDGER_SIGNING_KEY to a PEM file)")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# --- making and checking ---------------------------------------------------------------------


def latest(conn: psycopg.Connection) -> Checkpoint | None:
    row = conn.execute("SELECT position, previous, head, root, signed_at, key_id, signature "
                       "FROM ledger_checkpoints ORDER BY position DESC LIMIT 1").fetchone()
    return None if row is None else Checkpoint(row[0], row[1], bytes(row[2]), bytes(row[3]),
                                               row[4], row[5], bytes(row[6]))


def make_checkpoint(database_url: str, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the chain up to its last link; None when nothing was linked since the last one."""
    with psycopg.connect(database_url) as conn:
        before = latest(conn)
        previous = before.position if before else 0
        rows = conn.execute("SELECT position, hash FROM ledger_chain WHERE position > %s "
                            "ORDER BY position", (previous,)).fetchall()
        if not rows:
            return None
        draft = Checkpoint(rows[-1][0], previous, bytes(rows[-1][1]),
                           merkle_root([bytes(h) for _, h in rows]), datetime.now(UTC),
                           key_id(key.public_key()), b"")
        signed = Checkpoint(draft.position, draft.previous, draft.head, draft.root,
                            draft.signed_at, draft.key_id, key.sign(draft.statement()))
        conn.execute("INSERT INTO ledger_checkpoints (position, previous, head, root, "
                     "signed_at, key_id, signature) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (signed.position, signed.previous, signed.head, signed.root,
                      signed.signed_at, signed.key_id, signed.signature))
        return signed


def check_checkpoints(database_url: str, public: Ed25519PublicKey | None) -> list[str]:
    """Every problem with the checkpoints against the chain as stored; empty when they hold.
    Without a public key, checkpoints that exist are a problem: they cannot be vouched for."""
    problems: list[str] = []
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT position, previous, head, root, signed_at, key_id, "
                            "signature FROM ledger_checkpoints ORDER BY position").fetchall()
        if rows and public is None:
            return [f"{len(rows)} signed checkpoints cannot be checked without the public key "
                    "(--public-key, or LEDGER_SIGNING_KEY)"]
        last_link = conn.execute("SELECT coalesce(max(position), 0) FROM ledger_chain"
                                 ).fetchone()
        last_event = conn.execute("SELECT coalesce(max(notification_id), 0) FROM ledger_events"
                                  ).fetchone()
        expected_previous = 0
        for row in rows:
            assert public is not None
            cp = Checkpoint(row[0], row[1], bytes(row[2]), bytes(row[3]), row[4], row[5],
                            bytes(row[6]))
            try:
                public.verify(cp.signature, cp.statement())
            except InvalidSignature:
                problems.append(f"checkpoint at {cp.position}: the signature does not verify "
                                "with this public key")
                continue
            if cp.previous != expected_previous:
                problems.append(f"checkpoint at {cp.position}: follows {cp.previous}, but the "
                                f"checkpoint before it is at {expected_previous}")
            expected_previous = cp.position
            links = [bytes(h) for (h,) in conn.execute(
                "SELECT hash FROM ledger_chain WHERE position > %s AND position <= %s "
                "ORDER BY position", (cp.previous, cp.position)).fetchall()]
            if not links or links[-1] != cp.head:
                problems.append(f"checkpoint at {cp.position}: the chain's link there is not "
                                "the signed head (the log was cut or rewritten)")
            elif merkle_root(links) != cp.root:
                problems.append(f"checkpoint at {cp.position}: the links since {cp.previous} "
                                "do not give the signed Merkle root")
        signed_up_to = expected_previous
    assert last_link is not None and last_event is not None
    if signed_up_to > min(int(last_link[0]), int(last_event[0])):
        problems.append(f"the log ends at {min(int(last_link[0]), int(last_event[0]))}, before "
                        f"the signed checkpoint at {signed_up_to}: its tail was cut")
    return problems


class Checkpointer:
    """Signs a checkpoint every `every_seconds` while new links appear (run beside `serve`)."""

    def __init__(self, database_url: str, key: Ed25519PrivateKey,
                 every_seconds: float = CHECKPOINT_SECONDS) -> None:
        self._url, self._key, self._every = database_url, key, every_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-checkpoints",
                                        daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self._sign()  # the last events too, on a clean stop

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            self._sign()

    def _sign(self) -> None:
        try:
            made = make_checkpoint(self._url, self._key)
        except psycopg.Error as error:  # the database is away: try again next time
            log.warning("no checkpoint this time: %s", error)
            return
        if made is not None:
            log.info("checkpoint signed at position %d", made.position)
