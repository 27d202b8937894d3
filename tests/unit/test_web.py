"""The dashboard without a browser: charts, the token and the cookie, CSRF, and
forms that change what the CLI would (tests/system/test_web_browser.py drives
it in headless Chromium)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner

from mailer.app import App
from mailer.cli import cli
from mailer.config import load
from mailer.store import Store
from mailer.web import charts, server
from tests.support.mailgen import sample_history, write_maildir
from tests.support.scanhelp import utc

DEMO_NOW = "2026-11-20T09:00:00Z"
CONFIG = """[me]
name = "Pat Doe"
addresses = ["pat.doe@example.org"]

[store]
path = "{root}/mailer.json"

[drafts]
maildir = "{root}/Drafts"

[rules]
timezone = "Europe/Berlin"
"""


def demo_store(root: Path) -> Path:
    """The demo's sample mailbox imported into a store under `root`; its config path."""
    write_maildir(root / "Maildir", sample_history())
    config = root / "config.toml"
    config.write_text(CONFIG.format(root=root))
    out = CliRunner().invoke(
        cli, ["--config", str(config), "import", "maildir", str(root / "Maildir")]
    )
    assert out.exit_code == 0, out.output
    return config


def mailer(config: Path, *args: str) -> str:
    out = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert out.exit_code == 0, out.output
    return out.output


class Browser:
    """Just enough of a browser: a Host header, a cookie jar of one, no redirects followed."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "", parts.port or 80
        self.cookie = ""

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Host": host or f"{self.host}:{self.port}"}
        body = None
        if self.cookie:
            headers["Cookie"] = self.cookie
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        text = answer.read().decode()
        got = {k.lower(): v for k, v in answer.getheaders()}
        conn.close()
        if "set-cookie" in got:
            self.cookie = got["set-cookie"].split(";")[0]
        return answer.status, got, text

    def csrf(self, page: str) -> str:
        _, _, html = self.request("GET", page)
        found = re.search(r'name="csrf" value="([^"]+)"', html)
        assert found, html[:500]
        return found.group(1)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo imported once for the module (each test gets its own copy)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILER_NOW", DEMO_NOW)
        return demo_store(tmp_path_factory.mktemp("imported")).parent


@pytest.fixture
def demo(imported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAILER_NOW", DEMO_NOW)
    root = tmp_path / "demo"
    shutil.copytree(imported, root, ignore=shutil.ignore_patterns("Maildir"))
    (root / "config.toml").write_text(CONFIG.format(root=root))
    return root / "config.toml"


@pytest.fixture
def served(demo: Path) -> Iterator[tuple[str, str]]:
    """The dashboard on a free port: (base URL, access token)."""
    sessions = server.Sessions()
    httpd = server.make_server(App(load(str(demo))), 0, sessions)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", sessions.token
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(60)


def signed_in(served: tuple[str, str]) -> Browser:
    base, token = served
    browser = Browser(base)
    status, headers, _ = browser.request("GET", f"/?token={token}")
    assert status == 303 and headers["location"] == "/"  # the token leaves the address bar
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    return browser


# -- charts


def test_one_group_of_two_bars_a_month_and_the_newest_month_labelled() -> None:
    months = charts.last_months(utc(2026, 11, 20), 24)
    assert len(months) == 24 and months[0] == "2024-12" and months[-1] == "2026-11"
    series = charts.monthly(["2026-11:2:1 2026-10:0:3 2019-01:9:9", None, "2026-11:1:0"], months)
    assert series[-1] == charts.Month("2026-11", 3, 1)
    assert series[-2] == charts.Month("2026-10", 0, 3)
    assert sum(m.inbound + m.outbound for m in series) == 7  # 2019 is outside the span
    svg = charts.bars(series, label="mail & more")
    assert svg.count('<g class="month"') == 24
    assert svg.count('<rect class="in"') == svg.count('<rect class="out"') == 24
    assert ">2026-11</text>" in svg and 'aria-label="mail &amp; more"' in svg
    assert "<title>2026-10: 0 in, 3 out</title>" in svg


def test_a_form_value_cannot_add_a_second_command_line() -> None:
    assert server.contact_line("snooze", "a@x.example", " 2w ") == "snooze a@x.example 2w"
    assert server.contact_line("snooze", "a@x.example", "2w\nweed b@y.example") == (
        "snooze a@x.example 2w weed b@y.example"  # one line: the parser refuses it whole
    )
    assert server.contact_line("weed", "a@x.example", "") == "weed a@x.example"
    with pytest.raises(ValueError, match="unknown action"):
        server.contact_line("ignore", "a@x.example", "")
    with pytest.raises(ValueError, match="a value is needed"):
        server.contact_line("tier", "a@x.example", "  ")


# -- who gets in


def test_without_the_token_every_page_is_forbidden(served: tuple[str, str]) -> None:
    base, token = served
    stranger = Browser(base)
    for path in ("/", "/contact?email=zoe.quinn%40lumen.example", "/intros"):
        status, _, text = stranger.request("GET", path)
        assert status == 403 and "token" in text
    status, _, _ = stranger.request("GET", "/?token=" + token[:-1] + "x")
    assert status == 403 and not stranger.cookie
    assert signed_in(served).request("GET", "/")[0] == 200


def test_a_request_for_another_host_name_is_refused(served: tuple[str, str]) -> None:
    browser = signed_in(served)
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1
    status, _, text = browser.request("GET", "/", host="evil.example:8765")
    assert status == 403 and "127.0.0.1" in text
    assert browser.request("GET", "/", host=f"localhost:{browser.port}")[0] == 200


def test_a_post_without_the_csrf_token_changes_nothing(served: tuple[str, str], demo: Path) -> None:
    browser = signed_in(served)
    store = demo.parent / "mailer.json"
    before = store.read_bytes()
    form = {"email": "zoe.quinn@lumen.example", "action": "snooze", "value": "2w"}
    for forged in ({}, {"csrf": "guessed"}):
        status, _, _ = browser.request("POST", "/contact", {**form, **forged})
        assert status == 403
    assert store.read_bytes() == before
    assert Store(store).command_records() == []


def test_the_server_listens_on_loopback_only(demo: Path) -> None:
    httpd = server.make_server(App(load(str(demo))), 0)
    try:
        assert httpd.server_address[0] == "127.0.0.1"
    finally:
        httpd.server_close()


# -- what the pages say and the forms do


def test_the_overview_counts_lanes_as_contacts_list_does(
    served: tuple[str, str], demo: Path
) -> None:
    _, _, html = signed_in(served).request("GET", "/")
    shown = {lane: int(n) for lane, n in re.findall(r'data-lane="(\w+)">(\d+)<', html)}
    rows = json.loads(mailer(demo, "contacts", "list", "--all", "--format", "json"))
    assert {k: v for k, v in shown.items() if v} == dict(Counter(r["lane"] for r in rows))
    assert html.count('<g class="month"') == 24


def test_a_snooze_through_the_form_does_what_contacts_set_does(
    served: tuple[str, str], demo: Path
) -> None:
    who = "zoe.quinn@lumen.example"
    twin = demo.parent.parent / "twin"
    shutil.copytree(demo.parent, twin)
    (twin / "config.toml").write_text(CONFIG.format(root=twin))
    mailer(twin / "config.toml", "contacts", "set", who, "--snooze", "2w")

    browser = signed_in(served)
    csrf = browser.csrf(f"/contact?email={who}")
    form = {"csrf": csrf, "email": who, "action": "snooze", "value": "2w"}
    status, headers, _ = browser.request("POST", "/contact", form)
    assert status == 303 and headers["location"].startswith("/contact?email=")
    _, _, page = browser.request("GET", headers["location"])
    assert "snoozed until 2026-12-04T09:00:00Z" in page

    web = Store(demo.parent / "mailer.json").contact(who)
    cli_ = Store(twin / "mailer.json").contact(who)
    assert web is not None and cli_ is not None
    assert web == cli_  # the contact exactly as `contacts set --snooze 2w` left it
    records = Store(demo.parent / "mailer.json").command_records()
    assert [r.lines[0].line for r in records] == [f"snooze {who} 2w"]  # undo-able


def test_a_contact_page_shows_the_timeline(
    served: tuple[str, str],
) -> None:
    browser = signed_in(served)
    status, _, html = browser.request("GET", "/contact?email=zoe.quinn%40lumen.example")
    assert status == 200 and "Zoë Quinn" in html
    timeline = html.split('<div id="timeline">', 1)[1]
    assert timeline.count('<g class="month"') == 24
    assert re.search(r'<rect class="(in|out)" [^>]*height="(?!0\.0")', timeline)
    assert browser.request("GET", "/contact?email=nobody%40x.example")[0] == 404


def test_dry_run_prints_the_url_line(demo: Path) -> None:
    out = mailer(demo, "web", "--dry-run", "--port", "8765")
    assert re.fullmatch(r"http://127\.0\.0\.1:8765/\?token=[\w-]{20,}\n", out)
