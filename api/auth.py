"""API keys and roles: `Authorization: Bearer <key>`, one role per key, keys kept only hashed.

Keys are random 256-bit tokens, so a plain SHA-256 is a sound way to keep them: nothing to
brute-force. Every event records the key id (role and first hex digits of the hash) that
posted it. No key: 401; a key whose role may not call the endpoint: 403.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from api.rate_limits import RateLimiter

ROLES = ("platform", "auditor", "regulator", "admin")
DEV_KEYS_FILE = "api-keys.json"


class AuthError(Exception):
    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after  # 429: seconds until the key may call again


@dataclass(frozen=True, slots=True)
class ApiKey:
    role: str
    key_id: str

    @property
    def label(self) -> str:
        """What events record as `posted_by`."""
        return f"{self.role}:{self.key_id}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class KeyRing:
    def __init__(self, hashed: dict[str, str], limiter: RateLimiter | None = None) -> None:
        """`hashed` maps SHA-256 hex digests of keys to roles."""
        for role in hashed.values():
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
        self._hashed = dict(hashed)  # configured at start
        self._issued: dict[str, str] = {}  # issued at run time (api/key_store.py)
        self._revoked: frozenset[str] = frozenset()  # key ids
        self.limiter = limiter or RateLimiter()

    def refresh(self, issued: dict[str, str], revoked: set[str]) -> None:
        """Swap in the keys issued and revoked at run time (both replaced at once)."""
        self._issued, self._revoked = dict(issued), frozenset(revoked)

    def configured_ids(self) -> frozenset[str]:
        """The ids of the keys configured at start (not issued at run time)."""
        return frozenset(digest[:12] for digest in self._hashed)

    @classmethod
    def from_setting(cls, setting: str) -> KeyRing:
        """Parse LEDGER_API_KEYS: `role:key,role:key`."""
        hashed: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in setting.split(","))):
            role, sep, key = item.partition(":")
            if not sep or not key:
                raise ValueError("LEDGER_API_KEYS must read role:key,role:key")
            if len(key) < 16:
                raise ValueError(f"the {role} key is shorter than 16 characters")
            hashed[_digest(key)] = role
        if not hashed:
            raise ValueError("LEDGER_API_KEYS holds no key")
        return cls(hashed)

    @classmethod
    def development(cls, data_dir: Path, announce: Callable[[str], None]) -> KeyRing:
        """One key per role, made on first start; only their hashes are kept on disk."""
        path = data_dir / DEV_KEYS_FILE
        if path.exists():
            hashed = json.loads(path.read_text())
            announce(f"development API keys: hashes in {path}; the keys were printed when "
                     "they were made (delete that file to make new ones)")
            return cls(hashed)
        data_dir.mkdir(parents=True, exist_ok=True)
        keys = {role: f"dev-{role}-{secrets.token_urlsafe(24)}" for role in ROLES}
        hashed = {_digest(key): role for role, key in keys.items()}
        # Written whole under another name, then linked into place: a second `serve` started
        # at the same moment either links first or finds the complete file of the first.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(hashed, out)
        try:
            os.link(draft, path)
        except FileExistsError:
            return cls.development(data_dir, announce)
        finally:
            draft.unlink()
        announce("development API keys (shown once; only their hashes are kept):")
        for role, key in keys.items():
            announce(f"  {role:9} {key}")
        return cls(hashed)

    def identify(self, authorization: str | None) -> ApiKey:
        if not authorization:
            raise AuthError(401, "send Authorization: Bearer <key>")
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise AuthError(401, "send Authorization: Bearer <key>")
        digest = _digest(key.strip())
        issued, revoked = self._issued, self._revoked
        for known, role in (*self._hashed.items(), *issued.items()):
            if hmac.compare_digest(known, digest):
                if known[:12] in revoked:
                    raise AuthError(401, f"API key {role}:{known[:12]} was revoked")
                caller = ApiKey(role, known[:12])
                wait = self.limiter.take(caller.key_id)
                if wait is not None:
                    raise AuthError(429, f"key {caller.label} is over its limit of "
                                    f"{self.limiter.rate:g} requests a second", retry_after=wait)
                return caller
        raise AuthError(401, "unknown API key")


def require(*roles: str) -> Callable[[Request], Awaitable[ApiKey]]:
    """A FastAPI dependency: the caller's key, if its role is one of `roles` (admin always).

    `async` although it does not wait: FastAPI runs a plain `def` dependency in its thread
    pool, a thread hop per request that cost more than the check itself.
    """
    allowed = frozenset((*roles, "admin"))

    async def dependency(request: Request) -> ApiKey:
        keyring: KeyRing = request.app.state.keyring
        key = keyring.identify(request.headers.get("authorization"))
        if key.role not in allowed:
            raise AuthError(403, f"role {key.role} may not call this; it needs "
                            f"{' or '.join(sorted(allowed))}")
        return key

    return dependency
