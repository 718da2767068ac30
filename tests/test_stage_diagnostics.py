"""Realised returns, policy/value diagnostics by stage, calibration and their PNGs, on hand data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rlagent.monitor.outcomes import realised_returns
from rlagent.monitor.plots import reliability_png, series_png, value_by_stage_png, value_scatter_png
from rlagent.monitor.stages import (
    calibration,
    calibration_metrics,
    move_edges,
    period_labels,
    policy_by_stage,
    stage_labels,
    value_by_stage,
    value_return_summary,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _two_env_rollout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T=5, N=2. Env 0: a game won at t=1 (+1), then one lost at t=4 (-1). Env 1: a time limit
    cuts an episode at t=2 (reward 1 per step), then an episode runs past the rollout."""
    rewards = np.array([[0, 1], [1, 1], [0, 1], [0, 1], [-1, 1]], dtype=np.float32)
    terminated = np.zeros((5, 2), dtype=bool)
    truncated = np.zeros((5, 2), dtype=bool)
    terminated[1, 0] = terminated[4, 0] = True
    truncated[2, 1] = True
    return rewards, terminated, truncated


def test_realised_returns_discount_each_episode_to_its_own_end() -> None:
    returns, outcome, resolved = realised_returns(*_two_env_rollout(), discount=0.5)
    np.testing.assert_allclose(returns[:, 0], [0.5, 1.0, -0.25, -0.5, -1.0])
    np.testing.assert_allclose(returns[:3, 1], [1.75, 1.5, 1.0])
    np.testing.assert_allclose(outcome[:, 0], [1, 1, -1, -1, -1])


def test_steps_of_an_episode_past_the_rollout_are_unresolved() -> None:
    returns, outcome, resolved = realised_returns(*_two_env_rollout(), discount=0.5)
    assert resolved[:, 0].all()
    np.testing.assert_array_equal(resolved[:, 1], [True, True, True, False, False])
    assert np.isnan(returns[3:, 1]).all() and np.isnan(outcome[3:, 1]).all()


def test_truncated_episodes_are_resolved_but_have_no_final_outcome() -> None:
    """The rule: a cut episode's reward-to-go is known (censored), its game result is not."""
    returns, outcome, resolved = realised_returns(*_two_env_rollout(), discount=1.0)
    assert resolved[:3, 1].all()
    np.testing.assert_allclose(returns[:3, 1], [3, 2, 1])
    assert np.isnan(outcome[:3, 1]).all()


def test_invalid_reset_steps_are_unresolved() -> None:
    rewards, terminated, truncated = _two_env_rollout()
    valid = np.ones((5, 2), dtype=bool)
    valid[2, 0] = False
    returns, outcome, resolved = realised_returns(rewards, terminated, truncated, 0.5, valid=valid)
    assert not resolved[2, 0] and np.isnan(returns[2, 0]) and np.isnan(outcome[2, 0])
    assert resolved[3, 0] and outcome[3, 0] == -1


def test_stage_labels_bucket_moves_and_name_periods() -> None:
    buckets, labels = stage_labels(np.array([[0, 4], [5, 12]]), [0, 5, 10])
    assert labels == ["0-4", "5-9", "10+"]
    np.testing.assert_array_equal(buckets, [[0, 0], [1, 2]])
    assert stage_labels(np.array([3]), [0, 1, 2, 5])[1] == ["0", "1", "2-4", "5+"]
    assert stage_labels(np.array([-1]), [0, 5])[0][0] == -1
    assert move_edges(24, 5) == [0, 5, 10, 15, 20]
    assert move_edges(2, 5) == [0, 1, 2]
    periods, names = period_labels(np.array([0, 2, 3, -1]), ["fixation", "stimulus", "decision"])
    assert names == ["fixation", "stimulus", "decision"]
    np.testing.assert_array_equal(periods, [0, 2, -1, -1])


def _uniform_over_legal(legal: np.ndarray) -> np.ndarray:
    return legal / legal.sum(axis=1, keepdims=True)


def test_uniform_policy_over_k_legal_moves_has_entropy_log_k_and_branching_k() -> None:
    legal = np.zeros((6, 9), dtype=bool)
    legal[:3, :3] = True  # opening bucket: 3 legal moves
    legal[3:, :7] = True  # later bucket: 7
    bucket = np.array([0, 0, 0, 1, 1, 1])
    metrics = policy_by_stage(_uniform_over_legal(legal), bucket, ["early", "late"], legal, masked=True)
    assert metrics["policy/by_stage/early/entropy"] == pytest.approx(math.log(3))
    assert metrics["policy/by_stage/early/branching"] == pytest.approx(3)
    assert metrics["policy/by_stage/late/branching"] == pytest.approx(7)
    assert metrics["policy/by_stage/late/top_prob"] == pytest.approx(1 / 7)
    assert metrics["policy/entropy"] == pytest.approx((math.log(3) + math.log(7)) / 2)
    assert metrics["policy/branching"] == pytest.approx(math.sqrt(21))
    assert not any(tag.endswith("legal_mass") for tag in metrics)  # masked: 1 by construction


def test_top_prob_and_legal_mass_of_an_unmasked_policy() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [1.0, 0.0, 0.0]])
    legal = np.array([[True, True, False], [False, True, True], [True, False, False]])
    bucket = np.array([0, 1, -1])  # the last sample has no stage: left out everywhere
    metrics = policy_by_stage(probs, bucket, ["a", "b"], legal, masked=False)
    assert metrics["policy/by_stage/a/top_prob"] == pytest.approx(0.7)
    assert metrics["policy/by_stage/a/legal_mass"] == pytest.approx(0.9)
    assert metrics["policy/by_stage/b/legal_mass"] == pytest.approx(0.5)
    assert metrics["policy/legal_mass"] == pytest.approx(0.7)
    assert metrics["policy/top_prob"] == pytest.approx(0.6)


def test_value_mse_and_sign_accuracy_by_stage() -> None:
    values = np.array([0.5, -0.5, 0.95, 0.2, -0.3, 0.0])
    outcomes = np.array([1.0, 1.0, 1.0, -1.0, 0.0, np.nan])  # a draw; an unresolved step
    bucket = np.array([0, 0, 1, 1, 1, 1])
    metrics = value_by_stage(values, outcomes, bucket, ["open", "end", "never"])
    assert metrics["value/by_stage/open/mse"] == pytest.approx((0.25 + 2.25) / 2)
    assert metrics["value/by_stage/open/sign_accuracy"] == pytest.approx(0.5)
    assert metrics["value/by_stage/end/count"] == 3
    assert metrics["value/by_stage/end/sign_accuracy"] == pytest.approx(0.5)  # the draw is not counted
    assert metrics["value/by_stage/end/mse"] == pytest.approx((0.05**2 + 1.2**2 + 0.3**2) / 3)
    assert metrics["value/by_stage/end/mean"] == pytest.approx((0.95 + 0.2 - 0.3) / 3)
    assert metrics["value/by_stage/end/extremity"] == pytest.approx(1 / 3)
    assert not any("never" in tag for tag in metrics)  # an empty bucket has no tags, not NaNs


def test_value_by_stage_grades_only_resolved_steps_of_a_rollout() -> None:
    rewards, terminated, truncated = _two_env_rollout()
    _, outcome, _ = realised_returns(rewards, terminated, truncated, 1.0)
    values = np.full((5, 2), 0.5)
    metrics = value_by_stage(values, outcome, np.zeros((5, 2), dtype=int), ["all"])
    assert metrics["value/by_stage/all/count"] == 5  # env 0 only: env 1 was cut, then unresolved
    assert metrics["value/by_stage/all/sign_accuracy"] == pytest.approx(2 / 5)


def test_perfect_calibration_has_zero_ece() -> None:
    centres = np.arange(10) * 0.1 + 0.05
    predicted = np.repeat(centres, 1000)
    wins = np.concatenate([np.arange(1000) < round(p * 1000) for p in centres])
    cal = calibration(2 * predicted - 1, np.where(wins, 1.0, -1.0))
    assert cal.ece == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(cal.frequency, centres)
    np.testing.assert_array_equal(cal.counts, 1000)


def test_overconfident_predictor_has_ece_0_495() -> None:
    outcomes = np.where(np.arange(1000) % 2 == 0, 1.0, -1.0)
    cal = calibration(np.full(1000, 0.99), outcomes)
    assert cal.ece == pytest.approx(0.495)
    assert calibration_metrics(cal) == {"value/ece": pytest.approx(0.495)}
    assert cal.predicted[-1] == pytest.approx(0.995) and cal.frequency[-1] == pytest.approx(0.5)
    assert cal.counts.sum() == 1000 and np.isnan(cal.frequency[0])


def test_calibration_clips_values_and_skips_unknown_outcomes() -> None:
    cal = calibration(np.array([3.0, -2.0, 0.0]), np.array([1.0, -1.0, np.nan]), bins=4)
    np.testing.assert_array_equal(cal.counts, [1, 0, 0, 1])
    assert cal.ece == pytest.approx(0.0)
    assert calibration_metrics(calibration(np.zeros(2), np.full(2, np.nan))) == {}


def test_a_draw_is_not_a_win() -> None:
    cal = calibration(np.array([0.0, 0.0]), np.array([0.0, 1.0]), bins=2)
    assert cal.frequency[1] == pytest.approx(0.5)


def test_value_return_summary() -> None:
    returns = np.array([1.0, 2.0, 3.0, np.nan])
    metrics = value_return_summary(np.array([1.5, 2.5, 3.5, 9.0]), returns)
    assert metrics == {"value/return_bias": pytest.approx(0.5), "value/return_mse": pytest.approx(0.25), "value/return_corr": pytest.approx(1.0)}
    assert "value/return_corr" not in value_return_summary(np.zeros(3), returns[:3])


def _assert_png(path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_each_plot_writes_a_valid_png(tmp_path) -> None:
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, 5000)
    outcomes = np.where(rng.random(5000) < (values + 1) / 2, 1.0, -1.0)
    _assert_png(reliability_png(calibration(values, outcomes), tmp_path / "reliability.png", "hex 5x5"))
    table = value_by_stage(values, outcomes, rng.integers(0, 3, 5000), ["0-4", "5-9", "10+"])
    _assert_png(value_by_stage_png(table, tmp_path / "by_stage.png"))
    _assert_png(value_scatter_png(values, outcomes, tmp_path / "scatter.png"))
    rows = [{"step": 0, "grad/norm": 1.0}, {"step": 10, "grad/norm": 0.5, "train/value_loss": 0.3}, {"step": 20}]
    panels = {"gradient norms": ["grad/norm", "grad/absent"], "loss balance": ["train/value_loss"], "empty": ["nothing"]}
    _assert_png(series_png(rows, panels, tmp_path / "nested" / "series.png", "run"))


def test_a_failed_write_leaves_the_old_png_whole(tmp_path, monkeypatch) -> None:
    path = tmp_path / "scatter.png"
    path.write_bytes(b"old picture")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("rlagent.monitor.plots.os.replace", fail)
    with pytest.raises(OSError):
        value_scatter_png(np.zeros(3), np.zeros(3), path)
    assert path.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["scatter.png"]
