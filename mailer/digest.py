"""Deliver the digest to the owner: by SMTP, or as a draft in their Drafts folder.

`mailer.core.digest` decides what the digest says; this module reads the
store, renders `digest.j2`, and delivers it at most once per local day (its
key is `digest:<local date>`, recorded as a DraftRecord of kind "digest",
which the rules do not count as a draft to a contact). Its Reply-To is the
command address, so replying to it is how the owner gives commands.

Rendering comes first, so a broken template delivers nothing. Delivery is
at least once: by SMTP the record is written only after the server took the
mail (a crash in between sends it again on the next run, never zero times);
as a draft the Drafts folder is checked for the key first, so a rerun after
a crash finds it there and writes no second copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from mailer.core import digest as core
from mailer.core.commands import VERBS
from mailer.core.compose import build_draft
from mailer.core.plan import plan as make_plan
from mailer.errors import ConfigError
from mailer.model import Contact, DraftRecord, Intro, iso
from mailer.render import Record, Rendered

if TYPE_CHECKING:
    from mailer.app import App

__all__ = ["Prepared", "deliver", "delivery", "is_due_today", "prepare", "preview", "render", "run"]

TEMPLATE = "digest.j2"


@dataclass(frozen=True)
class Prepared:
    """The digest of one local day, rendered and ready to deliver (or already delivered)."""

    key: str
    day: date
    method: str  # "smtp" | "draft"
    done: DraftRecord | None  # delivered earlier today: nothing else is set then
    digest: core.Digest | None = None
    rendered: Rendered | None = None
    message: EmailMessage | None = None

    @property
    def text(self) -> str:
        """Subject line and body, as `mailer digest preview` shows it."""
        assert self.rendered is not None
        return f"Subject: {self.rendered.subject}\n\n{self.rendered.body}"


def delivery(app: App) -> str:
    """ "smtp" or "draft": digest.delivery, with auto meaning smtp when smtp.host is set."""
    config = app.config
    method = config.digest.delivery
    if method == "auto":
        return "smtp" if config.smtp.host else "draft"
    if method == "smtp" and not config.smtp.host:
        raise ConfigError(
            "digest.delivery = smtp, but smtp.host is not set",
            hint="set up [smtp], or use digest.delivery = draft",
        )
    return str(method)


def is_due_today(app: App, now: datetime) -> bool:
    """Does digest.every (and digest.weekday) ask for a digest on this local day?"""
    config = app.config
    return core.is_digest_day(
        config.digest.every,
        config.digest.weekday,
        now,
        config.rules.timezone,
    )


def _build(app: App, now: datetime) -> core.Digest:
    store = app.store
    contacts, drafts, open_keys = store.planning()
    rules = app.rules
    since = core.since_previous(drafts, app.config.digest.every, now)
    commands = store.command_records(since=iso(since))
    plan = make_plan(contacts, drafts, rules, now, open_keys)
    ideas = _intro_ideas(app, now, contacts, store.intros())
    from mailer.scan import folder_faults

    faults = [core.FolderFault(f["folder"], f["error"], f["since"]) for f in folder_faults(store)]
    return core.build(
        plan, contacts, drafts, commands, rules, now, since=since, intros=ideas, faults=faults
    )


SUGGESTIONS = 5  # intro ideas per digest: a few good ones, not a list to work through


def _intro_ideas(
    app: App, now: datetime, contacts: Sequence[Contact], stored: Sequence[Intro]
) -> list[core.IntroIdea]:
    """Open asks (with the lines that relay an answer), then the best suggestions."""
    from mailer import intros
    from mailer.core.intros import awaiting, effective

    rules = app.intro_rules
    ideas = []
    every = [effective(i, rules, now) for i in stored]
    for i in every:
        if not i.is_open:
            continue
        waiting = [e for e in (i.a, i.b) if i.answer_of(e) is None]
        said = [f"{e} said {i.answer_of(e)}" for e in (i.a, i.b) if i.answer_of(e)]
        why = f"asked {i.asked_at[:10]}; " + ("; ".join(said) + "; " if said else "")
        why += "waiting for " + " and ".join(waiting)
        lines = tuple(
            f"intro {yes_no} {e}"
            for e in waiting
            if len(awaiting(every, e, rules, now)) == 1  # else the line would be ambiguous
            for yes_no in ("yes", "no")
        )
        ideas.append(core.IntroIdea(i.a, i.b, why, lines, asked=True))
    for s in intros.suggest(app, now, SUGGESTIONS, contacts=contacts, intros=stored):
        ideas.append(core.IntroIdea(s.a.email, s.b.email, s.why))
    return ideas


def _example_address(owner: str) -> str:
    local, _, domain = owner.rpartition("@")
    return f"{local.split('+')[0]}+mailer-<secret>@{domain}"


_ITEM_LABELS = {"entries": "entry", "outcomes": "outcome"}


def _records(value: Any, label: str) -> Any:
    """Mappings as `Record`s all the way down, so a template typo names what it misspelt."""
    if isinstance(value, Mapping):
        return Record(label, {k: _records(v, k) for k, v in value.items()})
    if isinstance(value, list):
        return [_records(v, _ITEM_LABELS.get(label, label)) for v in value]
    return value


def render(app: App, now: datetime, digest: core.Digest) -> Rendered:
    """The digest through digest.j2 (the user's templates folder first). Raises TemplateError."""
    config = app.config
    owner = app.owner_address
    context = {k: _records(v, k) for k, v in digest.context().items()}
    rendered = app.renderer.render(
        TEMPLATE,
        **context,
        today=core.local_day(now, config.rules.timezone),
        command_address=config.commands.address,
        example_address=_example_address(owner),
    )
    first = (rendered.subject.split() or [""])[0].lower().rstrip(":,")
    if first in VERBS:
        # a client that drops "Re:" would send the subject back as a command line
        rendered = Rendered(f"Digest: {rendered.subject}", rendered.body)
    return rendered


def prepare(app: App, now: datetime) -> Prepared:
    """Today's digest, rendered; or, when it was delivered today already, only that record."""
    config = app.config
    timezone = config.rules.timezone
    key = core.digest_key(now, timezone)
    day = core.local_day(now, timezone)
    method = delivery(app)
    done = next((d for d in app.store.drafts() if d.key == key), None)
    if done is not None:
        return Prepared(key, day, method, done)
    digest = _build(app, now)
    rendered = render(app, now, digest)
    owner = app.owner_address
    message = build_draft(
        from_name=config.me.name,
        from_address=owner,
        to=[(config.me.name or None, owner)],
        subject=rendered.subject,
        body=rendered.body,
        key=key,
        date=now,
        reply_to=config.commands.address,
    )
    return Prepared(key, day, method, None, digest, rendered, message)


def preview(app: App, now: datetime) -> str:
    """The digest as it would be delivered now: subject line, blank line, body."""
    digest = _build(app, now)
    rendered = render(app, now, digest)
    return f"Subject: {rendered.subject}\n\n{rendered.body}"


def preview_json(app: App, now: datetime) -> dict[str, Any]:
    """`digest preview --format json`: the text, and what it is made of."""
    digest = _build(app, now)
    rendered = render(app, now, digest)
    return {
        "subject": rendered.subject,
        "body": rendered.body,
        "since": iso(digest.since),
        "empty": digest.empty,
        "summary": digest.summary(),
        "sections": {
            s.name: {
                "total": s.total,
                "entries": [
                    {
                        "email": e.email,
                        "name": e.name,
                        "title": e.title,
                        "details": list(e.details),
                        "lines": list(e.lines),
                    }
                    for e in s.entries
                ],
            }
            for s in digest.sections
        },
        "commands": digest.commands_total,
        "refused": digest.refused_total,
        "reply_lines": digest.reply_lines,
    }


def deliver(app: App, prepared: Prepared, now: datetime, *, dry_run: bool = False) -> str:
    """Deliver a prepared digest; one line saying what was (or would be) done."""
    day = prepared.day.isoformat()
    if prepared.done is not None:
        how = f"into {prepared.done.folder}" if prepared.done.folder else "by SMTP"
        return f"the digest of {day} was delivered already ({how} at {prepared.done.written_at})"
    assert prepared.digest is not None and prepared.message is not None
    if prepared.digest.empty:
        return f"nothing to report since {iso(prepared.digest.since)}; no digest for {day}"
    owner = app.owner_address
    what = f"the digest of {day} ({prepared.digest.summary()})"
    if prepared.method == "smtp":
        if dry_run:
            return f"would send {what} to {owner} by SMTP"
        _send(app, prepared.message)
        _record(app, prepared, now, folder=None)
        return f"sent {what} to {owner} by SMTP"
    if dry_run:
        return f"would write {what} into your Drafts folder"
    with app.drafts_target() as target:
        if prepared.key in target.existing_keys():
            action = "found"  # a run that crashed before recording it
        else:
            target.append(bytes(prepared.message), now)
            action = "wrote"
        _record(app, prepared, now, folder=target.folder)
        return f"{action} {what} in {target.folder}"


def _send(app: App, message: EmailMessage) -> None:
    from mailer import smtp

    settings = smtp.from_section(app.config.smtp, app.owner_address)
    assert settings is not None  # delivery() checked smtp.host
    smtp.send(settings, message, password=smtp.password_for(settings))


def _record(app: App, prepared: Prepared, now: datetime, *, folder: str | None) -> None:
    assert prepared.message is not None
    app.store.record_draft(
        DraftRecord(
            key=prepared.key,
            email=app.owner_address,
            kind=core.KIND,
            written_at=iso(now) or "",
            message_id=prepared.message["Message-ID"],
            folder=folder,
            subject=prepared.rendered.subject if prepared.rendered else None,
        )
    )


def run(app: App, now: datetime, *, dry_run: bool = False) -> str:
    """Deliver today's digest unless it was delivered already; one line saying what happened."""
    if dry_run:
        return deliver(app, prepare(app, now), now, dry_run=True)
    # prepared (its record looked up) and delivered under one lock: a second process
    # waits, then finds the record and sends nothing
    with app.store.outbox_lock():
        return deliver(app, prepare(app, now), now)
