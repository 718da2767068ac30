"""Rainbow and DQN through the run loop: exact resume with the replay, metrics, and learned results."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

from rlagent.agent import Agent
from rlagent.checkpoint import latest_checkpoint, load_checkpoint
from rlagent.config import resolve
from rlagent.episodes import play_episodes
from rlagent.monitor import read_metrics
from rlagent.run import Trainer

TINY = ("policy.hidden_sizes=[32]", "policy.activation=relu", "run.num_envs=2")


def _config(algo: str, env: str, steps: int, logdir: Path, *overrides: str, seed: int = 0):
    return resolve(algo, env, overrides=["run.progress=false", *overrides], extra={"total_steps": steps, "seed": seed, "logdir": str(logdir)})


def _parameters(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.policy.parameters()]


def _interrupt_at(trainer: Trainer, call: int) -> None:
    collect, calls = trainer.collector.collect, {"n": 0}

    def collect_then_ctrl_c():
        calls["n"] += 1
        if calls["n"] == call:
            os.kill(os.getpid(), signal.SIGINT)
        return collect()

    trainer.collector.collect = collect_then_ctrl_c


RESUME_CASES = {
    "rainbow-cartpole": ("rainbow", "CartPole-v1", ("rainbow.v_min=0", "rainbow.v_max=50", "rainbow.num_atoms=11")),
    "dqn-cartpole-polyak": ("dqn", "CartPole-v1", ("dqn.tau=0.2", "dqn.target_update_interval=16")),
    "rainbow-hex": ("rainbow", "hex", ("env.size=3", "rainbow.v_min=-1", "rainbow.v_max=1", "rainbow.num_atoms=5", "policy.encoder=mlp")),
}


@pytest.mark.parametrize("case", sorted(RESUME_CASES))
def test_resume_with_the_replay_ends_bit_identical(tmp_path: Path, case: str) -> None:
    algo, env, extra = RESUME_CASES[case]
    settings = (
        *TINY,
        "run.checkpoint_every=2",
        f"{algo}.train_freq=8",
        f"{algo}.learning_starts=40",
        f"{algo}.batch_size=16",
        f"{algo}.buffer_size=1000",
        f"{algo}.gradient_steps=2",
        *extra,
    )
    steps = 8 * 2 * 12
    straight = Trainer(_config(algo, env, steps, tmp_path / "a", *settings))
    straight.train()

    config = _config(algo, env, steps, tmp_path / "b", *settings)
    interrupted = Trainer(config)
    _interrupt_at(interrupted, 5)
    result = interrupted.train()
    assert result.interrupted and result.updates == 5
    saved = load_checkpoint(latest_checkpoint(result.run_dir))["algorithm"]
    assert saved["replay"]["size"] > 0
    assert (saved["staging"]["tail"] is not None) == (interrupted.config.algorithm.n_step > 1)

    resumed = Trainer(resolve(algo, env, base=config.to_dict()), run_dir=result.run_dir, resume=True)
    assert resumed.algo.replay.size == interrupted.algo.replay.size
    resumed.train()
    for a, b in zip(_parameters(straight), _parameters(resumed)):
        assert torch.equal(a, b)
    for a, b in zip(straight.algo.target.state_dict().values(), resumed.algo.target.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.algo.gradient_steps == resumed.algo.gradient_steps > 0


def test_without_the_replay_a_resume_refills_it_and_says_so(tmp_path: Path, capsys) -> None:
    settings = (*TINY, "run.save_replay=false", "run.checkpoint_every=2", "dqn.train_freq=8", "dqn.learning_starts=40", "dqn.batch_size=16")
    config = _config("dqn", "CartPole-v1", 8 * 2 * 10, tmp_path, *settings)
    first = Trainer(config)
    _interrupt_at(first, 4)
    result = first.train()
    assert load_checkpoint(latest_checkpoint(result.run_dir))["algorithm"]["replay"] is None
    resumed = Trainer(resolve("dqn", "CartPole-v1", base=config.to_dict()), run_dir=result.run_dir, resume=True)
    assert "holds no replay buffer (run.save_replay=false)" in capsys.readouterr().out
    assert resumed.algo.replay is None and resumed.algo.exploration_rate() == 1.0  # refilling: random actions again
    resumed.train()
    assert resumed.algo.replay.size > 0


def test_rainbow_logs_sb3s_dqn_tags_and_its_own(tmp_path: Path) -> None:
    trainer = Trainer(
        _config("rainbow", "CartPole-v1", 8 * 2 * 8, tmp_path, *TINY, "rainbow.train_freq=8", "rainbow.learning_starts=32", "rainbow.batch_size=16")
    )
    trainer.train()
    rows = read_metrics(trainer.run_dir)
    tags = set().union(*(row.keys() for row in rows))
    for tag in (
        "rollout/exploration_rate",
        "train/loss",
        "train/n_updates",
        "train/learning_rate",
        "rollout/ep_rew_mean",
        "train/q_mean",
        "train/td_error",
        "replay/size",
        "replay/beta",
        "replay/priority_mean",
        "train/noise_sigma",
    ):
        assert tag in tags, tag
    betas = [row["replay/beta"] for row in rows]
    assert betas == sorted(betas) and betas[-1] == pytest.approx(1.0)
    assert rows[-1]["train/n_updates"] == trainer.algo.gradient_steps


# --- learned results -----------------------------------------------------------------------------
# The CartPole presets' settings (rl-baselines3-zoo's tuned DQN: bursts of 128 gradient steps every
# 256 env steps, the target copied before each), with the learning rate decaying to 0 over the run,
# which holds a solved policy steady at the end of a short run.
CARTPOLE = (
    "run.num_envs=1",
    "{a}.learning_rate=2.3e-3",
    "{a}.lr_schedule=linear",
    "{a}.batch_size=64",
    "{a}.buffer_size=50000",
    "{a}.learning_starts=1000",
    "{a}.discount_factor=0.99",
    "{a}.target_update_interval=10",
    "{a}.train_freq=256",
    "{a}.gradient_steps=128",
    "{a}.exploration_fraction=0.16",
    "{a}.exploration_final_eps=0.04",
    "{a}.adam_eps=1e-8",
    "{a}.v_min=0",
    "{a}.v_max=100",
    "policy.hidden_sizes=[256,256]",
    "policy.activation=relu",
    "policy.ortho_init=false",
    "run.checkpoint_every=1000",
)
ONE_PART = {
    "double": "{a}.double=true",
    "dueling": "{a}.dueling=true",
    "prioritized": "{a}.prioritized=true",
    "n_step": "{a}.n_step=3",
    "distributional": "{a}.distributional=true",
    "noisy": "{a}.noisy=true",
}


def _greedy_cartpole(algo: str, steps: int, tmp_path: Path, *parts: str, seed: int = 0) -> float:
    overrides = [o.format(a=algo) for o in CARTPOLE] + [p.format(a=algo) for p in parts]
    trainer = Trainer(_config(algo, "CartPole-v1", steps, tmp_path, *overrides, seed=seed))
    trainer.train()
    trainer.policy.eval()
    return float(play_episodes(Agent(trainer.policy, trainer.config, trainer.run_dir), 10, None, None, 123, True).mean())


@pytest.mark.slow
@pytest.mark.parametrize("algo, steps", [("dqn", 40_000), ("rainbow", 30_000)])
def test_cartpole_is_solved(tmp_path: Path, algo: str, steps: int) -> None:
    assert _greedy_cartpole(algo, steps, tmp_path) >= 475


@pytest.mark.slow
@pytest.mark.parametrize("part", sorted(set(ONE_PART) - {"dueling"}))
def test_each_part_alone_still_learns_cartpole(tmp_path: Path, part: str) -> None:
    """Solved (greedy >= 475) at 30k steps on at least one of seeds 0-2, tried in turn.

    DQN at the zoo's CartPole settings is solved or not at a fixed budget depending on the seed
    *and the CPU*: float rounding differs between CPUs, and the runs diverge. On one machine seed 0
    solved it with every part; on another (AMD EPYC, same code) double DQN alone gave 241 / 213 / 500
    on seeds 0-2 and prioritized replay 246 / 500 / 500. A part that breaks learning fails all three."""
    scores = []
    for seed in range(3):
        scores.append(_greedy_cartpole("dqn", 30_000, tmp_path / f"s{seed}", ONE_PART[part], seed=seed))
        if scores[-1] >= 475:
            return
    pytest.fail(f"{part} alone: greedy returns {scores} on seeds 0-2, none >= 475")


@pytest.mark.slow
def test_dueling_alone_learns_cartpole_part_way(tmp_path: Path) -> None:
    """Dueling alone (a value and an advantage stream on the shared trunk) learns more slowly here:
    greedy 149-309 at 30k steps on seeds 0-3 (plain DQN: 200-500), so the bar is "well above
    random play" (~22), not solved."""
    assert _greedy_cartpole("dqn", 30_000, tmp_path, ONE_PART["dueling"]) >= 140
