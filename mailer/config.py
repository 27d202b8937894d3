"""Configuration: one table of keys, loaded from TOML into frozen dataclasses.

Every key the program understands is one row of `KEYS` (path, type, default,
help). Loading, error messages, `mailer init` and the test that checks
`config.example.toml` all read that table, so they cannot drift apart. All
problems of a file are reported together, each with its full key path.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailer.core.durations import parse_duration
from mailer.errors import ConfigError

REQUIRED = object()


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(v: Any) -> str:
    # A password pasted here by mistake must not be echoed into an error line,
    # the daemon's log or `mailer status`: the message never shows the value.
    if not isinstance(v, str) or not _ENV_NAME.fullmatch(v):
        raise ValueError(
            "expected the name of an environment variable (letters, digits, _); "
            "the value is not shown, in case it is the password itself"
        )
    return v


def _command(v: Any) -> str:
    # Like _env_name: a number pasted here (a PIN, a password) is not echoed.
    if not isinstance(v, str):
        raise ValueError("expected a command line as a string; the value is not shown")
    return v


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}, got {v!r}")
        return v

    return check


def _number(lo: float, hi: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"expected a number from {lo:g} to {hi:g}, got {v!r}")
        return float(v)

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _choice(*options: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if v not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {v!r}")
        return str(v)

    return check


def _str_list(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ValueError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def _addresses(v: Any) -> tuple[str, ...]:
    items = _str_list(v)
    for a in items:
        if "@" not in a or " " in a.strip():
            raise ValueError(f"{a!r} is not an email address")
    return tuple(a.strip().lower() for a in items)


def _address(v: Any) -> str:
    return _addresses([v])[0]


def _path(v: Any) -> Path:
    return Path(os.path.expandvars(_str(v))).expanduser()


def _duration(v: Any) -> timedelta:
    return parse_duration(_str(v))


def _duration_or_zero(v: Any) -> timedelta:
    if isinstance(v, str) and v.strip() in ("0", "0d"):
        return timedelta(0)
    return _duration(v)


def _durations(v: Any) -> dict[str, timedelta]:
    if not isinstance(v, dict):
        raise ValueError(f"expected a table of name = duration, got {v!r}")
    return {str(k): parse_duration(_str(d)) for k, d in v.items()}


def _pairs(v: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(v, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(t, str) and t.strip() for t in p)
        for p in v
    ):
        raise ValueError(f"expected a list of [tag, tag] pairs, got {v!r}")
    return tuple((p[0].strip().lower(), p[1].strip().lower()) for p in v)


def _time_of_day(v: Any) -> str:
    s = _str(v)
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", s)
    if not m:
        raise ValueError(f"expected a time like 08:30, got {v!r}")
    return f"{int(m[1]):02d}:{m[2]}"


def _timezone(v: Any) -> str:
    s = _str(v)
    try:
        ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {s!r}; use a name like Europe/Berlin") from None
    return s


@dataclass(frozen=True)
class Key:
    path: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    example: str = ""  # TOML literal for `mailer init` / the example file


def _default_store() -> str:
    base = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return f"{base}/mailer/mailer.json"


# The one table. Sections without a row are unknown; so are keys without one.
KEYS: tuple[Key, ...] = (
    Key("account.host", _str, REQUIRED, "IMAP server name", '"imap.example.com"'),
    Key("account.port", _int(1, 65535), None, "IMAP port (default 993 for tls, 143 otherwise)"),
    Key(
        "account.security",
        _choice("tls", "starttls", "none"),
        "tls",
        "tls (IMAPS), starttls, or none (plain text, only to a loopback address)",
    ),
    Key("account.username", _str, REQUIRED, "login name", '"me@example.com"'),
    Key(
        "account.password_env",
        _env_name,
        "MAILER_PASSWORD",
        "environment variable holding the password",
    ),
    Key(
        "account.password_command",
        _command,
        None,
        "command whose first output line is the password (e.g. pass show mail)",
    ),
    Key(
        "account.keyring",
        _bool,
        False,
        "read the password from the system keyring (service 'mailer', the username)",
    ),
    Key(
        "account.oauth2_token_command",
        _command,
        None,
        "command printing an OAuth2 access token; used for XOAUTH2 instead of a password",
    ),
    Key(
        "account.ca_file", _path, None, "extra CA certificate(s) to trust, for self-signed servers"
    ),
    Key("account.timeout", _int(1, 3600), 60, "seconds before a network operation is given up"),
    Key(
        "smtp.host",
        _str,
        None,
        "SMTP server for the digest and command replies (unset: mailer sends no mail)",
        '"smtp.example.com"',
    ),
    Key("smtp.port", _int(1, 65535), None, "SMTP port (default 465 tls, 587 starttls, 25 none)"),
    Key(
        "smtp.security",
        _choice("tls", "starttls", "none"),
        "tls",
        "tls (implicit, 465), starttls (587), or none (plain text, only to a loopback address)",
    ),
    Key("smtp.username", _str, None, "SMTP login name (unset: no login)", '"me@example.com"'),
    Key(
        "smtp.password_env",
        _env_name,
        "MAILER_PASSWORD",
        "environment variable of the SMTP password",
    ),
    Key("smtp.password_command", _command, None, "command whose first output line is the password"),
    Key("smtp.keyring", _bool, False, "SMTP password from the keyring (service 'mailer')"),
    Key("smtp.ca_file", _path, None, "extra CA certificate(s) to trust, for self-signed servers"),
    Key("smtp.timeout", _int(1, 3600), 60, "seconds before a network operation is given up"),
    Key("me.name", _str, "", "your name, for signatures", '"Pat Doe"'),
    Key(
        "me.addresses",
        _addresses,
        REQUIRED,
        "your addresses: mail From one of these is outbound",
        '["me@example.com"]',
    ),
    Key("store.path", _path, _default_store(), "the TinyDB file mailer keeps its state in"),
    Key("folders.inbox", _str, "INBOX", "the inbox folder"),
    Key("folders.sent", _str, None, "the sent folder (default: found by the \\Sent flag or name)"),
    Key(
        "folders.drafts",
        _str,
        None,
        "the drafts folder (default: found by the \\Drafts flag or name)",
    ),
    Key("folders.extra", _str_list, (), "more folders to scan, e.g. an archive"),
    Key("ignore.addresses", _addresses, (), "addresses that are never contacts"),
    Key("ignore.domains", _str_list, (), "domains whose senders are never contacts"),
    Key(
        "ignore.patterns",
        _str_list,
        (),
        "glob patterns of addresses that are never contacts, e.g. 'alerts*@*'",
    ),
    Key(
        "scan.max_recipients",
        _int(1, 10_000),
        20,
        "mail to more people than this is mass mail and counts for no one",
    ),
    Key("scan.batch_size", _int(100, 100_000), 20_000, "messages per store commit during a scan"),
    Key(
        "commands.address",
        _address,
        None,
        "the secret address you mail commands to (made by mailer init)",
    ),
    Key(
        "commands.allowed_senders",
        _addresses,
        None,
        "who may send commands (default: me.addresses)",
    ),
    Key(
        "commands.require_dkim",
        _bool,
        False,
        "also require dkim=pass or spf=pass for the sender's domain in Authentication-Results",
    ),
    Key(
        "commands.authserv_id",
        _str,
        None,
        "your receiving server's name in Authentication-Results (needed by require_dkim)",
    ),
    Key(
        "commands.processed_folder",
        _str,
        "mailer-processed",
        "command mail is moved here once handled (created when missing)",
    ),
    Key(
        "commands.confirm",
        _bool,
        True,
        "mail you a confirmation of each command mail at once (needs [smtp])",
    ),
    Key(
        "commands.max_size_kb",
        _int(1, 1_000_000),
        10_240,
        "command mail larger than this is refused unread",
    ),
    Key(
        "commands.keep_refused",
        _duration,
        "90d",
        "records of refused command mail are kept this long (and the newest 2,000 at most)",
    ),
    Key("rules.default_cadence", _duration, "90d", "how often to be in touch by default"),
    Key("rules.max_drafts_per_day", _int(0, 1000), 5, "at most this many drafts a day"),
    Key("rules.weekdays_only", _bool, True, "write drafts only Monday to Friday"),
    Key("rules.draft_at", _time_of_day, "08:30", "local time of day to write drafts"),
    Key("rules.timezone", _timezone, "UTC", "time zone of draft_at", '"Europe/Berlin"'),
    Key(
        "rules.tiers",
        _durations,
        {"inner": "30d", "network": "90d", "loose": "180d"},
        "cadence per tier (a table given replaces these three)",
        '{ inner = "30d", network = "90d", loose = "180d" }',
    ),
    Key(
        "rules.seed_followup",
        _duration,
        "14d",
        "follow up with a new contact this long after the last exchange",
    ),
    Key(
        "rules.seed_window",
        _duration,
        "90d",
        "a contact first seen longer ago than this is no longer new",
    ),
    Key("rules.dormancy", _duration, "1y", "no exchange for this long: dormant, a weed candidate"),
    Key(
        "rules.one_sided_after",
        _int(1, 10),
        3,
        "this many outbound in a row without an answer: one-sided, a weed candidate",
    ),
    Key(
        "rules.reply_owed_after",
        _duration,
        "7d",
        "their message has waited on you this long: a reply is owed",
    ),
    Key(
        "rules.jitter",
        _duration_or_zero,
        "3d",
        "spread contacts due on the same day over up to this many days",
    ),
    Key(
        "rules.reply_owed_window",
        _duration,
        "90d",
        "their message older than this is no longer listed as a reply owed",
    ),
    Key(
        "rules.min_cadence",
        _duration,
        "21d",
        "a cadence learned from the rhythm is never shorter than this",
    ),
    Key(
        "rules.rhythm_factor",
        _number(1.0, 100.0),
        3.0,
        "without a tier or own cadence: due after this many times the usual gap",
    ),
    Key(
        "rules.rekindle_per_week",
        _int(0, 100),
        2,
        "at most this many rekindle drafts (dormant two-way ties) in any 7 days",
    ),
    Key(
        "rules.established_messages",
        _int(1, 1000),
        2,
        "a seed with at least this many messages each way ...",
    ),
    Key(
        "rules.established_span",
        _duration,
        "60d",
        "... over at least this long is active without triage",
    ),
    Key(
        "drafts.templates_dir",
        _path,
        None,
        "your own templates; those it lacks come from the built-in ones",
    ),
    Key(
        "drafts.maildir",
        _path,
        None,
        "write drafts into this local Maildir instead of the IMAP Drafts folder",
    ),
    Key("daemon.scan_every_minutes", _int(1, 1440), 15, "scan the mailbox this often"),
    Key(
        "daemon.housekeeping_at",
        _time_of_day,
        "03:30",
        "local time of the daily housekeeping (compacting, expiring)",
    ),
    Key(
        "daemon.max_backoff_minutes",
        _int(1, 1440),
        30,
        "longest wait between retries after a network fault",
    ),
    Key(
        "daemon.idle",
        _bool,
        True,
        "watch INBOX with IMAP IDLE so command mail is read within seconds",
    ),
    Key(
        "digest.every",
        _choice("daily", "weekly", "off"),
        "daily",
        "how often the digest comes: daily, weekly or off",
    ),
    Key("digest.at", _time_of_day, "07:30", "local time (rules.timezone) of the digest"),
    Key(
        "digest.weekday",
        _choice("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        "monday",
        "the day of a weekly digest",
    ),
    Key(
        "digest.delivery",
        _choice("auto", "draft", "smtp"),
        "auto",
        "smtp: mailed to you; draft: written to Drafts; auto: smtp when [smtp] is set",
    ),
    Key("intros.min_trust", _int(0, 3), 2, "both sides need at least this trust"),
    Key(
        "intros.cooldown",
        _duration,
        "180d",
        "a pair asked or introduced is not suggested again for this long",
    ),
    Key(
        "intros.max_open",
        _int(1, 100),
        2,
        "a contact waiting on this many introductions gets no more suggestions",
    ),
    Key(
        "intros.expire_after",
        _duration,
        "21d",
        "an ask without both answers closes after this long",
    ),
    Key(
        "intros.complementary",
        _pairs,
        (),
        'tag pairs that make a match, e.g. [["hiring", "looking"]]',
        '[["hiring", "looking"], ["investor", "founder"]]',
    ),
    Key(
        "intros.allow_direct",
        _bool,
        False,
        "allow `intro ask --direct` (no opt-in) between two trust-3 contacts",
    ),
    Key("intros.suggest_limit", _int(1, 1000), 20, "how many suggestions to list"),
)
_BY_PATH = {k.path: k for k in KEYS}
_TABLES = {k.path for k in KEYS if k.parse is _durations}


@dataclass(frozen=True)
class Account:
    host: str
    port: int
    security: str
    username: str
    password_env: str
    password_command: str | None
    keyring: bool
    oauth2_token_command: str | None
    ca_file: Path | None
    timeout: int


@dataclass(frozen=True)
class Config:
    """The whole configuration. `account` is None when no [account] is set."""

    path: Path | None
    account: Account | None
    me_name: str
    me_addresses: tuple[str, ...]
    store_path: Path
    values: dict[str, Any] = field(repr=False)

    def get(self, path: str) -> Any:
        return self.values[path]

    def require_account(self) -> Account:
        if self.account is None:
            raise ConfigError(
                f"no [account] section in {self.path or 'the configuration'}",
                hint="add host and username under [account], or use `mailer import`",
            )
        return self.account


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in _TABLES:
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _unknown(path: str) -> str:
    close = difflib.get_close_matches(path, list(_BY_PATH), n=1)
    return f"{path}: unknown key" + (f" (did you mean {close[0]}?)" if close else "")


def from_dict(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; raise one ConfigError listing every problem."""
    given = _flatten(data)
    problems = [_unknown(p) for p in given if p not in _BY_PATH]
    has_account = any(p.startswith("account.") for p in given)
    values: dict[str, Any] = {}
    for key in KEYS:
        if key.path not in given:
            optional_account = key.path.startswith("account.") and not has_account
            if key.default is REQUIRED and not optional_account:
                problems.append(f"{key.path}: missing ({key.help})")
            default = None if key.default is REQUIRED else key.default
            # Defaults are written as in the file ("90d"), so they go through the parser too.
            parsed = isinstance(default, (str, dict))
            values[key.path] = key.parse(default) if parsed else default
            continue
        try:
            values[key.path] = key.parse(given[key.path])
        except ValueError as e:
            problems.append(f"{key.path}: {e}")
    if values.get("commands.require_dkim") and not values.get("commands.authserv_id"):
        # Without it the receiving server's Authentication-Results cannot be told from the sender's.
        problems.append(
            "commands.authserv_id: missing (commands.require_dkim = true needs it: your receiving"
            " server's name in Authentication-Results, e.g. mx.example.com)"
        )
    if problems:
        where = f" in {path}" if path else ""
        raise ConfigError(f"config error{where}: " + "; ".join(problems))

    account = None
    if has_account:
        security = values["account.security"]
        port = values["account.port"] or (993 if security == "tls" else 143)
        account = Account(
            host=values["account.host"],
            port=port,
            security=security,
            username=values["account.username"],
            password_env=values["account.password_env"],
            password_command=values["account.password_command"],
            keyring=values["account.keyring"],
            oauth2_token_command=values["account.oauth2_token_command"],
            ca_file=values["account.ca_file"],
            timeout=values["account.timeout"],
        )
    if values["commands.allowed_senders"] is None:
        values["commands.allowed_senders"] = values["me.addresses"]
    return Config(
        path=path,
        account=account,
        me_name=values["me.name"],
        me_addresses=values["me.addresses"],
        store_path=values["store.path"],
        values=values,
    )


def find_path(explicit: str | None) -> Path:
    """--config, else MAILER_CONFIG, else the XDG config dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("MAILER_CONFIG")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "mailer" / "config.toml"


def load(explicit: str | None = None) -> Config:
    path = find_path(explicit)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration at {path}", hint="run `mailer init` or pass --config PATH"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"config error in {path}: not valid TOML: {e}") from None
    return from_dict(data, path)
