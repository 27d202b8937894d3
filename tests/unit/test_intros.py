"""Introductions, pure: who may be suggested, in what order, and the double opt-in states."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from mailer.core import intros as core
from mailer.core.intros import IntroRules
from mailer.core.ruleset import Rules
from mailer.model import Contact, DraftRecord, Intro, iso
from tests.support.clock import NOW

RULES = Rules()
INTROS = IntroRules(complementary=(("hiring", "looking"),))


def ago(days: int) -> str:
    return iso(NOW - timedelta(days=days)) or ""


def person(email: str, *tags: str, trust: int = 2, days: int = 10, **kw: object) -> Contact:
    fields: dict[str, object] = {
        "name": email.split("@")[0].title(),
        "status": "active",
        "tags": tuple(tags),
        "trust": trust,
        "first_seen": ago(400),
        "last_inbound": ago(days),
        "last_outbound": ago(days),
        "messages_in": 3,
        "messages_out": 3,
    }
    fields.update(kw)
    return Contact(email, **fields)  # type: ignore[arg-type]


def pairs(
    contacts: list[Contact], intros: list[Intro] = (), rules: IntroRules = INTROS
) -> list[tuple[str, str]]:  # type: ignore[assignment]
    return [(s.a.email, s.b.email) for s in core.suggest(contacts, intros, rules, RULES, NOW)]


BASE = person("base@x.example", "rust", "berlin")


# (case, the other contact, intros on record, suggested with base?)
ELIGIBILITY = [
    ("shares a tag", person("ok@x.example", "rust"), [], True),
    ("shares nothing", person("far@x.example", "golf"), [], False),
    ("complementary", person("c@x.example", "looking"), [], None),  # see below: needs 'hiring'
    ("trust too low", person("low@x.example", "rust", trust=1), [], False),
    ("weeded", person("w@x.example", "rust", status="weeded"), [], False),
    ("ignored", person("i@x.example", "rust", status="ignored"), [], False),
    ("dormant (stale)", person("d@x.example", "rust", days=500), [], False),
    ("untriaged seed", person("s@x.example", "rust", status="seed", tags=()), [], False),
    ("opted out", person("o@x.example", "rust", intro_opt_out=True), [], False),
    (
        "snoozed",
        person("z@x.example", "rust", snoozed_until=iso(NOW + timedelta(days=3))),
        [],
        False,
    ),
    (
        "asked within the cooldown",
        person("cd@x.example", "rust"),
        [Intro("base@x.example", "cd@x.example", ago(100), state="declined", closed_at=ago(95))],
        False,
    ),
    (
        "asked before the cooldown",
        person("old@x.example", "rust"),
        [Intro("base@x.example", "old@x.example", ago(200), state="introduced")],
        True,
    ),
    (
        "at the open-intro limit",
        person("busy@x.example", "rust"),
        [
            Intro("busy@x.example", "p1@x.example", ago(2)),
            Intro("busy@x.example", "p2@x.example", ago(3)),
        ],
        False,
    ),
    (
        "one open intro, below the limit",
        person("one@x.example", "rust"),
        [Intro("one@x.example", "p1@x.example", ago(2))],
        True,
    ),
    (
        "open intros that expired do not count",
        person("exp@x.example", "rust"),
        [
            Intro("exp@x.example", "p1@x.example", ago(30)),
            Intro("exp@x.example", "p2@x.example", ago(40)),
        ],
        True,
    ),
]


@pytest.mark.parametrize(
    ("case", "other", "intros", "expected"), ELIGIBILITY, ids=[c[0] for c in ELIGIBILITY]
)
def test_eligibility(case: str, other: Contact, intros: list[Intro], expected: bool | None) -> None:
    if expected is None:
        hiring = dataclasses.replace(BASE, tags=("hiring",))
        assert pairs([hiring, other], intros) == [("base@x.example", "c@x.example")]
        assert pairs([hiring, other], intros, IntroRules()) == []  # not configured: no match
        return
    found = pairs([BASE, other], intros)
    assert (found == [tuple(sorted((BASE.email, other.email)))]) is expected, case


def test_ranking_prefers_rare_shared_tags_then_trust_then_freshness() -> None:
    people = [
        person("a@x.example", "berlin", "rust", "wasm"),
        person("b@x.example", "berlin", "rust", "wasm"),  # a-b: three shared, two rare
        person("c@x.example", "berlin", "rust"),
        person("d@x.example", "berlin"),
        person("e@x.example", "berlin"),
        person("f@x.example", "berlin"),
        person("g@x.example", "hiring", trust=3),
        person("h@x.example", "looking", trust=3),  # complementary, trust 3
        person("i@x.example", "hiring", trust=2, days=100),
    ]
    found = core.suggest(people, [], INTROS, RULES, NOW, limit=6)
    order = [(s.a.email[0], s.b.email[0]) for s in found]
    # a-b share two rare tags; hiring meets looking next (the trust-3 pair before the
    # same match with a weaker, staler side); then two tags, one common; then one rare tag
    assert order == [("a", "b"), ("g", "h"), ("h", "i"), ("a", "c"), ("b", "c"), ("g", "i")]
    top = found[0]
    assert top.shared == ("berlin", "rust", "wasm")
    assert top.why == "both berlin, rust, wasm; trust 2 and 2; last contact 10 and 10 days ago"
    gh = next(s for s in found if s.a.email[0] == "g")
    assert gh.complements == (("hiring", "looking"),) and "hiring meets looking" in gh.why


def test_a_tag_everyone_has_is_no_reason_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core, "COMMON", 3)
    people = [person(f"p{i}@x.example", "city") for i in range(5)]
    people += [person("r1@x.example", "city", "rare"), person("r2@x.example", "city", "rare")]
    found = core.suggest(people, [], INTROS, RULES, NOW)
    assert [(s.a.email, s.b.email) for s in found] == [("r1@x.example", "r2@x.example")]
    assert found[0].shared == ("city", "rare")


def test_a_bad_outcome_shows_but_lowers_nothing() -> None:
    a, b = person("a@x.example", "rust"), person("b@x.example", "rust")
    bad = Intro(
        "a@x.example",
        "z@x.example",
        ago(300),
        state="introduced",
        outcome="bad",
        outcome_note="no show",
        outcome_at=ago(250),
    )
    (s,) = core.suggest([a, b], [bad], INTROS, RULES, NOW)
    assert s.warnings == (
        "a@x.example: the introduction to z@x.example went badly (2025-06-27: no show)",
    )
    assert s.score == core.suggest([a, b], [], INTROS, RULES, NOW)[0].score


# --- the double opt-in --------------------------------------------------------------------

A = person("anna@a.example", "rust", trust=3)
B = person("bert@b.example", "rust", trust=3)


def test_ask_answer_introduce() -> None:
    intro, new = core.ask(B, A, [], INTROS, RULES, NOW, note="both build compilers")
    assert new and (intro.a, intro.b, intro.state) == ("anna@a.example", "bert@b.example", "asked")
    assert core.ask(A, B, [intro], INTROS, RULES, NOW + timedelta(hours=1)) == (intro, False)

    needed = core.needed_drafts([intro], [])
    assert [(d.kind, d.to, d.about) for d in needed] == [
        ("intro_request", ("anna@a.example",), "bert@b.example"),
        ("intro_request", ("bert@b.example",), "anna@a.example"),
    ]
    written = [DraftRecord(d.key, d.to[0], d.kind, ago(0)) for d in needed]
    assert core.needed_drafts([intro], written) == []

    yes_a = core.answer(intro, "anna@a.example", "yes", INTROS, NOW)
    assert (
        yes_a.state == "asked" and core.answer(yes_a, "anna@a.example", "yes", INTROS, NOW) == yes_a
    )
    both = core.answer(yes_a, "bert@b.example", "yes", INTROS, NOW)
    assert both.state == "introduced" and both.introduced_at == iso(NOW)
    (intro_draft,) = core.needed_drafts([both], written)
    assert intro_draft.kind == "introduction" and intro_draft.to == (
        "anna@a.example",
        "bert@b.example",
    )
    assert intro_draft.key == "introduction:anna@a.example:bert@b.example:2026-03-04"
    with pytest.raises(ValueError, match="introduced already"):
        core.answer(both, "bert@b.example", "no", INTROS, NOW)


def test_a_no_closes_quietly() -> None:
    intro, _ = core.ask(A, B, [], INTROS, RULES, NOW)
    no = core.answer(intro, "bert@b.example", "no", INTROS, NOW)
    assert no.state == "declined" and no.closed_at == iso(NOW)
    assert core.needed_drafts([no], []) == []
    with pytest.raises(ValueError, match="not again before 2026-08-31"):
        core.ask(A, B, [no], INTROS, RULES, NOW + timedelta(days=1))


def test_an_ask_without_both_answers_expires() -> None:
    intro, _ = core.ask(A, B, [], INTROS, RULES, NOW)
    later = NOW + timedelta(days=22)
    assert core.effective(intro, INTROS, later).state == "expired"
    with pytest.raises(ValueError, match="expired already"):
        core.answer(intro, "anna@a.example", "yes", INTROS, later)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (dataclasses.replace(B, trust=1), "has trust 1"),
        (dataclasses.replace(B, status="weeded"), "is weeded"),
        (dataclasses.replace(B, intro_opt_out=True), "does not want introductions"),
        (A, "two different people"),
    ],
)
def test_who_cannot_be_asked(who: Contact, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        core.ask(A, who, [], INTROS, RULES, NOW)


def test_direct_introductions_need_the_setting_and_trust_3() -> None:
    with pytest.raises(ValueError, match="allow_direct"):
        core.ask(A, B, [], INTROS, RULES, NOW, direct=True)
    allowed = dataclasses.replace(INTROS, allow_direct=True)
    with pytest.raises(ValueError, match="trust 3 on both"):
        core.ask(A, dataclasses.replace(B, trust=2), [], allowed, RULES, NOW, direct=True)
    intro, _ = core.ask(A, B, [], allowed, RULES, NOW, direct=True)
    assert intro.state == "introduced" and intro.direct
    assert [d.kind for d in core.needed_drafts([intro], [])] == ["introduction"]


def test_answers_by_email_find_the_one_waiting_intro() -> None:
    c = person("carl@c.example", "rust", trust=3)
    ab, _ = core.ask(A, B, [], INTROS, RULES, NOW)
    assert core.answer_by_email([ab], "anna@a.example", "yes", INTROS, NOW).answer_a == "yes"
    ac, _ = core.ask(A, c, [], INTROS, RULES, NOW)
    with pytest.raises(
        ValueError, match=r"2 open introductions \(with bert@b\.example, carl@c\.example"
    ):
        core.answer_by_email([ab, ac], "anna@a.example", "yes", INTROS, NOW)
    with pytest.raises(ValueError, match="no introduction is waiting"):
        core.answer_by_email([ab], "zed@z.example", "yes", INTROS, NOW)


def test_outcomes_only_after_an_introduction() -> None:
    intro, _ = core.ask(A, B, [], INTROS, RULES, NOW)
    with pytest.raises(ValueError, match="were not introduced"):
        core.record_outcome(intro, "good", "", NOW)
    done = dataclasses.replace(intro, state="introduced")
    assert core.record_outcome(done, "bad", "late", NOW).outcome == "bad"
