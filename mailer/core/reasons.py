"""Why a contact is in its lane, in words and numbers, for listings, the digest and drafts.

Judging every contact must stay cheap (mailer.core.rules), so a judgement
keeps a reason code and these words are made only when asked for
(`Judgement.reason`), from the judgement itself.

Pure: no I/O and no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from mailer.core.ruleset import about, cadence_for, delta_text
from mailer.core.times import date_text, stored_time

if TYPE_CHECKING:
    from mailer.core.rules import Drafted, Judgement


def _why_cadence(j: Judgement) -> str:
    c, last = j.contact, stored_time(j.since)
    assert last is not None
    cadence, source = cadence_for(c, j.rules)
    if source.startswith("rhythm") and c.gap_days is not None:
        said = (
            f"you usually write every ~{about(c.gap_days)}; it has been "
            f"{about((j.now - last).days)} (last {date_text(last)}); "
            f"due after {delta_text(cadence)} ({source})"
        )
    else:
        ago = (j.now - last).days
        every = f"cadence {delta_text(cadence)} ({source})"
        said = f"last contact {date_text(last)} ({ago} days ago); {every}"
    return said + _drafted_note(j.drafted, last)


_THEN = {
    "new_once": "; followed up once",
    "new_theirs": "; their message is the newest",
    "new_late": "; too late for a follow-up",
}


def _why_new(j: Judgement) -> str:
    last = stored_time(j.since)
    first = stored_time(j.contact.first_seen) or last
    assert first is not None and last is not None
    then = _THEN.get(j.code) or f"; follow-up after {delta_text(j.rules.seed_followup)}"
    ago = (j.now - last).days
    since = f"new contact since {date_text(first)}"
    return f"{since}; last exchange {date_text(last)} ({ago} days ago){then}"


def _why_rekindle(j: Judgement) -> str:
    c, last = j.contact, stored_time(j.since)
    assert last is not None
    before = f"; {c.messages_in} from them and {c.messages_out} from you before"
    said = f"{_silent(last, j.now)}; dormancy {delta_text(j.rules.dormancy)}{before}"
    return said + _drafted_note(j.drafted, last)


def _why_too_little(j: Judgement) -> str:
    last = stored_time(j.since)
    assert last is not None
    return _silent(last, j.now) + "; too little between you to rekindle"


def _silent(last: datetime, now: datetime) -> str:
    return f"no exchange since {date_text(last)} ({(now - last).days} days ago)"


def _days_since(when: str | None, now: datetime) -> int:
    then = stored_time(when)
    return (now - then).days if then else 0


def _why_owed(j: Judgement) -> str:
    days = _days_since(j.since, j.now)
    return f"the message they sent on {(j.since or '')[:10]} has waited {days} days for your reply"


def _why_fresh(j: Judgement) -> str:
    days = _days_since(j.since, j.now)
    return f"the message they sent on {(j.since or '')[:10]} is {days} days old: answer it"


def _why_one_sided(j: Judgement) -> str:
    c = j.contact
    li = c.last_inbound
    since = f"since their last on {li[:10]}" if li else "and none from them"
    return f"{c.outbound_unanswered} messages to them unanswered {since}"


def _why_unanswered(j: Judgement) -> str:
    n = j.contact.messages_out
    return f"no answer yet to your {n} message{'s' * (n != 1)}" if n else "no mail exchanged"


REASONS: dict[str, Callable[[Judgement], str]] = {
    "pruned": lambda j: f"{j.contact.status} by you",
    "inbound_only": lambda j: f"{j.contact.messages_in} from them, none from you",
    "owe_reply": _why_owed,
    "snoozed": lambda j: f"snoozed until {(j.contact.snoozed_until or '')[:10]}",
    "one_sided": _why_one_sided,
    "unanswered": _why_unanswered,
    "nothing": lambda j: "no mail exchanged yet",
    "new": _why_new,
    "new_once": _why_new,
    "new_theirs": _why_new,
    "new_late": _why_new,
    "too_little": _why_too_little,
    "rekindle": _why_rekindle,
    "fresh": _why_fresh,
    "cadence": _why_cadence,
}


def _drafted_note(drafted: Drafted, last: datetime) -> str:
    if drafted.newest is None or drafted.newest <= last:
        return ""
    if drafted.failed:
        return f"; a draft could not be written on {date_text(drafted.newest)}: {drafted.failed}"
    return f"; last draft {date_text(drafted.newest)}"
