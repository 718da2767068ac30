"""PPO and A2C: learned results on small tasks, KL early stopping, resume, NaN, masks, SB3 interop."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import envs  # noqa: F401
from rlagent.checkpoint import latest_checkpoint, load_checkpoint
from rlagent.config import resolve
from rlagent.errors import TrainingError
from rlagent.losses import normalize
from rlagent.monitor import read_metrics
from rlagent.run import Trainer


def make_trainer(algo: str, env: str, steps: int, tmp_path: Path, *overrides: str, seed: int = 0) -> Trainer:
    config = resolve(algo, env, overrides=["run.progress=false", *overrides], extra={"total_steps": steps, "seed": seed, "logdir": str(tmp_path)})
    return Trainer(config)


def train(algo: str, env: str, steps: int, tmp_path: Path, *overrides: str, seed: int = 0) -> Trainer:
    trainer = make_trainer(algo, env, steps, tmp_path, *overrides, seed=seed)
    trainer.train()
    return trainer


def evaluate(trainer: Trainer, episodes: int, seed: int = 123, deterministic: bool = True, **env_kwargs) -> np.ndarray:
    """Returns of ``episodes`` finished episodes of the trained policy on fresh envs."""
    from rlagent.make_env import make_env

    env = make_env(trainer.config.env, 16, {**trainer.config.env_kwargs, **env_kwargs})
    obs, _ = env.reset(seed=seed)
    policy = trainer.policy
    state = policy.initial_state(16)
    start = np.ones(16, dtype=bool)
    running, finished = np.zeros(16), []
    while len(finished) < episodes:
        actions, _, _, state = policy.act(obs, state, start, deterministic=deterministic)
        obs, reward, terminated, truncated, info = env.step(actions)
        if "illegal_action" in info:
            assert not info["illegal_action"].any(), "a masked action was played"
        running += reward
        start = terminated | truncated
        for i in np.flatnonzero(start):
            finished.append(running[i])
            running[i] = 0.0
    return np.asarray(finished[:episodes])


# --- pitfalls from the field ---------------------------------------------------------------------
def test_advantage_normalisation_is_parenthesised() -> None:
    advantages = torch.tensor([10.0, 11.0, 12.0, 13.0])
    normalized = normalize(advantages)
    assert abs(float(normalized.mean())) < 1e-6 and abs(float(normalized.std()) - 1.0) < 1e-5
    buggy = advantages - advantages.mean() / (advantages.std() + 1e-8)
    assert abs(float(buggy.mean())) > 1.0  # what the precedence bug gives, which the test would catch


def test_kl_early_stopping_stops_before_the_step_when_the_target_is_tiny(tmp_path: Path) -> None:
    tiny = make_trainer("ppo", "CartPole-v1", 512, tmp_path, "ppo.kl_target=1e-9", "ppo.num_epoch=5", "ppo.minibatch_size=64")
    metrics = tiny.algo.update(tiny.collector.collect())
    # The first minibatch sees the rollout policy itself (KL 0) and steps; the next one has moved.
    assert metrics["train/optimizer_steps"] == 1 and metrics["train/early_stopped"] == 1.0
    assert metrics["train/kl_stop_epoch"] < 1.0 and metrics["train/kl_stop_minibatch"] == 1

    large = make_trainer("ppo", "CartPole-v1", 512, tmp_path, "ppo.kl_target=1000", "ppo.num_epoch=5", "ppo.minibatch_size=64")
    metrics = large.algo.update(large.collector.collect())
    minibatches = (32 * 8) // 64
    assert metrics["train/optimizer_steps"] == 5 * minibatches and metrics["train/early_stopped"] == 0.0
    assert metrics["train/kl_stop_epoch"] == 5.0


# --- learned results -----------------------------------------------------------------------------
@pytest.mark.slow
def test_ppo_solves_cartpole(tmp_path: Path) -> None:
    trainer = train("ppo", "CartPole-v1", 40_000, tmp_path)
    returns = evaluate(trainer, 16)
    assert returns.mean() >= 195, returns


@pytest.mark.slow
def test_ppo_beats_random_on_3x3_hex(tmp_path: Path) -> None:
    trainer = train("ppo", "hex", 30_000, tmp_path, "env.size=3", "env.agent_color=random", "env.opening_moves=0", "ppo.entropy_coef=0.01")
    returns = evaluate(trainer, 400, agent_color="random")
    assert (returns > 0).mean() > 0.9


@pytest.mark.slow
def test_a2c_with_an_mlp_learns_3x3_hex_through_the_hand_derived_gradient(tmp_path: Path) -> None:
    # An MLP policy with masks takes rlagent.fast.analytic_loss, not autograd: it must learn too.
    trainer = train("a2c", "hex", 40_000, tmp_path, "env.size=3", "env.agent_color=random", "a2c.entropy_coef=0.01", "policy.encoder=mlp")
    assert trainer.algo.analytic is not None
    returns = evaluate(trainer, 400, agent_color="random")
    assert (returns > 0).mean() > 0.9


@pytest.mark.slow
def test_a2c_beats_random_on_3x3_hex(tmp_path: Path) -> None:
    trainer = train("a2c", "hex", 40_000, tmp_path, "env.size=3", "env.agent_color=random", "a2c.entropy_coef=0.01")
    returns = evaluate(trainer, 400, agent_color="random")
    assert (returns > 0).mean() > 0.9


class RecallEnv(gym.Env):
    """Show a bit at the first step, then blanks; after ``delay`` steps, reward naming the bit.

    A feed-forward policy sees only blanks when it must answer, so it cannot beat 50%.
    """

    def __init__(self, delay: int = 3) -> None:
        self.delay = delay
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(2)

    def _obs(self) -> np.ndarray:
        obs = np.zeros(3, np.float32)
        if self.t == 0:
            obs[self.bit] = 1.0
        elif self.t == self.delay:
            obs[2] = 1.0  # "answer now"
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.bit = 0, int(self.np_random.integers(2))
        return self._obs(), {}

    def step(self, action):
        if self.t < self.delay:
            self.t += 1
            return self._obs(), 0.0, False, False, {}
        return self._obs(), float(action == self.bit), True, False, {}


gym.register("rlagent-test/Recall-v0", entry_point=RecallEnv)


@pytest.mark.slow
def test_gru_ppo_remembers_what_a_feed_forward_policy_cannot(tmp_path: Path) -> None:
    common = ("ppo.num_steps=32", "ppo.num_minibatch=4", "ppo.learning_rate=0.003", "ppo.entropy_coef=0.01", "run.num_envs=16")
    gru = train("ppo", "rlagent-test/Recall-v0", 40_000, tmp_path, *common, "policy.recurrent=gru", "policy.recurrent_hidden=32")
    feed_forward = train("ppo", "rlagent-test/Recall-v0", 40_000, tmp_path, *common)
    assert evaluate(gru, 200).mean() > 0.95
    assert evaluate(feed_forward, 200).mean() < 0.65


# --- never lose a run ----------------------------------------------------------------------------
def _parameters(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.policy.parameters()]


@pytest.mark.parametrize("env, overrides", [("CartPole-v1", ()), ("hex", ("env.size=4", "env.agent_color=random"))])
def test_resume_ends_with_the_same_parameters_as_an_uninterrupted_run(tmp_path: Path, env: str, overrides: tuple) -> None:
    settings = ("run.checkpoint_every=2", "ppo.num_steps=16", "run.num_envs=4", *overrides)
    straight = train("ppo", env, 16 * 4 * 6, tmp_path / "a", *settings)

    config = resolve("ppo", env, overrides=["run.progress=false", *settings], extra={"total_steps": 16 * 4 * 6, "logdir": str(tmp_path / "b")})
    interrupted = Trainer(config)
    collect = interrupted.collector.collect
    calls = {"n": 0}

    def collect_then_ctrl_c():
        calls["n"] += 1
        if calls["n"] == 3:  # Ctrl-C in the middle of the third rollout
            os.kill(os.getpid(), signal.SIGINT)
        return collect()

    interrupted.collector.collect = collect_then_ctrl_c
    result = interrupted.train()
    assert result.interrupted and result.updates == 3  # it finished the update in progress, then saved
    assert int(load_checkpoint(latest_checkpoint(result.run_dir))["steps"]) == 3 * 64

    resumed = Trainer(resolve("ppo", env, base=config.to_dict()), run_dir=result.run_dir, resume=True)
    resumed.train()
    for a, b in zip(_parameters(straight), _parameters(resumed)):
        assert torch.equal(a, b)


# Measured from the wall clock, so never equal between two runs: compared by presence only.
_WALL_CLOCK = ("time", "time/fps", "train/update_seconds")


def _wall_clock(tag: str) -> bool:
    return tag.removeprefix("hparam/") in _WALL_CLOCK


def _same_value(a: float, b: float) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _tensorboard_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar as TensorBoard shows it: all event files of the run, purged points hidden."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def _after_the_event_files_of(run_dir: Path) -> None:
    """TensorBoard reads a run's event files in name order, and a name starts with the second it
    was created: wait for the next second so the resumed process's file sorts after the others, as
    it always does outside a test (two processes, seconds apart)."""
    newest = max(int(p.name.split(".")[3]) for p in run_dir.glob("events.out.tfevents.*"))
    while time.time() < newest + 1:
        time.sleep(0.02)


@pytest.mark.parametrize("stop", ["ctrl_c", "crash"])
def test_resumed_run_logs_the_same_rows_as_an_uninterrupted_run(tmp_path: Path, stop: str) -> None:
    """Several minibatches (so the shuffling generator matters) and episodes that run across
    updates (so do the running episode returns). ``ctrl_c``: stopped after update 3, which is saved
    and logged. ``crash``: an exception in update 4, after update 3's row was written but the last
    checkpoint is update 2's; the resumed run writes update 3's row again, and it must not appear twice."""
    settings = ("run.checkpoint_every=2", "ppo.num_steps=16", "run.num_envs=4", "ppo.minibatch_size=16", "ppo.num_epoch=4")
    steps = 16 * 4 * 6
    straight = train("ppo", "CartPole-v1", steps, tmp_path / "a", *settings)

    config = resolve("ppo", "CartPole-v1", overrides=["run.progress=false", *settings], extra={"total_steps": steps, "logdir": str(tmp_path / "b")})
    interrupted = Trainer(config)
    collect = interrupted.collector.collect
    calls = {"n": 0}

    def collect_then_stop():
        calls["n"] += 1
        if stop == "ctrl_c" and calls["n"] == 3:  # Ctrl-C in the middle of the third rollout
            os.kill(os.getpid(), signal.SIGINT)
        if stop == "crash" and calls["n"] == 4:
            raise RuntimeError("the machine went away")
        return collect()

    interrupted.collector.collect = collect_then_stop
    if stop == "ctrl_c":
        assert interrupted.train().interrupted
    else:
        with pytest.raises(RuntimeError, match="went away"):
            interrupted.train()
    run_dir = interrupted.run_dir
    assert [r["step"] for r in read_metrics(run_dir)] == [64, 128, 192]
    assert int(load_checkpoint(latest_checkpoint(run_dir))["steps"]) == (192 if stop == "ctrl_c" else 128)

    _after_the_event_files_of(run_dir)
    resumed = Trainer(resolve("ppo", "CartPole-v1", base=config.to_dict()), run_dir=run_dir, resume=True)
    resumed.train()

    expected, got = read_metrics(straight.run_dir), read_metrics(run_dir)
    assert [r["step"] for r in got] == [r["step"] for r in expected] == [64 * i for i in range(1, 7)]
    for want, row in zip(expected, got):
        assert row.keys() == want.keys(), row["step"]
        differ = [k for k in want if not _wall_clock(k) and not _same_value(want[k], row[k])]
        assert not differ, f"step {row['step']}: {[(k, want[k], row[k]) for k in differ]}"

    expected_tb, got_tb = _tensorboard_scalars(straight.run_dir), _tensorboard_scalars(run_dir)
    assert got_tb.keys() == expected_tb.keys()
    assert "rollout/ep_rew_mean" in got_tb and "train/n_updates" in got_tb
    for tag, want in expected_tb.items():
        assert [s for s, _ in got_tb[tag]] == [s for s, _ in want], tag
        if not _wall_clock(tag):
            assert all(_same_value(a, b) for (_, a), (_, b) in zip(want, got_tb[tag])), (tag, want, got_tb[tag])


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    config = resolve(
        "ppo",
        "CartPole-v1",
        overrides=["run.progress=false", "run.checkpoint_every=1", "ppo.num_steps=16"],
        extra={"total_steps": 16 * 8 * 10, "logdir": str(tmp_path)},
    )
    trainer = Trainer(config)
    update = trainer.algo.update

    def poisoned_update(rollout):
        if trainer.algo.updates_done == 2:
            rollout.rewards[:] = np.nan
        return update(rollout)

    trainer.algo.update = poisoned_update
    with pytest.raises(TrainingError, match="the loss became nan at update 3") as error:
        trainer.train()
    assert "\n" not in str(error.value)
    last = latest_checkpoint(trainer.run_dir)
    assert last is not None and int(load_checkpoint(last)["steps"]) == 2 * 16 * 8
    assert all(torch.isfinite(v).all() for v in load_checkpoint(last)["model"].values())


def test_run_directory_holds_config_metrics_and_tensorboard(tmp_path: Path) -> None:
    trainer = train("ppo", "CartPole-v1", 1024, tmp_path)
    run_dir = trainer.run_dir
    import json

    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["ppo"]["num_epoch"] == 20 and saved["run"]["total_steps"] == 1024
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    for tag in (
        "rollout/ep_rew_mean",
        "train/approx_kl",
        "train/clip_fraction",
        "train/value_loss",
        "train/policy_gradient_loss",
        "train/entropy_loss",
        "train/explained_variance",
        "train/learning_rate",
        "train/n_updates",
        "time/fps",
        "train/kl_stop_epoch",
        "train/update_seconds",
        "grad/norm_total",
        "grad/norm_policy_head",
        "grad/norm_value_head",
        "grad/norm_trunk",
        "train/policy_value_loss_ratio",
        "value/mean",
        "value/std",
    ):
        assert tag in record, tag
    assert list(run_dir.glob("events.out.tfevents.*"))


# --- interoperability ----------------------------------------------------------------------------
def test_our_envs_train_with_stable_baselines3_and_maskable_ppo() -> None:
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO as SB3PPO

    SB3PPO("MultiInputPolicy", gym.make("rlagent/Hex-v0", size=3), n_steps=64, batch_size=32, seed=0).learn(128)
    model = MaskablePPO("MultiInputPolicy", gym.make("rlagent/Hex-v0", size=3), n_steps=64, batch_size=32, seed=0)
    model.learn(128)
    env = gym.make("rlagent/Hex-v0", size=3)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks())
    assert obs["action_mask"][int(action)] == 1
