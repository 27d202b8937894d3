"""Shell completion: contact arguments complete names and addresses from the store,
tier options the configured tiers.

Completion runs on every Tab, in the user's shell: a missing or broken config,
a missing store, anything at all, completes nothing and prints nothing (an
error would land in the middle of the command line being typed).

The callbacks are attached here, by command path and parameter name, not in
the commands' decorators, so the command modules stay as they are; a unit test
fails when a named command or parameter is gone.
"""

from __future__ import annotations

import contextlib
import io
import unicodedata
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

from mailer.cli.base import cli

Complete = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _fold(text: str) -> str:
    """Case and accents ignored, as `contacts show WHO` matches names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _quietly(find: Callable[[click.Context, str], list[CompletionItem]]) -> Complete:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                return find(ctx, incomplete)
        except Exception:  # nothing may escape into the shell
            return []

    return complete


def _config(ctx: click.Context) -> Any:
    from mailer.config import load

    return load(ctx.find_root().params.get("config_path"))  # --config, else as any command


def _contacts(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    from mailer.store import Store

    path = _config(ctx).store.path
    if not path.exists():
        return []  # Store() would not create it on a read, but do not even try
    typed = _fold(incomplete)
    by_address: list[CompletionItem] = []
    by_name: list[CompletionItem] = []
    for person in Store(path).contacts():
        for address in (person.email, *person.aliases):
            if address.startswith(typed):
                by_address.append(CompletionItem(address, help=person.name or None))
        name = person.name or ""
        words = [_fold(name), *_fold(name).split()]
        if typed and "@" not in typed and name and any(w.startswith(typed) for w in words):
            by_name.append(CompletionItem(name, help=person.email))
    return sorted(by_address, key=lambda c: c.value) + sorted(by_name, key=lambda c: c.value)


def _tiers(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
    tiers = _config(ctx).rules.tiers
    return [CompletionItem(t) for t in tiers if t.startswith(incomplete.strip().lower())]


complete_contact = _quietly(_contacts)
complete_tier = _quietly(_tiers)

# (command path, parameter name) -> completion; `seed --set WHO` is a contact too.
ATTACHED: dict[tuple[str, str], Complete] = {
    ("contacts show", "who"): complete_contact,
    ("contacts set", "who"): complete_contact,
    ("contacts set", "tier"): complete_tier,
    ("contacts merge", "keep"): complete_contact,
    ("contacts merge", "other"): complete_contact,
    ("drafts preview", "who"): complete_contact,
    ("intro ask", "a"): complete_contact,
    ("intro ask", "b"): complete_contact,
    ("intro answer", "a"): complete_contact,
    ("intro answer", "b"): complete_contact,
    ("intro answer", "by"): complete_contact,
    ("intro outcome", "a"): complete_contact,
    ("intro outcome", "b"): complete_contact,
    ("seed", "set_who"): complete_contact,
    ("seed", "tier"): complete_tier,
    ("weed", "who"): complete_contact,
}


def find_param(command_path: str, name: str) -> click.Parameter:
    command: Any = cli
    for word in command_path.split():
        command = command.commands[word]
    found: click.Parameter = next(p for p in command.params if p.name == name)
    return found


def attach() -> None:
    """Give each parameter of ATTACHED its completion (a public method, overridden per object)."""
    for (command_path, name), complete in ATTACHED.items():
        try:
            param = find_param(command_path, name)
        except (KeyError, StopIteration):
            continue  # renamed elsewhere: tests/unit/test_completion.py says which
        param.shell_complete = _bound(param, complete)  # type: ignore[method-assign]


def _bound(param: click.Parameter, complete: Complete) -> Callable[..., list[CompletionItem]]:
    def shell_complete(ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        return complete(ctx, param, incomplete)

    return shell_complete
