"""Bad input ends in one clear line and the right exit code, never a traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mailer.cli import global_options_first
from tests.support.dovecot import Dovecot, ImapUser
from tests.support.scanhelp import PASSWORD_ENV, load_history, mailer, write_config


def one_line(out: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    err = out.stderr.strip()
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "\n" not in err, err
    assert err.startswith("mailer: error:"), err
    for needle in needles:
        assert needle in err, err
    return err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_wrong_config_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[account]\nhots = "x"\nusername = "u"\n[me]\naddresses = ["a@b.c"]\n')
    one_line(
        mailer(config, "scan"),
        2,
        "account.hots: unknown key (did you mean account.host?)",
        "account.host: missing",
    )


def test_wrong_password(imap_user: ImapUser, tmp_path: Path) -> None:
    config = write_config(tmp_path, imap_user)
    out = mailer(config, "scan", env={PASSWORD_ENV: "wrong"})
    one_line(out, 1, "refused the login", imap_user.username, "check account.username")


def test_missing_password(
    imap_user: ImapUser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    config = write_config(tmp_path, imap_user)
    one_line(mailer(config, "scan"), 2, f"{PASSWORD_ENV} is not set")


def test_unreachable_server(tmp_path: Path, imap_user: ImapUser) -> None:
    config = write_config(tmp_path, imap_user, account={"port": _closed_port()})
    one_line(
        mailer(config, "scan", user=imap_user),
        1,
        "cannot connect to 127.0.0.1",
        "Connection refused",
    )


def test_unknown_host(tmp_path: Path, imap_user: ImapUser) -> None:
    config = write_config(tmp_path, imap_user, account={"host": "imap.invalid"})
    one_line(mailer(config, "check", user=imap_user), 1, "cannot connect to imap.invalid")


def test_certificate_that_does_not_verify(imap_user: ImapUser, tmp_path: Path) -> None:
    config = write_config(tmp_path, imap_user)
    text = config.read_text()
    config.write_text("\n".join(x for x in text.splitlines() if not x.startswith("ca_file")))
    one_line(mailer(config, "scan", user=imap_user), 1, "does not verify", "set account.ca_file")


def test_starttls_certificate_that_does_not_verify(imap_user: ImapUser, tmp_path: Path) -> None:
    config = write_config(
        tmp_path, imap_user, account={"port": imap_user.imap_port, "security": "starttls"}
    )
    text = config.read_text()
    config.write_text("\n".join(x for x in text.splitlines() if not x.startswith("ca_file")))
    one_line(mailer(config, "scan", user=imap_user), 1, "does not verify")


def test_plain_text_only_to_loopback(tmp_path: Path, imap_user: ImapUser) -> None:
    config = write_config(
        tmp_path, imap_user, account={"host": "imap.example.com", "security": "none"}
    )
    one_line(mailer(config, "scan", user=imap_user), 2, "plain text")


def test_plain_to_loopback_works(imap_user: ImapUser, tmp_path: Path) -> None:
    load_history(imap_user)
    config = write_config(
        tmp_path, imap_user, account={"port": imap_user.imap_port, "security": "none"}
    )
    out = mailer(config, "scan", user=imap_user)
    assert out.returncode == 0, out.stderr


def test_server_gone(private_dovecot: Dovecot, tmp_path: Path) -> None:
    user = private_dovecot.new_account()
    config = write_config(tmp_path, user)
    private_dovecot.stop()
    one_line(mailer(config, "scan", user=user), 1, "cannot connect")
    private_dovecot.start()
    assert mailer(config, "scan", user=user).returncode == 0


def test_corrupt_store_is_reported_and_kept(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    store = tmp_path / "mailer.json"
    store.write_text('{"contacts": {"1": {"email"')
    one_line(mailer(config, "contacts", "list"), 1, str(store))
    assert store.read_text() == '{"contacts": {"1": {"email"'


def test_usage_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    one_line(mailer(config, "contacts", "set", "nobody@x.org", "--tier", "inner"), 2, "no contact")
    one_line(mailer(config, "contacts", "set", "nobody@x.org"), 2, "nothing to change")
    one_line(
        mailer(config, "import", "mbox", str(tmp_path / "missing.mbox")), 2, "not an mbox file"
    )
    one_line(mailer(config, "import", "maildir", str(tmp_path)), 2, "not a Maildir")
    one_line(mailer(config, "contacts", "list", env={"MAILER_NOW": "yesterday"}), 2, "MAILER_NOW")
    one_line(mailer(config, "scan"), 2, "no [account] section")
    one_line(mailer(tmp_path / "none.toml", "status"), 2, "no configuration", "mailer init")


def test_garbage_mbox_is_handled(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    junk = tmp_path / "junk.mbox"
    junk.write_bytes(bytes(range(256)) * 50)
    one_line(mailer(config, "import", "mbox", str(junk)), 2, "holds no mbox messages")
    # Garbage inside well-delimited messages is read, counted, and not fatal.
    junk.write_bytes(
        b"From x Mon Jan  5 10:00:00 2026\n"
        + bytes(range(1, 256)) * 50
        + b"\n\nFrom y Mon Jan  5 10:00:00 2026\nFrom: ok@x.example\n\nhi\n"
    )
    out = mailer(config, "import", "mbox", str(junk))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "2 read, 1 new" in out.stdout


def test_init_writes_a_private_config_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.toml"
    out = mailer(
        path, "init", "--email", "Me@Example.org", "--host", "imap.example.org", "--name", "Pat"
    )
    assert out.returncode == 0, out.stderr
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert 'address = "me+mailer-' in text and "password" not in text.split("[account]")[1]
    again = mailer(path, "init", "--email", "x@y.org", "--host", "h")
    one_line(again, 2, "exists", "--force")
    status = mailer(path, "status", env={"XDG_DATA_HOME": str(tmp_path / "data")})
    assert status.returncode == 0, status.stderr


def test_who_and_tiers_on_the_command_line(tmp_path: Path) -> None:
    from mailer.model import Contact
    from mailer.store import Store

    config = write_config(tmp_path, None)  # the default tiers: inner, network, loose
    store = Store(tmp_path / "mailer.json")
    people = [
        Contact("jose@alvarez.example", name="José Álvarez", tier="loose"),
        Contact("anna@a.example", name="Anna Berg"),
        Contact("ak@k.example", name="Anna Kim"),
    ]
    store.update_contacts(lambda _: people)

    def tier_after(*args: str) -> str | None:
        out = mailer(config, "contacts", "set", *args)
        assert out.returncode == 0, out.stderr
        return {c.email: c.tier for c in store.contacts()}["jose@alvarez.example"]

    err = one_line(mailer(config, "contacts", "set", "jose", "--tier", "vip"), 2)
    assert err == "mailer: error: 'vip' is not a tier (configured: inner, network, loose)"
    assert tier_after("jose", "--tags", "x") == "loose"  # the wrong tier changed nothing
    assert tier_after("jose", "--tier", "Inner") == "inner"
    assert tier_after("jose", "--tier", "") is None  # '' clears it

    show = mailer(config, "contacts", "show", "jose")
    assert show.returncode == 0 and "jose@alvarez.example" in show.stdout, show.stderr
    one_line(
        mailer(config, "contacts", "show", "jsoe"),
        2,
        "no contact 'jsoe' (did you mean José Álvarez <jose@alvarez.example>?)",
    )
    one_line(
        mailer(config, "contacts", "show", "anna"),
        2,
        "'anna' is ambiguous: ",
        "Anna Berg <anna@a.example>",
        "Anna Kim <ak@k.example>",
        "; use the address",
    )


TWO_WAY = {  # a contact the rules and introductions look at
    "email": "a@x.org",
    "tags": ["x"],
    "last_inbound": "2026-01-01T00:00:00Z",
    "last_outbound": "2026-01-02T00:00:00Z",
}


@pytest.mark.parametrize(
    ("contacts", "named"),
    [
        ([{"email": "a@x.org"}], "table 'contacts' is an array, not an object"),
        ({"1": {"email": "a@x.org"}, "2": "bo@x.org"}, "contacts document 2 is a string"),
        ({"1": {"email": "a@x.org"}, "2": {"name": "Bo"}}, "contacts document 2 has no 'email'"),
        ({"1": {"email": "a@x.org", "tags": 5}}, "contacts document 1 has 'tags' = a number"),
        # reads without error, and fails in the rules: named all the same
        ({"1": {**TWO_WAY, "trust": "3"}}, "contacts document 1 has 'trust' = a string"),
        (
            {"1": {**TWO_WAY, "messages": [1]}},
            "contacts document 1 has 'messages' = an array, not a pair [in, out]",
        ),
    ],
)
def test_a_store_of_the_wrong_shape_is_one_line_naming_the_document(
    tmp_path: Path, contacts: object, named: str
) -> None:
    config = write_config(tmp_path, None)
    store = tmp_path / "mailer.json"
    store.write_text(json.dumps({"contacts": contacts, "commands": {}}))
    failed = 0
    for command in (["contacts", "list"], ["intro", "suggest"], ["digest", "preview"]):
        out = mailer(config, *command, env={"MAILER_NOW": "2026-03-04T09:00:00Z"})
        if out.returncode == 0:  # a command that never looks at the wrong field
            continue
        failed += 1
        err = one_line(out, 2, f"store {store}: {named}")
        assert "internal error" not in err and "TypeError" not in err
    assert failed >= 1


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("contacts", "set", "anna@a.example", "--trust", "5"), ("--trust", "contacts set --help")),
        (("contacts", "list", "--status", "friend"), ("'friend'", "contacts list --help")),
        (("contacts", "list", "--format", "yaml"), ("'yaml'", "contacts list --help")),
        (("contacts", "list", "--bogus"), ("--bogus",)),
        (("nosuch",), ("nosuch", "`mailer --help`")),
    ],
)
def test_a_bad_option_or_value_is_one_line_and_exit_2(
    tmp_path: Path, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    one_line(mailer(write_config(tmp_path, None), *args), 2, *needles)


def test_init_without_answers_is_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mailer", "--config", str(tmp_path / "c.toml"), "init"],
        input="",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "Aborted" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("mailer: error: no answer")
    assert not (tmp_path / "c.toml").exists()


def test_global_options_work_before_or_after_the_command(tmp_path: Path) -> None:
    config = write_config(tmp_path, None)
    before = mailer(config, "contacts", "list", "--format", "json")
    after = mailer(None, "contacts", "list", "--format", "json", "--config", str(config))
    assert before.returncode == after.returncode == 0 and before.stdout == after.stdout
    assert mailer(None, "status", f"--config={config}").returncode == 0
    assert mailer(config, "due", "-v").returncode == 0
    assert "Usage: mailer due" in mailer(config, "due", "-h").stdout
    assert "Usage: mailer [OPTIONS]" in mailer(None, "-h").stdout
    # after `--`, nothing is taken for an option of mailer's
    assert global_options_first(["note", "--", "-v"]) == ["note", "--", "-v"]
