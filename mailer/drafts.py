"""Apply a plan: render every due draft, then write each into the Drafts folder once.

Rendering comes first and for all of them, so a broken template writes
nothing. Each draft carries a stable key (X-Mailer-Draft-Key); the keys
already in the Drafts folder are read before planning, so a crash between
the append and the store update, a rerun, or a lost store never makes a
second copy, and a person whose last draft still waits there unsent gets no
other (the rules hold them). The store records each draft after it is in
the folder, and remembers which keys the folder held, so `mailer due` can
say so without connecting.

A contact whose draft cannot be built (an address no header can carry) is
skipped without stopping the others; the failure is recorded like a draft,
so it shows in `mailer status` and is not retried before the next cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mailer.core.compose import build_draft
from mailer.core.plan import Item, Plan, draft_email
from mailer.core.plan import plan as make_plan
from mailer.core.rules import DRAFT_KINDS
from mailer.core.ruleset import Rules
from mailer.model import Contact, DraftRecord, iso
from mailer.render import Renderer
from mailer.sources.base import Drafts
from mailer.store import Store

TEMPLATES = {"reconnect": "reconnect.j2", "seed": "followup.j2", "rekindle": "rekindle.j2"}


@dataclass(frozen=True)
class Prepared:
    item: Item
    subject: str
    body: str
    message: bytes
    message_id: str
    skipped: str | None = None  # why this one cannot be written; the others still are


@dataclass(frozen=True)
class Outcome:
    prepared: Prepared
    action: str  # "written", "already there", "would write" or "skipped (why)"


def prepare(
    items: Iterable[Item],
    contacts: Mapping[str, Contact],
    renderer: Renderer,
    owner: tuple[str, str],
    now: datetime,
) -> list[Prepared]:
    """Render and build every draft; a TemplateError here means nothing was written."""
    out = []
    for item in items:
        contact = contacts[item.email]
        rendered = renderer.render(TEMPLATES[item.kind], **renderer.reconnect_context(contact, now))
        assert item.key is not None
        try:
            msg = build_draft(
                from_name=owner[0],
                from_address=owner[1],
                to=[(contact.name, contact.email)],
                subject=rendered.subject,
                body=rendered.body,
                key=item.key,
                date=now,
            )
        except ValueError as e:  # e.g. an address no draft header can carry
            out.append(Prepared(item, rendered.subject, rendered.body, b"", "", skipped=str(e)))
            continue
        out.append(Prepared(item, rendered.subject, rendered.body, bytes(msg), msg["Message-ID"]))
    return out


def write(
    prepared: list[Prepared], store: Store, target: Drafts, now: datetime, *, dry_run: bool
) -> list[Outcome]:
    """Write each prepared draft whose key the Drafts folder lacks (introductions)."""
    if dry_run:
        return [
            Outcome(p, f"skipped ({p.skipped})" if p.skipped else "would write") for p in prepared
        ]
    if not prepared:
        return []
    with store.outbox_lock():  # another process writing drafts now waits, then sees ours
        return _write(prepared, store, target, now, target.existing_keys())


def _write(
    prepared: list[Prepared], store: Store, target: Drafts, now: datetime, existing: set[str]
) -> list[Outcome]:
    outcomes = []
    for p in prepared:
        key = p.item.key
        assert key is not None
        if p.skipped:
            action = f"skipped ({p.skipped})"
            if p.item.kind not in DRAFT_KINDS:
                outcomes.append(Outcome(p, action))
                continue  # an introduction's drafts follow its state: tried again next run
        elif key in existing:
            action = "already there"
        else:
            target.append(p.message, now)
            action = "written"
        store.record_draft(
            DraftRecord(
                key=key,
                email=p.item.email,
                kind=p.item.kind,
                written_at=iso(now) or "",
                message_id=p.message_id or None,
                folder=None if p.skipped else target.folder,
                error=p.skipped,
                subject=p.subject,
            )
        )
        outcomes.append(Outcome(p, action))
    return outcomes


def run(
    store: Store,
    target: Drafts | None,
    renderer: Renderer,
    owner: tuple[str, str],
    rules: Rules,
    now: datetime,
) -> tuple[Plan, list[Outcome]]:
    """Plan with the Drafts folder as it is now and write what is due.

    `target` None is a dry run: the folder as last seen, nothing written.
    """
    if target is None:
        contacts, drafts, last_seen = store.planning()
        plan = make_plan(contacts, drafts, rules, now, last_seen)
        prepared = prepare(plan.to_draft, {c.email: c for c in contacts}, renderer, owner, now)
        return plan, [
            Outcome(p, f"skipped ({p.skipped})" if p.skipped else "would write") for p in prepared
        ]
    with store.outbox_lock():  # another process writing drafts now waits, then sees ours
        existing = target.existing_keys()
        open_keys = {k for k in existing if draft_email(k) is not None}
        store.remember_drafts_look(open_keys, iso(now) or "")  # the plan and `drafts list`
        contacts, drafts = store.contacts_and_drafts()
        plan = make_plan(contacts, drafts, rules, now, open_keys)
        prepared = prepare(plan.to_draft, {c.email: c for c in contacts}, renderer, owner, now)
        return plan, _write(prepared, store, target, now, existing)


__all__ = ["TEMPLATES", "Outcome", "Prepared", "prepare", "run", "write"]
