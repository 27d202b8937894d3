"""The daemon's jobs (scan, drafts, housekeeping) and `mailer run`.

The daemon builds one `App` from the config, and every job calls the use cases
with it, as the CLI does. Each job is a short, bounded function of `now` that
opens what it needs and closes it again, so a dead server or a dropped
connection costs one failed run (retried with backoff by the daemon), never
the daemon itself.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mailer import cases, clock
from mailer.daemon import Daemon, job_states
from mailer.daemonlock import single_instance
from mailer.jobtimes import JobSpec, next_run
from mailer.model import iso, parse_iso

if TYPE_CHECKING:
    from mailer.app import App

log = logging.getLogger("mailer")


def scan_job(app: App) -> JobSpec:
    config = app.config

    def run(now: datetime) -> None:
        with app.imap_source() as source:
            report = app.scan(source, now)
            log.info("scan: %d read, %d new", report.fetched, sum(f.new for f in report.folders))
            for fault in report.faults:  # skipped; command mail below runs all the same
                log.warning("scan: folder %s skipped: %s", fault.folder, fault.error)
            if config.commands.address:
                from mailer import inbox

                done = inbox.run(
                    app, source.command_box(), now, drafts=lambda: app.drafts_in(source)
                )
                for handled in done.handled:
                    log.info("command mail: %s", handled.summary)
                for outcome in done.drafts:
                    log.info("intros: %s %s", outcome.action, outcome.prepared.item.key)

    return JobSpec("scan", run, every_minutes=config.daemon.scan_every_minutes)


def drafts_job(app: App) -> JobSpec:
    config = app.config

    def run(now: datetime) -> None:
        done = cases.write_drafts(app, now)
        written = sum(o.action == "written" for o in done.outcomes)
        held = done.plan.held
        log.info(
            "drafts: %d written%s", written, f", {len(held)} held ({held[0].hold})" if held else ""
        )

    return JobSpec("drafts", run, at=config.rules.draft_at, timezone=config.rules.timezone)


def housekeeping_job(app: App) -> JobSpec:
    config = app.config

    def run(now: datetime) -> None:
        from mailer import intros

        store = app.store
        store.compact()
        pruned = store.prune_refused(iso(now - config.commands.keep_refused))
        if pruned:
            log.info("commands: forgot %d records of refused mail (commands.keep_refused)", pruned)
        expired = intros.expire(store, app.intro_rules, now)
        if expired:
            log.info("intros: %d asks expired without both answers", expired)

    return JobSpec(
        "housekeeping",
        run,
        at=config.daemon.housekeeping_at,
        timezone=config.rules.timezone,
    )


def digest_job(app: App) -> JobSpec:
    """Daily at digest.at; a weekly digest goes out only on digest.weekday."""
    config = app.config

    def run(now: datetime) -> None:
        from mailer import digest

        if not digest.is_due_today(app, now):
            log.debug("digest: not today (weekly, on %s)", config.digest.weekday)
            return
        log.info("digest: %s", digest.run(app, now))

    return JobSpec("digest", run, at=config.digest.at, timezone=config.rules.timezone)


def specs(app: App) -> list[JobSpec]:
    """The daemon's jobs, all of them with the one `app`."""
    jobs = [scan_job(app), drafts_job(app), housekeeping_job(app)]
    if app.config.digest.every != "off":
        jobs.append(digest_job(app))
    return jobs


def status(app: App, now: datetime) -> dict[str, dict[str, Any]]:
    """Each job's last and next run and last error, for `mailer status`."""
    states = job_states(app.store)
    out = {}
    for spec in specs(app):
        state = dict(states.get(spec.name) or {})
        last = parse_iso(state.get("last_run"))
        state["next_run"] = iso(next_run(spec, last, now))
        out[spec.name] = state
    return out


def run_daemon(app: App, *, once: bool, verbose: bool) -> int:
    config = app.config
    config.require_account()
    logging.basicConfig(
        stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO, format="%(message)s"
    )
    store = app.store
    jobs = specs(app)
    with single_instance(store.path):
        daemon = Daemon(
            store,
            jobs,
            log=log,
            max_backoff=timedelta(minutes=config.daemon.max_backoff_minutes),
        )
        log.info("mailer daemon started at %s (store %s)", clock.now().isoformat(), store.path)
        watcher = None
        if not once and config.daemon.idle and config.commands.address:
            from mailer.sources import idle

            # new mail in INBOX: scan (and read command mail) now, not at the interval
            account, inbox = config.require_account(), config.folders.inbox
            watcher = idle.start(account, inbox, lambda: daemon.trigger("scan"), log)
        try:
            return daemon.run(once=once)
        finally:
            if watcher is not None:
                watcher.stop()
