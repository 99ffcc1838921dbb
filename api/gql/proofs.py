"""An event's inclusion proof in GraphQL: the fields `verify_bundle.py --proof` checks offline.

Binary values are hex, except the stored event's state (base64: it is the exact bytes the
link covers, JSON that must not be re-encoded).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import strawberry

from ledger.integrity.checkpoints import Checkpoint
from ledger.integrity.proofs import InclusionProof


@strawberry.type(description="A checkpoint signed with the ledger's Ed25519 key: the log held "
                 "`treeSize` links up to `position`, ending in `head`, with Merkle `root`.")
class SignedCheckpoint:
    position: int
    previous: int
    tree_size: int
    head: str
    root: str
    signed_at: datetime
    key_id: str
    signature: str
    statement: str = strawberry.field(description="The exact text signed, UTF-8.")

    @staticmethod
    def of(cp: Checkpoint) -> SignedCheckpoint:
        return SignedCheckpoint(position=cp.position, previous=cp.previous,
                                tree_size=cp.tree_size, head=cp.head.hex(), root=cp.root.hex(),
                                signed_at=cp.signed_at.astimezone(UTC), key_id=cp.key_id,
                                signature=cp.signature.hex(), statement=cp.statement().decode())


@strawberry.type(description="Everything needed to check offline that an event is in the "
                 "signed log: recompute `link` from the stored event and `previousLink`, climb "
                 "`path` (RFC 9162) from leaf `leafIndex` to the checkpoint's root, check the "
                 "signature with the ledger's public key (`patent-ledger public-key`).")
class EventProof:
    position: int
    originator_id: str
    version: int
    topic: str
    state: str = strawberry.field(description="The stored event's bytes, base64.")
    previous_link: str
    link: str
    leaf_index: int
    tree_size: int
    path: list[str] = strawberry.field(description="Sibling hashes from the leaf up, hex.")
    checkpoint: SignedCheckpoint

    @staticmethod
    def of(proof: InclusionProof) -> EventProof:
        stored = proof.stored
        return EventProof(position=proof.position, originator_id=str(stored.originator_id),
                          version=stored.version, topic=stored.topic,
                          state=base64.b64encode(stored.state).decode(),
                          previous_link=proof.previous_link.hex(), link=proof.link.hex(),
                          leaf_index=proof.leaf_index, tree_size=proof.checkpoint.tree_size,
                          path=[h.hex() for h in proof.path],
                          checkpoint=SignedCheckpoint.of(proof.checkpoint))
