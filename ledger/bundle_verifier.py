"""Check a patent-ledger evidence bundle offline: python3 verify_bundle.py BUNDLE_DIR

Needs only the Python standard library and the `cryptography` package, and deliberately no
code of the ledger itself: this file is copied into every bundle as `verify_bundle.py`.

Link of the event at position p (integers big-endian, link(0) = 32 zero bytes):
    SHA-256( link(previous) || u64 p || 16-byte originator id || u32 version
             || u32 len || topic UTF-8 || u32 len || stored state )
Checkpoint: Merkle root over the links after the previous checkpoint (leaf = SHA-256(0x00 ||
link), node = SHA-256(0x01 || left || right), an odd node carried up), and an Ed25519
signature over
    patent-ledger checkpoint v1|previous|position|head hex|root hex|signed at (UTC, ISO 8601)
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def chain_link(previous: bytes, event: dict[str, Any]) -> bytes:
    topic = event["topic"].encode()
    state = base64.b64decode(event["state"])
    return hashlib.sha256(b"".join((
        previous, struct.pack(">Q", event["position"]), uuid.UUID(event["originator_id"]).bytes,
        struct.pack(">I", event["version"]), struct.pack(">I", len(topic)), topic,
        struct.pack(">I", len(state)), state))).digest()


def merkle_root(links: list[bytes]) -> bytes:
    level = [hashlib.sha256(b"\x00" + x).digest() for x in links]
    if not level:
        return hashlib.sha256(b"").digest()
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                 if i + 1 < len(level) else level[i] for i in range(0, len(level), 2)]
    return level[0]


def check(bundle: Path) -> str | None:
    """The first problem found, or None when the bundle holds."""
    key = load_pem_public_key((bundle / "public-key.pem").read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        return "public-key.pem is not an Ed25519 public key"
    links: dict[int, bytes] = {}
    order: list[int] = []
    previous = bytes(32)
    for number, line in enumerate((bundle / "events.jsonl").read_text().splitlines(), 1):
        event = json.loads(line)
        previous = chain_link(previous, event)
        if previous.hex() != event["link"]:
            return (f"events.jsonl line {number} (position {event['position']}): the event "
                    "does not match its link")
        links[event["position"]] = previous
        order.append(event["position"])
    after = 0
    for line in (bundle / "checkpoints.jsonl").read_text().splitlines():
        cp = json.loads(line)
        signed_at = datetime.fromisoformat(cp["signed_at"]).astimezone(UTC).isoformat()
        statement = "|".join(("patent-ledger checkpoint v1", str(cp["previous"]),
                              str(cp["position"]), cp["head"], cp["root"], signed_at)).encode()
        try:
            key.verify(bytes.fromhex(cp["signature"]), statement)
        except InvalidSignature:
            return f"checkpoint at {cp['position']}: the signature does not verify"
        if cp["previous"] != after:
            return f"checkpoint at {cp['position']}: does not follow the one at {after}"
        covered = [links[p] for p in order if cp["previous"] < p <= cp["position"]]
        if not covered or covered[-1].hex() != cp["head"]:
            return f"checkpoint at {cp['position']}: the events do not end in the signed head"
        if merkle_root(covered).hex() != cp["root"]:
            return f"checkpoint at {cp['position']}: the links do not give the signed root"
        after = cp["position"]
    if after == 0:
        return "no signed checkpoint in the bundle"
    if order and order[-1] != after:
        return f"events run past the last checkpoint ({order[-1]} > {after})"
    return None


def main() -> int:
    bundle = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    problem = check(bundle)
    if problem is not None:
        print(f"BROKEN: {problem}")
        return 1
    events = len((bundle / "events.jsonl").read_text().splitlines())
    print(f"the bundle holds: {events} events, every link and signed checkpoint verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
