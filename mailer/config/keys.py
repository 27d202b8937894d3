"""The table of config keys: every key's path, parser, default and help, in one place.

Kept apart from `mailer.config` (loading, the section dataclasses) so that
the table can be read and extended on its own.
Loading, error messages, `mailer init`'s starter file and the test of
`config.example.toml` all read this table, so they cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailer.config.parse import (
    address,
    addresses,
    boolean,
    choice,
    command,
    duration,
    duration_or_zero,
    durations,
    env_name,
    file_path,
    integer,
    number,
    pairs,
    str_list,
    string,
    time_of_day,
    timezone,
)

REQUIRED = object()  # the default of a key that must be given


@dataclass(frozen=True)
class Key:
    path: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    # A TOML literal to illustrate the key: `mailer init` shows it for a key
    # without a default (and fills in the required ones from its answers).
    example: str = ""


def _default_store() -> str:
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return f"{base}/mailer/mailer.json"


# The one table. Sections without a row are unknown; so are keys without one.
# Each section is also a frozen dataclass in mailer.config, one field per row
# (tests/test_config.py checks both ways).
KEYS: tuple[Key, ...] = (
    Key("account.host", string, REQUIRED, "IMAP server name", '"imap.example.com"'),
    Key(
        "account.port",
        integer(1, 65535),
        None,
        "IMAP port (default 993 for tls, 143 otherwise)",
        "993",
    ),
    Key(
        "account.security",
        choice("tls", "starttls", "none"),
        "tls",
        "tls (IMAPS), starttls, or none (plain text, only to a loopback address)",
    ),
    Key("account.username", string, REQUIRED, "login name", '"me@example.com"'),
    Key(
        "account.password_env",
        env_name,
        "MAILER_PASSWORD",
        "environment variable holding the password",
    ),
    Key(
        "account.password_command",
        command,
        None,
        "command whose first output line is the password (e.g. pass show mail)",
        '"pass show mail/imap"',
    ),
    Key(
        "account.keyring",
        boolean,
        False,
        "read the password from the system keyring (service 'mailer', the username)",
    ),
    Key(
        "account.oauth2_token_command",
        command,
        None,
        "command printing an OAuth2 access token; used for XOAUTH2 instead of a password",
        '"oauth2-token me@example.com"',
    ),
    Key(
        "account.ca_file",
        file_path,
        None,
        "extra CA certificate(s) to trust, for self-signed servers",
        '"/etc/ssl/my-ca.pem"',
    ),
    Key("account.timeout", integer(1, 3600), 60, "seconds before a network operation is given up"),
    Key(
        "smtp.host",
        string,
        None,
        "SMTP server for the digest and command replies (unset: mailer sends no mail)",
        '"smtp.example.com"',
    ),
    Key(
        "smtp.port",
        integer(1, 65535),
        None,
        "SMTP port (default 465 tls, 587 starttls, 25 none)",
        "465",
    ),
    Key(
        "smtp.security",
        choice("tls", "starttls", "none"),
        "tls",
        "tls (implicit, 465), starttls (587), or none (plain text, only to a loopback address)",
    ),
    Key("smtp.username", string, None, "SMTP login name (unset: no login)", '"me@example.com"'),
    Key(
        "smtp.password_env",
        env_name,
        "MAILER_PASSWORD",
        "environment variable of the SMTP password",
    ),
    Key(
        "smtp.password_command",
        command,
        None,
        "command whose first output line is the password",
        '"pass show mail/smtp"',
    ),
    Key("smtp.keyring", boolean, False, "SMTP password from the keyring (service 'mailer')"),
    Key(
        "smtp.ca_file",
        file_path,
        None,
        "extra CA certificate(s) to trust, for self-signed servers",
        '"/etc/ssl/my-ca.pem"',
    ),
    Key("smtp.timeout", integer(1, 3600), 60, "seconds before a network operation is given up"),
    Key("me.name", string, "", "your name, for signatures", '"Pat Doe"'),
    Key(
        "me.addresses",
        addresses,
        REQUIRED,
        "your addresses: mail From one of these is outbound",
        '["me@example.com"]',
    ),
    Key("store.path", file_path, _default_store(), "the TinyDB file mailer keeps its state in"),
    Key("folders.inbox", string, "INBOX", "the inbox folder"),
    Key(
        "folders.sent",
        string,
        None,
        "the sent folder (default: found by the \\Sent flag or name)",
        '"Sent"',
    ),
    Key(
        "folders.drafts",
        string,
        None,
        "the drafts folder (default: found by the \\Drafts flag or name)",
        '"Drafts"',
    ),
    Key("folders.extra", str_list, (), "more folders to scan, e.g. an archive"),
    Key("ignore.addresses", addresses, (), "addresses that are never contacts"),
    Key("ignore.domains", str_list, (), "domains whose senders are never contacts"),
    Key(
        "ignore.patterns",
        str_list,
        (),
        "glob patterns of addresses that are never contacts, e.g. 'alerts*@*'",
    ),
    Key(
        "scan.max_recipients",
        integer(1, 10_000),
        20,
        "mail to more people than this is mass mail and counts for no one",
    ),
    Key(
        "scan.batch_size", integer(100, 100_000), 100_000, "messages per store commit during a scan"
    ),
    Key(
        "commands.address",
        address,
        None,
        "the secret address you mail commands to (made by mailer init)",
        '"me+mailer-k3x9q2@example.com"',
    ),
    Key(
        "commands.allowed_senders",
        addresses,
        None,
        "who may send commands (default: me.addresses)",
        '["me@example.com"]',
    ),
    Key(
        "commands.require_dkim",
        boolean,
        False,
        "also require dkim=pass or spf=pass for the sender's domain in Authentication-Results",
    ),
    Key(
        "commands.authserv_id",
        string,
        None,
        "your receiving server's name in Authentication-Results (needed by require_dkim)",
        '"mx.example.com"',
    ),
    Key(
        "commands.processed_folder",
        string,
        "mailer-processed",
        "command mail is moved here once handled (created when missing)",
    ),
    Key(
        "commands.confirm",
        boolean,
        True,
        "mail you a confirmation of each command mail at once (needs [smtp])",
    ),
    Key(
        "commands.max_size_kb",
        integer(1, 1_000_000),
        10_240,
        "command mail larger than this is refused unread",
    ),
    Key(
        "commands.keep_refused",
        duration,
        "90d",
        "records of refused command mail are kept this long (and the newest 2,000 at most)",
    ),
    Key("rules.default_cadence", duration, "90d", "how often to be in touch by default"),
    Key("rules.max_drafts_per_day", integer(0, 1000), 5, "at most this many drafts a day"),
    Key("rules.weekdays_only", boolean, True, "write drafts only Monday to Friday"),
    Key("rules.draft_at", time_of_day, "08:30", "local time of day to write drafts"),
    Key("rules.timezone", timezone, "UTC", "time zone of draft_at", '"Europe/Berlin"'),
    Key(
        "rules.tiers",
        durations,
        {"inner": "30d", "network": "90d", "loose": "180d"},
        "cadence per tier (a table given replaces these three)",
        '{ inner = "30d", network = "90d", loose = "180d" }',
    ),
    Key(
        "rules.seed_followup",
        duration,
        "14d",
        "follow up with a new contact this long after the last exchange",
    ),
    Key(
        "rules.seed_window",
        duration,
        "90d",
        "a contact first seen longer ago than this is no longer new",
    ),
    Key("rules.dormancy", duration, "1y", "no exchange for this long: dormant, a weed candidate"),
    Key(
        "rules.one_sided_after",
        integer(1, 10),
        3,
        "this many outbound in a row without an answer: one-sided, a weed candidate",
    ),
    Key(
        "rules.reply_owed_after",
        duration,
        "7d",
        "their message has waited on you this long: a reply is owed",
    ),
    Key(
        "rules.jitter",
        duration_or_zero,
        "3d",
        "spread contacts due on the same day over up to this many days",
    ),
    Key(
        "rules.reply_owed_window",
        duration,
        "90d",
        "their message older than this is no longer listed as a reply owed",
    ),
    Key(
        "rules.min_cadence",
        duration,
        "21d",
        "a cadence learned from the rhythm is never shorter than this",
    ),
    Key(
        "rules.rhythm_factor",
        number(1.0, 100.0),
        3.0,
        "without a tier or own cadence: due after this many times the usual gap",
    ),
    Key(
        "rules.rekindle_per_week",
        integer(0, 100),
        2,
        "at most this many rekindle drafts (dormant two-way ties) in any 7 days",
    ),
    Key(
        "rules.established_messages",
        integer(1, 1000),
        2,
        "a seed with at least this many messages each way ...",
    ),
    Key(
        "rules.established_span",
        duration,
        "60d",
        "... over at least this long is active without triage",
    ),
    Key(
        "drafts.templates_dir",
        file_path,
        None,
        "your own templates; those it lacks come from the built-in ones",
        '"~/.config/mailer/templates"',
    ),
    Key(
        "drafts.maildir",
        file_path,
        None,
        "write drafts into this local Maildir instead of the IMAP Drafts folder",
        '"~/Mail/me/Drafts"',
    ),
    Key("daemon.scan_every_minutes", integer(1, 1440), 15, "scan the mailbox this often"),
    Key(
        "daemon.housekeeping_at",
        time_of_day,
        "03:30",
        "local time of the daily housekeeping (compacting, expiring)",
    ),
    Key(
        "daemon.max_backoff_minutes",
        integer(1, 1440),
        30,
        "longest wait between retries after a network fault",
    ),
    Key(
        "daemon.idle",
        boolean,
        True,
        "watch INBOX with IMAP IDLE so command mail is read within seconds",
    ),
    Key(
        "digest.every",
        choice("daily", "weekly", "off"),
        "daily",
        "how often the digest comes: daily, weekly or off",
    ),
    Key("digest.at", time_of_day, "07:30", "local time (rules.timezone) of the digest"),
    Key(
        "digest.weekday",
        choice("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        "monday",
        "the day of a weekly digest",
    ),
    Key(
        "digest.delivery",
        choice("auto", "draft", "smtp"),
        "auto",
        "smtp: mailed to you; draft: written to Drafts; auto: smtp when [smtp] is set",
    ),
    Key("intros.min_trust", integer(0, 3), 2, "both sides need at least this trust"),
    Key(
        "intros.cooldown",
        duration,
        "180d",
        "a pair asked or introduced is not suggested again for this long",
    ),
    Key(
        "intros.max_open",
        integer(1, 100),
        2,
        "a contact waiting on this many introductions gets no more suggestions",
    ),
    Key(
        "intros.expire_after",
        duration,
        "21d",
        "an ask without both answers closes after this long",
    ),
    Key(
        "intros.complementary",
        pairs,
        (),
        'tag pairs that make a match, e.g. [["hiring", "looking"]]',
        '[["hiring", "looking"], ["investor", "founder"]]',
    ),
    Key(
        "intros.allow_direct",
        boolean,
        False,
        "allow `intro ask --direct` (no opt-in) between two trust-3 contacts",
    ),
    Key("intros.suggest_limit", integer(1, 1000), 20, "how many suggestions to list"),
)
BY_PATH = {k.path: k for k in KEYS}
# Keys whose value is itself a TOML table ([rules.tiers]): not flattened into more keys.
TABLES = frozenset(k.path for k in KEYS if k.parse is durations)
# The sections, in the table's order (the order `mailer init` writes them in).
SECTIONS = tuple(dict.fromkeys(k.path.partition(".")[0] for k in KEYS))
