"""`mailer rebuild`: mail-derived fields derived again from the sources, the owner's kept.

Against local mailboxes and a real Dovecot; with changes made while it runs;
and SIGKILLed at random moments (the store must stay as it was).
"""

from __future__ import annotations

import dataclasses
import fcntl
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

from mailer import rebuild
from mailer.app import App, local_source
from mailer.config import load
from mailer.model import CommandRecord, Contact, DraftRecord, Interaction, Parsed
from mailer.rebuild import MAIL_FIELDS
from mailer.store import Decision, Store
from tests.support import mailgen
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import HISTORY, ME, load_history, mailer, utc, write_config, write_mbox

NOW = utc(2026, 11, 20, 9, 0)
ENV = {"MAILER_NOW": "2026-11-20T09:00:00Z"}
OWNER = mailgen.OWNER  # of the sample Maildir; ME[1] is the owner in HISTORY (the mbox)

ANNA = "anna.berg@northwind.example"  # in the Maildir ...
ANNA_OLD = "anna.berg@north.example"  # ... and her old address, in the mbox
KENJI = "kenji@sato-labs.example"
TOMASZ = "t.nowak@contoso.example"
ZOE = "zoe.quinn@lumen.example"
PRIYA = "priya.raman@fabrikam.example"
SAM = "sam.okafor@woodgrove.example"
OMAR = "omar@haddad.example"
BOOK = "friend@addressbook.example"  # from an address book: no mail anywhere
OWNED = [
    f.name for f in dataclasses.fields(Contact) if f.name not in {*MAIL_FIELDS, "name", "name_seen"}
]
OTHER_TABLES = ("drafts", "logged", "intros", "commands", "meta")


@dataclasses.dataclass(frozen=True)
class Boxes:
    maildir: Path  # two years of a consultant's mail (tests/support/mailgen.py)
    mbox: Path  # scanhelp.HISTORY: an older export


@pytest.fixture
def boxes(tmp_path: Path) -> Boxes:
    maildir, mbox = tmp_path / "Maildir", tmp_path / "old.mbox"
    mailgen.write_maildir(maildir, mailgen.sample_history(NOW))
    write_mbox(mbox, HISTORY)
    return Boxes(maildir, mbox)


def _config(tmp_path: Path, name: str, user: ImapUser | None = None, **sections: Any) -> Path:
    d = tmp_path / name
    d.mkdir()
    sections.setdefault("me", {"name": "Pat Doe", "addresses": [OWNER, ME[1]]})
    return write_config(d, user, **sections)


def _store(config: Path) -> Store:
    return Store(config.parent / "mailer.json")


def _ok(config: Path, *args: str, user: ImapUser | None = None) -> str:
    out = mailer(config, *args, user=user, env=ENV)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _fresh(
    tmp_path: Path,
    name: str,
    imports: list[tuple[str, Path]],
    seeds: tuple[Contact, ...] = (),
    user: ImapUser | None = None,
    **sections: Any,
) -> Store:
    """What a store made today from the same mail says (aliases known from the start)."""
    config = _config(tmp_path, name, user, **sections)
    _store(config).insert_contacts(seeds)
    if user is not None:
        _ok(config, "scan", user=user)
    for kind, path in imports:
        _ok(config, "import", kind, str(path))
    return _store(config)


def _age(store: Store, wrong: str) -> None:
    """Make `store` look like one from before per-month history (no history fields, no
    history file), with a count gone wrong."""
    data = _tables(store)
    for doc in data["contacts"].values():
        for name in ("months", "gap_days", "weight_at", "weight"):
            doc.pop(name, None)
        if doc["email"] == wrong:
            n_in, n_out = doc.get("messages", (0, 0))
            doc["messages"] = [n_in + 7, n_out]
    data.pop("history", None)
    store.path.write_text(json.dumps(data))
    for p in store.path.parent.glob(store.path.name + ".history-*"):
        p.unlink()


def _mail(c: Contact) -> dict[str, Any]:
    return {f: getattr(c, f) for f in MAIL_FIELDS}


def _owned(c: Contact) -> dict[str, Any]:
    return {f: getattr(c, f) for f in OWNED} | ({"name": c.name} if c.name_fixed else {})


def _by_email(store: Store) -> dict[str, Contact]:
    return {c.email: c for c in store.contacts_with_history()}


def _tables(store: Store) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(store.path.read_bytes())
    return data


def _assert_like_fresh(got: dict[str, Contact], fresh: dict[str, Contact]) -> None:
    for email, ref in fresh.items():
        assert _mail(got[email]) == _mail(ref), email
        if not got[email].name_fixed:
            assert got[email].name == ref.name, email
    assert all(c.months for c in fresh.values() if c.messages_in + c.messages_out)


# -- local mailboxes ---------------------------------------------------------------------------


def test_rebuild_gives_an_old_store_a_fresh_imports_history_and_keeps_what_the_owner_set(
    boxes: Boxes, tmp_path: Path
) -> None:
    config = _config(tmp_path, "main")
    _ok(config, "import", "maildir", str(boxes.maildir))
    _ok(config, "import", "mbox", str(boxes.mbox))
    store = _store(config)
    # Everything the owner can set ...
    _ok(config, "contacts", "set", ANNA, "--tier", "inner", "--tags", "consulting,lisbon")
    _ok(config, "contacts", "set", ANNA, "--trust", "3", "--notes", "met in Lisbon")
    _ok(config, "contacts", "set", ANNA, "--cadence", "30d")
    _ok(config, "contacts", "set", KENJI, "--name", "Kenji S.")  # scans no longer change it
    _ok(config, "weed", "--apply", TOMASZ)
    _ok(config, "contacts", "set", ZOE, "--snooze", "2026-12-24", "--intro-opt-out")
    _ok(config, "contacts", "merge", ANNA, ANNA_OLD)
    store.add_contact(Contact(BOOK, name="Book Friend", tier="inner", notes="from my phone"))
    store.change_contact(
        PRIYA, lambda c: dataclasses.replace(c, last_logged="2026-11-02T10:00:00Z")
    )
    with store.transaction() as db:  # a logged exchange, and a field of a later version
        db.table("logged").insert(
            {"email": PRIYA, "when": "2026-11-02T10:00:00Z", "text": "lunch", "source": "k1"}
        )
        db.table("contacts").update({"x_later": [1, 2]}, lambda d: d["email"] == PRIYA)
    store.record_draft(DraftRecord("reconnect:x", ANNA, "reconnect", "2026-11-19T08:30:00Z"))
    store.meta_set("digest.last", "2026-11-19")
    # ... on a store from an older version.
    _age(store, wrong=KENJI)
    before = _by_email(store)
    assert not any(c.months for c in before.values())
    others = {t: v for t, v in _tables(store).items() if t in OTHER_TABLES}

    out = _ok(config, "rebuild")

    fresh = _fresh(
        tmp_path,
        "fresh",
        [("maildir", boxes.maildir), ("mbox", boxes.mbox)],
        seeds=(Contact(ANNA, aliases=(ANNA_OLD,)),),
    )
    got, ref = _by_email(store), _by_email(fresh)
    assert set(got) == {*ref, BOOK}
    _assert_like_fresh(got, ref)
    for email, c in before.items():  # the owner's fields, as they were
        assert _owned(got[email]) == _owned(c), email
    assert got[KENJI].name == "Kenji S." and got[TOMASZ].status == "weeded"
    assert got[ANNA].aliases == (ANNA_OLD,) and got[PRIYA].extra == {"x_later": [1, 2]}
    assert got[BOOK] == before[BOOK]  # no mail anywhere: kept as it was
    tables, fresh_tables = _tables(store), _tables(fresh)
    assert {t: v for t, v in tables.items() if t in OTHER_TABLES} == others
    assert store.seen_keys() == fresh.seen_keys()
    for table in ("folders", "failures"):
        assert tables[table] == fresh_tables[table], table
    # what it says
    maildir = f"maildir:{boxes.maildir.resolve()}"
    assert f"{maildir} INBOX: " in out and f"{maildir} .Sent: " in out
    assert f"mbox:{boxes.mbox.resolve()}: 11 read, 8 counted" in out
    assert (
        f"contacts: {len(ref)} rebuilt, 1 kept without mail; history for {len(ref)} contacts" in out
    )

    # Nothing counts twice: a second rebuild leaves every byte as it is.
    first = store.path.read_bytes()
    _ok(config, "rebuild")
    assert store.path.read_bytes() == first
    assert not rebuild.aside_dir(store).exists()
    # and the history is there for the rules
    rows = {
        r["email"]: r
        for r in json.loads(_ok(config, "contacts", "list", "--all", "--format", "json"))
    }
    assert rows[PRIYA]["rhythm_days"] is not None


def test_changes_made_while_it_runs_are_kept(boxes: Boxes, tmp_path: Path) -> None:
    """A `contacts set`, a merge, an import and a forwarded mail while the rebuild reads."""
    config = _config(tmp_path, "main")
    _ok(config, "import", "maildir", str(boxes.maildir))
    store = _store(config)
    _age(store, wrong=PRIYA)
    cfg = load(str(config))
    forwarded = Interaction("new.friend@elsewhere.example", "New Friend", utc(2026, 11, 1), "in")
    record = CommandRecord(
        "cmd-1", "<c1@x>", OWNER, "Fwd: hello", None, "2026-11-20T08:00:00Z", "forward", "owner"
    )
    calls: list[str] = []

    def meanwhile(folder: str, done: int, total: int) -> None:
        calls.append(folder)
        if len(calls) > 1:
            return
        store.update_contact(PRIYA, tier="network", tags=("ml",))
        store.merge_contacts(SAM, OMAR)
        App(cfg).scan(local_source("mbox", boxes.mbox), NOW, full=True)
        store.apply_command_mail(
            "cmd-1",
            [Parsed("fwd-1", (forwarded,))],  # its original is in no mailbox mailer reads
            lambda contacts, intros, past: Decision(record, {}),
        )

    report = rebuild.run(App(cfg), NOW, progress=meanwhile)

    assert [r.source for r in report.catch_ups] == [f"mbox:{boxes.mbox.resolve()}"]
    assert report.missed == 1
    fresh = _fresh(
        tmp_path,
        "fresh",
        [("maildir", boxes.maildir), ("mbox", boxes.mbox)],
        seeds=(Contact(SAM, aliases=(OMAR,)),),
    )
    got, ref = _by_email(store), _by_email(fresh)
    assert set(got) == {*ref, forwarded.email}
    # SAM's name is the merge's (his own), a fresh fold takes the newest of both
    _assert_like_fresh(got, ref | {SAM: dataclasses.replace(ref[SAM], name=got[SAM].name)})
    assert (got[PRIYA].tier, got[PRIYA].tags) == ("network", ("ml",))
    assert got[SAM].aliases == (OMAR,) and OMAR not in got
    friend = got[forwarded.email]  # the sources never mention them: kept as counted
    assert (friend.messages_in, friend.last_inbound) == (1, "2026-11-01T00:00:00Z")
    assert store.counted("fwd-1")  # ... and not counted again if the original shows up
    assert [r.key for r in store.command_records()] == ["cmd-1"]


def test_a_missing_mailbox_is_skipped_and_its_people_keep_their_counts(
    boxes: Boxes, tmp_path: Path
) -> None:
    config = _config(tmp_path, "main")
    _ok(config, "import", "maildir", str(boxes.maildir))
    _ok(config, "import", "mbox", str(boxes.mbox))
    store = _store(config)
    before = _by_email(store)
    only_mbox = {"bob@x.example", "carol@c.example", "zoe@y.example", "erin@e.example", ANNA_OLD}
    hidden = boxes.mbox.with_suffix(".away")
    boxes.mbox.rename(hidden)

    out = _ok(config, "rebuild")

    assert f"mbox:{boxes.mbox.resolve()}: skipped ({boxes.mbox.resolve()} is missing)" in out
    assert "kept without mail" in out and "kept their earlier counts" in out
    got = _by_email(store)
    for email in only_mbox:
        assert got[email] == before[email]
    assert (f"mbox:{boxes.mbox.resolve()}", str(boxes.mbox)) in store.folder_states()
    # Back again, an import counts nothing twice; a rebuild reads it again.
    hidden.rename(boxes.mbox)
    assert "0 new" in _ok(config, "import", "mbox", str(boxes.mbox))
    assert _by_email(store) == got
    _ok(config, "rebuild")
    _assert_like_fresh(
        _by_email(store),
        _by_email(_fresh(tmp_path, "fresh", [("maildir", boxes.maildir), ("mbox", boxes.mbox)])),
    )


def test_errors_are_one_line(boxes: Boxes, tmp_path: Path) -> None:
    config = _config(tmp_path, "main")
    out = mailer(config, "rebuild", env=ENV)
    assert out.returncode == 2
    assert (
        out.stderr.startswith("mailer: error: nothing to rebuild from")
        and out.stderr.count("\n") == 1
    )

    _ok(config, "import", "maildir", str(boxes.maildir))
    lock = config.parent / "mailer.json.rebuild.lock"
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        out = mailer(config, "rebuild", env=ENV)
    assert out.returncode == 1
    assert "another `mailer rebuild`" in out.stderr and out.stderr.count("\n") == 1


def test_lost_key_files_are_one_line_that_rebuild_mends(boxes: Boxes, tmp_path: Path) -> None:
    """A store copied without its key files (a backup of mailer.json alone)."""
    config = _config(tmp_path, "main")
    _ok(config, "import", "maildir", str(boxes.maildir))
    store = _store(config)
    reference = _by_email(store)
    keys = store.seen_keys()
    for name in os.listdir(config.parent):
        if name.startswith("mailer.json.keys-"):
            os.unlink(config.parent / name)
    out = mailer(config, "import", "maildir", str(boxes.maildir), env=ENV)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "is damaged: it is missing" in out.stderr and "mailer rebuild" in out.stderr
    assert _by_email(store) == reference  # nothing counted twice, nothing lost
    _ok(config, "rebuild")
    assert store.seen_keys() == keys
    _ok(config, "import", "maildir", str(boxes.maildir))  # counts nothing again
    assert _by_email(store) == reference


def test_dry_run_changes_nothing(boxes: Boxes, tmp_path: Path) -> None:
    config = _config(tmp_path, "main")
    _ok(config, "import", "maildir", str(boxes.maildir))
    store = _store(config)
    _age(store, wrong=PRIYA)
    before = store.path.read_bytes()
    out = _ok(config, "rebuild", "--dry-run")
    assert store.path.read_bytes() == before
    assert "would be rebuilt" in out and "dry run: the store is unchanged" in out
    assert not rebuild.aside_dir(store).exists()


# -- a real IMAP account -----------------------------------------------------------------------


def test_rebuild_against_dovecot(imap_user: ImapUser, boxes: Boxes, tmp_path: Path) -> None:
    load_history(imap_user)
    config = _config(tmp_path, "main", imap_user)
    _ok(config, "scan", user=imap_user)
    _ok(config, "import", "maildir", str(boxes.maildir))
    store = _store(config)
    _ok(config, "contacts", "set", ANNA_OLD, "--tier", "inner", "--tags", "berlin", "--trust", "2")
    _ok(config, "contacts", "merge", ANNA, ANNA_OLD)
    _ok(config, "contacts", "set", "carol@c.example", "--snooze", "2027-01-01")
    _age(store, wrong="bob@x.example")
    before = _by_email(store)

    out = _ok(config, "rebuild", user=imap_user)

    imap = f"imap:{imap_user.username}@127.0.0.1"
    assert f"{imap} INBOX: 7 read, 6 counted" in out and f"{imap} Sent: 4 read" in out
    fresh = _fresh(
        tmp_path,
        "fresh",
        [("maildir", boxes.maildir)],
        seeds=(Contact(ANNA, aliases=(ANNA_OLD,)),),
        user=imap_user,
    )
    got, ref = _by_email(store), _by_email(fresh)
    assert set(got) == set(ref)
    _assert_like_fresh(got, ref)
    for email, c in before.items():
        assert _owned(got[email]) == _owned(c), email
    first = store.path.read_bytes()
    _ok(config, "rebuild", user=imap_user)
    assert store.path.read_bytes() == first

    # After a change of what mail means: the party invitations (25 and 30 guests) count.
    config.write_text(config.read_text() + "\n[scan]\nmax_recipients = 30\n")
    out = _ok(config, "rebuild", user=imap_user)
    assert "30 new" in out
    wider = _fresh(
        tmp_path, "wider", [("maildir", boxes.maildir)], user=imap_user, scan={"max_recipients": 30}
    )
    guests = {e: c for e, c in _by_email(wider).items() if e.endswith("@party.example")}
    assert len(guests) == 30
    _assert_like_fresh(_by_email(store), guests)


# -- killed at any moment ----------------------------------------------------------------------

MESSAGES = 5000


def _big_maildir(root: Path) -> None:
    base = utc(2020, 1, 1)
    mails = []
    for i, data in enumerate(mailgen.bulk(MESSAGES, contacts=1200, seed=9)):
        sent = data.startswith(f"From: {mailgen.OWNER_NAME} <{OWNER}>".encode())
        when = base + (utc(2020, 1, 2) - base) * (i / 40)
        mails.append(mailgen.Mail("Sent" if sent else "INBOX", data, when))
    mailgen.write_maildir(root, mails)


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), "rebuild"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


@pytest.mark.slow
def test_kill_9_at_any_moment_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    maildir = tmp_path / "Big"
    _big_maildir(maildir)
    config = _config(tmp_path, "main", scan={"batch_size": 250})
    _ok(config, "import", "maildir", str(maildir))
    store = _store(config)
    _ok(config, "contacts", "set", "person7@corp7.example", "--tier", "inner")
    _age(store, wrong="person7@corp7.example")
    before = store.path.read_bytes()
    # the store file and the message key files beside it
    files = {p.name: p.read_bytes() for p in config.parent.glob("mailer.json*")}
    # The result to expect, and how long a rebuild takes here (to spread the kills).
    reference = _config(tmp_path, "reference", scan={"batch_size": 250})
    for name, data in files.items():
        (reference.parent / name).write_bytes(data)
    started = time.monotonic()
    _ok(reference, "rebuild")
    took = time.monotonic() - started
    after = _store(reference).path.read_bytes()
    assert after != before

    aside = rebuild.aside_dir(store) / store.path.name
    rng = random.Random(20261120)
    mid_run = 0
    for round_ in range(8):
        proc = _start(config)
        if round_ % 2 == 0:  # as soon as the store aside is there, or a little later
            while not aside.exists() and proc.poll() is None:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.2 * took))
        else:
            time.sleep(rng.uniform(0.05, 1.1 * took))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        now = store.path.read_bytes()
        assert now in (before, after), "a kill must leave the old store or the new one"
        store.contacts()  # and it loads
        if now == before:
            mid_run += proc.returncode == -signal.SIGKILL
        else:
            for name, data in files.items():  # swapped just before the kill: start over
                (config.parent / name).write_bytes(data)
    assert mid_run >= 3, "the kills should land in the middle of rebuilds"

    _ok(config, "rebuild")  # discards what the killed ones left aside
    assert store.path.read_bytes() == after
    assert not rebuild.aside_dir(store).exists()
    assert not list(config.parent.glob(".mailer.json.tmp-*"))
