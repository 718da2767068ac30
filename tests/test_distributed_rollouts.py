"""run.backend=ray: Ray workers collect, the learner updates (rlagent/distributed_rollouts.py).

The plumbing is checked exactly (the joined rollout is, column for column, what local collectors
with the workers' seeds collect with the same weights; one worker is a local run, bit for bit);
learning, self-play and resume end to end on small runs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

import envs  # noqa: F401
from rlagent.algos import LEARNERS
from rlagent.config import resolve
from rlagent.errors import CheckpointError, ConfigError
from rlagent.fast.paths import select_fast_paths
from rlagent.make_env import make_env
from rlagent.monitor.trials import TrialStats
from rlagent.rollout import ENV_AXIS, Collector, Rollout
from rlagent.run import Trainer


def config_for(algo: str, env: str, tmp_path: Path, *overrides: str, steps: int = 1000):
    return resolve(algo, env, overrides=["run.progress=false", *overrides], extra={"total_steps": steps, "logdir": str(tmp_path)})


# --- the plumbing, exactly -----------------------------------------------------------------------
def columns(rollout: Rollout, name: str, start: int, stop: int):
    value = getattr(rollout, name)
    if value is None:
        return None
    index = (slice(None), slice(start, stop)) if ENV_AXIS[name] == 1 else slice(start, stop)
    return {k: v[index] for k, v in value.items()} if isinstance(value, dict) else value[index]


def assert_same(a, b, name: str) -> None:
    if a is None or b is None:
        assert a is None and b is None, name
    elif isinstance(a, dict):
        for key in a:
            assert_same(a[key], b[key], f"{name}.{key}")
    else:
        a = a.numpy() if isinstance(a, torch.Tensor) else a
        b = b.numpy() if isinstance(b, torch.Tensor) else b
        assert np.array_equal(a, b), name


CASES = {
    # NEXT_STEP autoreset, episodes truncated at 10 steps (bootstrapped from final_obs), a GRU's states
    "cartpole-gru": ("CartPole-v1", ("env.max_episode_steps=10", "policy.recurrent=gru", "policy.recurrent_hidden=8")),
    # SAME_STEP autoreset with final_obs in info, trial outcomes read by TrialStats from the infos
    "pwm": ("pwm", ()),
}


@pytest.mark.ray
@pytest.mark.parametrize("case", sorted(CASES))
def test_workers_columns_are_what_local_collectors_with_their_seeds_collect(ray_session, tmp_path: Path, case: str) -> None:
    from rlagent.distributed_rollouts import RemoteCollector, worker_seed

    env_name, overrides = CASES[case]
    config = config_for("ppo", env_name, tmp_path, "run.backend=ray", "run.num_workers=2", "run.num_envs=6", *overrides)
    steps, per_worker = 24, 3
    probe = make_env(env_name, per_worker, dict(config.env_kwargs))
    torch.manual_seed(0)
    policy = LEARNERS["ppo"].build_network(probe.single_observation_space, probe.single_action_space, config.policy, config.algorithm)
    remote_trials = TrialStats()
    remote = RemoteCollector(config, policy, probe, steps, observers=(remote_trials,))
    local_trials = [TrialStats() for _ in range(2)]
    local = [
        Collector(
            make_env(env_name, per_worker, dict(config.env_kwargs)),
            policy,
            steps,
            worker_seed(config.run.seed, k, per_worker),
            actor=select_fast_paths(policy, "auto").actor,
            observers=(local_trials[k],),
        )
        for k in range(2)
    ]
    try:
        for round_ in range(2):
            if round_:  # new weights: the workers must collect with these, not their old copy
                with torch.no_grad():
                    for parameter in policy.parameters():
                        parameter.add_(0.3 * torch.randn_like(parameter))
            joined = remote.collect()
            parts = [collector.collect() for collector in local]
            assert joined.num_envs == 6
            for field in fields(Rollout):
                for k, part in enumerate(parts):
                    assert_same(columns(joined, field.name, k * per_worker, (k + 1) * per_worker), getattr(part, field.name), field.name)
            # V(final_obs) of truncated steps, bootstrapped from the right env's state (one batched
            # call over all of them, so equal to float rounding of the different batch sizes)
            expected = np.concatenate([part.truncation_values(policy) for part in parts], axis=1)
            np.testing.assert_allclose(joined.truncation_values(policy), expected, rtol=1e-5, atol=1e-6)
        if case == "cartpole-gru":
            assert joined.truncated.any() and np.abs(expected).sum() > 0  # the bootstrap was exercised
        local_returns = sorted(r for collector in local for r in collector.stats.returns)
        assert sorted(remote.stats.returns) == local_returns and remote.stats.episodes == sum(c.stats.episodes for c in local)
        if case == "pwm":
            summary = remote_trials.summary()
            assert summary["trial/trials"] == sum(t.trials for t in local_trials) > 0
            outcomes = np.concatenate([c[0] for t in local_trials for c in t._chunks])
            assert summary["trial/accuracy"] == pytest.approx(float(np.mean(outcomes == 1)))
    finally:
        remote.close()


@pytest.mark.ray
def test_one_worker_is_a_local_run_bit_for_bit(ray_session, tmp_path: Path) -> None:
    settings = ("run.num_envs=4", "ppo.num_steps=32")
    local = Trainer(config_for("ppo", "CartPole-v1", tmp_path / "local", *settings, steps=4 * 32 * 3))
    local.train()
    remote = Trainer(config_for("ppo", "CartPole-v1", tmp_path / "ray", *settings, "run.backend=ray", "run.num_workers=1", steps=4 * 32 * 3))
    result = remote.train()
    for a, b in zip(local.policy.parameters(), remote.policy.parameters()):
        assert torch.equal(a, b)
    assert result.metrics["rollout/ep_rew_mean"] == local.collector.stats.summary()["rollout/ep_rew_mean"]

    # Its checkpoint holds the workers' envs: a local resume says how to resume it instead.
    saved = resolve("ppo", "CartPole-v1", base=remote.config.to_dict(), overrides=["run.backend=local", "run.num_workers=0"])
    with pytest.raises(CheckpointError, match="collected by 1 Ray workers: resume it with --set run.backend=ray --set run.num_workers=1"):
        Trainer(saved, run_dir=result.run_dir, resume=True)


# --- learning ------------------------------------------------------------------------------------
@pytest.mark.ray
@pytest.mark.slow
def test_ppo_with_two_workers_learns_cartpole_as_a_local_run_does(ray_session, tmp_path: Path) -> None:
    # The tuned preset at 16 envs: both pass 200 (of 500) by 32k steps (benchmarks/ray_rollouts.py prints the curves).
    settings = ("run.num_envs=16",)
    threshold, steps = 200.0, 32_768
    local = Trainer(config_for("ppo", "CartPole-v1", tmp_path / "local", *settings, steps=steps)).train()
    remote = Trainer(config_for("ppo", "CartPole-v1", tmp_path / "ray", *settings, "run.backend=ray", "run.num_workers=2", steps=steps)).train()
    assert local.metrics["rollout/ep_rew_mean"] >= threshold
    assert remote.metrics["rollout/ep_rew_mean"] >= threshold, remote.metrics["rollout/ep_rew_mean"]


# --- self-play and resume ------------------------------------------------------------------------
def selfplay_overrides(tmp_path: Path) -> list[str]:
    return [
        "env.size=3",
        "env.agent_color=random",
        "selfplay.enabled=true",
        "selfplay.snapshot_every=2",
        "selfplay.eval_every=2",
        "selfplay.eval_games=4",
        "selfplay.eval_positions=0",
        "ppo.num_steps=16",
        "run.num_envs=8",
        "run.checkpoint_every=2",
        "run.backend=ray",
        "run.num_workers=2",
        "run.progress=false",
        f"run.logdir={tmp_path}",
    ]


@pytest.mark.ray
def test_self_play_workers_seat_new_snapshots_and_a_resume_continues_exactly(ray_session, tmp_path: Path) -> None:
    total = {"total_steps": 16 * 8 * 4}
    straight = Trainer(resolve("ppo", "hex", overrides=selfplay_overrides(tmp_path / "a"), extra=total))
    straight.train()
    pool_dir = straight.run_dir / "pool"
    assert sorted(p.name for p in pool_dir.glob("step_*.pt")) == ["step_0.pt", "step_256.pt", "step_512.pt"]
    members = {m["name"]: m for m in json.loads((pool_dir / "pool.json").read_text())["members"]}
    # step_256 joined after update 2: the workers seated it in updates 3 and 4 (a 3x3 game lasts <= 5 moves)
    assert members["step_256"]["games"] > 0 and members["step_0"]["games"] > 0 and members["random"]["games"] > 0
    assert members["step_512"]["games"] == 0  # joined after the last rollout

    config = resolve("ppo", "hex", overrides=selfplay_overrides(tmp_path / "b"), extra=total)
    interrupted = Trainer(config)
    collect, calls = interrupted.collector.collect, {"n": 0}

    def collect_then_ctrl_c():
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return collect()

    interrupted.collector.collect = collect_then_ctrl_c
    result = interrupted.train()
    assert result.interrupted and result.updates == 3
    resumed = Trainer(resolve("ppo", "hex", base=config.to_dict()), run_dir=result.run_dir, resume=True)
    resumed.train()
    for a, b in zip(straight.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)
    assert [(m.name, m.games, m.learner_score) for m in straight.pool.members] == [(m.name, m.games, m.learner_score) for m in resumed.pool.members]
    assert straight.pool.eval_rows == resumed.pool.eval_rows


# --- configuration -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("run.backend=spark",), "run.backend must be one of local, ray, got 'spark'"),
        (("run.backend=ray",), "run.backend=ray needs run.num_workers >= 1"),
        (("run.backend=ray", "run.num_workers=3"), "run.num_workers=3 must divide run.num_envs=8"),
        (("run.num_workers=2",), "run.num_workers=2 needs run.backend=ray"),
        (("run.address=auto",), "run.address='auto' needs run.backend=ray"),
    ],
)
def test_bad_backend_settings_fail_in_one_line(tmp_path: Path, overrides: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as error:
        config_for("ppo", "CartPole-v1", tmp_path, "run.num_envs=8", *overrides)
    assert "\n" not in str(error.value)


def test_ray_backend_refuses_a_replay_learner(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run.backend=ray collects rollouts for on-policy learners .*rainbow learns from a replay"):
        config_for("rainbow", "CartPole-v1", tmp_path, "run.num_envs=2", "run.backend=ray", "run.num_workers=2")


def test_missing_ray_is_one_line_naming_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    config = config_for("ppo", "CartPole-v1", tmp_path, "run.backend=ray", "run.num_workers=2")
    with pytest.raises(ConfigError, match=r'^Ray is not installed: pip install -e "\.\[ray\]"'):
        Trainer(config)
    assert not any(tmp_path.iterdir())  # no run directory left behind
