"""Introductions (SPEC section 7): who could meet whom, and the double opt-in.

An introduction puts the owner's reputation on the line, so this module is
strict about who qualifies and lets nothing happen without both sides' word:

- Eligible people: trust >= `min_trust`, status active and in lane owe_reply,
  due or quiet by the rules (`Judgement.introducible`: so never pruned,
  inbound-only, snoozed, one-sided, dormant or an untriaged seed: no one from
  a stale part of the network), not opted out, and waiting on fewer than
  `max_open` introductions.
- Eligible pairs: no introduction of the two asked within `cooldown`, and
  none still open.
- Ranking: each shared tag scores more the rarer it is among the eligible
  (1 + ln(eligible / holders)): two people who both care about "rust" are a
  better match than two who both live in "berlin". A configured
  complementary pair (`hiring` with `looking`) scores one and a half times
  the rarer of its two tags.
  Ties: the higher trust of the weaker side, then the fresher last contact.

Suggesting is sparse, not a scan of all pairs: pairs come from the holders of
each tag, rarest tags first. A tag held by more than `COMMON` eligible people
only adds to pairs that another tag already brought in (a city or a broad
field everyone shares is no reason to introduce on its own), so the work
stays bounded whatever the tag distribution.

The state machine (asked -> yes/no from each side -> introduced, declined,
or expired) is a set of functions from an `Intro` to a new `Intro`; each is
idempotent: repeating a transition that already happened changes nothing.
Which drafts the states call for is derived (`needed_drafts`), with stable
keys, so a rerun or a crash never writes one twice.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailer.core.rules import NOTHING, judge
from mailer.core.ruleset import Rules
from mailer.model import Contact, DraftRecord, Intro, iso, parse_iso

__all__ = [
    "IntroDraft",
    "IntroRules",
    "Suggestion",
    "answer",
    "ask",
    "effective",
    "latest_for_pair",
    "needed_drafts",
    "open_for",
    "record_outcome",
    "suggest",
]

COMMON = 1500  # a tag held by more eligible people counts only alongside a rarer one
COMPLEMENT_WEIGHT = 1.5


@dataclass(frozen=True)
class IntroRules:
    """The `[intros]` section as values."""

    min_trust: int = 2
    cooldown: timedelta = timedelta(days=180)
    max_open: int = 2
    expire_after: timedelta = timedelta(days=21)
    complementary: tuple[tuple[str, str], ...] = ()
    allow_direct: bool = False
    suggest_limit: int = 20


@dataclass(frozen=True)
class Suggestion:
    a: Contact  # a.email < b.email
    b: Contact
    score: float
    shared: tuple[str, ...]
    complements: tuple[tuple[str, str], ...]  # (a's tag, b's tag)
    why: str
    warnings: tuple[str, ...] = ()  # earlier introductions of either that went badly


@dataclass(frozen=True)
class IntroDraft:
    """A draft an introduction's state calls for."""

    kind: str  # "intro_request" | "introduction"
    key: str
    intro: Intro
    to: tuple[str, ...]  # emails: the one asked, or both
    about: str | None  # intro_request: the other person


# --- states ------------------------------------------------------------------


def _when(text: str | None) -> datetime | None:
    try:
        return parse_iso(text)
    except ValueError:
        return None


def effective(intro: Intro, rules: IntroRules, now: datetime) -> Intro:
    """The intro as it stands at `now`: an open ask past `expire_after` has expired."""
    asked = _when(intro.asked_at)
    if intro.is_open and asked is not None and now - asked >= rules.expire_after:
        return dataclasses.replace(
            intro, state="expired", closed_at=iso(asked + rules.expire_after)
        )
    return intro


def open_for(intros: Iterable[Intro], rules: IntroRules, now: datetime) -> dict[str, int]:
    """How many open introductions each email is part of."""
    count: dict[str, int] = defaultdict(int)
    for intro in intros:
        if effective(intro, rules, now).is_open:
            count[intro.a] += 1
            count[intro.b] += 1
    return count


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def latest_for_pair(intros: Iterable[Intro], a: str, b: str) -> Intro | None:
    pair = _pair(a, b)
    found = [i for i in intros if (i.a, i.b) == pair]
    return max(found, key=lambda i: i.asked_at) if found else None


def _why_not(c: Contact, rules: IntroRules, rule_set: Rules, now: datetime) -> str | None:
    """Why `c` cannot be introduced now, or None."""
    if c.intro_opt_out:
        return f"{c.email} does not want introductions (intro opt-out)"
    if c.trust < rules.min_trust:
        need = rules.min_trust
        return f"{c.email} has trust {c.trust}; introductions need {need} (intros.min_trust)"
    j = judge(c, NOTHING, rule_set, now)
    if not j.introducible:
        lane = j.lane.replace("_", " ")
        return f"{c.email} is {j.status} ({lane}); only active contacts are introduced"
    return None


def ask(
    a: Contact,
    b: Contact,
    intros: Sequence[Intro],
    rules: IntroRules,
    rule_set: Rules,
    now: datetime,
    *,
    note: str = "",
    direct: bool = False,
) -> tuple[Intro, bool]:
    """The introduction of `a` and `b` asked now: (intro, is it new).

    Asking again while the ask is open returns it unchanged (False). Raises
    ValueError saying why when they cannot be introduced.
    """
    if a.email == b.email:
        raise ValueError("an introduction needs two different people")
    latest = latest_for_pair(intros, a.email, b.email)
    stamp = iso(now) or ""
    if latest is not None:
        latest = effective(latest, rules, now)
        if latest.is_open or latest.asked_at[:10] == stamp[:10]:
            return latest, False  # the same ask again (its key is the pair and the day)
        asked = _when(latest.asked_at)
        if asked is not None and now - asked < rules.cooldown:
            until = (asked + rules.cooldown).date().isoformat()
            raise ValueError(
                f"{a.email} and {b.email} were {latest.state} on {latest.asked_at[:10]}; "
                f"not again before {until} (intros.cooldown)"
            )
    for c in (a, b):
        reason = _why_not(c, rules, rule_set, now)
        if reason:
            raise ValueError(reason)
    first, second = _pair(a.email, b.email)
    if direct:
        if not rules.allow_direct:
            raise ValueError("direct introductions are off; set intros.allow_direct = true")
        if a.trust < 3 or b.trust < 3:
            raise ValueError("a direct introduction (no opt-in) needs trust 3 on both sides")
        intro = Intro(first, second, stamp, state="introduced", note=note, direct=True)
        return dataclasses.replace(intro, introduced_at=stamp), True
    return Intro(first, second, stamp, note=note), True


def answer(intro: Intro, by: str, said: str, rules: IntroRules, now: datetime) -> Intro:
    """`by` (one side) said "yes" or "no". Idempotent; ValueError when it cannot be."""
    if said not in ("yes", "no"):
        raise ValueError(f"an answer is yes or no, not {said!r}")
    if by not in (intro.a, intro.b):
        raise ValueError(f"{by} is not part of the introduction of {intro.a} and {intro.b}")
    if intro.answer_of(by) == said:
        return intro  # said before: nothing changes
    current = effective(intro, rules, now)
    if not current.is_open:
        raise ValueError(f"the introduction of {intro.a} and {intro.b} is {current.state} already")
    if by == intro.a:
        updated = dataclasses.replace(intro, answer_a=said)
    else:
        updated = dataclasses.replace(intro, answer_b=said)
    stamp = iso(now)
    if said == "no":
        return dataclasses.replace(updated, state="declined", closed_at=stamp)
    if updated.answer_a == "yes" and updated.answer_b == "yes":
        return dataclasses.replace(updated, state="introduced", introduced_at=stamp)
    return updated


def record_outcome(intro: Intro, outcome: str, note: str, now: datetime) -> Intro:
    if outcome not in ("good", "bad"):
        raise ValueError(f"an outcome is good or bad, not {outcome!r}")
    if intro.state != "introduced":
        raise ValueError(
            f"{intro.a} and {intro.b} were not introduced ({intro.state}); nothing to rate"
        )
    return dataclasses.replace(intro, outcome=outcome, outcome_note=note, outcome_at=iso(now))


def awaiting(intros: Iterable[Intro], email: str, rules: IntroRules, now: datetime) -> list[Intro]:
    """Open introductions that wait for `email`'s answer."""
    return [
        i
        for i in intros
        if email in (i.a, i.b) and effective(i, rules, now).is_open and i.answer_of(email) is None
    ]


def answer_by_email(
    intros: Sequence[Intro], email: str, said: str, rules: IntroRules, now: datetime
) -> Intro:
    """`intro yes|no <who>` by email: the one open introduction waiting for `email`."""
    waiting = awaiting(intros, email, rules, now)
    if not waiting:
        raise ValueError(f"no introduction is waiting for an answer from {email}")
    if len(waiting) > 1:
        others = ", ".join(i.other(email) for i in waiting)
        raise ValueError(
            f"{email} has {len(waiting)} open introductions (with {others}); "
            f"answer one with: mailer intro answer {email} <other> {said} --by {email}"
        )
    return answer(waiting[0], email, said, rules, now)


def describe_answer(intro: Intro, email: str, said: str) -> str:
    """What an answer did, in a line."""
    other = intro.other(email)
    if intro.state == "introduced":
        return f"{said} to meeting {other}; both said yes: the introduction draft comes next"
    if intro.state == "declined":
        return f"{said} to meeting {other}: closed quietly"
    return f"{said} to meeting {other}; waiting for {other}"


# --- drafts --------------------------------------------------------------------


def needed_drafts(intros: Iterable[Intro], drafts: Iterable[DraftRecord]) -> list[IntroDraft]:
    """The drafts the introductions' states call for that were not written yet."""
    written = {d.key for d in drafts}
    out: list[IntroDraft] = []
    for intro in intros:
        day = intro.asked_at[:10]
        if intro.is_open:
            for who, other in ((intro.a, intro.b), (intro.b, intro.a)):
                key = f"intro_request:{who}:{other}:{day}"
                if key not in written:
                    out.append(IntroDraft("intro_request", key, intro, (who,), other))
        elif intro.state == "introduced":
            key = f"introduction:{intro.a}:{intro.b}:{day}"
            if key not in written:
                out.append(IntroDraft("introduction", key, intro, (intro.a, intro.b), None))
    return out


# --- suggestions -----------------------------------------------------------------


def _days(c: Contact, now: datetime) -> int | None:
    last = _when(c.last_contact)
    return (now - last).days if last is not None else None


def _explain(
    a: Contact,
    b: Contact,
    shared: Sequence[str],
    complements: Sequence[tuple[str, str]],
    now: datetime,
) -> str:
    parts = []
    if shared:
        parts.append("both " + ", ".join(shared))
    for ta, tb in complements:
        parts.append(f"{ta} meets {tb}")
    parts.append(f"trust {a.trust} and {b.trust}")
    days = [_days(c, now) for c in (a, b)]
    if all(d is not None for d in days):
        parts.append(f"last contact {days[0]} and {days[1]} days ago")
    return "; ".join(parts)


def _bad_outcomes(intros: Iterable[Intro]) -> dict[str, list[str]]:
    bad: dict[str, list[str]] = defaultdict(list)
    for i in intros:
        if i.outcome == "bad":
            when = (i.outcome_at or i.asked_at)[:10]
            note = f": {i.outcome_note}" if i.outcome_note else ""
            bad[i.a].append(f"{i.a}: the introduction to {i.b} went badly ({when}{note})")
            bad[i.b].append(f"{i.b}: the introduction to {i.a} went badly ({when}{note})")
    return bad


def suggest(
    contacts: Iterable[Contact],
    intros: Sequence[Intro],
    rules: IntroRules,
    rule_set: Rules,
    now: datetime,
    *,
    limit: int | None = None,
) -> list[Suggestion]:
    """The best pairs to introduce now, best first, each with why (module docstring)."""
    busy = open_for(intros, rules, now)
    people: list[Contact] = []
    for c in contacts:
        if not c.tags or busy.get(c.email, 0) >= rules.max_open:
            continue
        if _why_not(c, rules, rule_set, now) is None:
            people.append(c)
    if len(people) < 2:
        return []

    holders: dict[str, list[int]] = defaultdict(list)
    tag_sets = [frozenset(c.tags) for c in people]
    for idx, tags in enumerate(tag_sets):
        for t in tags:
            holders[t].append(idx)
    n = len(people)
    weight = {t: 1.0 + math.log(n / len(h)) for t, h in holders.items()}

    score: dict[tuple[int, int], float] = defaultdict(float)
    common = []
    for tag, idxs in sorted(holders.items(), key=lambda kv: len(kv[1])):
        if len(idxs) > COMMON:
            common.append(tag)
            continue
        w = weight[tag]
        for x in range(len(idxs)):
            i = idxs[x]
            for j in idxs[x + 1 :]:
                score[(i, j)] += w
    for ta, tb in rules.complementary:
        left, right = holders.get(ta, []), holders.get(tb, [])
        if len(left) * len(right) > COMMON * COMMON:
            continue  # as for a common tag: too broad to pair everyone with everyone
        w = COMPLEMENT_WEIGHT * max(weight.get(ta, 1.0), weight.get(tb, 1.0))
        for i in left:
            for j in right:
                if i != j:
                    score[(i, j) if i < j else (j, i)] += w
    for tag in common:
        w = weight[tag]
        for i, j in score:
            if tag in tag_sets[i] and tag in tag_sets[j]:
                score[(i, j)] += w

    blocked = set()
    for intro in intros:
        asked = _when(intro.asked_at)
        if effective(intro, rules, now).is_open or (
            asked is not None and now - asked < rules.cooldown
        ):
            blocked.add((intro.a, intro.b))

    trust = [c.trust for c in people]
    never = 10**6  # no exchange on record: the stalest
    stale = [never if (d := _days(c, now)) is None else d for c in people]

    def rank(item: tuple[tuple[int, int], float]) -> tuple[float, int, int]:
        (i, j), s = item
        return (s, min(trust[i], trust[j]), -max(stale[i], stale[j]))

    index = {c.email: i for i, c in enumerate(people)}
    want = limit if limit is not None else rules.suggest_limit
    bad = _bad_outcomes(intros)
    out: list[Suggestion] = []
    # More than `want` best, in case some are blocked by the cooldown.
    for (i, j), s in heapq.nlargest(want + len(blocked), score.items(), key=rank):
        a, b = sorted((people[i], people[j]), key=lambda c: c.email)
        if (a.email, b.email) in blocked:
            continue
        shared = tuple(sorted(tag_sets[i] & tag_sets[j]))
        complements = tuple(
            (ta, tb)
            for x, y in rules.complementary
            for ta, tb in ((x, y), (y, x))
            if ta in a.tags and tb in b.tags
        )
        why = _explain(a, b, shared, complements, now)
        warnings = (*bad.get(a.email, []), *bad.get(b.email, []))
        out.append(Suggestion(a, b, round(s, 3), shared, complements, why, warnings))
        if len(out) >= want:
            break
    # equal scores in a stable order: trust, freshness, then the addresses
    out.sort(
        key=lambda s: (
            -s.score,
            -min(s.a.trust, s.b.trust),
            max(stale[index[s.a.email]], stale[index[s.b.email]]),
            s.a.email,
            s.b.email,
        )
    )
    return out
