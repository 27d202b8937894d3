"""Undo of a command mail end to end: through Dovecot, `mailer commands run`,
`mailer commands undo` and an emailed `undo <id>`: `contacts list --all --format json`
before the mail equals the listing after the undo.

The pure decision and the store's transaction are tested in tests/unit/test_undo.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailer.store import Store
from tests.support.dovecot import ImapUser
from tests.support.scanhelp import mailer, write_config
from tests.system.test_inbox import (
    ADDRESS,
    ENV,
    account,
    command_mail,
    contacts,
    records,
    run_commands,
)

__all__ = ["account"]  # the fixture, shared with test_inbox

MAIL = (
    "tag anna@a.example ai, berlin\n"
    "tier bert@b.example inner\n"
    "weed zoe@z.example\n"
    "snooze klein@k.example 2w\n"
    "note anna@a.example met at the conference\n"
    "log bert@b.example coffee in Kreuzberg\n"
)


def _undo(user: ImapUser, config: Path, *args: str) -> Any:
    return mailer(config, "commands", "undo", *args, user=user, env=ENV)


def _applied(user: ImapUser, config: Path, body: str, n: int) -> dict[str, Any]:
    """Mail `body` to the command address, run it, and return its record."""
    user.append("INBOX", [command_mail(body, n=n)])
    run_commands(user, config)
    return records(user, config)[-1]


def test_commands_undo_restores_the_listing_exactly(account: tuple[ImapUser, Path]) -> None:
    user, config = account
    before = contacts(user, config)
    rec = _applied(user, config, MAIL, 1)
    changed = contacts(user, config)
    assert changed["anna@a.example"]["tags"] == ["ai", "berlin"]
    assert changed["bert@b.example"]["tier"] == "inner"
    assert changed["zoe@z.example"]["status"] == "weeded"
    assert changed["klein@k.example"]["snoozed_until"] == "2026-03-18T08:00:00Z"
    assert changed["anna@a.example"]["notes"] == "2026-03-04: met at the conference"
    assert changed["bert@b.example"]["last_logged"] == "2026-03-04T08:00:00Z"
    assert len(rec["id"]) == 6 and rec["undo"] == f"undo {rec['id']}"
    store = Store(config.parent / "mailer.json")
    assert [e.text for e in store.logged()] == ["coffee in Kreuzberg"]

    dry = _undo(user, config, rec["id"], "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith(f"would undo mail {rec['id']}")
    assert contacts(user, config) == changed

    out = _undo(user, config, rec["id"])
    assert out.returncode == 0, out.stderr
    assert f"undone mail {rec['id']} ('mailer'):" in out.stdout
    assert "  zoe@z.example: status back to seed, weeded_from back to none\n" in out.stdout
    assert "  bert@b.example: logged exchange of 2026-03-04 removed\n" in out.stdout
    assert contacts(user, config) == before
    assert store.logged() == []

    (row,) = records(user, config)
    assert (row["undone_by"], row["undo"]) == ("mailer commands undo", None)
    again = _undo(user, config, rec["id"])
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"mailer: error: mail {rec['id']} was undone already by mailer commands undo "
        "at 2026-03-04T09:00:00Z"
    )
    unknown = _undo(user, config, "zzzzzz")
    assert unknown.returncode == 2 and "no command mail with id 'zzzzzz'" in unknown.stderr
    table = mailer(config, "commands", "list", user=user, env=ENV).stdout.splitlines()
    assert table[0].split()[0] == "ID" and table[1].split()[0] == rec["id"]


def test_an_emailed_undo_restores_the_listing_and_is_not_undone_itself(
    account: tuple[ImapUser, Path], tmp_path: Path
) -> None:
    try:
        from tests.support import smtpserver
    except ImportError as e:  # aiosmtpd is a test extra
        from tests.support.servers import require_or_skip

        require_or_skip(f"aiosmtpd is not installed: {e}")
    from email import policy
    from email.parser import BytesParser

    user, _ = account
    with smtpserver.SmtpServer() as server:
        config = write_config(
            tmp_path,
            user,
            commands={"address": ADDRESS},
            smtp={"host": "127.0.0.1", "port": server.port, "security": "none"},
        )
        before = contacts(user, config)
        rec = _applied(user, config, MAIL, 1)
        assert contacts(user, config) != before
        # the digest lists the mail with its id and the reply line that undoes it
        tomorrow = {"MAILER_NOW": "2026-03-05T06:30:00Z"}
        digest = mailer(config, "digest", "preview", user=user, env=tomorrow).stdout
        assert f"  id: {rec['id']}\n" in digest and f"\n      undo {rec['id']}\n" in digest

        undo_rec = _applied(user, config, f"undo {rec['id']}", 2)
        assert contacts(user, config) == before
        assert Store(config.parent / "mailer.json").logged() == []
        (line,) = undo_rec["lines"]
        assert line["ok"] and line["result"].startswith(f"mail {rec['id']} undone: ")
        assert undo_rec["undoes"] == [rec["id"]] and undo_rec["undo"] is None
        first = next(r for r in records(user, config) if r["id"] == rec["id"])
        assert first["undone_by"] == f"mail {undo_rec['id']}"

        refused = _undo(user, config, undo_rec["id"])
        assert refused.returncode == 2
        assert f"mail {undo_rec['id']} was an undo (of {rec['id']})" in refused.stderr
        digest = mailer(config, "digest", "preview", user=user, env=tomorrow).stdout
        assert f"\n      undo {rec['id']}\n" not in digest
        assert f"  id: {rec['id']}; undone since (mail {undo_rec['id']}, 2026-03-04)\n" in digest
        assert f"  id: {undo_rec['id']}; this mail was an undo (of {rec['id']})\n" in digest

        sent = [
            BytesParser(policy=policy.default).parsebytes(m.content)
            for m in server.handler.received
        ]
    bodies = [m.get_content().replace("\r\n", "\n") for m in sent]
    assert len(bodies) == 2
    assert (
        f"Mail id {rec['id']}. To undo all it changed, reply with this line:\n"
        f"      undo {rec['id']}\n" in bodies[0]
    )
    assert f"Mail id {undo_rec['id']}.\n" in bodies[1] and "reply with this line" not in bodies[1]


def test_a_later_change_makes_undo_change_nothing_and_say_which(
    account: tuple[ImapUser, Path],
) -> None:
    user, config = account
    rec = _applied(user, config, MAIL, 1)
    later = mailer(
        config, "contacts", "set", "bert@b.example", "--tier", "network", user=user, env=ENV
    )
    assert later.returncode == 0, later.stderr
    now = contacts(user, config)

    out = _undo(user, config, rec["id"])
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"mailer: error: mail {rec['id']} not undone, nothing changed: "
        "bert@b.example: tier is now network (the mail set inner)"
    )
    assert contacts(user, config) == now

    by_mail = _applied(user, config, f"undo {rec['id']}", 2)
    (line,) = by_mail["lines"]
    assert not line["ok"] and "bert@b.example: tier is now network" in line["result"]
    assert contacts(user, config) == now
    assert by_mail["undoes"] == [] and records(user, config)[0]["undone_at"] is None
