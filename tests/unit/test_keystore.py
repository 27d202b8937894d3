"""Message keys beside the store file (mailer.keystore): compact, checked, killable.

The store file must hold contacts and small state only, so its size follows
the contacts, not the messages; the keys live in a base file and an append
log that the store file commits by naming them. These tests kill writers at
the moments that matter (after a key file was written, before the store file
named it) and at random ones, move stores of the old layout, and check that a
transaction that does not need the keys never reads them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mailer import keystore
from mailer import store as store_mod
from mailer.errors import StoreFormatError
from mailer.model import Contact, FolderState, Interaction, Parsed
from mailer.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 2_000
PEOPLE = 50


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "mailer.json"


def parsed(start: int, count: int) -> list[Parsed]:
    """Messages `start` .. `start + count - 1`, one interaction each, over PEOPLE people."""
    return [
        Parsed(
            key=f"{k:016x}",
            interactions=(
                Interaction(f"p{k % PEOPLE}@x.example", None, T0 + timedelta(seconds=k), "in"),
            ),
        )
        for k in range(start, start + count)
    ]


def position(last_uid: int) -> FolderState:
    return FolderState("imap:test", "INBOX", 7, last_uid, "2024-06-01T00:00:00Z")


def key_files(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path.parent) if f"{path.name}.keys-" in n)


def named_files(path: Path) -> list[str]:
    """The key files the store file names."""
    with Store(path).snapshot() as db:
        (ref,) = db.table("keys").all()
    base = f"{path.name}.keys-{ref['id']}"
    # a log of no committed bytes may hold those of a writer killed before its commit
    return [base, f"{base}.log"] if (path.parent / f"{base}.log").exists() else [base]


# -- the format -------------------------------------------------------------------------


def test_a_base_round_trips_sorted_and_checks_itself(tmp_path: Path) -> None:
    numbers = [5, 2**64 - 1, 0, 77, 5]
    data = keystore.encode_base(numbers)
    assert list(keystore.decode_base(data, tmp_path)) == [0, 5, 77, 2**64 - 1]
    flipped = bytearray(data)
    flipped[20] ^= 1
    with pytest.raises(StoreFormatError, match="checksum does not match"):
        keystore.decode_base(bytes(flipped), tmp_path)
    with pytest.raises(StoreFormatError, match="too short"):
        keystore.decode_base(data[:10], tmp_path)
    with pytest.raises(StoreFormatError, match="no mailer key file"):
        keystore.decode_base(b"{" + data[1:], tmp_path)


def test_log_records_are_read_back_and_a_damaged_one_is_named(tmp_path: Path) -> None:
    data = keystore.encode_record([1, 2]) + keystore.encode_record([3])
    assert keystore.decode_log(data, tmp_path) == [1, 2, 3]
    with pytest.raises(StoreFormatError, match="cut short"):
        keystore.decode_log(data[:-1], tmp_path)
    broken = bytearray(data)
    broken[6] ^= 1
    with pytest.raises(StoreFormatError, match="record at byte 0"):
        keystore.decode_log(bytes(broken), tmp_path)


def test_message_keys_become_the_numbers_they_spell() -> None:
    assert keystore.key_number("00000000000000ff") == 255
    assert keystore.key_text(255) == "00000000000000ff"
    # a key of another shape (tests, forwarded mail) is hashed, the same each time
    assert keystore.key_number("fwd-1") == keystore.key_number("fwd-1") != 0


# -- the store with key files -----------------------------------------------------------


def test_the_store_file_follows_the_contacts_not_the_messages(tmp_path: Path) -> None:
    small, large = Store(tmp_path / "small.json"), Store(tmp_path / "large.json")
    small.commit_scan_batch(position(PEOPLE), parsed(0, PEOPLE), [])
    for start in range(0, 100_000, 20_000):
        large.commit_scan_batch(position(start + 20_000), parsed(start, 20_000), [])
    assert large.stats()["messages_seen"] == 100_000
    contacts = [c.email for c in large.contacts()]
    assert contacts == [c.email for c in small.contacts()] and len(contacts) == PEOPLE
    # the same contacts (with other counts): within a few bytes per contact
    size_small, size_large = small.path.stat().st_size, large.path.stat().st_size
    assert abs(size_large - size_small) < 0.1 * size_small, (size_small, size_large)
    assert sum(os.path.getsize(tmp_path / n) for n in key_files(large.path)) < 9 * 100_000


def test_a_transaction_that_needs_no_keys_never_reads_them(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(path)
    store.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])

    def no(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("read the key files")

    monkeypatch.setattr(keystore.KeyFiles, "load", no)
    monkeypatch.setattr(keystore.KeyFiles, "_read", no)
    fresh = Store(path)
    assert len(fresh.contacts()) == PEOPLE
    assert fresh.stats()["messages_seen"] == BATCH
    fresh.update_contact("p1@x.example", tier="inner")
    fresh.meta_set("x", 1)
    contacts, _drafts, _open = fresh.planning()
    assert len(contacts) == PEOPLE
    # a scan batch without a message to count needs no keys either
    fresh.commit_scan_batch(position(BATCH + 1), [], [])


def test_many_batches_make_new_bases_and_leave_no_old_files(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keystore, "MIN_LOG_KEYS", 3_000)
    store = Store(path)
    for n in range(10):
        store.commit_scan_batch(position((n + 1) * BATCH), parsed(n * BATCH, BATCH), [])
        assert key_files(path) == named_files(path)  # the old base went with the next batch
    assert store.stats()["messages_seen"] == 10 * BATCH
    again = Store(path).commit_scan_batch(position(20_000), parsed(0, 10 * BATCH), [])
    assert (again.new, again.duplicates) == (0, 10 * BATCH)
    store.compact()
    assert len(named_files(path)) == 1  # the log merged into one base
    assert Store(path).seen_keys() == {f"{k:016x}" for k in range(10 * BATCH)}


def test_another_process_sees_keys_added_since_it_last_looked(path: Path) -> None:
    mine, theirs = Store(path), Store(path)
    mine.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    assert theirs.commit_scan_batch(position(BATCH), parsed(0, 10), []).duplicates == 10
    mine.commit_scan_batch(position(2 * BATCH), parsed(BATCH, BATCH), [])  # mine appends
    assert theirs.commit_scan_batch(position(2 * BATCH), parsed(BATCH, 10), []).duplicates == 10
    Store(path).compact()  # a third one makes a new base
    result = mine.commit_scan_batch(position(3 * BATCH), parsed(0, 3 * BATCH), [])
    assert (result.new, result.duplicates) == (BATCH, 2 * BATCH)
    assert theirs.stats()["messages_seen"] == 3 * BATCH


def test_a_damaged_or_missing_key_file_is_one_line_naming_it(path: Path) -> None:
    store = Store(path)
    store.commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    (base,) = named_files(path)
    data = bytearray((path.parent / base).read_bytes())
    data[100] ^= 0xFF
    (path.parent / base).write_bytes(bytes(data))
    with pytest.raises(StoreFormatError, match=f"message key file .*{base} is damaged") as e:
        Store(path).commit_scan_batch(position(BATCH + 1), parsed(BATCH, 1), [])
    assert "\n" not in str(e.value) and e.value.exit_code == 2
    assert len(Store(path).contacts()) == PEOPLE  # what needs no keys still works
    (path.parent / base).unlink()
    with pytest.raises(StoreFormatError, match="is missing"):
        Store(path).seen_keys()


def test_a_key_document_naming_no_file_is_a_format_error(path: Path) -> None:
    Store(path).commit_scan_batch(position(BATCH), parsed(0, BATCH), [])
    data = json.loads(path.read_bytes())
    data["keys"]["1"]["id"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreFormatError, match="keys document"):
        Store(path).commit_scan_batch(position(BATCH + 1), parsed(BATCH, 1), [])


def test_failures_are_recorded_once_per_message(path: Path) -> None:
    store = Store(path)
    bad = [{"uid": 5, "key": "00000000000000aa", "error": "no From"}]
    assert store.commit_scan_batch(position(5), [], bad).failures_recorded == 1
    # scan --full meets it again, and a copy in another folder
    assert store.commit_scan_batch(position(5), [], bad).failures_recorded == 0
    other = [{"uid": 9, "key": "00000000000000aa", "error": "no From"}]
    assert store.commit_scan_batch(position(9), [], other).failures_recorded == 0
    assert store.stats()["parse_failures"] == 1 and len(store.stats()["last_failures"]) == 1


# -- stores of the old layout -------------------------------------------------------------


def old_store(path: Path, keys: int) -> dict[str, Any]:
    """A store as mailer wrote it before the key files and the history file: keys in a
    `seen` table, each contact's monthly history in its document."""
    contacts = {
        str(i + 1): Contact(f"p{i}@x.example", messages_in=keys // PEOPLE).to_doc()
        | {"months": f"2024-01:{keys // PEOPLE}:0"}
        for i in range(PEOPLE)
    }
    half = keys // 2
    seen = {
        "1": {"n": half, "k": " ".join(f"{k:016x}" for k in range(half))},
        "2": {"n": keys - half, "k": " ".join(f"{k:016x}" for k in range(half, keys))},
    }
    data = {"contacts": contacts, "seen": seen, "meta": {"1": {"key": "m", "value": 0}}}
    path.write_text(json.dumps(data, separators=(",", ":")))
    os.chmod(path, 0o600)
    return data


def test_an_old_store_is_moved_on_first_use(path: Path) -> None:
    old = old_store(path, 10_000)
    before = path.stat().st_size
    store = Store(path)
    assert store.stats()["messages_seen"] == 10_000  # a read alone moves nothing
    assert json.loads(path.read_bytes()) == old
    store.meta_set("m", 1)  # the first transaction does
    data = json.loads(path.read_bytes())
    assert "seen" not in data and data["contacts"] == without_months(old)
    assert path.stat().st_size < before / 10
    assert {c.email: c.months for c in store.contacts_with_history()} == months_of(old)
    assert store.stats()["messages_seen"] == 10_000
    result = store.commit_scan_batch(position(10_001), parsed(9_990, 11), [])
    assert (result.new, result.duplicates) == (1, 10)


def test_two_processes_scanning_the_same_mail_count_each_message_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scanners (the daemon and `mailer scan`) over folders that share mail."""
    monkeypatch.setattr(keystore, "MIN_LOG_KEYS", 3_000)  # new bases while they race
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


# -- kill -9 ------------------------------------------------------------------------------


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
    `stop_before_store_write` ("log" or "base") it blocks for good once it wrote such a
    key file, just before writing the store file that would name it."""

    def child(notify: int) -> None:
        keystore.MIN_LOG_KEYS = 3_000  # a new base every other batch
        if stop_before_store_write:
            written = {"log": False, "base": False}
            real_add, real_write = keystore.KeyFiles.add, store_mod.write_atomic

            def add(self: Any, ref: Any, keys: Any, new: list[int]) -> Any:
                result = real_add(self, ref, keys, new)
                written["log" if ref is not None and result.id == ref.id else "base"] = True
                return result

            def write(p: Path, payload: bytes) -> None:
                if written[stop_before_store_write]:
                    os.write(notify, b"!")
                    time.sleep(3600)
                real_write(p, payload)

            keystore.KeyFiles.add = add  # type: ignore[method-assign]
            store_mod.write_atomic = write  # type: ignore[assignment]
        store = Store(path)
        while True:
            n = store.stats()["messages_seen"] // BATCH
            batch = parsed(max(n * BATCH - 100, 0), BATCH + min(n * BATCH, 100))
            store.commit_scan_batch(position((n + 1) * BATCH), batch, [])
            os.write(notify, b".")

    return child


def _check_scanned(path: Path) -> int:
    """The store is exactly what its last committed batch left; its message count."""
    store = Store(path)
    seen = store.stats()["messages_seen"]
    assert seen % BATCH == 0
    assert sum(c.messages_in for c in store.contacts()) == seen
    if seen:
        assert store.folder_states()[("imap:test", "INBOX")].last_uid == seen
        assert store.counted(f"{seen - 1:016x}")
    assert not store.counted(f"{seen:016x}")  # nothing of a batch that did not commit
    assert key_files(path) == named_files(path)  # the key read removed leftovers
    assert not [n for n in os.listdir(path.parent) if ".tmp-" in n]
    return seen


@pytest.mark.parametrize("moment", ["log", "base"])
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


def without_months(old: dict[str, Any]) -> dict[str, Any]:
    return {i: {k: v for k, v in d.items() if k != "months"} for i, d in old["contacts"].items()}


def months_of(old: dict[str, Any]) -> dict[str, str]:
    return {d["email"]: d["months"] for d in old["contacts"].values()}


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


@pytest.fixture(autouse=True)
def _no_lock_held_after_test() -> Iterator[None]:
    yield
    assert not getattr(store_mod._held, "paths", set()), "a test leaked a held lock"
