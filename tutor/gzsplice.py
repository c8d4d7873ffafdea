"""One gzip stream from pieces compressed at different times: kept pieces once, a learner's own pieces per request.

Why: a full step-through page is 30 to 90 KB, and gzip level 1 on all of it costs about as much CPU as
the rest of the request. Most of the page is the same for every learner, so its pieces are deflated
once (at a good level) and kept; per request only the learner's own pieces (a CSRF token, their quiz
section) are deflated, and the pieces are joined into one valid gzip member.

How: each piece is a run of raw deflate blocks that ends on a byte boundary and is not final (a sync
flush), with no back-reference into another piece (each has its own compressor). Such runs can be
concatenated (RFC 1951, 3.2.3); the stream ends with an empty final block, and the gzip trailer is
the CRC-32 and the length of everything (RFC 1952), which zlib.crc32 computes over the pieces in order.
A short piece (a token) goes as a stored block: no compressor to set up for 64 bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip, deflate, no name, no mtime, OS unknown
FINAL = b"\x03\x00"  # an empty final block with fixed codes: what zlib writes to end a flushed stream
KEPT_LEVEL = 6  # kept pieces are compressed once, so a better level costs nothing per request
OWN_LEVEL = 1  # a learner's own pieces are compressed on every request
STORED_UP_TO = 256  # below this, a stored block is cheaper than a compressor


@dataclass(frozen=True)
class Piece:
    """Some text as bytes, with its raw deflate blocks (byte-aligned, not final)."""

    raw: bytes
    deflated: bytes


def deflate(raw: bytes, level: int = KEPT_LEVEL, zdict: bytes = b"") -> Piece:
    """A piece compressed on its own, ready to be joined with others.

    `zdict`: the bytes that will come right before this piece in every stream it is joined into
    (up to 32 KB), which its matches may then reach back into. Where some of those bytes differ per
    stream, the caller gives NULs in their place and `raw` holds no NUL, so no match can use them.
    """
    if not zdict and len(raw) <= STORED_UP_TO:
        return Piece(raw, _stored(raw))
    if zdict:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=zdict)
    else:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
    stored = _stored(raw)
    return Piece(raw, stored if len(stored) <= len(deflated) else deflated)


def _stored(raw: bytes) -> bytes:
    """Raw bytes as non-final stored blocks (at most 65535 bytes each); nothing for an empty piece."""
    blocks = []
    for start in range(0, len(raw), 0xFFFF):
        chunk = raw[start : start + 0xFFFF]
        blocks.append(b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


def join(pieces: Iterable[Piece]) -> bytes:
    """One gzip member whose content is the pieces' bytes in order."""
    crc, size, parts = 0, 0, [HEADER]
    for piece in pieces:
        crc = zlib.crc32(piece.raw, crc)
        size += len(piece.raw)
        parts.append(piece.deflated)
    parts.append(FINAL)
    parts.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
    return b"".join(parts)
