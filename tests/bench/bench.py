"""End-to-end scan benchmark against a real, private Dovecot (`make bench`).

    .venv/bin/python tests/bench/bench.py [--messages N] [--contacts N]
    make bench BENCH_ARGS="--messages 1000000 --contacts 20000"

Why: the scan's speed and memory claims only mean something next to what the
server and the wire allow, on the same machine in the same run. So one run
loads 100,000 generated messages into a throwaway Dovecot (sdbox, an indexed
store like most servers of big mailboxes; `--storage maildir` for Maildir,
which rereads a big folder's UID list, and often its directory, in the first
session after any change: 0.5 to 1.3 s at 400,000 messages), times a plain
imapclient header fetch of everything as the floor (by message sequence
ranges of the scan's chunk size, as the scan lists them), then times the real
`mailer scan` (a child process: start-up, TLS, parsing, store writes) against
it, a no-op rescan and a scan that finds 100 new messages against bare
start-up, `contacts list` (all contacts, and the relationships it lists by
default) and `mailer status`, and says how big the store's files are. It
prints a table, PASS/FAIL per target, and a last line of JSON for the README;
it exits 1 if a target fails. Which targets apply depends on the scale
(`targets_for`): the default run (100,000 messages over 10,000 contacts) is
judged by all of them; 400,000 messages or more is a heavy mailbox, judged by
the heavy-mailbox targets (the JSON listing; up to 500,000 also the first
scan against the raw fetch, and its memory); any other scale only by those
that do not grow with the contacts, so a small --messages run only tries the
bench out. `--messages 1000000` shows which costs stay flat as history grows
(the store's size, the incremental scan, status, listing); it needs a few GB
of memory and of /dev/shm, and takes a long while.
Not a pytest test (the name does not start with test_), never in `make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import email.utils
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]  # tests.support, tests.bench and mailer from this checkout

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
try:
    import imapclient
except ModuleNotFoundError:  # a bare `python tests/bench/bench.py`: rerun under the project venv
    if not VENV_PYTHON.exists() or Path(sys.prefix) == ROOT / ".venv":
        raise
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])

from mailer.core.headers import HEADER_FIELDS  # noqa: E402
from mailer.scan import CHUNK as FETCH_CHUNK  # noqa: E402
from tests.support import mailgen  # noqa: E402
from tests.support.dovecot import Dovecot, ImapUser  # noqa: E402
from tests.support.scanhelp import PASSWORD_ENV, write_config  # noqa: E402

BODY = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS)).encode()
REPEATS = 5  # runs per median
CHILD_TIMEOUT = 600.0
NEW_MAIL = 100  # messages appended before each timed incremental scan
HISTORY_YEARS = 15  # the generated mail spans this, at any number of messages

# name -> (limit, unit); every target is "measured <= limit". Which apply depends on the
# scale of the run (`targets_for`): a cost that grows with the contacts is judged only at
# the scale its target was set for.
TARGETS = {  # at any scale: what must not grow with history or with the mail given
    "noop_rescan_overhead_s": (0.3, "s"),
    "scan_100_new_overhead_s": (0.3, "s"),
    "noop_rescan_own_s": (0.3, "s"),  # beyond the server's share (raw_session)
    "scan_100_new_own_s": (0.3, "s"),
    "status_s": (0.5, "s"),
    "cmd_refuse_cpu_s": (0.5, "s"),
    "cmd_refuse_bodies": (0, "fetches"),
    "cmd_owner_1mb_s": (2.0, "s"),
    "cmd_lines_s": (1.0, "s"),
    "cmd_lines_nobody_s": (1.0, "s"),
    "read_mail_10mb_cpu_s": (1.0, "s"),
    "import_50000_max_s": (10.0, "s"),
}
DEFAULT_SCALE = (100_000, 10_000)  # messages, contacts: the default run
DEFAULT_TARGETS = {  # set for the default run only
    "scan_vs_raw_ratio": (1.25, "x"),
    "scan_peak_rss_mb": (150.0, "MB"),
    "contacts_list_table_s": (0.3, "s"),
    "contacts_list_json_s": (0.3, "s"),
    "contacts_list_default_json_s": (0.3, "s"),
    "plan_s": (0.1, "s"),
    "lanes_s": (0.1, "s"),
    "intro_suggest_s": (1.0, "s"),
}
HEAVY_MESSAGES = 400_000  # and more: a heavy mailbox (about 20,000 contacts)
HEAVY_TARGETS = {"contacts_list_default_json_s": (0.5, "s")}
HEAVY_SCAN_UP_TO = 500_000  # the first scan's limits were set at 400,000 + 100,000
HEAVY_SCAN_TARGETS = {
    "scan_vs_raw_ratio": (1.3, "x"),
    "scan_peak_rss_mb": (200.0, "MB"),
}


def targets_for(messages: int, contacts: int) -> dict[str, tuple[float, str]]:
    """The targets a run of this scale is judged by."""
    if (messages, contacts) == DEFAULT_SCALE:
        return {**DEFAULT_TARGETS, **TARGETS}
    if messages < HEAVY_MESSAGES:
        return dict(TARGETS)
    scan = HEAVY_SCAN_TARGETS if messages <= HEAVY_SCAN_UP_TO else {}
    return {**scan, **HEAVY_TARGETS, **TARGETS}


def mailer_command() -> list[str]:
    """The installed `mailer` script of this interpreter's venv, else the project's."""
    for candidate in (Path(sys.executable).parent / "mailer", ROOT / ".venv" / "bin" / "mailer"):
        if os.access(candidate, os.X_OK):
            return [str(candidate)]
    return [sys.executable, "-m", "mailer"]


def compile_bytecode() -> None:
    """Write mailer's bytecode, as installing it does: with PYTHONDONTWRITEBYTECODE set (as
    on some machines) an editable install would compile every module on every command,
    0.1 to 0.3 s that an installed mailer never pays. (pip compiled the dependencies.)"""
    import compileall

    compileall.compile_dir(ROOT / "mailer", quiet=2)


@dataclasses.dataclass
class Child:
    """One finished child process."""

    seconds: float  # wall time, spawn to exit
    maxrss_kb: int  # its own peak RSS
    out: str
    cpu_s: float = 0.0  # its user + system time
    faults: int = 0  # its minor page faults: each new page of memory touched


# The children are started by a small process of their own, made when the bench is small:
# Linux counts a child's pages from before its exec into its peak RSS, and this process
# grows to hundreds of MB holding the generated mail, so children forked from it reported
# its size (458 MB for a `mailer scan` whose own peak was 179 MB).
_SPAWNER_CODE = r"""
import json, os, signal, subprocess, sys, tempfile, threading, time
for line in sys.stdin:
    job = json.loads(line)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(job["cmd"], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=job["env"])
        timer = threading.Timer(job["timeout"], os.kill, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        answer = {"seconds": seconds, "maxrss_kb": usage.ru_maxrss, "code": proc.returncode,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "faults": usage.ru_minflt,
                  "out": out.read().decode(errors="replace") if job["keep"] else "",
                  "err": err.read().decode(errors="replace")[-3000:]}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
"""
_spawner: subprocess.Popen[str] | None = None


def start_spawner() -> None:
    """Start the process that runs the children (see _SPAWNER_CODE); call it first."""
    global _spawner
    _spawner = subprocess.Popen(
        [sys.executable, "-c", _SPAWNER_CODE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def run_child(
    cmd: Sequence[str],
    env: dict[str, str],
    *,
    keep_output: bool = True,
    timeout: float = CHILD_TIMEOUT,
) -> Child:
    """Run cmd to the end; os.wait4 gives that child's own ru_maxrss (KB on Linux)."""
    if _spawner is None:
        start_spawner()
    assert _spawner is not None and _spawner.stdin and _spawner.stdout
    job = {"cmd": list(cmd), "env": env, "timeout": timeout, "keep": keep_output}
    _spawner.stdin.write(json.dumps(job) + "\n")
    _spawner.stdin.flush()
    answer = json.loads(_spawner.stdout.readline())
    if answer["code"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {answer['code']}:\n{answer['err']}")
    return Child(
        answer["seconds"], answer["maxrss_kb"], answer["out"], answer["cpu_s"], answer["faults"]
    )


def median_seconds(run: Callable[[], Child]) -> float:
    return statistics.median(run().seconds for _ in range(REPEATS))


def timed(r: dict[str, Any], key: str, run: Callable[[], Child]) -> str:
    """Median wall time of `run` as r[key], its CPU time and page faults beside it (the
    VM's speed moves wall time most; a fault is a new page of memory, 3 µs here); the
    figures as one line of text."""
    children = [run() for _ in range(REPEATS)]
    seconds = r[key] = statistics.median(c.seconds for c in children)
    base = key.removesuffix("_s")
    cpu = r[f"{base}_cpu_s"] = statistics.median(c.cpu_s for c in children)
    faults = r[f"{base}_faults"] = statistics.median(c.faults for c in children)
    return f"{seconds:.3f} s  (CPU {cpu:.3f} s, {faults:,.0f} page faults)"


# --- load ------------------------------------------------------------------------------------

_FROM = re.compile(rb"^From: (.*)\r$", re.M)
_DATE = re.compile(rb"^Date: (.*)\r$", re.M)


def load(user: ImapUser, messages: list[bytes]) -> dict[str, int]:
    """Outbound mail (From = the owner) goes to Sent, the rest to INBOX; Date = INTERNALDATE."""
    owner = mailgen.OWNER.encode()
    folders: dict[str, tuple[list[bytes], list[dt.datetime]]] = {
        "INBOX": ([], []),
        "Sent": ([], []),
    }
    for data in messages:
        frm, date = _FROM.search(data), _DATE.search(data)
        assert frm and date, data[:200]
        box = folders["Sent" if owner in frm.group(1) else "INBOX"]
        box[0].append(data)
        box[1].append(email.utils.parsedate_to_datetime(date.group(1).decode()))
    for name, (data, dates) in folders.items():
        if user.server.storage == "maildir":
            user.write_maildir(name, data, internaldates=dates)  # files: fast
        else:
            user.append(name, data, internaldates=dates)
    return {name: len(data) for name, (data, _) in folders.items()}


# --- raw fetch -------------------------------------------------------------------------------


def raw_fetch(user: ImapUser, folders: Sequence[str]) -> int:
    """Login, then SELECT and header FETCH of every message with plain imapclient,
    listed as the scan lists them: message sequence ranges of FETCH_CHUNK from 1
    to EXISTS, no SEARCH (its answer passes imaplib's line limit past ~160,000)."""
    fetched = 0
    with user.connect() as client:  # IMAPS, verified against the harness certificate
        client.use_uid = False  # sequence numbers (imapclient 4 sends a range as a list)
        for folder in folders:
            exists = int(client.select_folder(folder, readonly=True)[b"EXISTS"])
            for start in range(1, exists + 1, FETCH_CHUNK):
                seqs = range(start, min(start + FETCH_CHUNK, exists + 1))
                rows = client.fetch(seqs, [b"UID", b"INTERNALDATE", BODY])
                fetched += len(rows)
    return fetched


def store_files(folder: Path) -> dict[str, int]:
    """The store's files (`mailer.json` and what lives beside it) and their sizes."""
    return {
        p.name: p.stat().st_size
        for p in sorted(folder.iterdir())
        if p.name.startswith("mailer.json") and not p.name.endswith("lock")
    }


# --- report ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        dovecot = subprocess.run(
            ["dovecot", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        dovecot = "?"
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "python": platform.python_version(),
        "dovecot": dovecot.split()[0] if dovecot else "?",
        "imapclient": imapclient.__version__,
        "store_dir": tempfile.gettempdir(),
    }


def row(label: str, value: str) -> None:
    print(f"  {label:<44} {value}")


def bench(messages_count: int, contacts: int, sent_every: int = 3, storage: str = "sdbox") -> int:
    env = dict(os.environ)
    env.pop("MAILER_CONFIG", None)
    mailer = mailer_command()
    r: dict[str, Any] = {
        "messages": messages_count,
        "contacts_generated": contacts,
        "storage": storage,
    }

    print("machine")
    info = machine()
    for k, v in info.items():
        row(k, str(v))
    r["machine"] = info

    t = time.perf_counter()
    messages = mailgen.bulk(
        messages_count, contacts=contacts, sent_every=sent_every, years=HISTORY_YEARS
    )
    r["generate_s"] = time.perf_counter() - t
    # Distinct correspondents the data holds: the people plus the Cc'd team addresses.
    people = set(re.findall(rb"person\d+@corp\d+\.example", b"\n".join(messages)))
    teams = set(re.findall(rb"team\d+@corp\.example", b"\n".join(messages)))

    with (
        Dovecot(storage=storage) as server,
        tempfile.TemporaryDirectory(prefix="mailer-bench-") as tmp,
    ):
        user = server.new_account()
        env[PASSWORD_ENV] = user.password

        print(f"\nload ({messages_count:,} messages over {contacts:,} contacts)")
        t = time.perf_counter()
        split = load(user, messages)
        r["load_s"] = time.perf_counter() - t
        r["folders"] = split
        del messages
        row("generate (mailgen.bulk)", f"{r['generate_s']:.2f} s")
        row(f"load into {storage}, INBOX + Sent", f"{r['load_s']:.2f} s  {split}")
        folders = list(split)

        # The first pass builds Dovecot's index and cache files: untimed for the comparison.
        t = time.perf_counter()
        raw_fetch(user, folders)
        r["warmup_s"] = time.perf_counter() - t
        row("warm-up fetch (Dovecot builds its cache)", f"{r['warmup_s']:.2f} s")

        print("\nscan")
        t = time.perf_counter()
        got = raw_fetch(user, folders)
        r["raw_fetch_s"] = time.perf_counter() - t
        if got != messages_count:
            raise RuntimeError(f"raw fetch returned {got} messages, not {messages_count}")
        r["raw_fetch_msgs_per_s"] = messages_count / r["raw_fetch_s"]
        row(
            f"raw imapclient fetch ({FETCH_CHUNK:,} sequence numbers a FETCH)",
            f"{r['raw_fetch_s']:.2f} s  ({r['raw_fetch_msgs_per_s']:,.0f} msg/s)",
        )

        config = write_config(
            Path(tmp),
            user,
            me={"name": mailgen.OWNER_NAME, "addresses": [mailgen.OWNER]},
        )
        scan_cmd = [*mailer, "--config", str(config), "scan"]
        # a million messages take a while here; a hung scan still ends the bench
        scan = run_child(scan_cmd, env, timeout=max(CHILD_TIMEOUT, messages_count / 300))
        r["scan_s"] = scan.seconds
        r["scan_msgs_per_s"] = messages_count / scan.seconds
        r["scan_vs_raw_ratio"] = scan.seconds / r["raw_fetch_s"]
        r["scan_peak_rss_mb"] = scan.maxrss_kb / 1024
        read = sum(int(n) for n in re.findall(r": (\d+) read", scan.out))
        row(
            "mailer scan, first (whole process)",
            f"{scan.seconds:.2f} s  ({r['scan_msgs_per_s']:,.0f} msg/s)",
        )
        for line in scan.out.strip().splitlines():
            row("", line)
        row("scan / raw fetch", f"{r['scan_vs_raw_ratio']:.2f}x")
        row("scan peak RSS", f"{r['scan_peak_rss_mb']:.0f} MB")
        if read != messages_count:
            raise RuntimeError(f"scan read {read} messages, not {messages_count}:\n{scan.out}")

        print(f"\nno-op rescan (median of {REPEATS})")
        # Interleaved so drift on the machine hits both sides alike.
        noop: list[float] = []
        startup: list[float] = []
        raw_noop: list[float] = []
        for _ in range(REPEATS):
            noop.append(run_child(scan_cmd, env).seconds)
            startup.append(run_child([*mailer, "--version"], env).seconds)
            raw_noop.append(raw_session(user, folders))
        r["noop_rescan_s"] = statistics.median(noop)
        r["startup_s"] = statistics.median(startup)
        r["raw_session_s"] = statistics.median(raw_noop)
        r["noop_rescan_overhead_s"] = r["noop_rescan_s"] - r["startup_s"]
        r["noop_rescan_own_s"] = r["noop_rescan_overhead_s"] - r["raw_session_s"]
        row("mailer scan, nothing new", f"{r['noop_rescan_s']:.3f} s")
        row("mailer --version (start-up)", f"{r['startup_s']:.3f} s")
        row("rescan adds", f"{r['noop_rescan_overhead_s']:.3f} s")
        row("  raw session opening the folders (server)", f"{r['raw_session_s']:.3f} s")
        row("  mailer's own share", f"{r['noop_rescan_own_s']:.3f} s")

        print(f"\nscan finding {NEW_MAIL} new messages (median of {REPEATS})")
        r.update(bench_new_mail(user, folders, scan_cmd, env, contacts, r["startup_s"]))
        row(
            f"mailer scan, {NEW_MAIL} new in INBOX (appended before each)",
            f"{r['scan_100_new_s']:.3f} s",
        )
        row("  minus start-up", f"{r['scan_100_new_overhead_s']:.3f} s")
        row(f"  raw session reading {NEW_MAIL} new (server)", f"{r['raw_100_new_s']:.3f} s")
        row("  mailer's own share", f"{r['scan_100_new_own_s']:.3f} s")

        status_cmd = [*mailer, "--config", str(config), "status"]
        print(f"\nstatus (median of {REPEATS})")
        row(
            "mailer status > /dev/null",
            timed(r, "status_s", lambda: run_child(status_cmd, env, keep_output=False)),
        )

        r["store_files"] = store_files(Path(tmp))
        r["tinydb_bytes"] = r["store_files"].get("mailer.json", 0)
        print("\nstore files")
        for name, size in r["store_files"].items():
            row(name, f"{size / 2**20:.2f} MB  ({size:,} bytes)")

        listed = run_child(
            [*mailer, "--config", str(config), "contacts", "list", "--all", "--format", "json"],
            env,
        )
        r["contacts_in_store"] = len(json.loads(listed.out))
        r["contacts_expected"] = len(people) + len(teams)
        print(f"\ncontacts list (median of {REPEATS})")
        row(
            "contacts in the store",
            f"{r['contacts_in_store']:,}  (data has {len(people):,} people + {len(teams)} team)",
        )
        for fmt in ("table", "json"):
            # --all: every contact, the inbound-only ones too (the default list hides them)
            cmd = [*mailer, "--config", str(config), "contacts", "list", "--all", "--format", fmt]
            row(
                f"contacts list --all --format {fmt} > /dev/null",
                timed(
                    r,
                    f"contacts_list_{fmt}_s",
                    lambda cmd=cmd: run_child(cmd, env, keep_output=False),
                ),
            )
        # The list as a person asks for it (the issue's `contacts list --format json`):
        # relationships only. Every contact is still read and judged to pick them.
        cmd = [*mailer, "--config", str(config), "contacts", "list", "--format", "json"]
        r["contacts_listed"] = len(json.loads(run_child(cmd, env).out))
        row(
            f"contacts list --format json > /dev/null ({r['contacts_listed']:,} listed)",
            timed(
                r,
                "contacts_list_default_json_s",
                lambda: run_child(cmd, env, keep_output=False),
            ),
        )

        print(f"\nplanning (median of {REPEATS})")
        r.update(bench_plan(Path(tmp) / "mailer.json", config, mailer, env))
        row("plan() over the store's contacts, 1 draft each", f"{r['plan_s']:.3f} s")
        row("  items in the plan", f"{r['plan_items']:,}")
        row("mailer due --format json (whole process)", f"{r['due_s']:.3f} s")
        row("mailer digest preview (whole process)", f"{r['digest_s']:.3f} s")

        print(f"\nlanes (median of {REPEATS})")
        r.update(bench_lanes(contacts))
        row(
            f"judge_all() over {contacts:,} contacts, 5 years of mail each", f"{r['lanes_s']:.3f} s"
        )
        row("  months of history per contact (mean)", f"{r['lanes_months']:.1f}")
        row("  contacts per lane", str(r["lanes_count"]))

        print(f"\nintroductions (median of {REPEATS})")
        r.update(bench_intros(contacts))
        row(f"suggest() over {contacts:,} tagged contacts", f"{r['intro_suggest_s']:.3f} s")
        row("  eligible (trust >= 2, active, tagged)", f"{r['intro_eligible']:,}")
        row("  candidate pairs scored", f"{r['intro_pairs']:,}")

        print(f"\ncommand mail ({contacts:,} contacts in the store; each mail alone in INBOX)")
        r.update(bench_command_mail(server, Path(tmp), contacts))
        for label, size, cpu, wall, judge, bodies in r["cmd_refused"]:
            fetched = f"body fetched {bodies}x" if bodies else "body not fetched"
            row(
                f"refused, {size / 2**20:.1f} MB: {label}",
                f"{cpu:.3f} s CPU ({wall:.3f} s), {fetched}",
            )
            row("  of which judging its header fields", f"{judge:.3f} s CPU")
        for label, size, cpu, wall, _judge, _bodies in r["cmd_owner"]:
            row(f"owner's {size / 2**20:.0f} MB reply: {label}", f"{wall:.3f} s ({cpu:.3f} s CPU)")
        for key, what in (("cmd_lines", "naming contacts"), ("cmd_lines_nobody", "naming no one")):
            row(
                f"{CMD_LINES:,} lines {what} (median)",
                f"{r[key + '_s']:.3f} s ({r[key + '_cpu_s']:.3f} s CPU),"
                f" {r[key + '_applied']:,} applied",
            )

    print(f"\nreading a command mail's body, in-process (CPU, median of {REPEATS})")
    r.update(bench_reading())
    for label, cpu in r["read_rows"]:
        row(label, f"{cpu:.3f} s")

    from tests.bench.import_bench import bench_import

    print("\ncontacts import (whole process, median of 3; tests/bench/import_bench.py)")
    r.update(bench_import(sizes=(50_000,), mailer=mailer_command()))

    targets = targets_for(messages_count, contacts)
    print(f"\ntargets at {messages_count:,} messages over {contacts:,} contacts")
    failed = 0
    for name, (limit, unit) in targets.items():
        value = r[name]
        ok = value <= limit
        failed += not ok
        row(name, f"{value:.3f} {unit} <= {limit} {unit}  {'PASS' if ok else 'FAIL'}")
    r["targets"] = {name: r[name] <= limit for name, (limit, _) in targets.items()}
    r["pass"] = not failed
    print()
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}))
    return 1 if failed else 0


def raw_session(user: ImapUser, folders: Sequence[str], new: int = 0) -> float:
    """The server's share of a rescan: a new session that opens every folder and
    fetches the header fields of the `new` last messages of the first. With
    Maildir, Dovecot rereads a folder's whole UID list in the first session after
    a change (and its directory too while new mail is \\Recent to an EXAMINE):
    0.5 to 1.3 s for 400,000 messages here, which any client pays, so what mailer
    adds is measured beyond this."""
    started = time.perf_counter()
    with user.connect() as client:
        client.use_uid = False
        for n, folder in enumerate(folders):
            exists = int(client.select_folder(folder, readonly=True)[b"EXISTS"])
            if n == 0 and new:
                client.fetch(range(exists - new + 1, exists + 1), [b"UID", b"INTERNALDATE", BODY])
    return time.perf_counter() - started


def bench_new_mail(
    user: ImapUser,
    folders: Sequence[str],
    scan_cmd: list[str],
    env: dict[str, str],
    contacts: int,
    startup: float,
) -> dict[str, Any]:
    """`mailer scan` when NEW_MAIL messages arrived since the last one: the daemon's
    everyday scan (list where the new mail starts, fetch it, count it, commit);
    beside it, after as many new messages, the raw session doing the same reads."""
    seconds, raw = [], []
    for round_ in range(REPEATS):
        user.append("INBOX", mailgen.bulk(NEW_MAIL, contacts=contacts, seed=1000 + round_))
        scan = run_child(scan_cmd, env)
        read = sum(int(n) for n in re.findall(r": (\d+) read", scan.out))
        if read != NEW_MAIL:
            raise RuntimeError(f"the scan read {read} messages, not {NEW_MAIL}:\n{scan.out}")
        seconds.append(scan.seconds)
        user.append("INBOX", mailgen.bulk(NEW_MAIL, contacts=contacts, seed=2000 + round_))
        raw.append(raw_session(user, folders, NEW_MAIL))
        with user.connect() as client:  # gone again: the next scan reads its own 100 only
            client.select_folder("INBOX")
            uids = client.search(
                ["UID", f"{client.folder_status('INBOX')[b'UIDNEXT'] - NEW_MAIL}:*"]
            )
            client.delete_messages(uids)
            client.expunge()
    median = statistics.median(seconds)
    return {
        "scan_100_new_s": median,
        "scan_100_new_overhead_s": median - startup,
        "raw_100_new_s": statistics.median(raw),
        "scan_100_new_own_s": median - startup - statistics.median(raw),
    }


def bench_plan(
    store_path: Path, config: Path, mailer: list[str], env: dict[str, str]
) -> dict[str, Any]:
    """The rules over every contact of the store, with a past draft for each, in-process."""
    from mailer.app import App
    from mailer.config import load
    from mailer.core.plan import plan
    from mailer.model import DraftRecord
    from mailer.store import Store

    contacts = Store(store_path).contacts()
    rules = App(load(str(config))).rules
    now = dt.datetime(2027, 6, 1, 9, tzinfo=dt.UTC)
    drafts = [
        DraftRecord(
            key=f"reconnect:{c.email}:2026-01-01",
            email=c.email,
            kind="reconnect",
            written_at="2026-01-01T08:30:00Z",
        )
        for c in contacts
    ]
    seconds = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        result = plan(contacts, drafts, rules, now)
        seconds.append(time.perf_counter() - t)
    due_cmd = [*mailer, "--config", str(config), "due", "--format", "json"]
    due = median_seconds(lambda: run_child(due_cmd, env, keep_output=False))
    digest_cmd = [*mailer, "--config", str(config), "digest", "preview"]
    digest = median_seconds(lambda: run_child(digest_cmd, env, keep_output=False))
    return {
        "plan_s": statistics.median(seconds),
        "plan_items": len(result.items),
        "due_s": due,
        "digest_s": digest,
    }


def history_contacts(n: int, seed: int = 11) -> list[Any]:
    """`n` contacts, each with five years of mail folded in: ties of every strength and
    rhythm (a few a year to several a week), some gone quiet, some one-sided."""
    import random

    from mailer.core.contacts import fold
    from mailer.model import Interaction

    rng = random.Random(seed)
    end = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    interactions = []
    for i in range(n):
        email = f"person{i}@corp{i % 300}.example"
        per_year = rng.choice((2, 4, 6, 12, 12, 24, 52, 100))
        stop = rng.choice((0, 0, 0, 30, 200, 500))  # days since the last mail
        back = rng.random() < 0.9  # mostly two-way
        for _ in range(per_year * 5):
            when = end - dt.timedelta(days=stop + rng.random() * (5 * 365 - stop))
            way = "in" if back and rng.random() < 0.5 else "out"
            interactions.append(Interaction(email, f"Person {i}", when, way, "Re: plans"))  # type: ignore[arg-type]
    contacts = list(fold({}, interactions).values())
    return contacts


def bench_lanes(n: int) -> dict[str, Any]:
    """Every contact's lane (mailer.core.rules.judge_all), in-process, as listings need it."""
    import gc
    from collections import Counter

    from mailer.core.rules import judge_all
    from mailer.core.ruleset import Rules

    contacts = history_contacts(n)
    gc.collect()
    now = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    rules = Rules()
    seconds = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        lanes = judge_all(contacts, [], rules, now)
        seconds.append(time.perf_counter() - t)
    return {
        "lanes_s": statistics.median(seconds),
        "lanes_months": statistics.mean(len(c.months.split()) for c in contacts),
        "lanes_count": dict(Counter(j.lane for j in lanes.values()).most_common()),
    }


def tagged_contacts(n: int, seed: int = 7) -> list[Any]:
    """`n` contacts with tags as an owner would give them: Zipf-like, a few per person.

    60 % have tags (1-5 from 30 cities, 150 interests, 20 fields, a few roles
    such as hiring/looking); trust 0-3 with 35 % at 2 or more; last contact
    within the past 300 days, so all are active.
    """
    import random

    from mailer.model import Contact, iso

    rng = random.Random(seed)
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)

    def zipf(prefix: str, k: int, exponent: float) -> tuple[list[str], list[float]]:
        return [f"{prefix}{i}" for i in range(k)], [1 / (i + 1) ** exponent for i in range(k)]

    pools = [zipf("city", 30, 1.0), zipf("topic", 150, 1.1), zipf("field", 20, 0.8)]
    roles = ["hiring", "looking", "investor", "founder"]
    out = []
    for i in range(n):
        tags: set[str] = set()
        if rng.random() < 0.6:
            for _ in range(rng.randint(1, 5)):
                names, weights = rng.choice(pools)
                tags.add(rng.choices(names, weights)[0])
            if rng.random() < 0.1:
                tags.add(rng.choice(roles))
        last = iso(now - dt.timedelta(days=rng.randint(1, 300)))
        out.append(
            Contact(
                f"p{i:05d}@bench.example",
                f"Person {i}",
                status="active",
                tags=tuple(sorted(tags)),
                trust=rng.choices((0, 1, 2, 3), (40, 25, 20, 15))[0],
                first_seen=iso(now - dt.timedelta(days=900)),
                last_inbound=last,
                last_outbound=last,
                messages_in=3,
                messages_out=3,
            )
        )
    return out


def bench_intros(n: int) -> dict[str, Any]:
    from mailer.core import intros
    from mailer.core.ruleset import Rules

    contacts = tagged_contacts(n)
    rules = intros.IntroRules(complementary=(("hiring", "looking"), ("investor", "founder")))
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    seconds = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        found = intros.suggest(contacts, [], rules, Rules(), now)
        seconds.append(time.perf_counter() - t)
    eligible = [c for c in contacts if c.trust >= 2 and c.tags]
    holders: dict[str, int] = {}
    for c in eligible:
        for tag in c.tags:
            holders[tag] = holders.get(tag, 0) + 1
    pairs = sum(k * (k - 1) // 2 for k in holders.values() if k <= intros.COMMON)
    assert found, "the bench data must give suggestions"
    return {
        "intro_suggest_s": statistics.median(seconds),
        "intro_eligible": len(eligible),
        "intro_pairs": pairs,
    }


# --- command mail (issue 10) ----------------------------------------------------------------

CMD_ADDRESS = "pat.doe+mailer-b3nch7@example.org"
CMD_LINES = 1_000


def _cmd_mail(body: str, *, sender: str, to: str, n: int, content_type: str) -> bytes:
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: bench {n}\r\n"
        f"Date: Wed, 04 Mar 2026 08:00:00 +0000\r\nMessage-ID: <cmd-bench-{n}@example.org>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n"
    )
    return head.encode() + body.replace("\n", "\r\n").encode()


def _hostile(size: int) -> list[tuple[str, bytes]]:
    """Three `size`-byte mails a stranger can send: flowed text, HTML, 100,000 MIME parts."""
    stranger = "Eve <eve@evil.example>"
    line = "weed p00001@bench.example and more words of a flowed paragraph "
    html = "<div><p>weed p00001@bench.example</p><blockquote>x</blockquote></div>"
    pad = size // 100_000 - 40  # each part ~size/100,000 bytes, its boundary and header included
    boundary = "b0und"
    many = "".join(
        f"--{boundary}\nContent-Type: text/plain\n\n{'weed p00001@bench.example':<{pad}}\n"
        for _ in range(100_000)
    )
    return [
        (
            "look-alike tag, format=flowed",
            _cmd_mail(
                line * (size // len(line)),
                sender=f"Pat Doe <{mailgen.OWNER}>",
                to="pat.doe+mailer@example.org",
                n=1,
                content_type="text/plain; charset=utf-8; format=flowed",
            ),
        ),
        (
            "stranger, HTML",
            _cmd_mail(
                "<html><body>" + html * (size // len(html)) + "</body></html>",
                sender=stranger,
                to=CMD_ADDRESS,
                n=2,
                content_type="text/html; charset=utf-8",
            ),
        ),
        (
            "stranger, 100,000 MIME parts",
            _cmd_mail(
                many + f"--{boundary}--\n",
                sender=stranger,
                to=CMD_ADDRESS,
                n=3,
                content_type=f'multipart/mixed; boundary="{boundary}"',
            ),
        ),
    ]


def _owner_mails(size: int) -> list[tuple[str, bytes]]:
    """The owner's replies of `size` bytes: ten commands on top, a long quote below."""
    commands = "\n".join(
        [f"snooze p{i:05d}@bench.example 2w" for i in range(5)]
        + [f"tag Person {i} bench, owner" for i in range(5, 10)]
    )
    quote = "> done p00001@bench.example and the rest of a long quoted digest line here\n"
    wrote = "\n\nOn Tue, 3 Mar 2026 at 08:00, Pat Doe <pat.doe@example.org> wrote:\n"
    plain = commands + wrote + quote * (size // len(quote))
    cell = "<div>done p00001@bench.example and the rest of a long quoted digest</div>"
    html = (
        "<div>" + commands.replace("\n", "<br>") + '</div><div class="gmail_quote">'
        f"<blockquote>{cell * (size // len(cell))}</blockquote></div>"
    )
    owner = f"Pat Doe <{mailgen.OWNER}>"
    return [
        (
            "format=flowed, long quote",
            _cmd_mail(
                plain,
                sender=owner,
                to=CMD_ADDRESS,
                n=11,
                content_type="text/plain; charset=utf-8; format=flowed",
            ),
        ),
        (
            "HTML, long quote",
            _cmd_mail(
                html, sender=owner, to=CMD_ADDRESS, n=12, content_type="text/html; charset=utf-8"
            ),
        ),
    ]


class _CountingBox:
    """An IMAP command box that counts whole-mail fetches."""

    def __init__(self, box: Any) -> None:
        self.box, self.bodies = box, 0

    def candidates(self, address: str) -> Any:
        return self.box.candidates(address)

    def body(self, item: Any) -> bytes:
        self.bodies += 1
        return bytes(self.box.body(item))

    def move(self, uids: list[int], folder: str) -> None:
        self.box.move(uids, folder)


def bench_command_mail(server: Dovecot, tmp: Path, contacts: int) -> dict[str, Any]:
    """Command mail through `inbox.run` in-process, over this Dovecot, `contacts` in the store.

    Each mail is alone in INBOX when its run is timed, from the SEARCH to the
    move (login aside): a stranger's or a look-alike's 10 MB mail (just under
    commands.max_size_kb, so the size check does not refuse it) must be
    refused on its header fields, its body never fetched; an owner's 1 MB
    reply is read and applied. Then 1,000 command lines against the contacts,
    as `inbox` decides a mail under the store's lock (index, parse, apply),
    once naming contacts and once naming no one.
    """
    from mailer import inbox
    from mailer.app import App
    from mailer.config import load
    from mailer.core.apply import apply_commands
    from mailer.core.commands import read_commands
    from mailer.core.naming import Resolver
    from mailer.store import Store

    user = server.new_account()
    password = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = user.password  # app.imap_source reads it, in this process
    home = tmp / "command-mail"
    home.mkdir()
    people = tagged_contacts(contacts)
    config = load(
        str(
            write_config(
                home,
                user,
                me={"name": mailgen.OWNER_NAME, "addresses": [mailgen.OWNER]},
                commands={"address": CMD_ADDRESS},
            )
        )
    )
    store = Store(config.store_path)
    store.insert_contacts(people)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    out: dict[str, Any] = {"cmd_contacts": len(people), "cmd_refused": [], "cmd_owner": []}

    def one(mail: bytes, refused: bool) -> tuple[float, float, float, int, str]:
        """CPU and wall seconds of `inbox.run` for `mail`, of judging it alone, fetches."""
        user.append("INBOX", [mail])
        with App(config).imap_source() as source:
            box = _CountingBox(source.command_box())
            judge = 0.0
            if refused:  # judging alone: a refused mail's body is not fetched by it either
                (item,) = box.candidates(CMD_ADDRESS)
                judge = time.process_time()
                inbox._read(item, box, config, App(config).identity, now)
                judge = time.process_time() - judge
            cpu, wall = time.process_time(), time.perf_counter()
            done = inbox.run(App(config), box, now, store=store)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        (handled,) = done.handled
        return cpu, wall, judge, box.bodies, handled.record.kind

    try:
        # Just under commands.max_size_kb (10,240 KB): it is the judging that must refuse them.
        for label, mail in _hostile(10_000 * 1024):
            cpu, wall, judge, bodies, kind = one(mail, refused=True)
            if kind != "refused":
                raise RuntimeError(f"{label}: {kind}, not refused")
            out["cmd_refused"].append((label, len(mail), cpu, wall, judge, bodies))
        for label, mail in _owner_mails(1024 * 1024):
            cpu, wall, judge, bodies, kind = one(mail, refused=False)
            if kind != "commands":
                raise RuntimeError(f"{label}: {kind}, not applied")
            out["cmd_owner"].append((label, len(mail), cpu, wall, judge, bodies))
    finally:
        if password is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = password
    out["cmd_refuse_cpu_s"] = max(cpu for _l, _s, cpu, *_ in out["cmd_refused"])
    out["cmd_refuse_bodies"] = sum(bodies for *_, bodies in out["cmd_refused"])
    out["cmd_owner_1mb_s"] = max(wall for _l, _s, _c, wall, *_ in out["cmd_owner"])

    by_email = {c.email: c for c in people}
    forms = (
        lambda i: f"snooze {people[i].email} 2w",
        lambda i: f"tag {people[i].name} bench",
        lambda i: f"note {people[i].name} met at the bench, wants the deck",
        lambda i: f"done {people[i].email}",
    )
    named = "\n".join(forms[i % 4](i * 7 % len(people)) for i in range(CMD_LINES))
    nobody = "\n".join(f"log nobody{i} met at the conference" for i in range(CMD_LINES))
    for key, text in (("cmd_lines_s", named), ("cmd_lines_nobody_s", nobody)):
        seconds, cpu = [], []
        for _ in range(REPEATS):
            t, c = time.perf_counter(), time.process_time()
            found = read_commands("", text, Resolver(by_email.values()))
            applied = apply_commands(found.results, by_email, now, "bench")
            seconds.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[key] = statistics.median(seconds)
        out[key.replace("_s", "_cpu_s")] = statistics.median(cpu)
        out[key.replace("_s", "_applied")] = sum(o.ok for o in applied.outcomes)
    return out


# --- reading a command mail's body (issue 10) ------------------------------------------------


def bench_reading() -> dict[str, Any]:
    """`read_mail` on an owner's 10 MB mails (it reads only its caps of them), and the
    steps that were quadratic before on their worst input: `unflow` on 9 MB (148 s
    before), `html_to_text` on markup `html.parser` reads in quadratic time."""
    from mailer.core.mailtext import html_to_text, read_mail, unflow

    size = 10 * 2**20
    owner = f"Pat Doe <{mailgen.OWNER}>"
    commands = "snooze p00001@bench.example 2w\ntag Person 5 bench, owner\n\n"
    wrote = "On Tue, 3 Mar 2026 at 08:00, Pat Doe <pat.doe@example.org> wrote:\n"
    flowed = "> done p00001@bench.example and the rest of a long flowed digest line \n"
    cell = "<div>done p00001@bench.example and the rest of a long quoted digest</div>"
    part = "--b\nContent-Type: text/plain\n\nweed p00001@bench.example\n"
    nest = '--b{0}\nContent-Type: multipart/mixed; boundary="b{1}"\n\n'
    mails = {
        "format=flowed text": (
            "text/plain; charset=utf-8; format=flowed",
            commands + wrote + flowed * (size // len(flowed)),
        ),
        "HTML": (
            "text/html; charset=utf-8",
            f"<div>{commands}</div><blockquote>{cell * (size // len(cell))}</blockquote>",
        ),
        "100,000 MIME parts": (
            'multipart/mixed; boundary="b"',
            f"--b\nContent-Type: text/plain\n\n{commands}"
            + part * 100_000
            + "x" * (size - 100_000 * len(part))
            + "\n--b--\n",
        ),
        "multiparts nested 2,000 deep": (
            'multipart/mixed; boundary="b0"',
            "".join(nest.format(i, i + 1) for i in range(2_000)) + "line\n" * (size // 5),
        ),
    }
    rows: list[tuple[str, float]] = []
    worst = 0.0
    for label, (content_type, body) in mails.items():
        raw = _cmd_mail(body, sender=owner, to=CMD_ADDRESS, n=9, content_type=content_type)
        cpu = _median_cpu(lambda raw=raw: read_mail(raw))
        worst = max(worst, cpu)
        rows.append((f"read_mail, owner's {len(raw) / 2**20:.0f} MB mail: {label}", cpu))
    text = flowed * (9 * 2**20 // len(flowed))
    rows.append(("unflow on 9 MB of flowed text (no cap)", _median_cpu(lambda: unflow(text))))
    for label, markup in (
        ('"<!--" x 64,000', "<!--" * 64_000),
        ('"</" x 128,000', "</" * 128_000),
        ('"<" x 256,000', "<" * 256_000),
        ("<div> x 51,000", "<div>" * 51_000),
    ):
        cpu = _median_cpu(lambda markup=markup: html_to_text(markup, quote_prefix=True))
        rows.append((f"html_to_text: {label}", cpu))
    return {"read_rows": rows, "read_mail_10mb_cpu_s": worst}


def _median_cpu(run: Callable[[], object]) -> float:
    seconds = []
    for _ in range(REPEATS):
        c = time.process_time()
        run()
        seconds.append(time.process_time() - c)
    return statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="messages to load")
    parser.add_argument("--contacts", type=int, default=10_000, help="distinct correspondents")
    parser.add_argument(
        "--sent-every", type=int, default=3, help="every N-th message is the owner's (Sent)"
    )
    parser.add_argument(
        "--storage",
        choices=sorted(Dovecot.STORAGES),
        default="sdbox",
        help="how the server stores mail (sdbox: indexed, as most servers at this size;"
        " maildir: rereads a big folder after every change, which every client pays)",
    )
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the with blocks stop Dovecot and delete the files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    start_spawner()  # before the bench grows: see _SPAWNER_CODE
    compile_bytecode()
    return bench(args.messages, args.contacts, args.sent_every, args.storage)


if __name__ == "__main__":
    sys.exit(main())
