"""The Merkle tree's arithmetic against RFC 6962's own recursive definition, for every tree of
up to 70 leaves and every leaf in it: roots, inclusion paths and the offline verifier's
independent copy agree, and a wrong path, index or size is refused."""

from __future__ import annotations

import hashlib

import pytest

from ledger.integrity import bundle_verifier as offline
from ledger.integrity import merkle


def rfc6962_root(links: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 writes it."""
    if not links:
        return hashlib.sha256(b"").digest()
    if len(links) == 1:
        return hashlib.sha256(b"\x00" + links[0]).digest()
    k = 1 << ((len(links) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc6962_root(links[:k]) + rfc6962_root(links[k:])).digest()


LINKS = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


def complete_from(links: list[bytes]) -> merkle.Complete:
    return lambda level, index: rfc6962_root(links[index << level:(index + 1) << level])


@pytest.mark.parametrize("size", range(0, 71))
def test_roots_agree_with_the_rfc_whichever_way_they_are_built(size: int) -> None:
    links = LINKS[:size]
    expected = rfc6962_root(links)
    frontier, edge = merkle.Frontier(), offline.TreeEdge()
    for x in links:
        frontier.add(x)
        edge.add(x)
    assert merkle.merkle_root(links) == expected
    assert frontier.root() == expected and frontier.size == size
    assert edge.root() == expected
    if size:
        assert merkle.subtree(0, size, complete_from(links)) == expected


@pytest.mark.parametrize("size", range(1, 71))
def test_every_leaf_climbs_to_the_root_and_nothing_else_does(size: int) -> None:
    links = LINKS[:size]
    root = rfc6962_root(links)
    for index in range(size):
        path = merkle.inclusion_path(index, size, complete_from(links))
        assert len(path) <= max(1, (size - 1).bit_length())
        leaf = merkle.leaf(links[index])
        assert merkle.root_from_path(index, size, leaf, path) == root
        assert offline.climb(index, size, leaf, path) == root
        assert merkle.root_from_path(index, size, merkle.leaf(b"other"), path) != root
        if size > 1:
            assert merkle.root_from_path((index + 1) % size, size, leaf, path) != root
            assert merkle.root_from_path(index, size, leaf, path[:-1]) != root
    assert merkle.root_from_path(size, size, merkle.leaf(links[0]), []) is None
