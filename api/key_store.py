"""API keys issued and revoked at run time, kept hashed in PostgreSQL (`api_keys`).

Every API process refreshes its key ring from the table every KEY_REFRESH_SECONDS, so a key
issued or revoked through one process counts everywhere within that time, with no restart.
Rotation is issuing the new key, moving clients to it, and revoking the old one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import psycopg

from api.auth import ROLES, KeyRing

KEY_REFRESH_SECONDS = 2.0
log = logging.getLogger("api.keys")


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    role: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyStore:
    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def issue(self, role: str) -> tuple[str, str]:
        """A new key for `role`: (the key, shown once; its id)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        key = f"{role}-{secrets.token_urlsafe(32)}"
        digest = hashlib.sha256(key.encode()).hexdigest()
        with psycopg.connect(self._url) as conn:
            conn.execute("INSERT INTO api_keys (key_id, digest, role) VALUES (%s, %s, %s)",
                         (digest[:12], digest, role))
        return key, digest[:12]

    def revoke(self, key_id: str, configured: Collection[str] = ()) -> datetime | None:
        """Revoke a key by id; the time it was (first) revoked, or None if no key has that id.

        A key issued here has its row; a configured key (among `configured`, the key ids of
        LEDGER_API_KEYS) gets a row holding only its revocation. Any other id is left alone:
        a row for it would list a key that never was (`role: null`)."""
        with psycopg.connect(self._url) as conn:
            if key_id in configured:
                row = conn.execute(
                    "INSERT INTO api_keys (key_id, revoked_at) VALUES (%s, now()) "
                    "ON CONFLICT (key_id) DO UPDATE SET revoked_at = "
                    "coalesce(api_keys.revoked_at, now()) RETURNING revoked_at", (key_id,)
                ).fetchone()
            else:
                row = conn.execute(
                    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
                    "WHERE key_id = %s RETURNING revoked_at", (key_id,)).fetchone()
        return None if row is None else row[0]

    def records(self) -> list[KeyRecord]:
        with psycopg.connect(self._url) as conn:
            return [KeyRecord(*row) for row in conn.execute(
                "SELECT key_id, role, created_at, revoked_at FROM api_keys ORDER BY created_at")]

    def refresh(self, keyring: KeyRing) -> None:
        with psycopg.connect(self._url) as conn:
            rows = conn.execute("SELECT key_id, digest, role, revoked_at FROM api_keys"
                                ).fetchall()
        keyring.refresh({digest: role for _, digest, role, _ in rows if digest is not None},
                        {key_id for key_id, _, _, revoked in rows if revoked is not None})


class KeyRefresher:
    """Keeps one process's key ring in step with the table."""

    def __init__(self, store: KeyStore, keyring: KeyRing,
                 every_seconds: float = KEY_REFRESH_SECONDS) -> None:
        self._store, self._keyring, self._every = store, keyring, every_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-keys", daemon=True)

    def start(self) -> KeyRefresher:
        self._refresh()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            self._refresh()

    def _refresh(self) -> None:
        try:
            self._store.refresh(self._keyring)
        except psycopg.Error as error:  # keep the last known keys while the database is away
            log.warning("API keys not refreshed: %s", error)
