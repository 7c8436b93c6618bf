"""Content digests (L0). Every digest in enlist is sha256, written as lowercase hex.

Hashing is streamed in chunks so that a 400 MB tool archive never sits in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

ALGORITHM = "sha256"
CHUNK = 1 << 20


def of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def of_chunks(chunks: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def of_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def is_hex_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)
