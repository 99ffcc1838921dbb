"""The Merkle tree over the hash chain's links (RFC 6962 / RFC 9162 shape), as pure functions.

Leaf i is the i-th link in log order: leaf = SHA-256(0x00 || link), node = SHA-256(0x01 ||
left || right). The tree of n leaves splits at the largest power of two below n, so it is
made of complete, aligned subtrees; that is what lets a checkpoint's root be computed from a
few stored subtree hashes, and lets one event be proven in the tree with about log2(n)
hashes (an inclusion proof) instead of the whole log.

Nothing here touches the database: `subtree` and `inclusion_path` take a function that gives
the hash of a complete aligned subtree, wherever it comes from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

# Subtrees of 2**BLOCK_LEVEL leaves and above are stored (ledger/integrity/merkle_nodes.py); smaller
# ones are hashed from the links when needed, which reads at most 256 links.
BLOCK_LEVEL = 8

Complete = Callable[[int, int], bytes]  # (level, index) -> hash of leaves [index << level, ...)


def leaf(link: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + link).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of_leaves(leaves: list[bytes]) -> bytes:
    """The root over leaf hashes (SHA-256 of nothing for no leaves)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = leaves
    while len(level) > 1:  # pairing level by level, an odd node carried up: same as RFC 6962
        level = [node(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def merkle_root(links: Iterable[bytes]) -> bytes:
    return root_of_leaves([leaf(x) for x in links])


def _split(count: int) -> int:
    """The largest power of two strictly below `count` (count >= 2)."""
    return 1 << ((count - 1).bit_length() - 1)


def subtree(start: int, count: int, complete: Complete) -> bytes:
    """The hash of leaves [start, start + count) as RFC 6962 defines it, from complete subtrees.
    The ranges a tree and its proofs ask for always begin at a multiple of their first part."""
    if count & (count - 1) == 0 and start % count == 0:
        level = count.bit_length() - 1
        return complete(level, start >> level)
    k = _split(count)
    return node(subtree(start, k, complete), subtree(start + k, count - k, complete))


def path_ranges(index: int, size: int, start: int = 0) -> list[tuple[int, int]]:
    """The (start, count) ranges whose hashes prove leaf `index` in a tree of `size` leaves,
    from the leaf up (RFC 9162 section 2.1.3.1)."""
    if size <= 1:
        return []
    k = _split(size)
    if index < k:
        return [*path_ranges(index, k, start), (start + k, size - k)]
    return [*path_ranges(index - k, size - k, start + k), (start, k)]


def inclusion_path(index: int, size: int, complete: Complete) -> list[bytes]:
    return [subtree(s, c, complete) for s, c in path_ranges(index, size)]


def root_from_path(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes | None:
    """The root a leaf and its path lead to (RFC 9162 section 2.1.3.2); None when the path's
    length does not fit the leaf's place in a tree of that size."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(sibling, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, sibling)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


class Frontier:
    """The right edge of a growing tree: gives the root after every leaf in O(log n) memory,
    so `verify` can check each checkpoint's root in one pass over the log."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly falling
        self.size = 0

    def add(self, link: bytes) -> None:
        level, digest = 0, leaf(link)
        while self._stack and self._stack[-1][0] == level:
            digest = node(self._stack.pop()[1], digest)
            level += 1
        self._stack.append((level, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node(left, digest)
        return digest
