"""What mailer does, each written once: the CLI and the daemon's jobs call these.

A use case takes the `App` (app.py: the parts built once from the config) and
`now`, and returns what happened for its caller to print or log. When the CLI and
the daemon each assembled the same steps, they drifted apart (the daemon's
drafts job scanned first and wrote pending introduction drafts, `mailer
drafts run` did neither); here there is one way to do each thing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailer.app import App
    from mailer.drafts import Outcome, Plan
    from mailer.scan import ScanReport


@dataclass(frozen=True)
class DraftsRun:
    """What `write_drafts` did: the plan, each draft's outcome, and the scan before."""

    plan: Plan
    outcomes: list[Outcome]
    scan: ScanReport | None  # None: no account to scan, or a dry run


def write_drafts(app: App, now: datetime, *, dry_run: bool = False) -> DraftsRun:
    """The drafts due now, written into the Drafts folder (`mailer drafts run`, and the
    daemon's drafts job at `rules.draft_at`).

    With an IMAP account, its mail is scanned first, so that mail sent or
    answered since the last scan counts before anyone is drafted; then the
    drafts due are written, and the drafts introductions still lack (a
    template fixed since, a crash). A dry run scans nothing and writes
    nothing: it shows what the store as it is would give.
    """
    from mailer import drafts as drafting
    from mailer import intros

    store, rules, renderer, owner = app.store, app.rules, app.renderer, app.owner
    if dry_run:
        plan, outcomes = drafting.run(store, None, renderer, owner, rules, now)
        return DraftsRun(plan, outcomes, None)
    with contextlib.ExitStack() as stack:
        source = None
        if app.config.account is not None:
            source = stack.enter_context(app.imap_source())
        report = app.scan(source, now) if source is not None else None
        target = app.drafts_in(source)
        plan, outcomes = drafting.run(store, target, renderer, owner, rules, now)
        outcomes = [*outcomes, *intros.write_pending(app, target, now)]
    return DraftsRun(plan, outcomes, report)
