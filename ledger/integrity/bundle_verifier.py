"""Check patent-ledger evidence offline.

    python3 verify_bundle.py BUNDLE_DIR                       an exported bundle
    python3 verify_bundle.py --proof PROOF.json --public-key KEY.pem    one event's proof

Needs only the Python standard library and the `cryptography` package, and deliberately no
code of the ledger itself: this file is copied into every bundle as `verify_bundle.py`.

Link of the event at position p (integers big-endian, link(0) = 32 zero bytes):
    SHA-256( link(previous) || u64 p || 16-byte originator id || u32 version
             || u32 len || topic UTF-8 || u32 len || stored state )
Merkle tree over all links in log order (RFC 6962 / RFC 9162): leaf = SHA-256(0x00 || link),
node = SHA-256(0x01 || left || right), the tree of n leaves split at the largest power of two
below n. A checkpoint is an Ed25519 signature over
    patent-ledger checkpoint v2|previous|position|tree size|head hex|root hex|signed at (UTC ISO)
where head is the link at `position` and root the tree's root over the first `tree size` links.
A bundle may start later in the log (start.json): the link before its first event, and the
links before that as the complete subtrees that make them up (largest first), from which the
roots of the whole tree follow as the bundle's links are added.

A proof (GraphQL `events { edges { node { proof { ... } } } }`, saved as JSON) holds the stored
event, the link before it, its leaf index, the sibling hashes from the leaf up, and the
checkpoint; the event is in the signed log when its link recomputes, the path climbs to the
signed root, and the signature verifies.
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


def chain_link(previous: bytes, position: int, originator_id: str, version: int, topic: str,
               state_b64: str) -> bytes:
    topic_bytes = topic.encode()
    state = base64.b64decode(state_b64)
    return hashlib.sha256(b"".join((
        previous, struct.pack(">Q", position), uuid.UUID(originator_id).bytes,
        struct.pack(">I", version), struct.pack(">I", len(topic_bytes)), topic_bytes,
        struct.pack(">I", len(state)), state))).digest()


def leaf_hash(link: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + link).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeEdge:
    """Complete subtrees along the tree's right edge: the root after each added leaf."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, bytes]] = []  # (leaves, hash), sizes falling
        self.size = 0

    def add(self, link: bytes) -> None:
        part = (1, leaf_hash(link))
        while self.parts and self.parts[-1][0] == part[0]:
            left = self.parts.pop()
            part = (left[0] * 2, node_hash(left[1], part[1]))
        self.parts.append(part)
        self.size += 1

    def root(self) -> bytes:
        if not self.parts:
            return hashlib.sha256(b"").digest()
        digest = self.parts[-1][1]
        for _, left in reversed(self.parts[:-1]):
            digest = node_hash(left, digest)
        return digest


def climb(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 section 2.1.3.2: the root an inclusion path leads to, None if it cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node_hash(sibling, r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = node_hash(r, sibling)
        fn, sn = fn // 2, sn // 2
    return r if sn == 0 else None


def statement(cp: dict[str, Any]) -> bytes:
    signed_at = datetime.fromisoformat(cp["signed_at"]).astimezone(UTC).isoformat()
    return "|".join(("patent-ledger checkpoint v2", str(cp["previous"]), str(cp["position"]),
                     str(cp["tree_size"]), cp["head"], cp["root"], signed_at)).encode()


def signature_problem(key: Ed25519PublicKey, cp: dict[str, Any]) -> str | None:
    try:
        key.verify(bytes.fromhex(cp["signature"]), statement(cp))
    except InvalidSignature:
        return f"checkpoint at {cp['position']}: the signature does not verify"
    return None


def public_key(path: Path) -> Ed25519PublicKey:
    key = load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise SystemExit(f"{path} is not an Ed25519 public key")
    return key


def check_bundle(bundle: Path) -> str | None:
    """The first problem found, or None when the bundle holds."""
    key = public_key(bundle / "public-key.pem")
    start = json.loads((bundle / "start.json").read_text())
    checkpoints = [json.loads(line)
                   for line in (bundle / "checkpoints.jsonl").read_text().splitlines()]
    if not checkpoints:
        return "no signed checkpoint in the bundle"
    after = checkpoints[0]["previous"] if start["after"] else 0
    for signed in checkpoints:
        problem = signature_problem(key, signed)
        if problem:
            return problem
        if signed["previous"] != after:
            return f"checkpoint at {signed['position']}: does not follow the one at {after}"
        after = signed["position"]
    tree = TreeEdge()
    tree.parts = [(1 << level, bytes.fromhex(digest)) for level, digest in start["parts"]]
    tree.size = start["tree_size"]
    if sum(size for size, _ in tree.parts) != tree.size:
        return "start.json: its subtrees do not hold tree_size links"
    previous, last_position = bytes.fromhex(start["link"]), start["after"]
    waiting = iter(checkpoints)
    cp: dict[str, Any] | None = next(waiting)
    lines = (bundle / "events.jsonl").read_text().splitlines()
    for number, line in enumerate(lines, 1):
        event = json.loads(line)
        if event["position"] <= last_position:
            return f"events.jsonl line {number}: position {event['position']} is out of order"
        previous = chain_link(previous, event["position"], event["originator_id"],
                              event["version"], event["topic"], event["state"])
        if previous.hex() != event["link"]:
            return (f"events.jsonl line {number} (position {event['position']}): the event "
                    "does not match its link")
        tree.add(previous)
        last_position = event["position"]
        if cp is not None and cp["position"] < last_position:
            return f"checkpoint at {cp['position']}: the events do not end in the signed head"
        if cp is not None and cp["position"] == last_position:
            if previous.hex() != cp["head"]:
                return f"checkpoint at {cp['position']}: the events do not end in the signed head"
            if tree.size != cp["tree_size"] or tree.root().hex() != cp["root"]:
                return f"checkpoint at {cp['position']}: the links do not give the signed root"
            cp = next(waiting, None)
    if cp is not None:
        return f"checkpoint at {cp['position']}: the events do not end in the signed head"
    if last_position != after:
        return f"events run past the last checkpoint ({last_position} > {after})"
    return None


def check_proof(proof: dict[str, Any], key: Ed25519PublicKey) -> str | None:
    """The first problem with one event's inclusion proof, or None when it holds."""
    cp = proof["checkpoint"]
    link = chain_link(bytes.fromhex(proof["previous_link"]), proof["position"],
                      proof["originator_id"], proof["version"], proof["topic"], proof["state"])
    if link.hex() != proof["link"]:
        return "the stored event does not give its link"
    if proof["tree_size"] != cp["tree_size"] or proof["position"] > cp["position"]:
        return "the proof is not for the tree the checkpoint signed"
    root = climb(proof["leaf_index"], cp["tree_size"], leaf_hash(link),
                 [bytes.fromhex(h) for h in proof["path"]])
    if root is None or root.hex() != cp["root"]:
        return "the path does not lead to the signed root"
    return signature_problem(key, cp)


def _snake(value: Any) -> Any:
    """GraphQL answers in camelCase; accept them as they come."""
    if isinstance(value, dict):
        return {"".join("_" + c.lower() if c.isupper() else c for c in k): _snake(v)
                for k, v in value.items()}
    return [_snake(v) for v in value] if isinstance(value, list) else value


def main(argv: list[str]) -> int:
    if argv[:1] == ["--proof"] and len(argv) == 4 and argv[2] == "--public-key":
        proof = _snake(json.loads(Path(argv[1]).read_text()))
        problem = check_proof(proof, public_key(Path(argv[3])))
        what = f"event {proof.get('position')}"
        success = (f"the proof holds: {what} is leaf {proof.get('leaf_index')} of "
                   f"{proof.get('tree_size')} links, signed at position "
                   f"{proof['checkpoint']['position']}")
    elif len(argv) <= 1 and argv[:1] != ["--proof"]:
        bundle = Path(argv[0] if argv else ".")
        problem = check_bundle(bundle)
        events = len((bundle / "events.jsonl").read_text().splitlines())
        success = f"the bundle holds: {events} events, every link and signed checkpoint verified"
    else:
        print(__doc__)
        return 2
    if problem is not None:
        print(f"BROKEN: {problem}")
        return 1
    print(success)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
