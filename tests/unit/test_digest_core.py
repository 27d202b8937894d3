"""mailer.core.digest and digest.j2: what the digest lists, in what order, with which reply lines.

The digest is a remote control: the owner replies with its lines. So beyond
"the right people in the right sections" the tests check that each reply
line, parsed and applied like a real command mail, does what the digest says
(the contact leaves that section), and that no other line of the digest,
whatever the names and subjects in other people's mail, reads as a command.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailer.core import digest as core
from mailer.core.apply import apply_commands
from mailer.core.commands import VERBS, near_verb, parse_commands, parse_line
from mailer.core.mailtext import MARK, read_mail
from mailer.core.plan import plan
from mailer.core.ruleset import Rules
from mailer.digest import _records
from mailer.model import CommandRecord, Contact, DraftRecord, LineOutcome, iso
from mailer.render import Renderer
from tests.support.clock import DIGEST_NOW as NOW

DAY = timedelta(days=1)
RULES = Rules(
    tiers={"inner": 30 * DAY, "network": 90 * DAY},
    jitter=timedelta(0),
    timezone="Europe/Berlin",
    max_drafts_per_day=1,
)
COMMAND = "pat+mailer-k3x9q2@example.org"


def ago(days: float, now: datetime = NOW) -> str:
    return iso(now - days * DAY) or ""


def people() -> list[Contact]:
    return [
        # due: inner, last contact 45 days ago (15 overdue); drafted at the next run
        Contact(
            "anna@a.example",
            "Anna Berg",
            status="active",
            tier="inner",
            first_seen=ago(400),
            last_inbound=ago(46),
            last_outbound=ago(45),
            messages_in=3,
            messages_out=3,
        ),
        # due: 10 days overdue, held by the daily maximum of 1
        Contact(
            "bert@b.example",
            "Bert Kim",
            status="active",
            tier="inner",
            first_seen=ago(400),
            last_inbound=ago(41),
            last_outbound=ago(40),
            messages_in=3,
            messages_out=3,
        ),
        # reply owed: their mail 10 days ago is the last one
        Contact(
            "emil@e.example",
            "Emil Vos",
            status="active",
            tier="network",
            first_seen=ago(300),
            last_inbound=ago(10),
            last_outbound=ago(40),
            messages_in=4,
            messages_out=3,
            last_subject="The contract",
        ),
        # reply owed, and snoozed: a snooze stops drafts, not the reply owed
        Contact(
            "finn@f.example",
            "Finn Ahl",
            status="active",
            tier="network",
            first_seen=ago(300),
            last_inbound=ago(12),
            last_outbound=ago(40),
            messages_in=4,
            messages_out=3,
            snoozed_until=iso(NOW + 5 * DAY),
        ),
        # seeds: new, a message each way; dora is older than sami
        Contact(
            "dora@d.example",
            "Dora Lux",
            first_seen=ago(21),
            last_inbound=ago(21),
            last_outbound=ago(20),
            messages_in=1,
            messages_out=1,
            last_subject="Coffee?",
        ),
        Contact(
            "sami@s.example",
            None,
            first_seen=ago(5),
            last_inbound=ago(5),
            last_outbound=ago(4),
            messages_in=1,
            messages_out=1,
        ),
        # not seeds to sort: one-way, too old, triaged by tags, ignored
        Contact("oneway@x.example", first_seen=ago(5), last_inbound=ago(5), messages_in=1),
        Contact(
            "old@x.example",
            first_seen=ago(200),
            last_inbound=ago(200),
            last_outbound=ago(199),
            messages_in=1,
            messages_out=1,
        ),
        Contact(
            "tagged@x.example",
            tags=("climate",),
            first_seen=ago(5),
            last_inbound=ago(5),
            last_outbound=ago(4),
            messages_in=1,
            messages_out=1,
        ),
        Contact(
            "gone@x.example",
            status="ignored",
            first_seen=ago(5),
            last_inbound=ago(5),
            last_outbound=ago(4),
            messages_in=1,
            messages_out=1,
        ),
        # weed: dormant
        Contact(
            "olaf@o.example",
            "Olaf Ek",
            status="active",
            first_seen=ago(900),
            last_inbound=ago(500),
            last_outbound=ago(400),
            messages_in=2,
            messages_out=2,
        ),
    ]


SINCE = NOW - DAY
DRAFTS = [
    DraftRecord("digest:2026-03-03", "pat@example.org", "digest", ago(1)),
    DraftRecord("reconnect:old@x.example:2026-03-01", "old@x.example", "reconnect", ago(3)),
    DraftRecord("reconnect:cleo@c.example:2026-03-03", "cleo@c.example", "reconnect", ago(0.9)),
    DraftRecord("seed:tina@t.example:2026-03-03", "tina@t.example", "seed", ago(0.8)),
]
COMMANDS = [
    CommandRecord(
        "k0", "<m0>", "pat@example.org", "old", ago(2), ago(2), "commands", "from pat", ()
    ),
    CommandRecord(
        "k1",
        "<m1>",
        "pat@example.org",
        "Re: mailer digest",
        ago(0.5),
        ago(0.5),
        "commands",
        "from pat@example.org",
        (
            LineOutcome("snooze cleo@c.example 2w", True, "cleo@c.example: snoozed until x"),
            LineOutcome("done zed", False, "done: no contact 'zed'"),
        ),
    ),
    CommandRecord(
        "k2",
        "<m2>",
        "done@evil.example",
        "weed anna@a.example",
        ago(0.3),
        ago(0.3),
        "refused",
        "sender not allowed: done@evil.example",
    ),
]


def build(contacts: list[Contact] | None = None, **kw: Any) -> core.Digest:
    contacts = people() if contacts is None else contacts
    now = kw.pop("now", NOW)
    drafts = kw.pop("drafts", DRAFTS)
    return core.build(
        plan(contacts, drafts, RULES, now),
        contacts,
        drafts,
        kw.pop("commands", COMMANDS),
        RULES,
        now,
        since=kw.pop("since", SINCE),
        **kw,
    )


def render(digest: core.Digest, command_address: str | None = COMMAND) -> tuple[str, str]:
    renderer = Renderer(None, "Pat Doe", "pat@example.org")
    context = {k: _records(v, k) for k, v in digest.context().items()}
    out = renderer.render(
        "digest",
        **context,
        today=core.local_day(digest.now, RULES.timezone),
        command_address=command_address,
        example_address="pat+mailer-<secret>@example.org",
    )
    return out.subject, out.body


def emails(section: core.Section) -> list[str]:
    return [e.email for e in section.entries]


# --- sections ---------------------------------------------------------------------------------


def test_each_section_lists_the_right_people_in_order() -> None:
    d = build()
    # the most overdue first, then rekindles (olaf: a two-way tie, silent for 400 days)
    assert emails(d.due) == ["anna@a.example", "bert@b.example", "dora@d.example", "olaf@o.example"]
    assert "15 days overdue" in d.due.entries[0].details[0]
    assert "held: daily maximum reached (1)" in d.due.entries[1].details[0]
    assert d.due.entries[3].details[0].startswith("rekindle, ")
    assert "held" not in d.due.entries[0].details[0]
    assert emails(d.reply_owed) == ["finn@f.example", "emil@e.example"]  # longest waiting first
    assert 'last subject: "The contract"' in d.reply_owed.entries[1].details
    assert emails(d.seeds) == ["sami@s.example", "dora@d.example"]  # newest first
    assert emails(d.weed) == ["olaf@o.example"]
    assert emails(d.drafted) == ["tina@t.example", "cleo@c.example"]  # since SINCE, newest first
    assert d.intros.total == 0
    assert [h.subject for h in d.commands] == ["Re: mailer digest"]  # k0 is before SINCE
    assert [(o.ok, o.line) for o in d.commands[0].outcomes] == [
        (True, "snooze cleo@c.example 2w"),
        (False, "done zed"),
    ]
    assert [r.sender for r in d.refused] == ["done@evil.example"]
    assert d.summary() == "4 due, 2 replies owed, 2 new contacts, 1 to weed, 1 refused mail"
    assert not d.empty


def test_every_item_carries_its_exact_reply_lines() -> None:
    d = build()
    lines = {e.email: e.lines for s in d.sections for e in s.entries}
    assert lines["anna@a.example"] == ("done anna@a.example", "snooze anna@a.example 2w")
    assert lines["emil@e.example"] == ("done emil@e.example",)
    assert lines["dora@d.example"] == (
        "tier dora@d.example network",
        "tag dora@d.example <tags>",
        "ignore dora@d.example",
    )
    assert lines["olaf@o.example"] == ("weed olaf@o.example", "snooze olaf@o.example 3m")
    assert lines["cleo@c.example"] == ("weed cleo@c.example",)
    assert lines["tina@t.example"] == ("tier tina@t.example network", "ignore tina@t.example")


def test_the_tier_offered_is_the_one_nearest_the_default_cadence() -> None:
    rules = dataclasses.replace(RULES, tiers={"close": 30 * DAY, "usual": 80 * DAY})
    contacts = people()
    d = core.build(plan(contacts, [], rules, NOW), contacts, [], [], rules, NOW, since=SINCE)
    assert d.seeds.entries[0].lines[0] == "tier sami@s.example usual"


def test_sections_are_capped_with_the_command_that_lists_them_all() -> None:
    many = [
        Contact(
            f"s{i:02d}@x.example",
            first_seen=ago(30 - i / 10),
            last_inbound=ago(10),
            last_outbound=ago(9),
            messages_in=1,
            messages_out=1,
        )
        for i in range(40)
    ]
    drafts = [
        DraftRecord(
            f"reconnect:d{i}@x.example:2026-03-03", f"d{i}@x.example", "reconnect", ago(0.5)
        )
        for i in range(20)
    ]
    d = build(many, commands=[], drafts=drafts)
    assert d.seeds.total == 40 and len(d.seeds.entries) == core.CAP and d.seeds.more == 25
    assert emails(d.seeds)[0] == "s39@x.example"  # the newest
    assert d.drafted.total == 20 and d.drafted.more == 5
    _, body = render(d)
    assert "...and 25 more; all of them: mailer seed" in body
    assert "...and 5 more in your Drafts folder" in body
    assert body.count("tier s") == core.CAP


def test_a_long_command_mail_is_capped_too() -> None:
    lines = tuple(LineOutcome(f"done p{i}@x.example", True, "logged") for i in range(20))
    record = CommandRecord("k", None, "pat@example.org", "s", None, ago(0.1), "commands", "", lines)
    d = build(commands=[record])
    assert len(d.commands[0].outcomes) == core.CAP and d.commands[0].more == 5
    assert "...and 5 more lines" in render(d)[1]


def test_intro_ideas_show_only_when_given() -> None:
    assert "Introductions" not in render(build())[1]
    idea = core.IntroIdea("anna@a.example", "emil@e.example", "shared tags: climate")
    d = build(intros=[idea])
    [entry] = d.intros.entries
    assert entry.who == "Anna Berg <anna@a.example> and Emil Vos <emil@e.example>"
    body = render(d)[1]
    assert "== Introductions (1) ==" in body
    assert "on your computer: mailer intro ask anna@a.example emil@e.example" in body


def test_nothing_to_tell_is_empty() -> None:
    d = build([], drafts=[], commands=[])
    assert d.empty and d.summary() == "nothing needs you"
    subject, body = render(d)
    assert subject == "mailer digest, 4 March 2026: nothing needs you"
    assert "Nothing needs you now." in body


# --- when -------------------------------------------------------------------------------------


def test_the_key_and_the_day_are_the_owner_local_date() -> None:
    late = datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # already 5 March in Berlin
    assert core.digest_key(late, "Europe/Berlin") == "digest:2026-03-05"
    assert core.digest_key(late, "UTC") == "digest:2026-03-04"
    assert core.is_digest_day("weekly", "thursday", late, "Europe/Berlin")
    assert not core.is_digest_day("weekly", "wednesday", late, "Europe/Berlin")
    assert core.is_digest_day("daily", "monday", late, "UTC")
    assert not core.is_digest_day("off", "wednesday", late, "UTC")


def test_since_is_the_previous_digest_or_a_day_or_a_week() -> None:
    assert core.since_previous(DRAFTS, "daily", NOW) == NOW - DAY
    newer = [*DRAFTS, DraftRecord("digest:x", "p@x", "digest", ago(0.25))]
    assert core.since_previous(newer, "weekly", NOW) == NOW - DAY / 4
    assert core.since_previous([], "daily", NOW) == NOW - DAY
    assert core.since_previous(DRAFTS[1:], "weekly", NOW) == NOW - 7 * DAY


# --- the rendered digest ----------------------------------------------------------------------


def command_lines(body: str, contacts: list[Contact]) -> list[str]:
    """Every line of `body` the command parser would act on, were it not quoted."""
    return [r.line for r in parse_commands("", body, contacts)]


def test_only_the_reply_lines_read_as_commands() -> None:
    contacts = people()
    d = build(contacts)
    subject, body = render(d)
    assert subject.split()[0].lower() not in VERBS
    assert command_lines(body, contacts) == d.reply_lines
    # each shown as typed, on its own indented line
    for line in d.reply_lines:
        assert f"\n      {line}\n" in body
    # the refused mail is listed, but its subject and sender are never a reply line
    assert 'subject: "weed anna@a.example"' in body and "from done@evil.example" in body
    assert "weed anna@a.example" not in d.reply_lines
    assert "NOT DONE: done zed -> done: no contact 'zed'" in body
    assert "ok: snooze cleo@c.example 2w" in body


def test_no_line_of_the_digests_own_starts_like_a_command() -> None:
    # A line starting with a command word or a typo of one reads as a mistyped command
    # once the next word names someone ("Their mail ..." with a contact called Mail).
    d = build()
    for line in render(d)[1].splitlines():
        words = line.split()
        if not words or line.strip() in d.reply_lines or any(w.endswith(":") for w in words[:2]):
            continue  # a label ("NOT DONE: ...") is never read as a command
        first = words[0].strip("-=(\"'")
        assert first.lower() not in VERBS and near_verb(first) is None, line


def test_the_how_to_reply_paragraph_depends_on_the_command_address() -> None:
    body = render(build())[1]
    # mailer's mark first: a reply is cut there (mailer.core.mailtext)
    assert body.startswith(f"{MARK}\nHow to reply: reply to this mail and write one command")
    assert "never applied" in body
    body = render(build(), command_address=None)[1]
    assert body.startswith("Replying to this digest does nothing yet")
    assert 'address = "pat+mailer-<secret>@example.org"' in body


_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=40)
_verbish = st.sampled_from(
    [f"{v} anna@a.example 2w" for v in VERBS] + ["done\ndone anna@a.example"]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.one_of(_text, _verbish),
    subject=st.one_of(_text, _verbish),
    sender=st.one_of(_text, _verbish),
    reason=st.one_of(_text, _verbish),
)
def test_no_text_from_mail_ever_reads_as_a_command(
    name: str, subject: str, sender: str, reason: str
) -> None:
    contacts = [dataclasses.replace(c, name=name, last_subject=subject) for c in people()]
    refused = CommandRecord("k9", None, sender, subject, None, ago(0.1), "refused", reason)
    outcome = LineOutcome(subject, False, reason)
    accepted = CommandRecord("k8", None, "p@x", subject, None, ago(0.1), "commands", "", (outcome,))
    d = build(contacts, commands=[refused, accepted])
    subject_line, body = render(d)
    assert command_lines(body, contacts) == d.reply_lines
    assert "\n" not in subject_line


# --- replying does what the digest says --------------------------------------------------------


def replied(contacts: list[Contact], line: str, when: datetime) -> list[Contact]:
    result = parse_line(line, contacts)
    assert result is not None and result.command is not None, (line, result)
    applied = apply_commands([result], {c.email: c for c in contacts}, when, "test")
    assert all(o.ok for o in applied.outcomes), applied.outcomes
    return [applied.changed.get(c.email, c) for c in contacts]


SECTION_OF_LINE = [
    ("due", "anna@a.example", 0),
    ("due", "anna@a.example", 1),
    ("due", "dora@d.example", 0),
    ("due", "dora@d.example", 1),
    ("reply_owed", "emil@e.example", 0),
    ("seeds", "dora@d.example", 0),
    ("seeds", "dora@d.example", 1),
    ("seeds", "dora@d.example", 2),
    ("weed", "olaf@o.example", 0),
    ("weed", "olaf@o.example", 1),
]


@pytest.mark.parametrize(("section", "email", "index"), SECTION_OF_LINE)
def test_each_reply_line_takes_the_contact_out_of_its_section(
    section: str, email: str, index: int
) -> None:
    contacts = people()
    before = build(contacts)
    [entry] = [e for e in getattr(before, section).entries if e.email == email]
    line = entry.lines[index].replace("<tags>", "climate, berlin")
    later = NOW + timedelta(hours=2)
    after = build(replied(contacts, line, NOW + timedelta(hours=1)), now=later)
    assert email not in emails(getattr(after, section)), line


def test_a_client_shaped_reply_applies_only_the_lines_written_above_the_quote() -> None:
    contacts = people()
    d = build(contacts)
    subject, body = render(d)
    quoted = "".join(f"> {line}\n" if line else ">\n" for line in body.splitlines())
    text = (
        "snooze anna@a.example 2w\r\ndone emil@e.example\r\n\r\n"
        "On Wed, 4 Mar 2026 at 07:30, Pat Doe <pat@example.org> wrote:\r\n"
        + quoted.replace("\n", "\r\n")
    )
    raw = (
        f"From: Pat Doe <pat@example.org>\r\nTo: {COMMAND}\r\nSubject: Re: {subject}\r\n"
        "Date: Wed, 4 Mar 2026 08:00:00 +0100\r\nMessage-ID: <r1@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text
    ).encode()
    info = read_mail(raw)
    assert [r.line for r in parse_commands(info.subject, info.new_text, contacts)] == [
        "snooze anna@a.example 2w",
        "done emil@e.example",
    ]


# --- speed ------------------------------------------------------------------------------------


def test_ten_thousand_contacts_stay_capped() -> None:
    """At store size every section still shows `CAP` items (its speed is in `make bench`)."""
    contacts = []
    for i in range(10_000):
        contacts.append(
            Contact(
                f"p{i:05d}@x.example",
                f"Person {i}",
                status="active" if i % 3 else "seed",
                tier="inner" if i % 3 == 1 else None,
                first_seen=ago(400 if i % 3 else i % 120),
                last_inbound=ago(i % 500),
                last_outbound=ago((i * 7) % 500),
                messages_in=1 + i % 4,
                messages_out=1 + i % 3,
            )
        )
    p = plan(contacts, [], RULES, NOW)
    d = core.build(p, contacts, [], [], RULES, NOW, since=SINCE)
    assert d.seeds.total > core.CAP and d.due.total > core.CAP
    assert all(len(section.entries) <= core.CAP for section in d.sections)
    assert render(d)[1].count("and ") >= 2


def test_the_context_of_a_draft_is_beside_it_in_the_digest() -> None:
    contacts = people()
    contacts[0] = dataclasses.replace(
        contacts[0], notes="met at PyCon\nworks on search", tags=("berlin", "search")
    )
    d = build(contacts)
    anna = d.due.entries[0]
    assert anna.email == "anna@a.example"
    assert "tags: berlin, search" in anna.details
    assert "notes: met at PyCon works on search" in anna.details
    _, body = render(d)
    assert "notes: met at PyCon works on search" in body  # shown to the owner, not in a draft
