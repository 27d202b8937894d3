"""Replay a real mailbox week by week against a real Dovecot, and judge mailer's drafts.

The ground truth here is worked out from the raw headers with the standard
library only (first From, To/Cc/Bcc, Date), never with mailer's parser, so a
bug there cannot hide a bug in the rules. See tests/system/test_replay.py for the
invariants and the mailboxes (../shared/corpus/MANIFEST.md).

Weeks run from Monday 09:00 UTC to the next Monday 09:00 UTC: a week's mail
is appended (its own date as INTERNALDATE), then `mailer scan` and `mailer
drafts run` run with MAILER_NOW at the end of the week, a weekday morning.
So everything dated before a run's MAILER_NOW is in the mailbox when it runs.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import traceback
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from imapclient import IMAPClient

from mailer.cli import cli
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import PASSWORD_ENV

WEEK = timedelta(days=7)
RUN_AT = time(9, 0, tzinfo=UTC)  # Monday 09:00 UTC: a weekday morning everywhere in Europe
DRAFT_KINDS = ("reconnect", "seed", "rekindle")  # the kinds the rules make and ration
LANES = (
    "pruned",
    "inbound_only",
    "owe_reply",
    "snoozed",
    "one_sided",
    "new",
    "due",
    "rekindle",
    "quiet",
)

# The invariants' numbers (see tests/system/test_replay.py).
UNANSWERED_MIN_AGE = timedelta(days=90)
QUIET_BEFORE = timedelta(days=14)
MAX_PER_DAY = 5

# For the report only (never to decide anything): why mailer may not count a message.
_NO_REPLY = re.compile(
    r"(^|[._+-])(no[._-]?reply|do[._-]?not[._-]?reply|mailer-daemon|postmaster|"
    r"bounces?|notifications?|no\.address|announcements?)([._+-]|@)",
    re.IGNORECASE,
)
_HEADER_FIELDS = b"BODY[HEADER.FIELDS (X-MAILER-DRAFT-KEY TO DATE)]"


# --- the ground truth ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One message file, as the raw headers say."""

    path: str  # relative to the mailbox folder
    folder: str  # "INBOX" (inbox/) or "Sent" (outbound-copies/)
    data: bytes
    when: datetime  # UTC
    sender: str | None  # first From address, lower-case
    recipients: tuple[str, ...]  # To/Cc/Bcc, lower-case, the owner's own left out
    outbound: bool  # From is one of the owner's addresses
    n_recipients: int  # distinct To/Cc/Bcc addresses, the owner's included
    subject: str
    automated: str | None  # List-Id etc., or a no-reply-like sender: why, for the report

    @property
    def mass(self) -> bool:
        """Outbound to more than 20 people: SPEC section 3 says it is no personal exchange."""
        return self.outbound and len(self.recipients) > 20

    @property
    def filtered(self) -> bool:
        """Mail that SPEC section 3 tells mailer not to count (for the report only)."""
        return self.mass or self.automated is not None

    def describe(self) -> str:
        way = "from owner" if self.outbound else f"from {self.sender}"
        notes = [f"{self.n_recipients} recipients"]
        if self.mass:
            notes.append("mass mail: >20 besides the owner")
        if self.automated:
            notes.append(f"automated: {self.automated}")
        subject = self.subject if len(self.subject) <= 60 else self.subject[:57] + "..."
        return f"{_iso(self.when)} {way} [{self.folder}] {subject!r} ({', '.join(notes)})"


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _addresses(values: Iterable[str]) -> list[str]:
    found = []
    for _name, addr in getaddresses([str(v) for v in values]):
        addr = addr.strip().lower()
        if "@" in addr:
            found.append(addr)
    return found


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _automated(msg: email.message.Message, sender: str | None) -> str | None:
    for name in ("List-Id", "List-Unsubscribe"):
        if msg.get(name) is not None:
            return name
    precedence = str(msg.get("Precedence", "")).split(";")[0].strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return f"Precedence: {precedence}"
    auto = str(msg.get("Auto-Submitted", "")).split(";")[0].split("(")[0].strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    if sender and _NO_REPLY.search(sender):
        return "no-reply-like sender"
    return None


def read_mail(path: Path, rel: str, folder: str, owner: frozenset[str]) -> Mail | None:
    """The message in `path`, or None without a usable Date."""
    data = path.read_bytes()
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    when = _date(msg.get("Date"))
    if when is None:
        return None
    senders = _addresses(msg.get_all("From", []))
    sender = senders[0] if senders else None
    everyone = list(
        dict.fromkeys(
            _addresses(msg.get_all("To", []) + msg.get_all("Cc", []) + msg.get_all("Bcc", []))
        )
    )
    return Mail(
        path=rel,
        folder=folder,
        data=data,
        when=when,
        sender=sender,
        recipients=tuple(a for a in everyone if a not in owner),
        outbound=sender in owner,
        n_recipients=len(everyone),
        subject=" ".join(str(msg.get("Subject", "")).split()),
        automated=_automated(msg, sender),
    )


def load_mailbox(root: Path, owner: frozenset[str]) -> tuple[list[Mail], int]:
    """Every message of inbox/ and outbound-copies/ by date; and how many had no Date."""
    mails, undated = [], 0
    for sub, folder in (("inbox", "INBOX"), ("outbound-copies", "Sent")):
        for path in sorted(p for p in (root / sub).rglob("*") if p.is_file()):
            m = read_mail(path, path.relative_to(root).as_posix(), folder, owner)
            if m is None:
                undated += 1
            else:
                mails.append(m)
    mails.sort(key=lambda m: (m.when, m.path))
    return mails, undated


@dataclass(frozen=True)
class Event:
    when: datetime
    direction: str  # "in" (from them) or "out" (from the owner)
    mail: Mail


class Truth:
    """Who exchanged what with the owner, and when (SPEC section 3, without any filter)."""

    def __init__(self, mails: Sequence[Mail], owner: frozenset[str]) -> None:
        self.owner = owner
        by_person: dict[str, list[Event]] = defaultdict(list)
        for m in mails:
            if m.outbound:
                for person in m.recipients:
                    by_person[person].append(Event(m.when, "out", m))
            elif m.sender is not None and m.sender not in owner:
                by_person[m.sender].append(Event(m.when, "in", m))
        self.events = {
            p: sorted(evs, key=lambda e: (e.when, e.mail.path)) for p, evs in by_person.items()
        }
        self._times = {p: [e.when for e in evs] for p, evs in self.events.items()}

    def before(self, person: str, t: datetime) -> list[Event]:
        evs = self.events.get(person, [])
        return evs[: bisect_left(self._times.get(person, []), t)]

    def between(self, person: str, start: datetime, end: datetime) -> list[Event]:
        """Events with start <= when < end."""
        times = self._times.get(person, [])
        evs = self.events.get(person, [])
        return evs[bisect_left(times, start) : bisect_left(times, end)]

    def two_way(self) -> set[str]:
        """At least one message from them and one to them (MANIFEST.md's two-way)."""
        return {
            p
            for p, evs in self.events.items()
            if any(e.direction == "in" for e in evs) and any(e.direction == "out" for e in evs)
        }


# --- the replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    key: str
    kind: str
    to: str  # the draft's To address, lower-case
    key_email: str
    date: datetime | None  # the draft's Date header
    week: int
    t: datetime  # MAILER_NOW of the run that wrote it


@dataclass
class Result:
    mailbox: str
    weeks: int = 0
    messages: int = 0
    undated: int = 0
    in_inbox: int = 0
    in_sent: int = 0
    drafts: list[Draft] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # everything else that must not happen
    lanes: Counter[str] = field(default_factory=Counter)
    lanes_from: str = ""
    default_rows: int = 0
    default_two_way: int = 0
    all_rows: int | None = None
    two_way_truth: int = 0
    two_way_known: int = 0
    two_way_unknown: list[str] = field(default_factory=list)
    two_way_inbound_only: list[str] = field(default_factory=list)
    two_way_lanes: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        kinds = Counter(d.kind for d in self.drafts)
        per_kind = ", ".join(f"{k} {kinds[k]}" for k in sorted(kinds)) or "none"
        people = len({d.to for d in self.drafts})
        lanes = ", ".join(f"{k} {v}" for k, v in sorted(self.lanes.items())) or "n/a"
        tw_lanes = ", ".join(f"{k} {v}" for k, v in sorted(self.two_way_lanes.items())) or "n/a"
        share = f"{self.default_two_way}/{self.default_rows}"
        return "\n".join(
            [
                f"== {self.mailbox}: {self.weeks} weeks, {self.messages} messages "
                f"({self.in_inbox} INBOX, {self.in_sent} Sent, {self.undated} without a Date)",
                f"   drafts written: {len(self.drafts)} ({per_kind}) to {people} distinct people",
                f"   invariant violations: {len(self.violations)}",
                f"   contacts per lane at the end ({self.lanes_from}): {lanes}",
                f"   default list: {self.default_rows} rows, two-way {share}; "
                f"--all: {self.all_rows if self.all_rows is not None else 'failed'} rows",
                f"   two-way in ground truth: {self.two_way_truth}; known to mailer "
                f"{self.two_way_known} ({tw_lanes}); unknown {len(self.two_way_unknown)}, "
                f"inbound_only {len(self.two_way_inbound_only)}",
            ]
        )

    def report(self) -> str:
        lines = [self.summary()]
        if self.two_way_unknown:
            lines.append("   two-way unknown to mailer: " + ", ".join(sorted(self.two_way_unknown)))
        if self.two_way_inbound_only:
            lines.append(
                "   two-way but inbound_only in mailer: "
                + ", ".join(sorted(self.two_way_inbound_only))
            )
        lines += [f"   VIOLATION {v}" for v in self.violations]
        lines += [f"   PROBLEM {p}" for p in self.problems]
        return "\n".join(lines)


class Mailer:
    """`mailer` in-process (click's CliRunner) against one config."""

    def __init__(self, config: Path, password: str) -> None:
        self.config = config
        self.password = password
        self.runner = CliRunner()

    def run(self, now: datetime, *args: str, check: bool = True) -> tuple[int, str, str]:
        env = {"MAILER_NOW": _iso(now), PASSWORD_ENV: self.password, "MAILER_CONFIG": None}
        res = self.runner.invoke(cli, ["--config", str(self.config), *args], env=env)
        stderr = getattr(res, "stderr", "") or ""
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            stderr += "".join(traceback.format_exception(res.exception))
        if check and res.exit_code != 0:
            pytest.fail(
                f"mailer {' '.join(args)} at MAILER_NOW={_iso(now)} exited {res.exit_code}\n"
                f"--- stdout\n{res.stdout}\n--- stderr\n{stderr}",
                pytrace=False,
            )
        return res.exit_code, res.stdout, stderr

    def json(self, now: datetime, *args: str) -> tuple[list[dict[str, Any]] | None, str]:
        """The JSON a list command prints, or None and why not."""
        code, out, err = self.run(now, *args, check=False)
        if code != 0:
            return None, f"exit {code}: {(err or out).strip()}"
        try:
            return json.loads(out), ""
        except ValueError as e:
            return None, f"not JSON ({e}): {out[:200]!r}"


def first_run(first: datetime) -> datetime:
    """The Monday 09:00 UTC at or before `first`: the start of week 0."""
    monday = first.date() - timedelta(days=first.weekday())
    start = datetime.combine(monday, RUN_AT)
    return start if start <= first else start - WEEK


def weeks(mails: Sequence[Mail]) -> list[tuple[datetime, list[Mail]]]:
    """(MAILER_NOW, that week's mail) from the first message's week to the last's."""
    start = first_run(mails[0].when)
    out: list[tuple[datetime, list[Mail]]] = []
    i = 0
    end = start + WEEK
    while i < len(mails):
        batch = []
        while i < len(mails) and mails[i].when < end:
            batch.append(mails[i])
            i += 1
        out.append((end, batch))
        end += WEEK
    return out


def append(client: IMAPClient, folder: str, mails: Sequence[Mail]) -> None:
    if mails:
        client.multiappend(
            folder, [{"msg": m.data, "flags": (b"\\Seen",), "date": m.when} for m in mails]
        )


def new_drafts(client: IMAPClient, seen: set[int]) -> list[tuple[str, str, datetime | None]]:
    """(key, To address, Date) of the drafts not seen before, by UID."""
    client.select_folder("Drafts", readonly=True)
    uids = [u for u in client.search(["ALL"]) if u not in seen]
    if not uids:
        return []
    rows = client.fetch(uids, [_HEADER_FIELDS.decode()])
    out = []
    for uid in sorted(rows):
        seen.add(uid)
        data = next(v for k, v in rows[uid].items() if k.startswith(b"BODY[HEADER"))
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
        to = _addresses(msg.get_all("To", []))
        out.append(
            (
                str(msg.get("X-Mailer-Draft-Key", "")).strip(),
                to[0] if to else "",
                _date(msg.get("Date")),
            )
        )
    return out


# --- the invariants ------------------------------------------------------------------------


def _newest(evs: Sequence[Event], direction: str) -> Event | None:
    for e in reversed(evs):
        if e.direction == direction:
            return e
    return None


_FILTERED = " -- NOTE: only mass or automated mail here, which SPEC section 3 says mailer ignores"


def check_draft(d: Draft, truth: Truth, earlier: Sequence[Draft]) -> list[str]:
    """Invariants 1-4 for one draft; `earlier` are the drafts to the same person before it."""
    p, t = d.to, d.t
    head = f"week {d.week} (MAILER_NOW {_iso(t)}) {d.kind} to {p} [key {d.key}]"
    found = []
    if p != d.key_email:
        found.append(f"{head}: the draft's To is not the key's address {d.key_email!r}")
    if p in truth.owner:
        found.append(f"{head}: drafted to the owner's own address")
    if d.kind not in DRAFT_KINDS:
        found.append(f"{head}: kind {d.kind!r} is not one of {DRAFT_KINDS}")
    before = truth.before(p, t)
    last_in, last_out = _newest(before, "in"), _newest(before, "out")
    facts = (
        f"before t: {sum(e.direction == 'in' for e in before)} from them, "
        f"{sum(e.direction == 'out' for e in before)} from owner; "
        f"newest from them: {last_in.mail.describe() if last_in else 'none'}; "
        f"newest from owner: {last_out.mail.describe() if last_out else 'none'}"
    )
    # 1. the owner wrote to P before t
    if last_out is None:
        found.append(f"{head}: [1 never written to] {facts}")
    # 2. their unanswered message is at least 90 days old
    if last_in is not None and (last_out is None or last_in.when > last_out.when):
        age = t - last_in.when
        if age < UNANSWERED_MIN_AGE:
            found.append(
                f"{head}: [2 unanswered message {age.days} days old < 90] {facts}"
                + (_FILTERED if last_in.mail.filtered else "")
            )
    # 3. nothing either way in the 14 days before t
    recent = truth.between(p, t - QUIET_BEFORE, t)
    if recent:
        found.append(
            f"{head}: [3 {len(recent)} message(s) in the 14 days before t] "
            + "; ".join(e.mail.describe() for e in recent)
            + (_FILTERED if all(e.mail.filtered for e in recent) else "")
        )
    # 4. no second draft while one waits and nothing was exchanged since it
    if earlier:
        prev = max(earlier, key=lambda e: e.t)
        since = truth.between(p, prev.t, t)
        if not since:
            found.append(
                f"{head}: [4 second draft: {prev.kind} draft of week {prev.week} "
                f"({_iso(prev.t)}, key {prev.key}) still in Drafts, nothing exchanged since] "
                + facts
            )
    return found


def check_daily_maximum(drafts: Sequence[Draft]) -> list[str]:
    """Invariant 5: at most MAX_PER_DAY drafts of the draft kinds per written day."""
    days: dict[str, list[Draft]] = defaultdict(list)
    for d in drafts:
        if d.kind in DRAFT_KINDS:
            days[(d.date or d.t).astimezone(UTC).date().isoformat()].append(d)
    return [
        f"[5 daily maximum] {len(ds)} drafts written on {day} (week {ds[0].week}): "
        + ", ".join(d.key for d in ds)
        for day, ds in sorted(days.items())
        if len(ds) > MAX_PER_DAY
    ]


# --- one mailbox, start to end -------------------------------------------------------------


def replay(
    mailbox: Path,
    owner: Sequence[str],
    user: ImapUser,
    config: Path,
) -> Result:
    own = frozenset(a.lower() for a in owner)
    mails, undated = load_mailbox(mailbox, own)
    assert mails, f"no dated message in {mailbox}"
    truth = Truth(mails, own)
    res = Result(
        mailbox.name,
        messages=len(mails),
        undated=undated,
        in_inbox=sum(m.folder == "INBOX" for m in mails),
        in_sent=sum(m.folder == "Sent" for m in mails),
    )
    mailer = Mailer(config, user.password)
    seen_uids: set[int] = set()
    by_person: dict[str, list[Draft]] = defaultdict(list)
    plan = weeks(mails)
    res.weeks = len(plan)
    with user.connect() as client:
        for folder in ("Sent", "Drafts"):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        for week, (t, batch) in enumerate(plan):
            append(client, "INBOX", [m for m in batch if m.folder == "INBOX"])
            append(client, "Sent", [m for m in batch if m.folder == "Sent"])
            mailer.run(t, "scan")
            mailer.run(t, "drafts", "run")
            for key, to, date in new_drafts(client, seen_uids):
                kind, _, rest = key.partition(":")
                key_email = rest.rpartition(":")[0].lower()
                d = Draft(key, kind, to, key_email, date, week, t)
                res.drafts.append(d)
                found = check_draft(d, truth, by_person[to])
                if found:
                    _, out, _ = mailer.run(
                        t, "contacts", "show", to, "--format", "json", check=False
                    )
                    res.violations += [f"{v}; mailer's view: {_view(out)}" for v in found]
                by_person[to].append(d)
    res.violations += check_daily_maximum(res.drafts)
    keys = Counter(d.key for d in res.drafts)
    res.problems += [f"draft key {k} is {n} times in Drafts" for k, n in keys.items() if n > 1]
    _final_lists(res, mailer, plan[-1][0], truth)
    return res


def _view(out: str) -> str:
    try:
        rows = json.loads(out)
    except ValueError:
        return out.strip()[:300] or "n/a"
    row = rows[0] if isinstance(rows, list) and rows else rows
    if not isinstance(row, dict):
        return "n/a"
    keys = ("lane", "status", "last_inbound", "last_outbound", "messages_in", "messages_out")
    return ", ".join(f"{k}={row.get(k)}" for k in keys) + f", reason={row.get('reason')!r}"


def _final_lists(res: Result, mailer: Mailer, t: datetime, truth: Truth) -> None:
    """Item 3 (the default list is two-way; --all has everyone, with a lane) and the lanes."""
    default, why = mailer.json(t, "contacts", "list", "--format", "json")
    if default is None:
        res.problems.append(f"contacts list --format json failed: {why}")
        default = []
    res.default_rows = len(default)
    res.default_two_way = sum(1 for r in default if _is_two_way(r))
    if default and res.default_two_way < 0.95 * len(default):
        one_way = [str(r.get("email")) for r in default if not _is_two_way(r)]
        res.problems.append(
            f"[item 3] default contacts list: only {res.default_two_way} of {len(default)} rows "
            f"are two-way (< 95%); e.g. {', '.join(one_way[:5])}"
        )

    everyone, why = mailer.json(t, "contacts", "list", "--all", "--format", "json")
    if everyone is None:
        res.problems.append(f"[item 3] contacts list --all --format json failed: {why}")
        rows, res.lanes_from = default, "default list; --all failed"
    else:
        res.all_rows = len(everyone)
        rows, res.lanes_from = everyone, "--all"
        if len(everyone) <= len(default):
            res.problems.append(
                f"[item 3] --all lists {len(everyone)} rows, not more than the default list's "
                f"{len(default)}"
            )
    no_lane = [f"{r.get('email')}: {r.get('lane')!r}" for r in rows if r.get("lane") not in LANES]
    if no_lane:
        res.problems.append(
            f"{len(no_lane)} of {len(rows)} rows have no valid lane, e.g. " + ", ".join(no_lane[:5])
        )
    res.lanes = Counter(str(r.get("lane")) for r in rows)

    by_email = {r.get("email"): r for r in rows}
    two_way = truth.two_way()
    res.two_way_truth = len(two_way)
    for p in sorted(two_way):
        row = by_email.get(p)
        if row is None:
            res.two_way_unknown.append(p)
            continue
        res.two_way_known += 1
        lane = row.get("lane")
        res.two_way_lanes[str(lane)] += 1
        if lane == "inbound_only":
            res.two_way_inbound_only.append(p)
        if lane not in LANES:
            res.problems.append(f"two-way {p}: lane {lane!r} is not one of {LANES}")


def _is_two_way(row: dict[str, Any]) -> bool:
    return (row.get("messages_in") or 0) >= 1 and (row.get("messages_out") or 0) >= 1
