"""`mailer web` in a real headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium): the pages count what the CLI counts, the charts render, a
form changes what the CLI would, and nobody without the token gets in.

MAILER_SCREENSHOTS=docs keeps the screenshots in docs/ (the README shows them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailer.store import Store
from tests.support.png import colours
from tests.support.scanhelp import mailer
from tests.support.servers import require_or_skip
from tests.unit.test_web import CONFIG, DEMO_NOW, demo_store

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
IN_BAR, OUT_BAR = (122, 166, 214), (224, 138, 60)  # .chart rect.in / rect.out
WHO = "zoe.quinn@lumen.example"
TRIAGED = (
    ("anna.berg@northwind.example", "inner", "ai,berlin"),
    ("kenji@sato-labs.example", "inner", "ai,tokyo"),
    ("lea.fischer@adatum.example", "network", "berlin,climate"),
    ("t.nowak@contoso.example", "network", "climate"),
    ("ines.duarte@proseware.example", "loose", "design"),
    ("grace.lin@tailspin.example", "network", "ai"),
)


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require_or_skip("selenium is not installed (pip install -e '.[test]')")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
        require_or_skip("Debian's chromium and chromium-driver are not installed (make deps)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # this machine's closed network refuses them
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,1500",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    """`mailer web --port 0` on the demo's store: (config, the URL it printed, the process)."""
    os.environ["MAILER_NOW"] = DEMO_NOW  # for the in-process import only
    try:
        config = demo_store(tmp_path / "demo")
    finally:
        del os.environ["MAILER_NOW"]
    for who, tier, tags in TRIAGED:  # as an owner would have: the tiers' health has rows
        out = mailer(config, "contacts", "set", who, "--tier", tier, "--tags", tags)
        assert out.returncode == 0, out.stderr
    web = subprocess.Popen(
        [sys.executable, "-m", "mailer", "--config", str(config), "web", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "MAILER_NOW": DEMO_NOW},
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(web.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(120)
    try:
        assert line and line[0].startswith("http://127.0.0.1:"), line
        yield config, line[0].strip(), web
    finally:
        web.terminate()
        web.wait(60)


def _shots() -> Path | None:
    where = os.environ.get("MAILER_SCREENSHOTS")
    return Path(where) if where else None


def _has(colour: tuple[int, int, int], png: bytes) -> int:
    """Pixels within a small distance of `colour` (anti-aliased edges differ a little)."""
    return sum(
        n
        for c, n in colours(png).items()
        if sum(abs(a - b) for a, b in zip(c, colour, strict=True)) <= 12
    )


def test_the_dashboard_in_a_browser(
    chrome: Any, served: tuple[Path, str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    config, url, web = served
    base = url.split("/?", 1)[0]
    port = int(base.rsplit(":", 1)[1])

    # Without the token: nothing.
    chrome.get(base + "/")
    assert "open the URL with the token" in chrome.find_element(By.TAG_NAME, "body").text
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/intros", timeout=30)
    assert refused.value.code == 403

    # With it: the overview, counted as `contacts list --all` counts.
    chrome.get(url)
    assert chrome.current_url == base + "/"  # the token left the address bar
    shown = {
        td.get_attribute("data-lane"): int(td.text)
        for td in chrome.find_elements(By.CSS_SELECTOR, "#lanes td[data-lane]")
    }
    out = mailer(
        config, "contacts", "list", "--all", "--format", "json", env={"MAILER_NOW": DEMO_NOW}
    )
    rows = json.loads(out.stdout)
    assert {k: v for k, v in shown.items() if v} == dict(Counter(r["lane"] for r in rows))
    months = chrome.find_elements(By.CSS_SELECTOR, "svg.chart g.month")
    assert len(months) == 24  # one group a month, each its bar in and its bar out
    assert all(len(m.find_elements(By.CSS_SELECTOR, "rect")) == 2 for m in months)
    chart = chrome.find_element(By.CSS_SELECTOR, "svg.chart").screenshot_as_png
    assert _has(IN_BAR, chart) > 50 and _has(OUT_BAR, chart) > 50  # the bars are drawn
    shots = _shots() or tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    chrome.save_screenshot(str(shots / "dashboard-overview.png"))

    # A contact page, reached by its link: the timeline.
    chrome.find_element(
        By.CSS_SELECTOR, f'#today a[href="/contact?email={WHO.replace("@", "%40")}"]'
    ).click()
    assert "Zoë Quinn" in chrome.find_element(By.ID, "name").text
    timeline = chrome.find_element(By.CSS_SELECTOR, "#timeline svg")
    assert len(timeline.find_elements(By.CSS_SELECTOR, "g.month")) == 24
    assert _has(IN_BAR, timeline.screenshot_as_png) > 20
    chrome.save_screenshot(str(shots / "dashboard-contact.png"))

    # A POST without the form's CSRF token, with the session cookie: refused, nothing changes.
    store = config.parent / "mailer.json"
    before = store.read_bytes()
    cookie = chrome.get_cookie("mailer_session")
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    forged = urllib.request.Request(
        base + "/contact",
        data=f"email={WHO}&action=weed".encode(),
        headers={"Cookie": f"mailer_session={cookie['value']}"},
    )
    with pytest.raises(urllib.error.HTTPError) as stale:
        urllib.request.urlopen(forged, timeout=30)
    assert stale.value.code == 403 and store.read_bytes() == before

    # The snooze form does what `mailer contacts set --snooze 2w` does.
    twin = tmp_path / "twin"
    shutil.copytree(config.parent, twin, ignore=shutil.ignore_patterns("Maildir"))
    (twin / "config.toml").write_text(CONFIG.format(root=twin))
    by_cli = mailer(
        twin / "config.toml", "contacts", "set", WHO, "--snooze", "2w", env={"MAILER_NOW": DEMO_NOW}
    )
    assert by_cli.returncode == 0, by_cli.stderr
    form = chrome.find_element(By.CSS_SELECTOR, 'form input[name="action"][value="snooze"]')
    form = form.find_element(By.XPATH, "..")
    form.find_element(By.NAME, "value").send_keys("2w")
    form.find_element(By.TAG_NAME, "button").click()
    # The answer is a new page: wait for it to load, not for a time.
    said = WebDriverWait(chrome, 30).until(ec.presence_of_element_located((By.CLASS_NAME, "said")))
    assert "snoozed until" in said.text
    assert Store(store).contact(WHO) == Store(twin / "mailer.json").contact(WHO)

    # It listens on the loopback address only.
    listening = _listening(port)
    assert listening == {"127.0.0.1"}, listening
    assert web.poll() is None


def _listening(port: int) -> set[str]:
    """The local addresses of sockets listening on `port` (from /proc/net/tcp{,6})."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                if len(address) == 8:
                    octets = bytes.fromhex(address)[::-1]
                    found.add(".".join(str(b) for b in octets))
                else:
                    found.add(address)
    return found
