"""What each dashboard page shows, gathered from the App: the same rows, lanes
and plan the CLI prints, so a count on a page is the count `mailer contacts
list --all --format json` gives. No HTML here (templates/web/ words it).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mailer.core.listing import NO_TIER, lanes_by_tier
from mailer.model import LANES
from mailer.web import charts

if TYPE_CHECKING:
    from mailer.app import App

SPAN = 24  # months the charts show
# Lanes that ask something of the owner: a tier's contacts outside them are in touch.
NEEDS_OWNER = ("owe_reply", "due", "rekindle")
TODAY = 15  # plan items the overview lists


def overview(app: App, now: datetime) -> dict[str, Any]:
    # The plan judges everyone (its `lanes`): the lanes it counts are the ones
    # `contacts list --all` prints, read and judged once for the whole page.
    plan = app.plan(now)
    tier_lane = [(j.contact.tier, j.lane) for j in plan.lanes.values()]
    lanes = Counter(lane for _, lane in tier_lane)
    grid = lanes_by_tier(tier_lane, list(app.rules.tiers))
    tiers = list(grid)
    health = []
    for t in tiers:
        if t == NO_TIER:
            continue
        # contacts the rules still look after: not pruned, not snoozed
        kept = [lane for tier, lane in tier_lane if tier == t and lane not in ("pruned", "snoozed")]
        ok = sum(1 for lane in kept if lane not in NEEDS_OWNER)
        health.append({"tier": t, "contacts": len(kept), "in_touch": ok, "share": _share(ok, kept)})
    months = charts.last_months(now, SPAN)
    series = charts.monthly((c.months for c in app.store.contacts_with_history()), months)
    return {
        "now": now,
        "total": len(tier_lane),
        "lanes": [(lane, lanes.get(lane, 0)) for lane in LANES],
        "tiers": tiers,
        "grid": grid,
        "lane_names": LANES,
        "health": health,
        "today": plan.items[:TODAY],
        "more_today": max(0, len(plan.items) - TODAY),
        "chart": charts.bars(series, label=f"mail in and out per month, last {SPAN} months"),
        "series": series,
    }


def contact(app: App, email: str, now: datetime) -> dict[str, Any] | None:
    store = app.store
    found = store.contact(email)
    if found is None:
        return None
    row = app.contact_rows(now, [found])[0]
    months = charts.last_months(now, SPAN)
    series = charts.monthly([store.history(found.email)], months)
    intros = [i for i in store.intros() if found.email in (i.a, i.b)]
    return {
        "now": now,
        "row": row,
        "chart": charts.bars(series, label=f"mail with {found.email} per month"),
        "series": series,
        "intros": intros,
        "logged": store.logged(found.email),
        "tiers": list(app.rules.tiers),
    }


def introductions(app: App, now: datetime) -> dict[str, Any]:
    from mailer import intros

    every = intros.listing(app, now)
    return {
        "now": now,
        "open": [i for i in every if i.is_open],
        "closed": [i for i in every if not i.is_open],
        "suggestions": intros.suggest(app, now, app.config.intros.suggest_limit),
    }


def _share(part: int, whole: list[Any]) -> int:
    return round(100 * part / len(whole)) if whole else 0
