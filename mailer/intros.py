"""Introductions at the edge: store the state, write the drafts each state calls for.

`mailer.core.intros` decides (who qualifies, what a transition does, which
drafts are due); this module reads and writes. Every transition runs inside
one store transaction (`Store.update_intros`), so the daemon and an admin
command cannot both make it, and the drafts follow from the stored state
afterwards (`write_pending`): a crash between the two leaves the state
stored, and the next run writes the missing drafts, never a second copy
(their keys are stable and checked against the Drafts folder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mailer import drafts as drafting
from mailer.core import intros as core
from mailer.core.compose import build_draft, one_line
from mailer.core.plan import Item
from mailer.errors import UsageError
from mailer.model import Contact, Intro
from mailer.render import Record, Renderer, first_name
from mailer.sources.base import Drafts
from mailer.store import Store

if TYPE_CHECKING:
    from mailer.app import App

TEMPLATES = {"intro_request": "intro_request.j2", "introduction": "introduction.j2"}


def _contact(contacts: Sequence[Contact], who: str) -> Contact:
    from mailer.core.naming import resolve

    try:
        return resolve(contacts, who)
    except LookupError as e:
        raise UsageError(str(e)) from None


def suggest(
    app: App,
    now: datetime,
    limit: int | None = None,
    *,
    contacts: Sequence[Contact] | None = None,
    intros: Sequence[Intro] | None = None,
) -> list[core.Suggestion]:
    """The best pairs now; `contacts`/`intros` when the caller has read them already."""
    store = app.store
    return core.suggest(
        store.contacts() if contacts is None else contacts,
        store.intros() if intros is None else intros,
        app.intro_rules,
        app.rules,
        now,
        limit=limit,
    )


def listing(app: App, now: datetime) -> list[Intro]:
    """Every introduction as it stands now (asks past their time shown expired)."""
    r = app.intro_rules
    return [core.effective(i, r, now) for i in app.store.intros()]


def ask(
    app: App, who_a: str, who_b: str, now: datetime, *, note: str = "", direct: bool = False
) -> tuple[Intro, bool]:
    """Record the ask (or the direct introduction): (intro, is it new)."""
    store = app.store
    contacts = store.contacts()
    a, b = _contact(contacts, who_a), _contact(contacts, who_b)
    result: list[tuple[Intro, bool]] = []

    def change(current: Sequence[Intro]) -> Sequence[Intro]:
        try:
            intro, new = core.ask(
                a,
                b,
                current,
                app.intro_rules,
                app.rules,
                now,
                note=note,
                direct=direct,
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
        result.append((intro, new))
        return [intro] if new else []

    store.update_intros(change)
    return result[0]


def _latest(current: Sequence[Intro], a: str, b: str) -> Intro:
    """The pair's newest introduction (the open one, when one is open)."""
    found = core.latest_for_pair(current, a, b)
    if found is None:
        raise UsageError(f"{a} and {b} were never asked about each other (mailer intro ask)")
    return found


def answer(app: App, who_a: str, who_b: str, said: str, by: str, now: datetime) -> Intro:
    """Record one side's yes or no (`mailer intro answer A B yes --by A`)."""
    store = app.store
    contacts = store.contacts()
    a, b, who = (_contact(contacts, w) for w in (who_a, who_b, by))
    if who.email not in (a.email, b.email):
        raise UsageError(f"--by {who.email}: the answer must come from {a.email} or {b.email}")
    result: list[Intro] = []

    def change(current: Sequence[Intro]) -> Sequence[Intro]:
        intro = _latest(current, a.email, b.email)
        try:
            updated = core.answer(intro, who.email, said, app.intro_rules, now)
        except ValueError as e:
            raise UsageError(str(e)) from None
        result.append(updated)
        return [updated] if updated != intro else []

    store.update_intros(change)
    return result[0]


def outcome(app: App, who_a: str, who_b: str, result: str, note: str, now: datetime) -> Intro:
    store = app.store
    contacts = store.contacts()
    a, b = _contact(contacts, who_a), _contact(contacts, who_b)
    done: list[Intro] = []

    def change(current: Sequence[Intro]) -> Sequence[Intro]:
        intro = _latest(current, a.email, b.email)
        try:
            updated = core.record_outcome(intro, result, note, now)
        except ValueError as e:
            raise UsageError(str(e)) from None
        done.append(updated)
        return [updated]

    store.update_intros(change)
    return done[0]


def expire(store: Store, r: core.IntroRules, now: datetime) -> int:
    """Store the expiry of asks past their time (housekeeping); how many expired."""

    def change(current: Sequence[Intro]) -> Sequence[Intro]:
        return [e for i in current if (e := core.effective(i, r, now)) != i]

    return len(store.update_intros(change))


# --- drafts --------------------------------------------------------------------------


@dataclass(frozen=True)
class _People:
    contacts: dict[str, Contact]

    def get(self, email: str) -> Contact:
        # an intro outlives a merge or a deleted contact: still address them
        return self.contacts.get(email) or Contact(email=email)


def _name(c: Contact) -> str:
    return one_line(c.name or c.email)


def _context(draft: core.IntroDraft, people: _People, r: core.IntroRules) -> dict[str, object]:
    intro = draft.intro
    a, b = people.get(intro.a), people.get(intro.b)
    shared = sorted(set(a.tags) & set(b.tags))
    complements = [
        f"{x} meets {y}"
        for x, y in r.complementary
        if (x in a.tags and y in b.tags) or (y in a.tags and x in b.tags)
    ]
    common = {"shared": shared, "complements": complements, "note": intro.note}
    if draft.kind == "introduction":
        return {
            "a": Record("a", a.to_json()),
            "b": Record("b", b.to_json()),
            "a_name": _name(a),
            "b_name": _name(b),
            "a_first": first_name(a.name),
            "b_first": first_name(b.name),
            **common,
        }
    me, other = people.get(draft.to[0]), people.get(draft.about or "")
    return {
        "contact": Record("contact", me.to_json()),
        "first_name": first_name(me.name),
        "other": Record("other", other.to_json()),
        "other_name": _name(other),
        **common,
    }


def prepare(
    needed: Sequence[core.IntroDraft],
    people: _People,
    renderer: Renderer,
    app: App,
    now: datetime,
) -> list[drafting.Prepared]:
    """Render and build each draft; a TemplateError here means nothing is written."""
    owner = app.owner
    out = []
    for draft in needed:
        rendered = renderer.render(
            TEMPLATES[draft.kind], **_context(draft, people, app.intro_rules), now=now
        )
        to = [(people.get(e).name, e) for e in draft.to]
        item = Item(
            email=draft.to[0],
            name=people.get(draft.to[0]).name,
            kind=draft.kind,
            reason=f"{draft.kind} {draft.intro.a} / {draft.intro.b}",
            due_at=None,
            overdue_days=0,
            draft=True,
            hold=None,
            key=draft.key,
        )
        try:
            msg = build_draft(
                from_name=owner[0],
                from_address=owner[1],
                to=to,
                subject=rendered.subject,
                body=rendered.body,
                key=draft.key,
                date=now,
            )
        except ValueError as e:
            out.append(drafting.Prepared(item, rendered.subject, rendered.body, b"", "", str(e)))
            continue
        out.append(
            drafting.Prepared(item, rendered.subject, rendered.body, bytes(msg), msg["Message-ID"])
        )
    return out


def pending(app: App) -> tuple[list[core.IntroDraft], _People]:
    store = app.store
    contacts, drafts = store.contacts_and_drafts()
    return core.needed_drafts(store.intros(), drafts), _People({c.email: c for c in contacts})


def write_pending(
    app: App, target: Drafts, now: datetime, *, dry_run: bool = False
) -> list[drafting.Outcome]:
    """Write every draft the introductions' states call for and are still missing."""
    needed, people = pending(app)
    if not needed:
        return []
    prepared = prepare(needed, people, app.renderer, app, now)
    return drafting.write(prepared, app.store, target, now, dry_run=dry_run)
