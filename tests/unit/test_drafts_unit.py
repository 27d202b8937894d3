"""The apply step of drafts against a local Maildir: written once, found again, skipped alone."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

from mailer import drafts as drafting
from mailer.core.plan import plan
from mailer.core.ruleset import Rules
from mailer.model import Contact, iso
from mailer.render import Renderer
from mailer.sources.local import MaildirDrafts
from mailer.store import Store
from tests.support.clock import NOW


def _contact(email: str, name: str, days: int) -> Contact:
    return Contact(
        email=email,
        name=name,
        status="active",
        last_inbound=iso(NOW - timedelta(days=days + 1)),
        last_outbound=iso(NOW - timedelta(days=days)),
        first_seen=iso(NOW - timedelta(days=400)),
        messages_in=3,
        messages_out=3,
    )


def test_written_once_then_found_and_an_unwritable_one_is_skipped_alone(tmp_path: Path) -> None:
    store = Store(tmp_path / "mailer.json")
    for c in (
        _contact("ann@x.example", "Ann Lee", 120),
        _contact("jörg@x.example", "Jörg", 130),
        _contact("bo@y.example", "Bo", 100),
    ):
        store.add_contact(c)
    rules = Rules(jitter=timedelta(0), weekdays_only=False)
    target = MaildirDrafts(tmp_path / "Drafts")
    renderer = Renderer(None, "Pat Doe", "pat@example.org")
    owner = ("Pat Doe", "pat@example.org")

    _, outcomes = drafting.run(store, target, renderer, owner, rules, NOW)
    actions = {o.prepared.item.email: o.action for o in outcomes}
    assert actions["ann@x.example"] == actions["bo@y.example"] == "written"
    assert actions["jörg@x.example"].startswith("skipped (")
    assert len(list((tmp_path / "Drafts" / "cur").iterdir())) == 2
    assert target.existing_keys() == {
        o.prepared.item.key for o in outcomes if o.action == "written"
    }
    # The unusable address is recorded once, with why, and not tried again this cycle.
    (failed,) = [d for d in store.drafts() if d.error]
    assert failed.email == "jörg@x.example" and failed.kind == "reconnect"
    _, rerun = drafting.run(store, target, renderer, owner, rules, NOW + timedelta(days=1))
    assert rerun == []
    assert len([d for d in store.drafts() if d.error]) == 1

    # The store is lost: the same plan finds the drafts and writes nothing new.
    (tmp_path / "mailer.json").unlink()
    for c in (_contact("ann@x.example", "Ann Lee", 120), _contact("bo@y.example", "Bo", 100)):
        store.add_contact(c)
    _, again = drafting.run(store, target, renderer, owner, rules, NOW)
    assert {o.action for o in again} == {"already there"}
    assert len(list((tmp_path / "Drafts" / "cur").iterdir())) == 2
    # Recorded now: nobody is due again this cycle.
    assert plan(store.contacts(), store.drafts(), rules, NOW).to_draft == []


def test_draft_files_in_a_local_maildir_are_private_whatever_the_umask(tmp_path: Path) -> None:
    target = MaildirDrafts(tmp_path / "Drafts")
    message = b"Subject: hi\nX-Mailer-Draft-Key: reconnect:ann@x.example:2026-03\n\nDear Ann\n"
    old = os.umask(0o022)  # the usual umask: files 0644 unless the writer says otherwise
    try:
        target.append(message, NOW)
        target.append(message.replace(b"ann@", b"bo@"), NOW)
    finally:
        os.umask(old)
    files = sorted((tmp_path / "Drafts" / "cur").iterdir())
    assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600, 0o600]
    assert stat.S_IMODE((tmp_path / "Drafts").stat().st_mode) == 0o700
    # Still an ordinary Maildir draft: flags Draft and Seen, dated `when`, found by its key.
    assert all(f.name.endswith(":2,DS") for f in files)
    assert {f.stat().st_mtime for f in files} == {NOW.timestamp()}
    assert files[0].read_bytes() in (message, message.replace(b"ann@", b"bo@"))
    assert target.existing_keys() == {
        "reconnect:ann@x.example:2026-03",
        "reconnect:bo@x.example:2026-03",
    }
    assert list((tmp_path / "Drafts" / "tmp").iterdir()) == []
