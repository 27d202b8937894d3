"""Undo of a command mail: the pure decision (every field, conflicts, twice, refused),
the store's one transaction, and end to end (tests/system/test_undo.py) through
Dovecot, `mailer commands run`, `mailer commands undo` and an emailed `undo <id>`:
`contacts list --all --format json` before the mail equals the listing after the undo.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core import undo
from mailer.core.apply import apply_commands
from mailer.core.commands import parse_commands, parse_line
from mailer.core.intros import IntroRules, answer
from mailer.core.undo import CannotUndo, MailUndo, Past, plan, record_changes
from mailer.errors import MailerError, UsageError
from mailer.model import (
    ID_ALPHABET,
    CommandRecord,
    Contact,
    Intro,
    LogEntry,
    iso,
    record_id,
)
from mailer.store import Decision, Store
from tests.support.clock import NOW

LONG = "\n".join(f"2025-0{m}-01: an old note about the project, month {m}" for m in range(1, 9))
ANNA = Contact(
    email="anna@a.example",
    name="Anna Berg",
    status="active",
    tier="inner",
    tags=("berlin",),
    trust=1,
    last_inbound="2026-01-01T10:00:00Z",
    last_outbound="2026-01-01T12:00:00Z",
    first_seen="2025-01-01T00:00:00Z",
    messages_in=3,
    messages_out=3,
)
BERT = Contact(email="bert@b.example", name="Bert Kim", status="weeded", weeded_from="active")
ZOE = Contact(
    email="zoe@z.example",
    name="Zoë Müller",
    notes=LONG,
    snoozed_until="2026-03-10T00:00:00Z",
    last_logged="2026-02-01T00:00:00Z",
)
PEOPLE = {c.email: c for c in (ANNA, BERT, ZOE)}


@dataclasses.dataclass
class Mail:
    """One applied mail: its record (through the store's JSON form) and the state after it."""

    record: CommandRecord
    contacts: dict[str, Contact]
    logged: list[LogEntry]
    intros: list[Intro]


def stored(record: CommandRecord) -> CommandRecord:
    """As the store gives it back: through to_doc, JSON and from_doc."""
    return CommandRecord.from_doc(json.loads(json.dumps(record.to_doc())))


def apply_mail(
    text: str,
    people: Mapping[str, Contact] = PEOPLE,
    *,
    key: str = "cmd-1",
    logged: Sequence[LogEntry] = (),
    intros: Sequence[Intro] = (),
    answered: Sequence[Intro] = (),
    kind: str = "commands",
) -> Mail:
    """Apply `text` as the store would (plus `answered`: introductions the mail answered)."""
    applied = apply_commands(parse_commands("", text, list(people.values())), people, NOW, key)
    changes = record_changes(people, applied.changed, applied.logs, (), intros, answered)
    record = CommandRecord(
        key, None, "me@example.org", "s", None, iso(NOW) or "", kind, "from me",
        applied.outcomes, id=record_id(key), changes=changes,
    )  # fmt: skip
    after_intros = {i.key: i for i in intros} | {i.key: i for i in answered}
    return Mail(
        stored(record),
        {**people, **applied.changed},
        [*logged, *applied.logs],
        list(after_intros.values()),
    )


def undo_of(mail: Mail, drafts: Sequence[str] = ()) -> undo.Restore:
    return plan(mail.record, mail.contacts, mail.intros, mail.logged, drafts)


def restored(mail: Mail, drafts: Sequence[str] = ()) -> dict[str, Contact]:
    return {**mail.contacts, **undo_of(mail, drafts).contacts}


# --- the decision: every field -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fields"),
    [
        ("snooze anna 2w", {"snoozed_until"}),
        ("snooze zoe 1w", {"snoozed_until"}),  # she was snoozed already: her old date is back
        ("tier anna network", {"tier"}),
        ("tier bert inner", {"tier", "status", "weeded_from"}),  # revives a weeded one
        ("tag anna ai, design", {"tags"}),
        ("trust anna 3", {"trust"}),
        ("weed anna", {"status", "weeded_from"}),
        ("ignore anna", {"status"}),
        ("note anna likes jazz", {"notes"}),
        ("note zoe likes jazz", {"notes"}),  # long notes: kept as the text added
        ("log anna coffee at Oberholz", {"last_logged"}),
        ("done zoe", {"last_logged"}),
    ],
)
def test_undo_puts_back_every_field_a_command_changed(line: str, fields: set[str]) -> None:
    mail = apply_mail(line)
    assert mail.record.changes is not None
    (change,) = mail.record.changes.contacts
    assert set(change.fields) == fields
    assert mail.contacts != PEOPLE
    assert restored(mail) == PEOPLE


def test_a_whole_mail_is_undone_across_contacts_logs_and_notes() -> None:
    mail = apply_mail(
        "tag anna ai\ntier bert network\nweed anna\nsnooze zoe 2w\nnote zoe met at a fair\n"
        "log zoe coffee\nlog anna lunch\nlog anna lunch"
    )
    assert len(mail.logged) == 3
    restore = undo_of(mail)
    assert {**mail.contacts, **restore.contacts} == PEOPLE
    assert sorted(restore.unlogged, key=str) == sorted(mail.logged, key=str)  # both lunches
    assert (
        "anna@a.example: status back to active, tags back to berlin, last_logged back to none, "
        "weeded_from back to none;" in restore.summary
    )
    assert ", notes without 2026-03-04: met at a fair;" in restore.summary
    # the long notes are kept as the text added, not twice in full
    assert mail.record.changes is not None
    assert LONG not in json.dumps(mail.record.changes.to_doc())


def test_an_intro_answer_is_undone_unless_it_moved_on() -> None:
    rules = IntroRules()
    asked = Intro(a="anna@a.example", b="bert@b.example", asked_at="2026-03-01T08:00:00Z")
    yes = answer(asked, "anna@a.example", "yes", rules, NOW)
    mail = apply_mail("", intros=[asked], answered=[yes])
    restore = undo_of(mail)
    assert restore.intros == (asked,)
    assert "is asked, no answers again" in restore.summary

    # Bert answered since: the introduction moved on, nothing is undone.
    both = answer(yes, "bert@b.example", "yes", rules, NOW)
    moved = dataclasses.replace(mail, intros=[both])
    with pytest.raises(CannotUndo, match=r"anna@a.example and bert@b.example moved on since"):
        undo_of(moved)

    # The mail whose answer made the introduction: undone until its draft is written.
    second = apply_mail("", key="cmd-2", intros=[yes], answered=[both])
    assert undo_of(second).intros == (yes,)
    draft = "introduction:anna@a.example:bert@b.example:2026-03-01"
    with pytest.raises(CannotUndo, match=r"the introduction draft .* was written already"):
        undo_of(second, drafts=[draft])


# --- the decision: conflicts, twice, refused ------------------------------------------------


def test_a_field_changed_later_changes_nothing_and_is_named() -> None:
    mail = apply_mail("tag anna ai\ntier bert network\nsnooze zoe 2w")
    later = dataclasses.replace(mail.contacts["bert@b.example"], tier="loose")
    mail.contacts["bert@b.example"] = later
    with pytest.raises(CannotUndo) as refused:
        undo_of(mail)
    assert refused.value.later
    assert str(refused.value) == (
        "mail " + mail.record.id + " not undone, nothing changed: "
        "bert@b.example: tier is now loose (the mail set network)"
    )


def test_every_later_change_is_named_at_once() -> None:
    mail = apply_mail("tag anna ai\nnote zoe one more\nlog anna lunch")
    mail.contacts["anna@a.example"] = dataclasses.replace(ANNA, tags=("x",))
    zoe = mail.contacts["zoe@z.example"]
    mail.contacts["zoe@z.example"] = dataclasses.replace(zoe, notes=zoe.notes + "\nand another")
    mail.logged = []  # merged away or removed
    with pytest.raises(CannotUndo) as refused:
        undo_of(mail)
    said = str(refused.value)
    assert "anna@a.example: tags is now x (the mail set ai, berlin)" in said
    assert "zoe@z.example: notes changed since (a later edit or note)" in said
    assert "an exchange it logged was removed or moved since" in said


def test_a_contact_merged_away_changes_nothing() -> None:
    mail = apply_mail("trust bert 2")
    del mail.contacts["bert@b.example"]
    with pytest.raises(CannotUndo, match=r"bert@b.example is no longer a contact"):
        undo_of(mail)


@pytest.mark.parametrize(
    ("change", "message", "later"),
    [
        ({"undone_at": "2026-03-05T00:00:00Z", "undone_by": "mail x7k2mq"}, "undone already", True),
        (
            {"kind": "refused", "reason": "sender not allowed: eve@evil.example"},
            "was refused",
            False,
        ),
        ({"undoes": ("x7k2mq",)}, "an undo is not undone: give the commands", False),
        ({"changes": None}, "handled before mailer kept what a mail changes", False),
    ],
)
def test_what_cannot_be_undone_says_why(change: dict[str, Any], message: str, later: bool) -> None:
    mail = apply_mail("trust anna 3")
    mail.record = dataclasses.replace(mail.record, **change)
    with pytest.raises(CannotUndo, match=message) as refused:
        undo_of(mail)
    assert refused.value.later is later


def test_mail_that_only_logged_mail_has_nothing_to_undo() -> None:
    mail = apply_mail("", kind="forward")
    assert not mail.record.undoable and mail.record.undo_line is None
    with pytest.raises(
        CannotUndo, match=r"changed nothing .* \(the mail it logged stays counted\)"
    ):
        undo_of(mail)


def test_ids_are_short_stable_typable_and_found_whatever_the_case() -> None:
    ident = record_id("cmd-1")
    assert ident == record_id("cmd-1") and len(ident) == 6
    assert set(ident) <= set(ID_ALPHABET) and not set("01ilo") & set(ID_ALPHABET)
    assert undo.new_id("cmd-1", {ident}) == record_id("cmd-1", 7)
    mail = apply_mail("trust anna 3")
    assert undo.find([mail.record], ident.upper()) is mail.record
    with pytest.raises(CannotUndo, match="no command mail with id 'zzzzzz'"):
        undo.find([mail.record], "zzzzzz")


def test_old_records_are_read_with_their_key_id_and_nothing_to_undo() -> None:
    old = {
        "key": "cmd-old", "message_id": None, "sender": "me@example.org", "subject": "s",
        "received": None, "processed_at": "2025-01-01T00:00:00Z", "kind": "commands",
        "reason": "from me", "lines": [{"line": "weed anna", "ok": True, "result": "weeded"}],
        "confirmed": None,
    }  # fmt: skip
    record = CommandRecord.from_doc(old)
    assert record.id == record_id("cmd-old") and record.changes is None
    assert record.undo_line is None
    again = CommandRecord.from_doc(json.loads(json.dumps(record.to_doc())))
    assert again == record


def test_undo_lines_parse_to_an_id() -> None:
    result = parse_line("Undo K7M2XQ.", [ANNA])
    assert result is not None and result.command is not None
    assert (result.command.verb, result.command.who, result.command.args) == (
        "undo",
        "",
        ("k7m2xq",),
    )
    for line in ("undo", "undo k7m2xq now", "undo k7!x"):
        bad = parse_line(line, [ANNA])
        assert bad is not None and bad.command is None
        assert (
            bad.error
            == "undo: write it as: undo <id> (the id is in the confirmation and the digest)"
        )


def test_undo_lines_of_one_mail_build_on_each_other() -> None:
    first = apply_mail("tag anna ai\nlog anna lunch")
    past = Past([first.record], first.logged, ())
    lines = f"undo {first.record.id}\ntag anna jazz\nundo {first.record.id}"
    results = parse_commands("", lines, list(first.contacts.values()))
    mail_undo = MailUndo(lambda: past)
    applied = apply_commands(
        results, first.contacts, NOW, "cmd-2", undo=lambda i, c: mail_undo(i, c, [])
    )
    ok = [(o.ok, o.result.split(":")[0]) for o in applied.outcomes]
    assert ok == [
        (True, f"mail {first.record.id} undone"),
        (True, "anna@a.example"),
        (False, f"mail {first.record.id} is undone already by an earlier line"),
    ]
    assert applied.changed["anna@a.example"].tags == ("berlin", "jazz")  # undone, then tagged
    assert mail_undo.undone == ["cmd-1"] and mail_undo.unlogged == first.logged


def test_the_digest_shows_each_mails_id_and_its_undo_line_as_the_only_new_reply_line() -> None:
    from tests.unit.test_digest_core import COMMANDS, build, command_lines, people, render

    contacts = people()
    mine = apply_mail("trust anna 3", {c.email: c for c in contacts}, key="k3").record
    mine = dataclasses.replace(mine, processed_at=COMMANDS[1].processed_at)
    undone = dataclasses.replace(mine, key="k4", id="abc234", undone_at="2026-03-04T06:00:00Z",
                                 undone_by="mail 7gw37q")  # fmt: skip
    digest = build(contacts, commands=[*COMMANDS, mine, undone])
    body = render(digest)[1]
    assert f"  id: {mine.id}\n" in body and f"\n      undo {mine.id}\n" in body
    assert "  id: abc234; undone since (mail 7gw37q, 2026-03-04)\n" in body
    assert "undo abc234" not in body and "  id: " + COMMANDS[1].id + "\n" in body
    assert digest.reply_lines[-1] == f"undo {mine.id}"
    assert command_lines(body, contacts) == digest.reply_lines


_LINES = st.sampled_from(
    [
        "snooze anna 2w", "snooze zoe 3m", "tier anna network", "tier bert inner", "tag anna ai",
        "tag zoe ai, jazz", "trust anna 3", "trust zoe 2", "weed anna", "weed zoe", "ignore bert",
        "note anna hello", "note zoe hello", "log anna lunch", "done zoe", "done bert",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINES, max_size=5), st.lists(_LINES, max_size=5))
def test_the_last_mail_always_undoes_exactly_and_an_earlier_one_only_when_untouched(
    first: list[str], second: list[str]
) -> None:
    a = apply_mail("\n".join(first), key="cmd-a")
    b = apply_mail("\n".join(second), a.contacts, key="cmd-b", logged=a.logged)
    if b.record.undoable:  # the newest mail: nothing is in its way
        back = undo_of(b)
        assert {**b.contacts, **back.contacts} == a.contacts
    else:
        assert b.contacts == a.contacts
    if not a.record.undoable:
        return
    state = dataclasses.replace(a, contacts=b.contacts, logged=b.logged)
    assert a.record.changes is not None
    touched = {(c.email, f) for c in a.record.changes.contacts for f in c.fields}
    try:
        back = undo_of(state)
    except CannotUndo as e:  # refused: then the second mail changed a field the first set
        assert any(
            a.contacts[email] != b.contacts[email]
            and getattr(a.contacts[email], f) != getattr(b.contacts[email], f)
            for email, f in touched
        ), str(e)
        return
    after = {**b.contacts, **back.contacts}
    for email, c in after.items():  # each field: as before the first mail if it set it, else kept
        for f in (f.name for f in dataclasses.fields(Contact)):
            want = getattr(PEOPLE[email] if (email, f) in touched else b.contacts[email], f)
            if f == "last_logged" and (email, f) in touched:  # the second mail's log stays
                newest = max(
                    (e.when for e in b.logged[len(a.logged) :] if e.email == email), default=""
                )
                want = max(want or "", newest) or None
            assert getattr(c, f) == want, (email, f)


# --- the store: one transaction ------------------------------------------------------------


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "mailer.json")
    for c in PEOPLE.values():
        store.add_contact(c)
    return store


def _apply(store: Store, key: str, text: str) -> CommandRecord:
    def decide(people: Mapping[str, Contact], intros: Sequence[Intro], past: Any) -> Decision:
        applied = apply_commands(parse_commands("", text, list(people.values())), people, NOW, key)
        record = CommandRecord(
            key, None, "me@example.org", text, None, iso(NOW) or "", "commands", "from me",
            applied.outcomes,
        )  # fmt: skip
        return Decision(record, applied.changed, applied.logs)

    record = store.apply_command_mail(key, (), decide)
    assert record is not None
    return record


def test_the_store_undoes_in_one_transaction_or_writes_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    before = store.contacts()
    first = _apply(store, "cmd-1", "tag anna ai\nweed bert\nlog zoe call")
    assert [r.id for r in store.command_records()] == [first.id] and first.undo_line
    assert len(store.logged()) == 1

    # a dry run writes nothing; a conflict writes nothing (the file is the same bytes)
    raw = store.path.read_bytes()
    assert "anna@a.example" in store.undo_command(first.id, "x", dry_run=True).summary
    assert store.path.read_bytes() == raw
    second = _apply(store, "cmd-2", "tag anna jazz")
    raw = store.path.read_bytes()
    with pytest.raises(MailerError, match=r"anna@a.example: tags is now ai, berlin, jazz") as e:
        store.undo_command(first.id, "2026-03-05T00:00:00Z")
    assert e.value.exit_code == 1 and store.path.read_bytes() == raw

    # undone newest first: both go, and the store is as before
    store.undo_command(second.id, "2026-03-05T00:00:00Z")
    restore = store.undo_command(first.id.upper(), "2026-03-05T00:01:00Z")
    assert restore.record.key == "cmd-1"
    assert store.contacts() == before and store.logged() == []
    done = {r.key: r for r in store.command_records()}
    assert done["cmd-1"].undone_at == "2026-03-05T00:01:00Z"
    assert done["cmd-1"].undone_by == "mailer commands undo"

    with pytest.raises(MailerError, match="undone already by mailer commands undo") as e:
        store.undo_command(first.id, "2026-03-06T00:00:00Z")
    assert e.value.exit_code == 1
    with pytest.raises(UsageError, match="no command mail with id 'zzzzzz'"):
        store.undo_command("zzzzzz", "2026-03-06T00:00:00Z")


# --- end to end: Dovecot, `mailer commands run`, `mailer commands undo` -------------------------
