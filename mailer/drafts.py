"""Apply a plan: render every due draft, then write each into the Drafts folder once.

Rendering comes first and for all of them, so a broken template writes
nothing. Each draft carries a stable key (X-Mailer-Draft-Key); the keys
already in the Drafts folder are read before writing, so a crash between the
append and the store update, a rerun, or a lost store never makes a second
copy. The store records each draft after it is in the folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from mailer.core.compose import build_draft
from mailer.core.rules import Item, Plan
from mailer.model import Contact, DraftRecord, iso
from mailer.render import Renderer
from mailer.sources.base import Drafts
from mailer.store import Store

TEMPLATES = {"reconnect": "reconnect.j2", "seed": "followup.j2"}


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
    if dry_run:
        return [
            Outcome(p, f"skipped ({p.skipped})" if p.skipped else "would write") for p in prepared
        ]
    if not prepared:
        return []
    with store.outbox_lock():  # another process writing drafts now waits, then sees ours
        return _write(prepared, store, target, now)


def _write(prepared: list[Prepared], store: Store, target: Drafts, now: datetime) -> list[Outcome]:
    existing = target.existing_keys()
    outcomes = []
    for p in prepared:
        if p.skipped:
            outcomes.append(Outcome(p, f"skipped ({p.skipped})"))
            continue
        key = p.item.key
        assert key is not None
        if key in existing:
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
                message_id=p.message_id,
                folder=target.folder,
            )
        )
        outcomes.append(Outcome(p, action))
    return outcomes


def run(
    plan: Plan,
    store: Store,
    target: Drafts,
    renderer: Renderer,
    owner: tuple[str, str],
    *,
    dry_run: bool = False,
) -> list[Outcome]:
    contacts = {c.email: c for c in store.contacts()}
    prepared = prepare(plan.to_draft, contacts, renderer, owner, plan.now)
    return write(prepared, store, target, plan.now, dry_run=dry_run)
