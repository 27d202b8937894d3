"""Configuration: TOML checked against the key table, loaded into one frozen dataclass per section.

Every key the program understands is one row of `KEYS` (keys.py; its value
parsers are in parse.py).
Each TOML section is a frozen dataclass here with one typed field per row of
that section, so callers write `config.folders.inbox`, and mypy checks it; a
test checks the table and the dataclasses against each other both ways. All
problems of a file are reported together, each with its full key path.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mailer.config.keys import BY_PATH, KEYS, REQUIRED, TABLES, Key
from mailer.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "KEYS",
    "SECTION_TYPES",
    "Account",
    "Commands",
    "Config",
    "Daemon",
    "Digest",
    "Drafts",
    "Folders",
    "Ignore",
    "Intros",
    "Key",
    "Me",
    "Rules",
    "Scan",
    "Smtp",
    "Store",
    "find_path",
    "from_dict",
    "load",
]

# The sections, named after their TOML tables. They hold settings only: the
# objects of the same name elsewhere (mailer.store.Store, ...) are other things.


@dataclass(frozen=True)
class Account:
    host: str
    port: int  # the default of its security filled in
    security: str
    username: str
    password_env: str
    password_command: str | None
    keyring: bool
    oauth2_token_command: str | None
    ca_file: Path | None
    timeout: int


@dataclass(frozen=True)
class Smtp:
    host: str | None  # None: mailer sends no mail
    port: int | None  # None: the default of its security (mailer.smtp)
    security: str
    username: str | None
    password_env: str
    password_command: str | None
    keyring: bool
    ca_file: Path | None
    timeout: int


@dataclass(frozen=True)
class Me:
    name: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Store:
    path: Path


@dataclass(frozen=True)
class Folders:
    inbox: str
    sent: str | None  # None: found by special use or name
    drafts: str | None
    extra: tuple[str, ...]


@dataclass(frozen=True)
class Ignore:
    addresses: tuple[str, ...]
    domains: tuple[str, ...]
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Scan:
    max_recipients: int
    batch_size: int


@dataclass(frozen=True)
class Commands:
    address: str | None
    allowed_senders: tuple[str, ...]  # me.addresses when not given
    require_dkim: bool
    authserv_id: str | None
    processed_folder: str
    confirm: bool
    max_size_kb: int
    keep_refused: timedelta


@dataclass(frozen=True)
class Rules:
    """[rules]: the core's `Rules` (mailer.core.rules) by the same names, and draft_at.

    Its own class, not the core's: importing the core costs every command
    about 0.1 s at start-up. `App.rules` makes the core's from it.
    """

    default_cadence: timedelta
    max_drafts_per_day: int
    weekdays_only: bool
    draft_at: str  # the daemon's, not the core's
    timezone: str
    tiers: Mapping[str, timedelta]
    seed_followup: timedelta
    seed_window: timedelta
    dormancy: timedelta
    one_sided_after: int
    reply_owed_after: timedelta
    jitter: timedelta
    reply_owed_window: timedelta
    min_cadence: timedelta
    rhythm_factor: float
    rekindle_per_week: int
    established_messages: int
    established_span: timedelta


@dataclass(frozen=True)
class Drafts:
    templates_dir: Path | None
    maildir: Path | None


@dataclass(frozen=True)
class Daemon:
    scan_every_minutes: int
    housekeeping_at: str
    max_backoff_minutes: int
    idle: bool


@dataclass(frozen=True)
class Digest:
    every: str
    at: str
    weekday: str
    delivery: str


@dataclass(frozen=True)
class Intros:
    """[intros]: the core's `IntroRules` field for field (App.intro_rules)."""

    min_trust: int
    cooldown: timedelta
    max_open: int
    expire_after: timedelta
    complementary: tuple[tuple[str, str], ...]
    allow_direct: bool
    suggest_limit: int


SECTION_TYPES: dict[str, type[Any]] = {
    "account": Account,
    "smtp": Smtp,
    "me": Me,
    "store": Store,
    "folders": Folders,
    "ignore": Ignore,
    "scan": Scan,
    "commands": Commands,
    "rules": Rules,
    "drafts": Drafts,
    "daemon": Daemon,
    "digest": Digest,
    "intros": Intros,
}


@dataclass(frozen=True)
class Config:
    """The whole configuration, one attribute per section.

    `account` is None when no [account] is set (local imports need none).
    """

    path: Path | None
    account: Account | None
    smtp: Smtp
    me: Me
    store: Store
    folders: Folders
    ignore: Ignore
    scan: Scan
    commands: Commands
    rules: Rules
    drafts: Drafts
    daemon: Daemon
    digest: Digest
    intros: Intros

    def get(self, path: str) -> Any:
        """One value by its key path ("rules.tiers"), for tests and tools that name keys."""
        section, _, name = path.partition(".")
        return getattr(getattr(self, section), name)

    # Shorthands older than the sections, kept for the tests that use them.
    @property
    def me_addresses(self) -> tuple[str, ...]:
        return self.me.addresses

    @property
    def store_path(self) -> Path:
        return self.store.path

    def require_account(self) -> Account:
        if self.account is None:
            raise ConfigError(
                f"no [account] section in {self.path or 'the configuration'}",
                hint="add host and username under [account], or use `mailer import`",
            )
        return self.account


_T = TypeVar("_T", bound="DataclassInstance")


def _section(cls: type[_T], name: str, values: Mapping[str, Any]) -> _T:
    return cls(**{f.name: values[f"{name}.{f.name}"] for f in dataclasses.fields(cls)})


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and path not in TABLES:
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _unknown(path: str) -> str:
    import difflib  # here: only a wrong key needs it, and every command reads the config

    close = difflib.get_close_matches(path, list(BY_PATH), n=1)
    return f"{path}: unknown key" + (f" (did you mean {close[0]}?)" if close else "")


def from_dict(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document; raise one ConfigError listing every problem."""
    given = _flatten(data)
    problems = [_unknown(p) for p in given if p not in BY_PATH]
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
        values["account.port"] = values["account.port"] or (993 if security == "tls" else 143)
        account = _section(Account, "account", values)
    if values["commands.allowed_senders"] is None:
        values["commands.allowed_senders"] = values["me.addresses"]
    sections = {n: _section(cls, n, values) for n, cls in SECTION_TYPES.items() if n != "account"}
    return Config(path=path, account=account, **sections)


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
