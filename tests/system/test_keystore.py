"""Message keys beside the store file (mailer.keystore), killed and raced by forked children.

These tests kill writers at the moments that matter (after a key file was
written, before the store file named it) and at random ones, and race two
scanners. The in-process tests are in tests/unit/test_keystore.py.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailer.core import history
from mailer.store import Store, histories, keystore
from mailer.store import engine as store_mod
from tests.unit.test_keystore import (
    BATCH,
    key_files,
    months_of,
    named_files,
    old_store,
    parsed,
    position,
    without_months,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mailer.json"


def test_two_processes_scanning_the_same_mail_count_each_message_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scanners (the daemon and `mailer scan`) over folders that share mail."""
    monkeypatch.setattr(keystore, "MIN_LOG_KEYS", 3_000)  # new bases while they race
    monkeypatch.setattr(histories, "MIN_LOG_BYTES", 3_000)  # of the histories too
    pids = []
    for who in range(2):
        pid = os.fork()
        if pid == 0:  # never return into pytest
            try:
                store = Store(path)
                # each its own order of 500-message batches over 0 .. 14,999 and a shared part
                starts = list(range(0, 15_000, 500))
                random.Random(who).shuffle(starts)
                for start in starts:
                    store.commit_scan_batch(position(start + 500), parsed(start, 500), [])
                os._exit(0)
            finally:
                os._exit(1)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    store = Store(path)
    assert store.stats()["messages_seen"] == 15_000
    assert sum(c.messages_in for c in store.contacts()) == 15_000
    assert store.seen_keys() == {f"{k:016x}" for k in range(15_000)}
    assert key_files(path) == named_files(path)
    _check_histories(store)


def _fork(child: Callable[[int], None]) -> tuple[int, int]:
    """A child running `child(notify_fd)` until killed; (pid, fd the parent reads)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # never return into pytest
        try:
            os.close(r)
            child(w)
        finally:
            os._exit(1)
    os.close(w)
    return pid, r


def _kill(pid: int, fd: int) -> None:
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.WIFSIGNALED(status), "the writer died on its own"


def _wait_for(fd: int, signals: int = 1) -> None:
    got = 0
    while got < signals:
        chunk = os.read(fd, signals - got)
        assert chunk, "the writer ended"
        got += len(chunk)


def _scanner(path: Path, stop_before_store_write: str | None) -> Callable[[int], None]:
    """A child that commits scan batches forever (message k in batch k // BATCH, with
    the last 100 of the batch before again), writing a byte after each commit. With
    `stop_before_store_write` ("log" or "base" of the keys, "history" for the history
    log, "history base" for a new one) it blocks for good once it wrote such a file,
    just before writing the store file that would name it."""

    def child(notify: int) -> None:
        keystore.MIN_LOG_KEYS = 3_000  # a new base every other batch
        histories.MIN_LOG_BYTES = 3_000  # and of the histories every few batches
        if stop_before_store_write:
            written = {"log": False, "base": False, "history": False, "history base": False}
            real_add, real_write = keystore.KeyFiles.add, store_mod.write_atomic
            real_history = histories.HistoryFiles.add

            def add(self: Any, ref: Any, keys: Any, new: list[int]) -> Any:
                result = real_add(self, ref, keys, new)
                written["log" if ref is not None and result.id == ref.id else "base"] = True
                return result

            def add_history(self: Any, ref: Any, months: Any, changed: Any) -> Any:
                result = real_history(self, ref, months, changed)
                written["history"] |= ref is not None and result[0].id == ref.id
                written["history base"] |= ref is not None and result[0].id != ref.id
                return result

            histories.HistoryFiles.add = add_history  # type: ignore[method-assign]

            def write(p: Path, payload: bytes) -> None:
                if written[stop_before_store_write]:
                    os.write(notify, b"!")
                    time.sleep(3600)
                real_write(p, payload)

            keystore.KeyFiles.add = add  # type: ignore[method-assign]
            store_mod.write_atomic = write  # type: ignore[assignment]
        store = Store(path)
        # A stopping writer meets its moment within 50 batches, or ends: the parent
        # then reads the end of the pipe and fails, where it would wait for good.
        for _ in range(50) if stop_before_store_write else itertools.count():
            n = store.stats()["messages_seen"] // BATCH
            batch = parsed(max(n * BATCH - 100, 0), BATCH + min(n * BATCH, 100))
            store.commit_scan_batch(position((n + 1) * BATCH), batch, [])
            os.write(notify, b".")

    return child


def _check_histories(store: Store) -> None:
    """The histories (base and log) hold exactly the mail counted into the contacts."""
    for c in store.contacts_with_history():
        assert sum(n_in for n_in, _ in history.load(c.months).values()) == c.messages_in


def _check_scanned(path: Path) -> int:
    """The store is exactly what its last committed batch left; its message count."""
    store = Store(path)
    seen = store.stats()["messages_seen"]
    assert seen % BATCH == 0
    assert sum(c.messages_in for c in store.contacts()) == seen
    _check_histories(store)
    if seen:
        assert store.folder_states()[("imap:test", "INBOX")].last_uid == seen
        assert store.counted(f"{seen - 1:016x}")
    assert not store.counted(f"{seen:016x}")  # nothing of a batch that did not commit
    assert key_files(path) == named_files(path)  # the key read removed leftovers
    doc = json.loads(path.read_bytes())["history"]["1"]
    assert {n for n in os.listdir(path.parent) if ".history-" in n} <= {
        f"{path.name}.history-{doc['id']}",
        f"{path.name}.history-{doc['id']}.log",
    }
    assert not [n for n in os.listdir(path.parent) if ".tmp-" in n]
    return seen


@pytest.mark.parametrize("moment", ["log", "base", "history"])
def test_a_kill_after_the_key_file_before_the_store_file_loses_nothing(
    path: Path, moment: str
) -> None:
    """The moment that matters: the keys are written, the store file does not name them."""
    Store(path).commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    for _ in range(2):
        pid, fd = _fork(_scanner(path, moment))
        _wait_for_byte(fd, b"!")
        _kill(pid, fd)
        before = _check_scanned(path)
        pid, fd = _fork(_scanner(path, None))  # and the next writer goes on from there
        _wait_for(fd, 2)
        _kill(pid, fd)
        assert _check_scanned(path) >= before + 2 * BATCH


def test_a_kill_while_a_first_format_history_base_is_replaced_loses_nothing(
    path: Path,
) -> None:
    """A store written before the history index: its first change writes an indexed
    base; killed before the store file names it, the old base stands."""
    Store(path).commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    old = path.parent / f"{path.name}.history-{json.loads(path.read_bytes())['history']['1']['id']}"
    months = histories.Base.open(old).all()
    old.write_bytes(json.dumps({"format": "mailer-history-1", "months": months}).encode())
    pid, fd = _fork(_scanner(path, "history base"))
    _wait_for_byte(fd, b"!")
    assert len([n for n in os.listdir(path.parent) if ".history-" in n]) == 2  # and the new
    _kill(pid, fd)
    assert _check_scanned(path) == BATCH
    assert not old.read_bytes().endswith(histories.MAGIC)  # still the one named
    assert {c.email: c.months for c in Store(path).contacts_with_history()} == months
    pid, fd = _fork(_scanner(path, None))
    _wait_for(fd, 2)
    _kill(pid, fd)
    assert _check_scanned(path) >= 3 * BATCH
    doc = json.loads(path.read_bytes())["history"]["1"]
    assert (path.parent / f"{path.name}.history-{doc['id']}").read_bytes().endswith(histories.MAGIC)
    assert not old.exists()


def _wait_for_byte(fd: int, wanted: bytes) -> None:
    while True:
        chunk = os.read(fd, 1)
        assert chunk, "the writer ended"
        if chunk == wanted:
            return


@pytest.mark.slow
def test_kill_9_at_random_moments_of_a_scan_never_breaks_the_keys(path: Path) -> None:
    rng = random.Random(42)
    seen = 0
    for _ in range(40):
        pid, fd = _fork(_scanner(path, None))
        _wait_for(fd)  # it committed once: every kill below lands after some work
        time.sleep(rng.uniform(0.0, 0.05))
        _kill(pid, fd)
        now = _check_scanned(path)
        assert now >= seen + BATCH  # a committed batch is never lost
        seen = now


def _mover(path: Path, stop_before_store_write: bool) -> Callable[[int], None]:
    def child(notify: int) -> None:
        if stop_before_store_write:
            real = store_mod.write_atomic

            def write(p: Path, payload: bytes) -> None:
                os.write(notify, b"!")
                time.sleep(3600)
                real(p, payload)

            store_mod.write_atomic = write  # type: ignore[assignment]
        os.write(notify, b".")
        Store(path).meta_set("m", 1)
        os.write(notify, b"done")
        time.sleep(3600)

    return child


def _check_moved_or_not(path: Path, old: dict[str, Any], keys: int) -> bool:
    """The store is the old one or the moved one, whole; True when moved."""
    data = json.loads(path.read_bytes())
    moved = "seen" not in data
    if moved:
        assert data["contacts"] == without_months(old)
    else:
        assert data == old
    store = Store(path)
    assert store.stats()["messages_seen"] == keys
    assert store.counted(f"{keys - 1:016x}") and not store.counted(f"{keys:016x}")
    assert "seen" not in json.loads(path.read_bytes())  # that transaction moved it
    assert key_files(path) == named_files(path)
    assert {c.email: c.months for c in store.contacts_with_history()} == months_of(old)
    history = [n for n in os.listdir(path.parent) if n.startswith(f"{path.name}.history-")]
    assert len(history) == 1  # the one named; those of killed movers are gone
    return moved


@pytest.mark.slow
def test_kill_9_while_an_old_store_is_moved(tmp_path: Path) -> None:
    keys = 100_000
    pristine = tmp_path / "old.json"
    old = old_store(pristine, keys)
    path = tmp_path / "mailer.json"

    def fresh() -> None:
        for name in os.listdir(tmp_path):
            if name.startswith(("mailer.json", ".mailer.json")):
                os.unlink(tmp_path / name)
        shutil.copy(pristine, path)

    # killed with the key file written and the store file not yet: the old store stands
    fresh()
    pid, fd = _fork(_mover(path, True))
    _wait_for_byte(fd, b"!")
    assert key_files(path)  # the new base is there, named by nobody
    _kill(pid, fd)
    assert _check_moved_or_not(path, old, keys) is False
    # and at random moments over about as long as a move takes on this machine now
    fresh()
    started = time.monotonic()
    Store(path).meta_set("m", 1)
    window = 1.5 * (time.monotonic() - started)
    rng = random.Random(3)
    moved = 0
    for _ in range(10):
        fresh()
        pid, fd = _fork(_mover(path, False))
        _wait_for(fd)
        time.sleep(rng.uniform(0.0, window))
        _kill(pid, fd)
        moved += _check_moved_or_not(path, old, keys)
    print(f"\n10 kills while moving {keys:,} keys: {moved} after the move, {10 - moved} before")
