"""The pure side of command mail: what each command does, forwards, and the whole
reading of a hostile mail (never raises, never applies what it should not)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.core.apply import apply_commands, forward_interactions, mail_key, when_of
from mailer.core.command_mail import authenticate, kind_of
from mailer.core.commands import parse_commands
from mailer.core.headers import Identity
from mailer.core.mailtext import Forwarded, read_mail
from mailer.core.plan import plan
from mailer.core.ruleset import Rules
from mailer.model import Contact
from tests.support.clock import NOW

ADDRESS = "me+mailer-k3x9q2@example.org"
ANNA = Contact(
    email="anna@a.example",
    name="Anna Berg",
    status="active",
    tier="inner",
    tags=("berlin",),
    last_inbound="2026-01-01T10:00:00Z",
    last_outbound="2026-01-01T12:00:00Z",
    first_seen="2025-01-01T00:00:00Z",
    messages_in=3,
    messages_out=3,
)
BERT = Contact(email="bert@b.example", name="Bert Kim", status="weeded")
PEOPLE = {c.email: c for c in (ANNA, BERT)}


def apply(text: str, when: datetime = NOW) -> tuple[dict[str, Contact], list[tuple[bool, str]]]:
    results = parse_commands("", text, list(PEOPLE.values()))
    applied = apply_commands(results, PEOPLE, when, "cmd-1")
    return applied.changed, [(o.ok, o.result) for o in applied.outcomes]


@pytest.mark.parametrize(
    ("line", "field", "value", "said"),
    [
        ("snooze anna 2w", "snoozed_until", "2026-03-18T09:00:00Z", "snoozed until 2026-03-18"),
        ("tier anna network", "tier", "network", "tier network, active"),
        ("tier bert inner", "status", "active", "tier inner, active"),  # revives a weeded one
        ("tag anna ai, design", "tags", ("ai", "berlin", "design"), "tags now ai, berlin, design"),
        ("trust anna 3", "trust", 3, "trust 3"),
        ("weed anna", "status", "weeded", "weeded"),
        ("ignore anna", "status", "ignored", "ignored"),
        ("note anna likes jazz", "notes", "2026-03-04: likes jazz", "note added"),
        ("log anna coffee at Oberholz", "last_logged", "2026-03-04T09:00:00Z", "logged 2026-03-04"),
        ("done anna", "last_logged", "2026-03-04T09:00:00Z", "logged 2026-03-04"),
    ],
)
def test_each_command(line: str, field: str, value: object, said: str) -> None:
    changed, outcomes = apply(line)
    ((_, contact),) = changed.items()
    assert getattr(contact, field) == value
    assert outcomes[0][0] and said in outcomes[0][1]


def test_lines_build_on_each_other_and_a_bad_line_changes_nothing() -> None:
    changed, outcomes = apply("tag anna ai\ntrust anna 9\nnote anna one\nnote anna two")
    assert [ok for ok, _ in outcomes] == [True, False, True, True]
    anna = changed["anna@a.example"]
    assert anna.tags == ("ai", "berlin") and anna.trust == 0
    assert anna.notes == "2026-03-04: one\n2026-03-04: two"


def test_log_entries_carry_the_text_and_the_mail() -> None:
    results = parse_commands("", "log anna lunch\ndone anna", list(PEOPLE.values()))
    applied = apply_commands(results, PEOPLE, NOW, "cmd-9")
    assert [(e.email, e.text, e.source) for e in applied.logs] == [
        ("anna@a.example", "lunch", "cmd-9"),
        ("anna@a.example", "done", "cmd-9"),
    ]


def test_a_tier_must_be_a_configured_one() -> None:
    lines = "tier anna vip\ntier anna Network\ntier josé close"
    jose = Contact(email="jose@alvarez.example", name="José Álvarez", status="seed")
    people = {**PEOPLE, jose.email: jose}
    results = parse_commands("", lines, list(people.values()))
    tiers = ("inner", "network", "loose")
    applied = apply_commands(results, people, NOW, "cmd-1", tiers=tiers)
    assert [(o.ok, o.result) for o in applied.outcomes] == [
        (False, "'vip' is not a tier (configured: inner, network, loose)"),
        (True, "anna@a.example: tier network, active"),
        (False, "'close' is not a tier (configured: inner, network, loose)"),
    ]
    assert set(applied.changed) == {"anna@a.example"}  # josé (found without his accent) kept
    # The owner's own tiers, as configured in rules.tiers.
    applied = apply_commands(results, people, NOW, "cmd-1", tiers=("vip", "close"))
    assert [o.ok for o in applied.outcomes] == [True, False, True]
    assert applied.changed[jose.email].tier == "close"


def test_intro_answers_need_an_open_introduction() -> None:
    _, outcomes = apply("intro yes anna")
    assert outcomes == [(False, "no introduction is waiting for an answer from anna@a.example")]


def test_a_logged_exchange_answers_a_reply_owed_and_restarts_the_cadence() -> None:
    rules = Rules(tiers={"inner": timedelta(days=30)}, jitter=timedelta(0), weekdays_only=False)
    waiting = Contact(
        email="emil@e.example",
        status="active",
        tier="inner",
        last_inbound="2026-02-20T10:00:00Z",
        last_outbound="2026-01-10T10:00:00Z",
        first_seen="2025-01-01T00:00:00Z",
    )
    kinds = {(i.email, i.kind) for i in plan([waiting], [], rules, NOW).items}
    assert kinds == {("emil@e.example", "reply_owed")}
    results = parse_commands("", "done emil@e.example", [waiting])
    done = apply_commands(results, {waiting.email: waiting}, NOW, "k").changed[waiting.email]
    assert plan([done], [], rules, NOW).items == []
    later = plan([done], [], rules, NOW + timedelta(days=31)).items
    assert [(i.kind, i.due_at) for i in later] == [("reconnect", NOW + timedelta(days=30))]


def test_a_logged_answer_ends_one_sidedness() -> None:
    c = Contact(
        email="x@x.example",
        recent_out=("2026-03-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        last_inbound="2025-12-01T00:00:00Z",
    )
    assert c.outbound_unanswered == 3
    logged = dataclasses.replace(c, last_logged="2026-02-15T00:00:00Z")
    assert logged.outbound_unanswered == 1


def test_the_time_of_a_command_is_the_mails_date_never_the_future() -> None:
    past = read_mail(b"Date: Tue, 03 Mar 2026 08:00:00 +0000\r\n\r\nx")
    future = read_mail(b"Date: Tue, 03 Mar 2027 08:00:00 +0000\r\n\r\nx")
    undated = read_mail(b"Subject: x\r\n\r\nx")
    assert when_of(past, NOW) == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert when_of(future, NOW) == NOW
    assert when_of(undated, NOW) == NOW


def test_mail_key_is_the_message_and_its_content() -> None:
    a = read_mail(b"Message-ID: <1@x>\r\nFrom: me@example.org\r\n\r\ndone anna")
    same = read_mail(b"Message-ID: <1@x>\r\nFrom: me@example.org\r\nX-Extra: 1\r\n\r\ndone anna")
    other_text = read_mail(b"Message-ID: <1@x>\r\nFrom: me@example.org\r\n\r\nweed anna")
    other_id = read_mail(b"Message-ID: <2@x>\r\nFrom: me@example.org\r\n\r\ndone anna")
    assert mail_key(a) == mail_key(same)
    assert len({mail_key(a), mail_key(other_text), mail_key(other_id)}) == 3


def test_forwards_log_the_original_sender() -> None:
    who = Identity(addresses=frozenset({"me@example.org"}))
    fwd = [
        Forwarded("carl@c.example", "Carl", datetime(2026, 2, 1, tzinfo=UTC), "talk", "<o1@c>"),
        Forwarded("me@example.org", "Pat", None, "mine"),
        Forwarded("noreply@shop.example", None, None, "receipt"),
        Forwarded("dora@d.example", None, datetime(2027, 1, 1, tzinfo=UTC), "future"),
    ]
    parsed, outcomes = forward_interactions(fwd, who, NOW)
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert [(p.interactions[0].email, p.interactions[0].when) for p in parsed] == [
        ("carl@c.example", datetime(2026, 2, 1, tzinfo=UTC)),
        ("dora@d.example", NOW),  # a date after the mail's cannot be true
    ]
    from mailer.core.headers import message_id_key

    assert parsed[0].key == message_id_key("<o1@c>")  # the scan's key of the original


def test_bcc_and_look_alikes_are_told_apart() -> None:
    def kind(headers: str) -> str | None:
        raw = headers.replace("\n", "\r\n").encode() + b"\r\n\r\nx"
        return kind_of(read_mail(raw), ADDRESS, ["me@example.org"])

    assert kind(f"To: {ADDRESS}") == "commands"
    assert kind(f"To: {ADDRESS}\nCc: me@example.org") == "commands"  # reply-all to a digest
    assert kind(f"To: anna@a.example\nCc: {ADDRESS}") == "bcc_log"  # not shown to mailer alone
    assert kind(f"To: anna@a.example\nBcc: {ADDRESS}") == "bcc_log"
    assert kind(f"To: anna@a.example\nDelivered-To: {ADDRESS}") == "bcc_log"
    assert kind(f"To: undisclosed-recipients:;\nDelivered-To: {ADDRESS}") == "commands"
    assert kind("To: me+mailer-old@example.org") == "near_miss"
    assert kind("To: me+mailerlite@example.org") is None  # another plus address of the owner
    assert kind("To: ME+MAILER@example.org") == "near_miss"
    assert kind("To: me+lists@example.org") is None
    assert kind("To: me+mailer-k3x9q2@other.example") is None


# --- hostile input --------------------------------------------------------------------

header_value = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80).map(
    lambda s: s.replace("\r", " ").replace("\n", " ")
)


@settings(max_examples=300, deadline=None)
@given(
    sender=st.one_of(header_value, st.sampled_from(["me@example.org", "Eve <eve@evil.example>"])),
    to=st.one_of(header_value, st.just(ADDRESS)),
    subject=header_value,
    body=st.text(max_size=400),
    auth=header_value,
)
def test_any_mail_is_read_without_error_and_strangers_change_nothing(
    sender: str, to: str, subject: str, body: str, auth: str
) -> None:
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Authentication-Results: {auth}\r\n\r\n{body}"
    ).encode("utf-8", "surrogateescape")
    info = read_mail(raw)
    kind = kind_of(info, ADDRESS)
    verdict = authenticate(info, ["me@example.org"], require_dkim=True)
    if verdict.accepted:
        assert info.from_addresses == ("me@example.org",)
    results = parse_commands(info.subject, info.new_text, list(PEOPLE.values()))
    applied = apply_commands(results, PEOPLE, NOW, mail_key(info))
    # whatever the text, a change is to a known contact and comes from a command line
    assert set(applied.changed) <= set(PEOPLE)
    assert len(applied.outcomes) == len(results)
    assert kind in (None, "commands", "bcc_log", "near_miss")


def test_a_huge_duration_is_an_error_not_a_crash() -> None:
    _, outcomes = apply("snooze anna 9999y\nsnooze anna 2w")
    assert outcomes[0] == (False, "snooze: '9999y' is longer than 100 years")
    assert outcomes[1][0]
