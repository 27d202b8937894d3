"""Command mail: find it in INBOX, apply it once, move it out, tell the owner.

The order is what makes this safe to rerun and to kill at any moment:

1. read the mail and decide what it means (pure: `core.mailtext`,
   `core.commands`, `core.apply`);
2. apply it in ONE store transaction together with its record (keyed by its
   Message-ID and content, `core.apply.mail_key`); a mail whose record exists
   is skipped there, under the store's lock, so two processes (the daemon and
   `mailer commands run`) cannot both apply it;
3. move it to the processed folder. A crash before the move leaves the mail
   in INBOX, and the next run finds its record and only moves it;
4. send the owner a confirmation when SMTP is set up (accepted mail only: a
   refused mail is never answered, it is listed in the digest).

Refused mail (a stranger, a look-alike address, a wrong tag, a failed DKIM
check, too large) is recorded with its reason, changes nothing, and is moved
too, so the processed folder is the audit trail of everything that tried.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from mailer import intros
from mailer.config import Config
from mailer.core import intros as core_intros
from mailer.core.apply import apply_commands, forward_interactions, mail_key, when_of
from mailer.core.command_mail import authenticate, kind_of, near_miss
from mailer.core.commands import read_commands
from mailer.core.headers import Identity, header_block, parse_message
from mailer.core.intros import IntroRules
from mailer.core.mailtext import MailInfo, read_mail
from mailer.core.naming import Resolver
from mailer.core.undo import MailUndo, Past, Restore
from mailer.drafts import Outcome
from mailer.errors import ConfigError, describe
from mailer.model import (
    CommandRecord,
    Contact,
    Intro,
    LineOutcome,
    LogEntry,
    Parsed,
    RawMessage,
    iso,
)
from mailer.render import Record
from mailer.sources.base import CommandBox, Drafts, MailItem
from mailer.store import Decide, Decision, Store

if TYPE_CHECKING:
    from mailer.app import App

log = logging.getLogger("mailer")

MAX_SUBJECT = 200  # a record keeps this much of a subject (strangers' mail is stored too)
NOTHING_FOUND = "no command found; write one per line, e.g. snooze anna@example.com 2w"
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable, no spaces or angle brackets inside


@dataclass(frozen=True)
class Handled:
    """One command mail and what became of it."""

    uid: int
    record: CommandRecord
    new: bool  # False: it was handled before (a crash before the move); only moved now

    @property
    def summary(self) -> str:
        r = self.record
        if r.kind == "refused":
            return f"refused mail from {r.sender or '(no sender)'}: {r.reason}"
        ok = sum(line.ok for line in r.lines)
        failed = len(r.lines) - ok
        done = f"{ok} applied" + (f", {failed} not" if failed else "")
        again = "" if self.new else " (handled before; moved now)"
        return f"{r.subject or '(no subject)'!r} from {r.sender}: {done}{again}"


@dataclass(frozen=True)
class InboxRun:
    handled: list[Handled]
    drafts: list[Outcome]  # introduction drafts written because of answers by mail


@dataclass(frozen=True)
class _Reading:
    """What one mail is, decided before the store is touched."""

    item: MailItem
    info: MailInfo
    key: str
    kind: str  # "commands" | "bcc_log" | "refused"
    reason: str
    parsed: tuple[Parsed, ...] = ()  # interactions it logs (Bcc'd copy, forwards)
    early: tuple[LineOutcome, ...] = ()  # outcomes known before the contacts are read


def _judge(info: MailInfo, kind: str, config: Config) -> tuple[bool, str]:
    """(accepted?, why): the command address, then the sender and the server's verdict."""
    address = config.commands.address
    assert address, "run() reads command mail only with a commands.address"
    if kind == "near_miss":
        return False, f"sent to {near_miss(info, address)}, not the command address"
    verdict = authenticate(
        info,
        config.commands.allowed_senders,
        config.commands.require_dkim,
        authserv_id=config.commands.authserv_id,
    )
    return verdict.accepted, verdict.reason


def _read(
    item: MailItem, box: CommandBox, config: Config, who: Identity, now: datetime
) -> _Reading | None:
    """What one mail is; None for ordinary mail that only looked like command mail.

    Judged on its header fields alone (`item.header`): a refused mail's body
    is never fetched nor parsed, whatever its size or shape.
    """
    address = config.commands.address
    assert address, "run() reads command mail only with a commands.address"
    head = read_mail(item.header)
    kind = kind_of(head, address, config.me.addresses)
    if kind is None:
        return None  # the server's SEARCH is loose (a substring): this is ordinary mail
    accepted, reason = _judge(head, kind, config)
    if accepted and item.size > config.commands.max_size_kb * 1024:
        accepted, reason = False, f"too large ({item.size // 1024} KB; commands.max_size_kb)"
    if not accepted:
        return _Reading(item, head, mail_key(head), "refused", reason)

    raw = box.body(item)
    info = read_mail(raw)
    key = mail_key(info)
    # The whole mail must say what its header fields said (a server may split a
    # malformed header block otherwise than Python does).
    if kind_of(info, address, config.me.addresses) != kind or not _judge(info, kind, config)[0]:
        return _Reading(item, info, key, "refused", "the whole mail reads otherwise than its head")

    if kind == "bcc_log":
        header = RawMessage(header=header_block(raw), internaldate=item.internaldate)
        parsed = parse_message(header, who)
        people = sorted({i.email for i in parsed.interactions})
        label = f"your mail {info.subject!r}"
        if people:
            day = parsed.interactions[0].when.date().isoformat()
            said = LineOutcome(label, True, f"on record: your mail to {', '.join(people)} of {day}")
        else:
            said = LineOutcome(label, False, f"not logged: {parsed.skipped or parsed.error}")
        return _Reading(item, info, key, "bcc_log", reason, (parsed,), (said,))

    parsed_fwd, said_fwd = forward_interactions(info.forwarded, who, when_of(info, now))
    return _Reading(item, info, key, "commands", reason, tuple(parsed_fwd), tuple(said_fwd))


def _decide(
    reading: _Reading, now: datetime, intro_rules: IntroRules, tiers: Collection[str]
) -> Decide:
    """The store's `Decide` for one mail: contacts in, (changed, log, record) out."""
    info = reading.info

    def decide(
        contacts: Mapping[str, Contact],
        intros: Sequence[Intro],
        past: Callable[[], Past],
    ) -> Decision:
        changed: Mapping[str, Contact] = {}
        logs: Sequence[LogEntry] = ()
        answered: dict[str, Intro] = {}
        undo = MailUndo(past)
        lines = list(reading.early)
        if reading.kind == "commands":
            meant: str | None = None  # the verb a prose line may have meant, for NOTHING_FOUND

            def intro_answer(contact: Contact, said: str, when: datetime) -> str:
                current = [answered.get(i.key, i) for i in intros]
                intro = core_intros.answer_by_email(current, contact.email, said, intro_rules, when)
                answered[intro.key] = intro
                return core_intros.describe_answer(intro, contact.email, said)

            def undo_line(ident: str, current: Mapping[str, Contact]) -> Restore:
                restore = undo(ident, current, [answered.get(i.key, i) for i in intros])
                answered.update((i.key, i) for i in restore.intros)
                return restore

            try:
                # Under the store's lock, against the contacts as they are now (nothing to
                # re-check): indexed once, a name is a dict lookup (`make bench`: 1,000 lines).
                found = read_commands(info.subject, info.new_text, Resolver(contacts.values()))
                meant = found.meant
                applied = apply_commands(
                    found.results,
                    contacts,
                    when_of(info, now),
                    reading.key,
                    intro_answer,
                    tiers=tiers,
                    undo=undo_line,
                )
            except Exception as e:  # a bug must not keep this mail, and all after it, in INBOX
                log.warning("command mail %s: %s", reading.key, describe(e))
                answered.clear()
                undo.clear()
                lines.append(
                    LineOutcome("", False, f"not applied, an error in mailer: {describe(e)}")
                )
            else:
                changed, logs = applied.changed, applied.logs
                lines += applied.outcomes
            if not lines:
                hint = f" (did you mean {meant}?)" if meant else ""
                lines.append(LineOutcome("", False, NOTHING_FOUND.replace(";", hint + ";", 1)))
        kind = reading.kind
        if kind == "commands" and info.forwarded:
            kind = "forward"
        record = CommandRecord(
            key=reading.key,
            message_id=info.message_id,
            sender=", ".join(info.from_addresses),
            subject=info.subject[:MAX_SUBJECT],
            received=iso(info.date),
            processed_at=iso(now) or "",
            kind=kind,
            reason=reading.reason,
            lines=tuple(lines),
        )
        return Decision(record, changed, logs, list(answered.values()), undo.unlogged, undo.undone)

    return decide


def run(
    app: App,
    box: CommandBox,
    now: datetime,
    *,
    dry_run: bool = False,
    store: Store | None = None,
    drafts: Callable[[], Drafts] | None = None,
) -> InboxRun:
    """Handle every command mail in INBOX once; with `dry_run`, only say what would happen.

    With `drafts` (where drafts go, looked up only when needed), the drafts
    that answered introductions now call for (both said yes: the
    introduction) are written there afterwards.
    """
    config = app.config
    address = config.commands.address
    if not address:
        return InboxRun([], [])
    store = store or app.store
    who = app.identity
    folder = config.commands.processed_folder
    intro_rules = app.intro_rules
    tiers = tuple(app.rules.tiers)
    handled: list[Handled] = []
    if folder == config.folders.inbox:
        raise ConfigError(
            f"commands.processed_folder is the inbox ({folder!r})",
            hint="name another folder: handled command mail is moved out of the inbox",
        )
    for item in box.candidates(address):
        reading = _read(item, box, config, who, now)
        if reading is None:
            continue
        decide = _decide(reading, now, intro_rules, tiers)
        if dry_run:
            known = {r.key: r for r in store.command_records()}
            if reading.key in known:
                handled.append(Handled(item.uid, known[reading.key], False))
            else:
                contacts = {c.email: c for c in store.contacts()}
                decided = decide(contacts, store.intros(), store.past)
                handled.append(Handled(item.uid, decided.record, True))
            continue
        record = store.apply_command_mail(reading.key, reading.parsed, decide)
        new = record is not None
        if record is None:
            record = next(r for r in store.command_records() if r.key == reading.key)
        box.move([item.uid], folder)
        if new and record.accepted:
            record = _confirm(app, store, record, reading.info, now)
        handled.append(Handled(item.uid, record, new))
    written = []
    answered = not dry_run and any(h.new and h.record.accepted for h in handled)
    # the Drafts folder is looked up only when an answer made an introduction due
    if drafts is not None and answered and intros.pending(app)[0]:
        written = intros.write_pending(app, drafts(), now)
    return InboxRun(handled, written)


def _confirm(
    app: App, store: Store, record: CommandRecord, info: MailInfo, now: datetime
) -> CommandRecord:
    """Mail the owner what became of their command mail, when SMTP is set up."""
    from mailer import smtp

    settings = smtp.from_section(app.config.smtp, app.owner_address)
    if settings is None or not app.config.commands.confirm:
        return record
    try:
        message = confirmation(app, record, info, now)
        smtp.send(settings, message, password=smtp.password_for(settings))
        confirmed = "sent"
    except Exception as e:  # the mail is applied; a failed confirmation must not undo that
        confirmed = f"not sent: {e}"
        log.warning("command mail: confirmation %s", confirmed)
    store.set_confirmed(record.key, confirmed)
    return dataclasses.replace(record, confirmed=confirmed)


def confirmation(app: App, record: CommandRecord, info: MailInfo, now: datetime) -> EmailMessage:
    """The confirmation mail: to the owner address the command mail came from."""
    from mailer.core.compose import build_draft, one_line

    ok = sum(line.ok for line in record.lines)
    rendered = app.renderer.render(
        "confirm",
        subject=record.subject,
        received=record.received,
        kind=record.kind,
        lines=[Record("line", dataclasses.asdict(line)) for line in record.lines],
        applied=ok,
        failed=len(record.lines) - ok,
        id=record.id,
        undo=record.undo_line or "",
    )
    owner = app.owner_address
    message = build_draft(
        from_name=app.config.me.name,
        from_address=owner,
        to=[(None, record.sender.split(", ")[0] or owner)],
        subject=rendered.subject,
        body=rendered.body,
        key=f"confirm:{record.key}",
        date=now,
        reply_to=app.config.commands.address,
    )
    mid = one_line(info.message_id or "")
    if _MESSAGE_ID.fullmatch(mid):
        message["In-Reply-To"] = mid  # threads under the owner's mail
    return message


def apply_text(app: App, text: str, now: datetime, *, via: str) -> CommandRecord:
    """Command lines typed elsewhere than in a mail (the dashboard's forms), applied
    as the owner's command mail would be: the same parser, the same effects, a
    record in `mailer commands list` and `undo <id>`.

    Each call is its own record (its key is random): a form sent twice is two
    commands, as two mails would be; the dashboard redirects after a POST so a
    reload does not send it again.
    """
    import hashlib
    import secrets

    key = f"{via}:{secrets.token_hex(12)}"
    owner = app.owner_address
    info = MailInfo(
        message_id=None,
        from_addresses=(owner,),
        from_name=app.config.me.name,
        recipients=(),
        subject="",
        date=now,
        auth_results=(),
        new_text=text,
        forwarded=(),
        content_hash=hashlib.sha256(key.encode()).hexdigest(),
    )
    reading = _Reading(
        item=MailItem(uid=0, header=b"", size=0),
        info=info,
        key=key,
        kind="commands",
        reason=f"typed in the {via}",
    )
    decide = _decide(reading, now, app.intro_rules, tuple(app.rules.tiers))
    record = app.store.apply_command_mail(key, (), decide)
    assert record is not None, "a fresh key is never handled before"
    return record
