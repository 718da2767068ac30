"""The stuck-run detector on synthetic runs: each rule fires on the failure it names and on
nothing else, stays quiet on a healthy run and on tags that are missing, and cools down."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable

import pytest

from rlagent.monitor.stuck import RULES, StuckDetector, StuckSettings

STEPS_PER_UPDATE = 1024
Rows = list[dict[str, float]]


def healthy(updates: int = 120, seed: int = 0) -> Rows:
    """PPO rows shaped like a healthy CartPole run: entropy falling slowly, KL ~0.01, the critic
    learning (EV 0 -> 0.9), a noisy gradient norm, the return rising."""
    rng = random.Random(seed)
    rows: Rows = []
    for i in range(updates):
        progress = i / updates
        rows.append(
            {
                "step": (i + 1) * STEPS_PER_UPDATE,
                "time": float(i),
                "train/entropy_loss": -(0.69 - 0.35 * progress) * rng.uniform(0.95, 1.05),
                "train/approx_kl": rng.uniform(0.002, 0.02),
                "train/clip_fraction": rng.uniform(0.03, 0.2),
                "train/explained_variance": min(0.95, 0.05 + 2 * progress) * rng.uniform(0.8, 1.0),
                "train/early_stopped": 0.0,
                "train/optimizer_steps": 16.0,
                "train/learning_rate": 3e-4,
                "train/value_loss": rng.uniform(0.5, 30.0),
                "train/policy_gradient_loss": rng.uniform(-0.02, 0.02),
                "grad/norm_total": rng.uniform(2.0, 12.0),
                "value/mean": 40 * progress + rng.uniform(0, 2),
                "rollout/ep_rew_mean": 20 + 280 * progress,
            }
        )
    return rows


def edited(rows: Rows, start: int, **tags: Callable[[int], float]) -> Rows:
    """A copy of ``rows`` with each tag replaced by ``f(k)`` from row ``start`` on (k counts
    from 0 there); tag names use ``__`` for ``/``."""
    out = [dict(row) for row in rows]
    for i, row in enumerate(out[start:]):
        for name, f in tags.items():
            row[name.replace("__", "/")] = f(i)
    return out


def stuck_run() -> Rows:
    return edited(
        healthy(),
        0,
        train__approx_kl=lambda k: 2e-6,
        train__clip_fraction=lambda k: 0.0,
        train__entropy_loss=lambda k: -0.69 + 0.001 * (k % 3),
        rollout__ep_rew_mean=lambda k: 21 + (k % 4) * 0.3,
    )


def collapse_run() -> Rows:
    return edited(
        healthy(),
        0,
        train__entropy_loss=lambda k: -max(0.69 * 0.85**k, 0.004),
        rollout__ep_rew_mean=lambda k: 21 - (k % 5) * 0.2,
    )


def kl_stop_run() -> Rows:
    return edited(healthy(), 0, train__early_stopped=lambda k: 1.0, train__optimizer_steps=lambda k: 1.0 + k % 2)


def ev_zero_run() -> Rows:
    # a critic that predicts nothing in a run that is not getting anywhere either
    return edited(
        healthy(),
        0,
        train__explained_variance=lambda k: 0.03 * math.sin(k),
        rollout__ep_rew_mean=lambda k: 21 + (k % 4) * 0.3,
        value__mean=lambda k: 1.0 + 0.1 * math.sin(k),  # values far smaller than the critic's error
    )


def explosion_run() -> Rows:
    return edited(healthy(), 60, grad__norm_total=lambda k: 300.0 if k < 2 else 6.0)


def vanishing_run() -> Rows:
    return edited(healthy(), 0, grad__norm_total=lambda k: 1e-8 * (1 + k % 3))


def decayed_gradient_run() -> Rows:
    """Four orders of magnitude down, though far above the absolute floor of 1e-6."""
    return edited(healthy(), 0, grad__norm_total=lambda k: max(8.0 * 0.7**k, 1e-4))


def runaway_value_run() -> Rows:
    return edited(healthy(), 50, train__value_loss=lambda k: 5.0 * 3.0**k)


def huge_kl_run() -> Rows:
    return edited(healthy(), 70, train__approx_kl=lambda k: 4.0 if k == 0 else 0.01)


FAILING: dict[str, tuple[str, Callable[[], Rows]]] = {
    "stuck": ("stuck_mode", stuck_run),
    "collapse": ("entropy_collapse", collapse_run),
    "kl_stop": ("kl_early_stop_always", kl_stop_run),
    "ev_zero": ("explained_variance_zero", ev_zero_run),
    "explosion": ("gradient_explosion", explosion_run),
    "vanishing": ("gradient_vanishing", vanishing_run),
    "decayed_gradient": ("gradient_vanishing", decayed_gradient_run),
    "runaway_value": ("nan_precursor", runaway_value_run),
    "huge_kl": ("nan_precursor", huge_kl_run),
}


def rules_fired(rows: Rows, **kwargs) -> list[str]:
    return [w.rule for w in StuckDetector(**kwargs).scan(rows)]


def test_every_rule_has_a_failing_run():
    assert {rule for rule, _ in FAILING.values()} == set(RULES)


@pytest.mark.parametrize("name", FAILING)
def test_each_failure_fires_its_rule_and_no_other(name):
    rule, make = FAILING[name]
    warnings = StuckDetector().scan(make())
    assert {w.rule for w in warnings} == {rule}
    for w in warnings:
        assert w.message and "\n" not in w.message and "\r" not in w.message
        assert any(f"{section}." in w.message for section in ("ppo", "policy"))  # a setting to change


@pytest.mark.parametrize("seed", range(3))
def test_a_healthy_run_raises_nothing(seed):
    assert rules_fired(healthy(200, seed)) == []


def test_explosion_fires_on_the_update_it_happens():
    (warning,) = StuckDetector().scan(explosion_run())
    assert warning.step == 62 * STEPS_PER_UPDATE  # rows 60 and 61: the second of the two
    assert "grad/norm_total" in warning.message and "300" in warning.message


def test_explained_variance_waits_for_the_warm_up():
    warning = StuckDetector().scan(ev_zero_run())[0]
    assert warning.step == 30 * STEPS_PER_UPDATE  # 10 updates of warm-up, then a full window


def test_geometric_growth_fires_before_the_values_get_large():
    warning = StuckDetector().scan(runaway_value_run())[0]
    assert warning.step == 56 * STEPS_PER_UPDATE  # the fifth tripling, row 55
    assert "train/value_loss" in warning.message


def test_near_misses_stay_quiet():
    """What a healthy run does and the rules must tell apart from the failure they look for."""
    base = healthy()
    # one gradient spike, however large
    assert rules_fired(edited(base, 60, grad__norm_total=lambda k: 3000.0 if k == 0 else 6.0)) == []
    # a value loss that jumps 1000x on one update and comes back (a surprising episode)
    assert rules_fired(edited(base, 60, train__value_loss=lambda k: 0.04 * 1000 ** (k % 2))) == []
    # growth of the critic's output from ~0 while it warms up
    assert rules_fired(edited(base, 0, value__mean=lambda k: min(0.01 * 3**k, 40.0))) == []
    # a gradient norm that decays 100x, as a converging run's does
    assert rules_fired(edited(base, 0, grad__norm_total=lambda k: max(10 * 0.9**k, 0.1))) == []
    # the critic predicts nothing only during warm-up
    assert rules_fired(edited(base, 0, train__explained_variance=lambda k: 0.01 if k < 20 else 0.8)) == []
    # KL early stopping on most updates, but not on all of a window
    assert rules_fired(edited(base, 0, train__early_stopped=lambda k: float(k % 10 != 0))) == []
    # an entropy that collapses after the return rose
    assert rules_fired(edited(base, 40, train__entropy_loss=lambda k: -0.001)) == []


def test_stuck_mode_needs_a_policy_that_could_move():
    stuck = stuck_run()
    # A2C: one optimiser step measures the KL before it, so approx_kl is 0 by construction
    assert rules_fired(edited(stuck, 0, train__optimizer_steps=lambda k: 1.0)) == []
    # a learning rate annealed below half its start makes small updates on purpose
    assert rules_fired(edited(stuck, 3, train__learning_rate=lambda k: 1e-4)) == []
    # a return that keeps rising is progress, however small the updates
    assert rules_fired(edited(stuck, 0, rollout__ep_rew_mean=lambda k: 20 + 5 * k)) == []


def test_a_converged_run_is_not_stuck():
    """Tiny updates, flat return and flat entropy, but the entropy already fell far: done, not stuck."""
    rows = edited(
        healthy(),
        60,
        train__approx_kl=lambda k: 1e-6,
        train__clip_fraction=lambda k: 0.0,
        train__entropy_loss=lambda k: -0.2,
        rollout__ep_rew_mean=lambda k: 500.0,
    )
    assert rules_fired(rows) == []


@pytest.mark.parametrize("name", FAILING)
def test_missing_tags_never_fire(name):
    """Remove what each rule reads (or turn it into NaN, as a dead run logs it): no warning."""
    rule, make = FAILING[name]
    read = {
        "stuck_mode": ("train/approx_kl", "train/entropy_loss", "rollout/ep_rew_mean"),
        "entropy_collapse": ("train/entropy_loss", "rollout/ep_rew_mean"),
        "kl_early_stop_always": ("train/early_stopped",),
        "explained_variance_zero": ("train/explained_variance",),
        "gradient_explosion": ("grad/norm_total",),
        "gradient_vanishing": ("grad/norm_total",),
        "nan_precursor": ("train/approx_kl", "train/value_loss"),
    }[rule]
    rows = make()
    for tag in read:
        without = [{k: v for k, v in row.items() if k != tag} for row in rows]
        nan = [{**row, tag: float("nan")} for row in rows]
        if rule != "nan_precursor":  # it watches each of its tags on its own
            assert rule not in rules_fired(without), tag
            assert rule not in rules_fired(nan), tag
    stripped = [{k: v for k, v in row.items() if k not in read} for row in rows]
    assert rule not in rules_fired(stripped)


def test_rows_without_any_known_tag_or_with_odd_values_raise_nothing():
    rows = [{"step": i, "time": 0.1 * i, "eval/score": 1.0, "train/approx_kl": "n/a", "train/early_stopped": True} for i in range(100)]
    assert rules_fired(rows) == []


def test_rainbow_rows_use_only_what_rainbow_logs():
    rng = random.Random(1)
    rows = [{"step": i, "train/loss": rng.uniform(0.1, 1), "train/q_mean": 1 + 0.05 * i, "train/td_error": 0.3} for i in range(150)]
    assert rules_fired(rows) == []
    diverging = [dict(row, **{"train/q_mean": 2.0 * 3.0 ** max(i - 100, 0)}) for i, row in enumerate(rows)]
    assert rules_fired(diverging, section="rainbow")[:1] == ["nan_precursor"]
    assert "rainbow.learning_rate" in StuckDetector(section="rainbow").scan(diverging)[0].message


def test_ppo_early_stop_before_any_step_is_not_a_vanishing_gradient():
    """PPO logs a gradient norm of 0.0 when the KL stop came before the first optimiser step."""
    rows = edited(healthy(), 0, train__optimizer_steps=lambda k: 0.0, grad__norm_total=lambda k: 0.0, train__early_stopped=lambda k: 1.0)
    assert set(rules_fired(rows)) == {"kl_early_stop_always"}


def test_cooldown_repeats_a_persisting_problem_once_per_window():
    rows = ev_zero_run()[:100]
    for window in (10, 20):
        warnings = StuckDetector(window=window).scan(rows)
        updates = [w.step // STEPS_PER_UPDATE for w in warnings]
        assert len(updates) >= 2
        assert all(b - a == window for a, b in zip(updates, updates[1:]))
    # each rule has its own cooldown: one firing does not silence another
    both = edited(ev_zero_run(), 60, grad__norm_total=lambda k: 300.0)
    assert {"explained_variance_zero", "gradient_explosion"} <= set(rules_fired(both))


def test_observe_keeps_only_the_window():
    detector = StuckDetector(window=5)
    for row in healthy(30):
        detector.observe(int(row["step"]), row)
    state = detector.state_dict()
    assert len(state["rows"]) == 5 and state["rows"][-1]["step"] == 30 * STEPS_PER_UPDATE
    assert "time" not in state["rows"][0] and "train/policy_gradient_loss" not in state["rows"][0]


def test_scan_equals_observing_and_leaves_the_detector_alone():
    rows = ev_zero_run()
    detector = StuckDetector()
    before = detector.state_dict()
    scanned = detector.scan(rows)
    assert detector.state_dict() == before
    observed = [w for row in rows for w in detector.observe(int(row["step"]), row)]
    assert observed == scanned


@pytest.mark.parametrize("cut", [5, 37, 50])
def test_a_resumed_detector_warns_as_the_uninterrupted_one(cut):
    rows = edited(ev_zero_run(), 40, grad__norm_total=lambda k: 300.0 if k < 3 else 6.0)
    uninterrupted = StuckDetector().scan(rows)
    first = StuckDetector()
    warnings = [w for row in rows[:cut] for w in first.observe(int(row["step"]), row)]
    resumed = StuckDetector()
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    warnings += [w for row in rows[cut:] for w in resumed.observe(int(row["step"]), row)]
    assert warnings == uninterrupted


def test_settings_move_the_thresholds():
    rows = edited(ev_zero_run(), 0, train__explained_variance=lambda k: 0.2)
    assert rules_fired(rows) == []
    assert set(rules_fired(rows, settings=StuckSettings(ev_zero=0.3))) == {"explained_variance_zero"}


def test_a_window_of_one_is_refused():
    with pytest.raises(ValueError, match="window"):
        StuckDetector(window=1)


def test_stuck_mode_with_a_vanished_gradient_points_at_dead_layers_not_a_larger_step():
    # the step-size advice fits a policy that could move; with the gradient gone (a dead network)
    # a larger learning rate is what killed it
    plain = [w for w in StuckDetector().scan(stuck_run()) if w.rule == "stuck_mode"]
    assert plain and "raise ppo.learning_rate" in plain[0].message
    dead = edited(stuck_run(), 0, grad__norm_total=lambda k: 1e-9)
    said = [w for w in StuckDetector().scan(dead) if w.rule == "stuck_mode"]
    assert said and "dead layers" in said[0].message and "raise ppo.learning_rate" not in said[0].message


def test_explained_variance_near_zero_is_no_alarm_when_the_critic_fits_returns_that_hardly_vary():
    # every game won: returns ~0.95 with little spread, a critic within 0.01 of them, EV ~0
    fitted = edited(ev_zero_run(), 0, value__mean=lambda k: 0.95, value__std=lambda k: 0.02, train__value_loss=lambda k: 0.01)
    assert "explained_variance_zero" not in rules_fired(fitted)
    # the same EV with a critic as far off as the values are large (the broken Hex run: loss 0.37, values ~0)
    lost = edited(ev_zero_run(), 0, value__mean=lambda k: -0.14, value__std=lambda k: 0.01, train__value_loss=lambda k: 0.37)
    assert "explained_variance_zero" in rules_fired(lost)
