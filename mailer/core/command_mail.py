"""Which mails are commands, and whom they come from (SPEC section 8).

The owner steers mailer by mailing its command address. That address is
reachable by anyone, so this module is where strangers are turned away:
a mail counts only when it is addressed to exactly the command address (its
secret plus tag is the first key), comes from one unambiguous allowed sender,
and, when the owner asks for it, carries a DKIM or SPF pass for that sender's
domain from the receiving server. It reads headers only; what the lines of
an accepted mail say is mailer.core.commands.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from mailer.core import authres
from mailer.core.mailtext import MailInfo


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str  # why it was refused, or whom it was accepted from


def is_command_mail(info: MailInfo, command_address: str) -> bool:
    """Addressed (To, Cc, Bcc, Delivered-To, X-Original-To) to exactly `command_address`.

    Case-insensitive; another plus tag is another address.
    """
    address = command_address.strip().lower()
    return "@" in address and address in info.recipients


def _domain(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().rstrip(".").lower()


def auth_passes(auth_results: Sequence[str], domain: str, authserv_id: str | None = None) -> bool:
    """Does the receiving server vouch for `domain` (dkim=pass or spf=pass, aligned)?

    Only the receiving server's own header counts: the topmost one whose
    authserv-id is `authserv_id` (RFC 8601 section 5; see `core.authres`).
    Without `authserv_id` nothing counts: the topmost header may be the
    sender's own when the receiving server adds none.
    """
    if not authserv_id:
        return False
    return authres.vouches(auth_results, domain, authserv_id)


def authenticate(
    info: MailInfo,
    allowed_senders: Collection[str],
    require_dkim: bool,
    *,
    authserv_id: str | None = None,
) -> Verdict:
    """Is this mail from the owner? Reads only the From header and the server's verdict."""
    if info.from_problem:
        return Verdict(False, info.from_problem)
    if not info.from_addresses:
        return Verdict(False, "no From address")
    if len(info.from_addresses) > 1:
        return Verdict(False, "more than one From address: " + ", ".join(info.from_addresses))
    sender = info.from_addresses[0]
    allowed = {a.strip().lower() for a in allowed_senders}
    if sender not in allowed:
        return Verdict(False, f"sender not allowed: {sender}")
    if require_dkim:
        domain = _domain(sender)
        if not authserv_id:  # config.py refuses this; a caller of the core may not
            return Verdict(False, "commands.authserv_id is not set; no server's verdict counts")
        if not info.auth_results:
            return Verdict(False, f"no Authentication-Results header; cannot check {domain}")
        if not auth_passes(info.auth_results, domain, authserv_id):
            return Verdict(False, f"DKIM/SPF did not pass for {domain}")
        return Verdict(True, f"from {sender}, DKIM/SPF pass")
    return Verdict(True, f"from {sender}")


def near_miss(info: MailInfo, command_address: str) -> str | None:
    """A recipient that looks like the command address with another tag, if any.

    `me+mailer-k3x9q2@example.com` has the tag `mailer-k3x9q2`; mail to
    `me+mailer-zzz@example.com` or `me+mailer@example.com` is someone guessing
    (or an old address): refused and recorded, never applied. Other plus
    addresses of the owner (`me+lists@...`) are ordinary mail.
    """
    address = command_address.strip().lower()
    stem = command_stem(address)
    if stem == address:
        return None  # no tag, so no wrong tag
    domain = address.rpartition("@")[2]
    for recipient in info.recipients:
        local, _, r_domain = recipient.rpartition("@")
        if recipient == address or r_domain != domain or not local.startswith(stem):
            continue
        rest = local[len(stem) :]
        if rest == "" or rest[0] in "-_.":  # me+mailer, me+mailer-old; not me+mailerlite
            return recipient
    return None


def command_stem(address: str) -> str:
    """What every look-alike of the command address starts with: `me+mailer` of
    `me+mailer-k3x9q2@example.com` (the whole address when it has no tag)."""
    address = address.strip().lower()
    local, _, _domain = address.rpartition("@")
    base, plus, tag = local.partition("+")
    if not plus or not tag:
        return address
    return f"{base}+{re.split(r'[-_.]', tag, maxsplit=1)[0]}"


def kind_of(info: MailInfo, command_address: str, own: Collection[str] = ()) -> str | None:
    """What a mail to the command address is: "commands", "bcc_log", "near_miss" or None.

    Written to mailer alone (the owner's own addresses aside): the mail talks
    to mailer. Written to other people too, with mailer in Bcc, Cc or only in
    the delivery headers: the owner copied mailer on a mail to them, which
    logs that mail and runs no command (its text is for them, not for mailer).
    """
    address = command_address.strip().lower()
    if not is_command_mail(info, command_address):
        return "near_miss" if near_miss(info, command_address) else None
    mine = {address, *(a.strip().lower() for a in own)}
    others = [a for a in info.to_cc if a not in mine]
    return "bcc_log" if others else "commands"


def judge(
    info: MailInfo,
    command_address: str,
    allowed_senders: Collection[str],
    require_dkim: bool,
    *,
    authserv_id: str | None = None,
) -> Verdict:
    """Detection and authentication together: may this mail's commands be applied?"""
    if not is_command_mail(info, command_address):
        return Verdict(False, "not addressed to the command address")
    return authenticate(info, allowed_senders, require_dkim, authserv_id=authserv_id)
