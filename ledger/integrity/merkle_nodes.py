"""The stored part of the Merkle tree: complete subtrees of 256 links and above.

Made as each checkpoint is signed, in its transaction: the links since the last stored block
are hashed into new blocks of 256, and every parent the new blocks complete is added. A root
of a million links then reads about twenty stored hashes and fewer than 256 links, and so
does an inclusion proof (ledger/integrity/proofs.py). The rows are derived from `ledger_chain` and never
change; a row altered by hand gives roots and proofs that fail their signature check.
"""

from __future__ import annotations

import psycopg

from ledger.integrity import merkle

PAGE = 50_000  # links read at a time while filling blocks


def _last_block(conn: psycopg.Connection) -> tuple[int, int]:
    """(blocks stored, log position of the last stored block's last link)."""
    row = conn.execute("SELECT idx, last_position FROM ledger_merkle WHERE level = %s "
                       "ORDER BY idx DESC LIMIT 1", (merkle.BLOCK_LEVEL,)).fetchone()
    return (0, 0) if row is None else (int(row[0]) + 1, int(row[1]))


def _store(conn: psycopg.Connection, level: int, rows: list[tuple[int, bytes, int]]) -> None:
    if rows:
        conn.execute("INSERT INTO ledger_merkle (level, idx, hash, last_position) "
                     "SELECT %s, * FROM unnest(%s::bigint[], %s::bytea[], %s::bigint[])",
                     (level, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))


def _fill_blocks(conn: psycopg.Connection, upto: int) -> tuple[int, list[bytes], int]:
    """Store the blocks the links up to `upto` complete; returns (blocks, the links after the
    last block, the position those follow)."""
    blocks, after = _last_block(conn)
    width = 1 << merkle.BLOCK_LEVEL
    pending: list[tuple[int, bytes]] = []
    with conn.cursor(name="ledger_merkle_fill") as cur:
        cur.itersize = PAGE
        cur.execute("SELECT position, hash FROM ledger_chain WHERE position > %s "
                    "AND position <= %s ORDER BY position", (after, upto))
        new: list[tuple[int, bytes, int]] = []
        for position, digest in cur:
            pending.append((int(position), bytes(digest)))
            if len(pending) == width:
                root = merkle.merkle_root(d for _, d in pending)
                new.append((blocks, root, pending[-1][0]))
                blocks, after, pending = blocks + 1, pending[-1][0], []
                if len(new) >= PAGE // width:
                    _store(conn, merkle.BLOCK_LEVEL, new)
                    new = []
        _store(conn, merkle.BLOCK_LEVEL, new)
    return blocks, [d for _, d in pending], after


def _fill_parents(conn: psycopg.Connection, blocks: int) -> None:
    """Add every parent that the stored blocks now complete, level by level."""
    level = merkle.BLOCK_LEVEL + 1
    while blocks >> (level - merkle.BLOCK_LEVEL):
        complete = blocks >> (level - merkle.BLOCK_LEVEL)
        row = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM ledger_merkle "
                           "WHERE level = %s", (level,)).fetchone()
        have = int(row[0]) if row else 0
        if have < complete:
            children = conn.execute(
                "SELECT idx, hash, last_position FROM ledger_merkle WHERE level = %s "
                "AND idx >= %s AND idx < %s ORDER BY idx",
                (level - 1, 2 * have, 2 * complete)).fetchall()
            _store(conn, level, [(have + i, merkle.node(bytes(children[2 * i][1]),
                                                       bytes(children[2 * i + 1][1])),
                                  int(children[2 * i + 1][2]))
                                 for i in range(complete - have)])
        level += 1


def _complete(conn: psycopg.Connection, blocks: int, tail: list[bytes]) -> merkle.Complete:
    """Subtree hashes: stored ones from the table, smaller ones from the links after the
    last of `blocks` whole blocks."""
    tail_start = blocks << merkle.BLOCK_LEVEL

    def complete(level: int, index: int) -> bytes:
        if level >= merkle.BLOCK_LEVEL:
            row = conn.execute("SELECT hash FROM ledger_merkle WHERE level = %s AND idx = %s",
                               (level, index)).fetchone()
            assert row is not None, f"stored subtree {level}/{index} missing"
            return bytes(row[0])
        first = (index << level) - tail_start
        return merkle.merkle_root(tail[first:first + (1 << level)])

    return complete


def grow(conn: psycopg.Connection, upto: int) -> tuple[int, bytes]:
    """Store what the links up to position `upto` complete; returns (tree size, root)."""
    blocks, tail, _ = _fill_blocks(conn, upto)
    _fill_parents(conn, blocks)
    size = (blocks << merkle.BLOCK_LEVEL) + len(tail)
    if size == 0:
        return 0, merkle.root_of_leaves([])
    return size, merkle.subtree(0, size, _complete(conn, blocks, tail))


def prefix(conn: psycopg.Connection, after: int) -> tuple[int, list[tuple[int, bytes]]]:
    """The links up to position `after` as a compact range: (how many, the complete subtrees
    that make them up, largest first as (level, hash)). With it, a bundle that starts later in
    the log still recomputes the signed roots of the whole tree. Needs a checkpoint at or
    after `after` (the stored subtrees are made with checkpoints)."""
    row = conn.execute("SELECT count(*) FROM ledger_chain WHERE position <= %s",
                       (after,)).fetchone()
    size = int(row[0]) if row else 0
    blocks = size >> merkle.BLOCK_LEVEL
    last = conn.execute("SELECT last_position FROM ledger_merkle WHERE level = %s AND idx = %s",
                        (merkle.BLOCK_LEVEL, blocks - 1)).fetchone() if blocks else None
    tail = [bytes(h) for (h,) in conn.execute(
        "SELECT hash FROM ledger_chain WHERE position > %s ORDER BY position LIMIT %s",
        (int(last[0]) if last else 0, size - (blocks << merkle.BLOCK_LEVEL))).fetchall()]
    complete = _complete(conn, blocks, tail)
    parts, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append((level, complete(level, start >> level)))
            start += 1 << level
    return size, parts
