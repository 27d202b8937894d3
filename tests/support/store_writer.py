"""Child-process writers for tests/system/test_store.py (not a test module).

python tests/support/store_writer.py grow PATH             # commit forever, until killed
python tests/support/store_writer.py incr PATH NAME N START  # N increments, from time START
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Any

from tinydb import Query

from mailer.store import Store

BLOB_CHARS = 400


def blob(n: int, size: int = BLOB_CHARS) -> str:
    """A payload made from n, so a reader can check every entry it finds."""
    seed = hashlib.sha256(str(n).encode()).hexdigest()
    return (seed * (size // len(seed) + 1))[:size]


def side(n: int) -> str:
    """A payload whose size jumps up and down, so the file also shrinks at times."""
    return blob(n, int(blob(n, 4), 16) % 40_000)


def _meta(db: Any, key: str) -> int:
    doc = db.table("meta").get(Query().key == key)
    return int(doc["value"]) if doc else 0


def _set_meta(db: Any, key: str, value: int) -> None:
    db.table("meta").upsert({"key": key, "value": value}, Query().key == key)


def grow(path: str, notify: int | None = None) -> None:
    """Commit 1, 2, 3, ... forever; after each, write a byte to fd `notify`.

    Commit n leaves counter n, log entries 1..n, and side(n) as the side payload.
    """
    store = Store(path)
    done = None if notify is None else (lambda: os.write(notify, b"."))
    while True:
        with store.transaction(on_commit=done) as db:
            n = _meta(db, "counter") + 1
            db.table("log").insert({"n": n, "blob": blob(n)})
            db.table("side").truncate()
            db.table("side").insert({"blob": side(n)})
            _set_meta(db, "counter", n)


def increment(path: str, name: str, count: int, start: float) -> None:
    """`count` read-modify-write increments of a private and a shared counter."""
    store = Store(path)
    time.sleep(max(0.0, start - time.time()))  # both writers begin together
    for _ in range(count):
        with store.transaction() as db:
            _set_meta(db, f"count:{name}", _meta(db, f"count:{name}") + 1)
            _set_meta(db, "shared", _meta(db, "shared") + 1)
            db.table("log").insert({"who": name})


if __name__ == "__main__":
    if sys.argv[1] == "grow":
        grow(sys.argv[2])
    elif sys.argv[1] == "incr":
        increment(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    else:
        raise SystemExit(__doc__)
