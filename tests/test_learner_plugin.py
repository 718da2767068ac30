"""A learner is a plug-in: a class, its config dataclass and one registry line, with no change to the
run loop, the config or the CLI (the shape Rainbow DQN and later learners are added in)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rlagent.algos import LEARNERS
from rlagent.algos.common import validate_learner_fields
from rlagent.algos.learner import CollectionNeeds, LearnerSpec
from rlagent.algos.optimizing import GradientStep
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.monitor.logger import read_metrics
from rlagent.rollout import Rollout
from rlagent.run import Trainer


@dataclass(frozen=True)
class OneStepConfig:
    """A toy learner's section: the shared fields plus one of its own."""

    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    num_steps: int = 16
    discount_factor: float = 0.99
    actor_loss_coef: float = 1.0
    value_loss_coef: float = 0.5
    entropy_coef: float = 0.0
    max_grad_norm: float | None = 0.5
    value_loss: str = "mse"
    optimizer: str = "adam"
    adam_eps: float = 1e-5
    bootstrap: bool = True

    def __post_init__(self) -> None:
        validate_learner_fields(self)


class OneStep:
    """One actor-critic gradient step per batch, with one-step TD targets from the whole transitions."""

    def __init__(self, policy: torch.nn.Module, config: OneStepConfig, total_updates: int, device: torch.device, *, seed: int = 0, fast: Any = None) -> None:
        self.policy, self.config = policy, config
        self.gradient = GradientStep(policy, config)
        self.updates_done = 0

    def update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        next_values = np.concatenate([rollout.values[1:], rollout.last_values[None]])
        future = np.where(rollout.dones, 0.0, next_values) + rollout.truncation_values(self.policy) * cfg.bootstrap
        targets = torch.as_tensor(rollout.rewards + cfg.discount_factor * future, dtype=torch.float32).reshape(-1)
        obs = rollout.obs.reshape(-1, *rollout.obs.shape[2:])
        out = self.policy.forward(obs)
        advantage = (targets - out.value).detach()
        actions = torch.as_tensor(rollout.actions.reshape(-1))
        loss = -(out.dist.log_prob(actions) * advantage).mean() + cfg.value_loss_coef * (targets - out.value).pow(2).mean()
        self.gradient.step(loss)
        self.updates_done += 1
        return {"train/n_updates": float(self.updates_done), "train/value_loss": float((targets - out.value).pow(2).mean().detach())}

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.gradient.optimizer.state_dict(), "updates_done": self.updates_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gradient.optimizer.load_state_dict(state["optimizer"])
        self.updates_done = state["updates_done"]


SPEC = LearnerSpec("onestep", "one actor-critic step per batch", OneStep, OneStepConfig, lambda c: CollectionNeeds(num_steps=c.num_steps))


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LEARNERS, SPEC.name, SPEC)  # the one registry line


def test_a_new_learner_trains_checkpoints_and_resumes_through_the_shared_loop(registered: None, tmp_path: Path) -> None:
    config = resolve(
        "onestep",
        "CartPole-v1",
        overrides=["run.progress=false", "onestep.num_steps=8", "onestep.bootstrap=false"],
        extra={"total_steps": 8 * 8 * 6, "logdir": str(tmp_path), "checkpoint_every": 3},
    )
    assert isinstance(config.algorithm, OneStepConfig) and config.algorithm.bootstrap is False
    trainer = Trainer(config)
    result = trainer.train()
    assert result.updates == 6 and len(read_metrics(result.run_dir)) == 6
    saved = (result.run_dir / "config.json").read_text()
    assert '"onestep"' in saved
    resumed = Trainer(resolve("onestep", "CartPole-v1", base=json.loads(saved), extra={"total_steps": 8 * 8 * 9}), run_dir=result.run_dir, resume=True)
    assert resumed.algo.updates_done == 6
    assert resumed.train().updates == 9


def test_its_section_is_checked_like_the_others(registered: None) -> None:
    with pytest.raises(ConfigError, match=r"^onestep\.learning_rate must be a positive number"):
        resolve("onestep", "CartPole-v1", overrides=["onestep.learning_rate=0"])
    with pytest.raises(ConfigError, match=r"unknown key onestep\.gae_lambda"):
        resolve("onestep", "CartPole-v1", overrides=["onestep.gae_lambda=0.9"])
    with pytest.raises(ConfigError, match="configures ppo, but this run uses onestep"):
        resolve("onestep", "CartPole-v1", overrides=["ppo.clip_param=0.1"])


def test_unregistered_names_list_the_registry() -> None:
    with pytest.raises(ConfigError, match="valid algorithms are ppo, a2c, reinforce, rainbow, dqn$"):
        resolve("onestep", "CartPole-v1")
