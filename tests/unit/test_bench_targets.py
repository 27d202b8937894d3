"""`make bench` judges each scale by the targets set for it (tests/bench/bench.py)."""

from tests.bench.bench import (
    DEFAULT_TARGETS,
    HEAVY_SCAN_TARGETS,
    HEAVY_TARGETS,
    TARGETS,
    targets_for,
)


def test_the_default_run_is_judged_by_every_target_set_for_it():
    judged = targets_for(100_000, 10_000)
    assert judged.keys() == DEFAULT_TARGETS.keys() | TARGETS.keys()
    assert judged["contacts_list_default_json_s"] == (0.3, "s")
    assert judged["scan_peak_rss_mb"] == (150.0, "MB")


def test_a_heavy_mailbox_is_judged_by_the_heavy_mailbox_targets():
    for messages in (400_000, 500_000):
        judged = targets_for(messages, 20_000)
        assert judged.keys() == HEAVY_SCAN_TARGETS.keys() | HEAVY_TARGETS.keys() | TARGETS.keys()
        assert judged["contacts_list_default_json_s"] == (0.5, "s")
        assert judged["scan_vs_raw_ratio"] == (1.3, "x")
        assert judged["scan_peak_rss_mb"] == (200.0, "MB")
        assert "plan_s" not in judged  # set at 10,000 contacts
    # Beyond the scale the first scan's limits were set at, what must stay flat still is.
    judged = targets_for(1_000_000, 20_000)
    assert judged.keys() == HEAVY_TARGETS.keys() | TARGETS.keys()
    assert judged["scan_100_new_overhead_s"] == (0.3, "s")


def test_other_scales_only_by_what_does_not_grow_with_the_contacts():
    for scale in ((20_000, 10_000), (100_000, 20_000), (399_999, 20_000)):
        assert targets_for(*scale) == TARGETS
