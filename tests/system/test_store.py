"""The store under kill -9 and with two writer processes (tests/support/store_writer.py).

The in-process store tests are in tests/unit/test_store.py.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mailer.store import Store
from tests.unit.test_store import (
    leftovers,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mailer.json"


WRITER = Path(__file__).resolve().parents[1] / "support" / "store_writer.py"


def _load_writer() -> Any:
    # By path, so it works whether or not tests/ is a package.
    spec = importlib.util.spec_from_file_location("store_writer", WRITER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_consistent(path: Path, writer: Any) -> int:
    """The store loads and is exactly what commit `counter` left; returns counter."""
    json.loads(path.read_bytes())
    with Store(path).snapshot() as db:
        meta = db.table("meta").all()
        log = db.table("log").all()
        side = db.table("side").all()
    counter = int(meta[0]["value"]) if meta else 0
    assert [d["n"] for d in log] == list(range(1, counter + 1))
    assert all(d["blob"] == writer.blob(d["n"]) for d in log)
    assert [d["blob"] for d in side] == ([writer.side(counter)] if counter else [])
    return counter


def _wait_for_bytes(fd: int, count: int) -> None:
    got = 0
    while got < count:
        chunk = os.read(fd, count - got)
        assert chunk, "the writer died on its own"
        got += len(chunk)


@pytest.mark.slow
def test_kill_9_at_random_moments_never_breaks_the_store(path: Path) -> None:
    """Kills paced by the writer's progress, not the wall clock: each lands after a
    few commits (at a random moment after the last one, so often inside a write),
    and every tenth one inside a write for sure, so the result does not depend on
    how fast or loaded the machine is."""
    writer = _load_writer()
    rng = random.Random(1234)
    kills, with_temp, counter, committed = 200, 0, 0, 0
    started = time.monotonic()
    for round_ in range(kills):
        midway = round_ % 10 == 9
        read, notify = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: commit until killed; never return into pytest
            try:
                os.close(read)
                if midway:  # the next write stops after its temp file is written
                    _stop_inside_write(notify)
                writer.grow(str(path), notify)
            finally:
                os._exit(1)
        os.close(notify)
        commits = 0 if midway else rng.randint(1, 3)
        _wait_for_bytes(read, commits + (1 if midway else 0))
        committed += commits
        time.sleep(rng.uniform(0.0, 0.002))  # somewhere in the next transaction
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(read)
        assert os.WIFSIGNALED(status), "the writer died on its own"
        with_temp += bool(leftovers(path))
        now = _check_consistent(path, writer) if path.exists() else 0
        assert now >= counter  # a committed transaction is never lost
        counter = now
    with Store(path).transaction():
        pass
    assert leftovers(path) == []
    print(
        f"\n{kills} kills in {time.monotonic() - started:.1f}s: {counter} commits survived, "
        f"{with_temp} kills left a temp file behind ({path.stat().st_size} bytes)"
    )
    assert counter >= committed  # every commit waited for survived
    assert with_temp >= kills // 10  # the kills inside a write left their temp file


def _stop_inside_write(notify: int) -> None:
    """In the writer: its next store write stops (for good) once its temp file is
    fully written, before the rename; a "!" says so."""
    from mailer.store import files

    real = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        os.write(notify, b"!")
        time.sleep(3600)
        real(src, dst)

    files.os.replace = replace  # type: ignore[attr-defined]


def test_two_processes_never_lose_each_others_updates(path: Path) -> None:
    n = 150
    start = time.time() + 0.5
    procs = [
        subprocess.Popen([sys.executable, str(WRITER), "incr", str(path), who, str(n), str(start)])
        for who in ("A", "B")
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    with Store(path).snapshot() as db:
        meta = {d["key"]: d["value"] for d in db.table("meta").all()}
        order = [d["who"] for d in db.table("log").all()]
    assert meta == {"count:A": n, "count:B": n, "shared": 2 * n}
    assert len(order) == 2 * n
    switches = sum(a != b for a, b in itertools.pairwise(order))
    print(f"\nwriters took turns {switches} times")
    assert switches >= 1  # they did run side by side
