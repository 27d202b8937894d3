"""Measure the store at scan scale (not collected by pytest).

    .venv/bin/python tests/bench/store_bench.py [DIR]

Commits 100,000 parsed messages over 10,000 contacts in batches of 5,000, then
times contacts() and a duplicate-only batch (which loads the 100,000 seen keys).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailer.model import FolderState, Interaction, Parsed
from mailer.store import Store

MESSAGES, CONTACTS, BATCH = 100_000, 10_000, 5_000


def messages(rng: random.Random) -> list[Parsed]:
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(MESSAGES):
        p = rng.randrange(CONTACTS)
        it = Interaction(
            email=f"person{p}@example{p % 97}.com",
            name=f"Person {p}",
            when=t0 + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60)),
            direction=rng.choice(("in", "out")),
            subject=f"Subject {rng.randrange(1000)}",
        )
        out.append(Parsed(key=f"{rng.getrandbits(64):016x}", interactions=(it,)))
    return out


def main(directory: Path) -> None:
    path = directory / "bench.json"
    store = Store(path)
    parsed = messages(random.Random(1))
    started = time.perf_counter()
    slowest = 0.0
    for i in range(0, MESSAGES, BATCH):
        t = time.perf_counter()
        store.commit_scan_batch(
            FolderState("bench", "INBOX", 1, i + BATCH), parsed[i : i + BATCH], []
        )
        slowest = max(slowest, time.perf_counter() - t)
    total = time.perf_counter() - started
    print(
        f"commit {MESSAGES:,} messages in batches of {BATCH:,}: {total:.2f}s "
        f"(slowest batch {slowest:.2f}s)"
    )

    t = time.perf_counter()
    contacts = store.contacts()
    print(f"contacts() at {len(contacts):,} contacts: {time.perf_counter() - t:.3f}s")

    t = time.perf_counter()
    result = store.commit_scan_batch(FolderState("bench", "INBOX", 1, MESSAGES), parsed[:BATCH], [])
    print(
        f"re-commit of {BATCH:,} seen messages ({result.duplicates:,} duplicates): "
        f"{time.perf_counter() - t:.3f}s"
    )

    t = time.perf_counter()
    stats = store.stats()
    print(f"stats() ({stats['messages_seen']:,} seen keys): {time.perf_counter() - t:.3f}s")
    print(f"file size: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as d:
            main(Path(d))
