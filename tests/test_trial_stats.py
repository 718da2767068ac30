"""Trial-level metrics: outcomes read from info (and final_info at episode ends), windowed."""

from __future__ import annotations

import numpy as np

from rlagent.monitor.trials import CORRECT, MISS, NONE, WRONG, TrialStats, step_field


def test_step_field_reads_final_info_where_episodes_ended() -> None:
    info = {"outcome": np.array([0, 1, 0]), "final_info": {"outcome": np.array([2, 0, 3])}}
    np.testing.assert_array_equal(step_field(info, "outcome", np.array([True, False, True])), [2, 1, 3])
    assert step_field(info, "missing", np.zeros(3, bool)) is None


def test_accuracy_split_by_condition_response_rate_and_reward() -> None:
    stats = TrialStats()
    no_end = np.zeros(4, bool)
    stats.update({"outcome": np.array([NONE] * 4), "trivial": np.zeros(4, bool)}, no_end, np.zeros(4))
    assert stats.summary() == {}
    outcome = np.array([CORRECT, WRONG, MISS, CORRECT])
    trivial = np.array([True, False, False, False])
    stats.update({"outcome": outcome, "trivial": trivial}, no_end, (outcome == CORRECT).astype(float))
    summary = stats.summary()
    assert summary["trial/accuracy"] == 0.5 and summary["trial/accuracy_trivial"] == 1.0
    assert summary["trial/accuracy_nontrivial"] == 1 / 3
    assert summary["trial/response_rate"] == 0.75 and summary["trial/reward_per_trial"] == 0.5
    assert summary["trial/trials"] == 4


def test_window_keeps_the_most_recent_trials() -> None:
    stats = TrialStats(window=10)
    for _ in range(4):
        stats.update({"outcome": np.full(5, WRONG)}, np.zeros(5, bool), np.zeros(5))
    for _ in range(2):
        stats.update({"outcome": np.full(5, CORRECT)}, np.zeros(5, bool), np.ones(5))
    summary = stats.summary()
    assert summary["trial/accuracy"] == 1.0 and summary["trial/trials"] == 30
    restored = TrialStats(window=10)
    restored.load_state_dict(stats.state_dict())
    assert restored.summary() == summary


def test_trial_metrics_reach_the_run_logs_for_every_learner(tmp_path) -> None:
    from rlagent.config import resolve
    from rlagent.run import Trainer

    for algo in ("ppo", "reinforce"):
        config = resolve(algo, "pwm", overrides=["run.progress=false", "run.num_envs=8"], extra={"total_steps": 8 * 15 * 2, "logdir": str(tmp_path)})
        metrics = Trainer(config).train().metrics
        for key in (
            "trial/accuracy",
            "trial/accuracy_nontrivial",
            "trial/accuracy_trivial",
            "trial/response_rate",
            "trial/reward_per_trial",
            "value/critic_bias_trial_start",
            "train/explained_variance",
            "grad/norm_total",
        ):
            assert key in metrics and np.isfinite(metrics[key]), (algo, key)
