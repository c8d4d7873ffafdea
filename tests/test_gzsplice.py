"""Pieces deflated at different times join into one gzip stream that any gzip reader decodes to the whole."""

from __future__ import annotations

import gzip
import random
import zlib

import pytest

from tutor import gzsplice


@pytest.mark.parametrize("seed", range(20))
def test_joined_pieces_decompress_to_their_concatenation(seed: int) -> None:
    rng = random.Random(seed)
    pieces = []
    for _ in range(rng.randint(0, 7)):
        kind = rng.random()
        if kind < 0.3:
            pieces.append(rng.randbytes(rng.randint(0, 3000)))  # incompressible
        elif kind < 0.6:
            pieces.append(b"<tr><td>step</td></tr>" * rng.randint(0, 4000))  # long runs, past one stored block
        else:
            pieces.append(rng.randbytes(rng.randint(0, 80)))  # a token: a stored block
    stream = gzsplice.join(gzsplice.deflate(p, rng.choice([gzsplice.OWN_LEVEL, gzsplice.KEPT_LEVEL])) for p in pieces)
    assert gzip.decompress(stream) == b"".join(pieces)
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)  # as a browser reads it: one member, checked, then the end
    assert reader.decompress(stream) == b"".join(pieces)
    assert reader.eof and reader.unused_data == b""


def test_a_stored_piece_longer_than_one_block_is_split() -> None:
    raw = bytes(range(256)) * 600  # 153,600 bytes: three stored blocks
    assert gzip.decompress(gzsplice.join([gzsplice.Piece(raw, gzsplice._stored(raw))])) == raw


@pytest.mark.parametrize("seed", range(10))
def test_a_piece_deflated_against_what_precedes_it_decodes_whatever_fills_the_nul_standins(seed: int) -> None:
    """Kept quiz pieces are deflated with the bytes before them as a dictionary, a learner's own bytes as NULs."""
    rng = random.Random(seed)
    head = b'<article id="q-1"><input name="csrf" value="' * rng.randint(1, 40)
    tail = b'"><label for="q-1-c0">choice</label></article>' * rng.randint(1, 40)
    token_length = 64
    kept_tail = gzsplice.deflate(tail, zdict=head + bytes(token_length))
    assert len(kept_tail.deflated) < len(gzsplice.deflate(tail).deflated)  # the dictionary was used
    for _ in range(5):
        token = bytes(rng.choice(b"0123456789abcdef") for _ in range(token_length))  # each learner's own
        pieces = [gzsplice.deflate(head), gzsplice.deflate(token, gzsplice.OWN_LEVEL), kept_tail]
        assert gzip.decompress(gzsplice.join(pieces)) == head + token + tail
