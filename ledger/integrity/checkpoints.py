"""Signed checkpoints of the hash chain: position, head link and a Merkle root, Ed25519-signed.

A checkpoint says "the log held this many links, ending in this one, and this is the Merkle
root over all of them", signed with a key kept outside the database (a PEM file:
`LEDGER_SIGNING_KEY`, or `signing-key.pem` in the data directory, generated once for
development). Whoever holds the public key can check a checkpoint offline with SHA-256 and
Ed25519 alone. The chain shows an event was changed; a checkpoint also shows the log was cut
short or rewritten from some point on, since no one without the key can sign a new one.

The tree (ledger/integrity/merkle.py, RFC 6962 shape) covers the whole log, so the latest checkpoint
alone vouches for any event before it, with an inclusion proof of about log2(n) hashes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.integrity import merkle
from ledger.integrity.merkle_nodes import grow

STATEMENT_VERSION = "patent-ledger checkpoint v2"
CHECKPOINT_SECONDS = 60.0  # how often `serve` signs the new links
log = logging.getLogger("ledger.integrity.checkpoints")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    position: int  # the last event it covers
    previous: int  # the position of the checkpoint before (0 for the first)
    tree_size: int  # links up to `position`: the leaves under `root`
    head: bytes  # the chain's link at `position`
    root: bytes  # Merkle root of every link up to `position`
    signed_at: datetime
    key_id: str  # SHA-256 of the raw public key, hex, first 16 characters
    signature: bytes

    def statement(self) -> bytes:
        """The exact bytes signed: version, positions, tree size, head, root, time (UTC ISO)."""
        return "|".join((STATEMENT_VERSION, str(self.previous), str(self.position),
                         str(self.tree_size), self.head.hex(), self.root.hex(),
                         self.signed_at.astimezone(UTC).isoformat())).encode()


# --- keys ------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_or_create_key(path: Path, create: bool) -> Ed25519PrivateKey:
    """The signing key from a PEM file; created (mode 0600) only when `create` is true.

    Two processes may start at the same moment on one data directory (two `serve`s): each
    writes its new key to a private file and links it into place, which only one link can do.
    The other loads the winner's key, so both sign with one key and neither reads a file that
    is still being written."""
    if not path.is_file() and create:
        _create_key(path)
    if not path.is_file():
        raise ValueError(f"no signing key at {path} (set LEDGER_SIGNING_KEY to a PEM file)")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    handle, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        os.link(draft, path)  # atomic; FileExistsError when another process won
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# --- making and checking ---------------------------------------------------------------------


CHECKPOINT_COLUMNS = "position, previous, tree_size, head, root, signed_at, key_id, signature"
SIGNING_LOCK = 0x1ED6E5C4  # one signer at a time (serve's thread, the `checkpoint` command)


def checkpoint_from_row(row: tuple[Any, ...]) -> Checkpoint:
    position, previous, size, head, root, signed_at, kid, signature = row
    return Checkpoint(position, previous, size, bytes(head), bytes(root), signed_at, kid,
                      bytes(signature))


def latest(conn: psycopg.Connection) -> Checkpoint | None:
    row = conn.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints "
                       "ORDER BY position DESC LIMIT 1").fetchone()
    return None if row is None else checkpoint_from_row(row)


def make_checkpoint(database_url: str, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the chain up to its last link; None when nothing was linked since the last one."""
    with psycopg.connect(database_url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SIGNING_LOCK,))
        before = latest(conn)
        previous = before.position if before else 0
        row = conn.execute("SELECT position, hash FROM ledger_chain "
                           "ORDER BY position DESC LIMIT 1").fetchone()
        if row is None or row[0] <= previous:
            return None
        size, root = grow(conn, row[0])
        draft = Checkpoint(row[0], previous, size, bytes(row[1]), root, datetime.now(UTC),
                           key_id(key.public_key()), b"")
        signed = Checkpoint(draft.position, draft.previous, draft.tree_size, draft.head,
                            draft.root, draft.signed_at, draft.key_id,
                            key.sign(draft.statement()))
        conn.execute(f"INSERT INTO ledger_checkpoints ({CHECKPOINT_COLUMNS}) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (signed.position, signed.previous, signed.tree_size, signed.head,
                      signed.root, signed.signed_at, signed.key_id, signed.signature))
        return signed


def check_checkpoints(database_url: str, public: Ed25519PublicKey | None) -> list[str]:
    """Every problem with the checkpoints against the chain as stored; empty when they hold.
    One pass over the chain, recomputing the root at each checkpoint from the links alone
    (the stored subtrees are not trusted). Without a public key, checkpoints that exist are a
    problem: they cannot be vouched for."""
    with psycopg.connect(database_url) as conn:
        checkpoints = [checkpoint_from_row(r) for r in conn.execute(
            f"SELECT {CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY position").fetchall()]
        if checkpoints and public is None:
            return [f"{len(checkpoints)} signed checkpoints cannot be checked without the "
                    "public key (--public-key, or LEDGER_SIGNING_KEY)"]
        row = conn.execute("SELECT least((SELECT coalesce(max(position), 0) FROM ledger_chain),"
                           " (SELECT coalesce(max(notification_id), 0) FROM ledger_events))"
                           ).fetchone()
        log_end = int(row[0]) if row else 0
        problems: list[str] = []
        expected_previous = 0
        for cp in checkpoints:
            assert public is not None
            try:
                public.verify(cp.signature, cp.statement())
            except InvalidSignature:
                problems.append(f"checkpoint at {cp.position}: the signature does not verify "
                                "with this public key")
            if cp.previous != expected_previous:
                problems.append(f"checkpoint at {cp.position}: follows {cp.previous}, but the "
                                f"checkpoint before it is at {expected_previous}")
            expected_previous = cp.position
        problems += _against_chain(conn, checkpoints)
    if expected_previous > log_end:
        problems.append(f"the log ends at {log_end}, before the signed checkpoint at "
                        f"{expected_previous}: its tail was cut")
    return problems


def _against_chain(conn: psycopg.Connection, checkpoints: list[Checkpoint]) -> list[str]:
    """Each checkpoint's head, size and root against the links as stored, in one pass."""
    problems: list[str] = []
    tree = merkle.Frontier()
    pending = iter(checkpoints)
    cp = next(pending, None)
    last_link: tuple[int, bytes] | None = None

    def judge(cp: Checkpoint) -> None:
        if last_link is None or last_link[0] != cp.position or last_link[1] != cp.head:
            problems.append(f"checkpoint at {cp.position}: the chain's link there is not the "
                            "signed head (the log was cut or rewritten)")
        elif tree.size != cp.tree_size or tree.root() != cp.root:
            problems.append(f"checkpoint at {cp.position}: the links up to it do not give the "
                            "signed Merkle root")

    with conn.cursor(name="ledger_check_checkpoints") as cur:
        cur.itersize = 5_000
        cur.execute("SELECT position, hash FROM ledger_chain ORDER BY position")
        for position, digest in cur:
            while cp is not None and cp.position < position:  # a signed position not linked
                judge(cp)
                cp = next(pending, None)
            if cp is None:
                break
            last_link = (int(position), bytes(digest))
            tree.add(last_link[1])
            if cp.position == position:
                judge(cp)
                cp = next(pending, None)
    while cp is not None:
        judge(cp)
        cp = next(pending, None)
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
