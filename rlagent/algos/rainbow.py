"""Rainbow DQN (and plain DQN with every part off): the off-policy learner, with action masks.

Each ``update(rollout)`` gets ``train_freq`` steps of every env from the run loop, turns them into
n-step transitions (:mod:`rlagent.algos.n_step`), stores them (:mod:`rlagent.algos.replay`), and,
once ``learning_starts`` steps were collected, takes ``gradient_steps`` gradient steps on batches
drawn from the replay. The parts, each switchable in the ``rainbow`` section:

- ``double``: the next action is the online network's argmax, valued by the target network;
- ``dueling``, ``distributional`` (C51: ``num_atoms`` over [``v_min``, ``v_max``], the target
  distribution projected onto the support), ``noisy`` (factorised Gaussian, ``sigma0``; then no
  epsilon): the network's head (:mod:`rlagent.nets.q_network`);
- ``prioritized``: draws by priority ``|TD error| ** alpha`` (the cross-entropy for C51), losses
  scaled by importance weights with ``beta`` annealed from ``beta_start`` to 1 over the run;
- ``n_step``: n-step returns, never across an episode's end.

Masks: the next state's action is chosen among its legal actions only (after the dueling
aggregation and the distribution's expectation), and its value (or its atoms) is the target
network's for that action. Illegal actions are ``-inf`` in every argmax, never a finite constant.

Counting follows SB3's DQN: ``learning_starts``, ``target_update_interval`` and the exploration
schedule count env steps (transitions of all envs); ``train/n_updates`` counts gradient steps.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlagent.algos.common import scheduled, validate_learner_fields
from rlagent.algos.learner import CollectionNeeds, LearnerSpec
from rlagent.algos.n_step import NStepStaging
from rlagent.algos.optimizing import GradientStep
from rlagent.algos.replay import ReplayBuffer, Sample
from rlagent.errors import ConfigError, TrainingError
from rlagent.fast.paths import FastPaths, select_fast_paths
from rlagent.nets.q_network import QNetwork, build_q_network, greedy_actions
from rlagent.rollout import Rollout
from rlagent.validation import ALGORITHM_SECTION, choice, finite, non_negative, positive, unit_interval

Q_LOSSES = ("huber", "mse")


@dataclass(frozen=True)
class RainbowConfig:
    """Rainbow's parts and DQN's settings (SB3's names where it has them).

    ``double``, ``dueling``, ``prioritized`` (``alpha``, ``beta_start`` annealed to 1),
    ``n_step`` (1 = one-step), ``distributional`` (``num_atoms``, ``v_min``, ``v_max``), ``noisy``
    (``sigma0``): each part on its own; all off is DQN. Without noisy nets, exploration is
    epsilon-greedy over legal actions, from ``exploration_initial_eps`` to
    ``exploration_final_eps`` over the first ``exploration_fraction`` of the run's steps; before
    ``learning_starts`` steps every action is random. ``train_freq``: steps per env between
    updates; ``gradient_steps`` per update. ``target_update_interval`` (env steps) with ``tau``
    (1 = a hard copy, below 1 Polyak averaging). ``loss``: ``huber`` or ``mse`` on the TD error
    (C51 always uses the cross-entropy). ``max_grad_norm`` clips, as SB3's DQN does (10).
    """

    learning_rate: float = 1e-4
    lr_schedule: str = "constant"
    optimizer: str = "adam"
    adam_eps: float = 1.5e-4
    max_grad_norm: float | None = 10.0
    discount_factor: float = 0.99
    buffer_size: int = 100_000
    learning_starts: int = 1000
    batch_size: int = 64
    train_freq: int = 4
    gradient_steps: int = 1
    target_update_interval: int = 1000
    tau: float = 1.0
    loss: str = "huber"
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    exploration_fraction: float = 0.1
    double: bool = True
    dueling: bool = True
    prioritized: bool = True
    alpha: float = 0.5
    beta_start: float = 0.4
    priority_eps: float = 1e-6
    n_step: int = 3
    distributional: bool = True
    num_atoms: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    noisy: bool = True
    sigma0: float = 0.5
    compact_replay: bool = True

    def __post_init__(self) -> None:
        validate_learner_fields(self)
        section = ALGORITHM_SECTION
        positive(self, section, "buffer_size", "batch_size", "train_freq", "gradient_steps", "target_update_interval", "n_step", "sigma0", "priority_eps")
        non_negative(self, section, "learning_starts")
        unit_interval(self, section, "tau", "exploration_initial_eps", "exploration_final_eps", "exploration_fraction", "alpha", "beta_start")
        finite(self, section, "v_min", "v_max")
        choice(self, section, "loss", Q_LOSSES)
        if self.tau == 0:
            raise ConfigError(f"{section}.tau must be in (0, 1] (1 = hard target copies), got 0")
        if self.num_atoms < 2:
            raise ConfigError(f"{section}.num_atoms must be at least 2, got {self.num_atoms}")
        if not self.v_min < self.v_max:
            raise ConfigError(f"{section}.v_min must be below {section}.v_max, got {self.v_min} and {self.v_max}")
        if self.batch_size > self.buffer_size:
            raise ConfigError(f"{section}.batch_size ({self.batch_size}) must not exceed {section}.buffer_size ({self.buffer_size})")


DQN_DEFAULTS = {
    "double": False,
    "dueling": False,
    "prioritized": False,
    "n_step": 1,
    "distributional": False,
    "noisy": False,
}


class Rainbow:
    """The update rule: ``update(rollout) -> metrics``. The run loop owns collection and checkpoints."""

    def __init__(
        self, network: QNetwork, config: RainbowConfig, total_updates: int, device: torch.device, seed: int = 0, fast: FastPaths | None = None
    ) -> None:
        """``fast`` (:func:`rlagent.fast.paths.select_fast_paths`) says whether the TD gradient may
        be derived by hand (:mod:`rlagent.fast.td_gradient`); default ``auto``."""
        if not isinstance(network, QNetwork):
            raise ConfigError(f"rainbow trains a QNetwork (rlagent.nets.q_network.build_q_network), got {type(network).__name__}")
        self.network, self.config, self.device = network, config, device
        self.total_updates = max(1, total_updates)
        self.target = copy.deepcopy(network).requires_grad_(False)
        self.gradient = GradientStep(network, config)
        self.staging = NStepStaging(config.n_step, config.discount_factor)
        self.replay: ReplayBuffer | None = None  # made from the first transitions (their shapes and dtypes)
        self.rng = np.random.default_rng([seed, 11])  # replay draws
        self.noise = torch.Generator().manual_seed(seed + 12)  # noisy layers' noise
        self.updates_done = 0
        self.gradient_steps = 0
        self.steps = 0  # env steps collected (all envs)
        self.replay_restored = True
        if config.noisy:
            network.reset_noise(self.noise)
            self.target.load_state_dict(network.state_dict())
        network.exploration_rate = self.exploration_rate()
        fast = select_fast_paths(network, "auto") if fast is None else fast
        self.analytic = fast.td_gradient(network, self.target, config)  # None: autograd only
        self.analytic_used = False  # whether the last update's gradient steps were by hand
        self._rows = torch.arange(0)

    # --- schedules -------------------------------------------------------------------------------
    def progress(self) -> float:
        return min(1.0, self.updates_done / self.total_updates)

    def exploration_rate(self) -> float:
        """Epsilon for the next rollout: 1 before ``learning_starts`` (random actions, as in SB3), 0
        with noisy nets after it, else the linear schedule."""
        cfg = self.config
        if self.steps < cfg.learning_starts:
            return 1.0
        if cfg.noisy:
            return 0.0
        fraction = min(1.0, self.progress() / cfg.exploration_fraction) if cfg.exploration_fraction > 0 else 1.0
        return cfg.exploration_initial_eps + fraction * (cfg.exploration_final_eps - cfg.exploration_initial_eps)

    def beta(self) -> float:
        return self.config.beta_start + (1.0 - self.config.beta_start) * self.progress()

    def learning_rate(self) -> float:
        return scheduled(self.config.learning_rate, self.config.lr_schedule, self.updates_done, self.total_updates)

    # --- the update ------------------------------------------------------------------------------
    def update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        start = time.perf_counter()
        transitions = self.staging.push(rollout)
        if self.replay is None and len(transitions):
            self.replay = ReplayBuffer(cfg.buffer_size, self.network.observation_space, transitions, cfg.prioritized, cfg.alpha, cfg.compact_replay)
        if self.replay is not None:
            self.replay.add(transitions)
        before = self.steps
        self.steps += rollout.num_steps * rollout.num_envs
        self._update_target(before)
        metrics: dict[str, float] = {}
        if self.steps >= cfg.learning_starts and self.replay is not None and self.replay.size >= cfg.batch_size:
            metrics = self._train()
        self.updates_done += 1
        self.network.exploration_rate = self.exploration_rate()
        metrics.update(
            {
                "fast/analytic_gradient": float(self.analytic_used),
                "rollout/exploration_rate": self.network.exploration_rate,
                "train/n_updates": float(self.gradient_steps),
                "train/learning_rate": self.learning_rate(),
                "replay/size": float(0 if self.replay is None else self.replay.size),
                "replay/beta": self.beta() if cfg.prioritized else 1.0,
                "replay/priority_mean": 0.0 if self.replay is None else self.replay.priority_mean(),
                "train/update_seconds": time.perf_counter() - start,
            }
        )
        if cfg.noisy:
            metrics["train/noise_sigma"] = self.network.noise_sigma()
        return metrics

    def _update_target(self, steps_before: int) -> None:
        """SB3's schedule: a (Polyak) copy each time the env steps pass a multiple of the interval;
        several passed in one rollout compound, as SB3's per-step copies of an unchanged network do."""
        interval, tau = self.config.target_update_interval, self.config.tau
        crossings = self.steps // interval - steps_before // interval
        if crossings <= 0:
            return
        keep = (1.0 - tau) ** crossings
        with torch.no_grad():
            if keep == 0.0:
                self.target.load_state_dict(self.network.state_dict())
                return
            online = self.network.state_dict()
            for name, value in self.target.state_dict().items():
                if value.is_floating_point():
                    value.mul_(keep).add_(online[name], alpha=1.0 - keep)
                else:
                    value.copy_(online[name])

    def _train(self) -> dict[str, float]:
        self.gradient.set_learning_rate(self.learning_rate())
        analytic = self.analytic if self.analytic is not None and self.analytic.applies() else None
        self.analytic_used = analytic is not None
        if analytic is not None:
            analytic.refresh()
        if self.replay is None:
            raise RuntimeError("Rainbow trains from its replay, which the first update makes")
        return self._train_by_hand(analytic, self.replay) if analytic is not None else self._train_autograd(self.replay)

    def _train_by_hand(self, analytic: Any, replay: ReplayBuffer) -> dict[str, float]:
        """The gradient steps through :mod:`rlagent.fast.td_gradient` (plain MLP Q-networks)."""
        cfg, beta = self.config, self.beta()
        losses, q_means, td_errors = [], [], []
        for _ in range(cfg.gradient_steps):
            sample = replay.sample(cfg.batch_size, self.rng, beta)
            result = analytic.step(sample)
            if not math.isfinite(result.loss):
                raise TrainingError(f"the rainbow loss became {result.loss} at gradient step {self.gradient_steps}")
            self.gradient.clip_and_step()
            self.gradient_steps += 1
            if cfg.prioritized:
                replay.update_priorities(sample.indices, np.abs(result.td_error) + cfg.priority_eps)
            losses.append(result.loss)
            q_means.append(result.q_taken)
            td_errors.append(result.td_error)
        return {
            "train/loss": float(np.mean(losses)),
            "train/q_mean": float(np.mean(q_means)),
            "train/td_error": float(np.abs(np.stack(td_errors)).mean()),
        }

    def _train_autograd(self, replay: ReplayBuffer) -> dict[str, float]:
        """The gradient steps through autograd. The loss is checked for NaN once per update, on
        all its steps together (a check per step would wait on each step's result); the error
        names the first step that went wrong."""
        cfg, beta = self.config, self.beta()
        losses, q_means, td_errors = [], [], []
        first_step = self.gradient_steps
        for _ in range(cfg.gradient_steps):
            if cfg.noisy:
                self.network.reset_noise(self.noise)
                self.target.reset_noise(self.noise)
            sample = replay.sample(cfg.batch_size, self.rng, beta)
            per_sample, q_taken, td_error = self.sample_losses(sample)
            weights = torch.as_tensor(sample.weights, device=self.device)
            loss = (weights * per_sample).mean()
            self.gradient.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.gradient.clip_and_step()
            self.gradient_steps += 1
            if cfg.prioritized:  # this waits on the step anyway: a NaN must not reach the sum tree
                priority = (per_sample if cfg.distributional else td_error.abs()).detach().cpu().numpy()
                if not np.isfinite(priority).all():
                    raise TrainingError(f"the rainbow loss became {float(loss)} at gradient step {self.gradient_steps - 1}")
                replay.update_priorities(sample.indices, priority + cfg.priority_eps)
            losses.append(loss.detach())
            q_means.append(q_taken.detach().mean())
            td_errors.append(td_error.detach().abs().mean())
        step_losses = torch.stack(losses)
        finite = torch.isfinite(step_losses)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0, 0])
            raise TrainingError(f"the rainbow loss became {float(step_losses[bad])} at gradient step {first_step + bad}")
        return {
            "train/loss": float(step_losses.mean()),
            "train/q_mean": float(torch.stack(q_means).mean()),
            "train/td_error": float(torch.stack(td_errors).mean()),
        }

    def sample_losses(self, sample: Sample) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-sample losses (B,) with their graph, Q(s, a) (B,) and the TD error on Q's scale (B,)."""
        cfg, device = self.config, self.device
        actions = torch.as_tensor(sample.actions, device=device)
        rewards = torch.as_tensor(sample.rewards, device=device)
        discounts = torch.as_tensor(sample.discounts, device=device)
        if self._rows.shape[0] != actions.shape[0] or self._rows.device != actions.device:
            self._rows = torch.arange(actions.shape[0], device=device)
        rows = self._rows
        with torch.no_grad():
            target_q, target_log_probs, next_mask = self.target.action_values(sample.next_obs)
            chooser = self.network.action_values(sample.next_obs)[0] if cfg.double else target_q
            next_actions = greedy_actions(chooser, next_mask)
            if cfg.distributional:
                assert target_log_probs is not None, "a distributional network gives its atoms' log-probabilities"
                next_probs = target_log_probs[rows, next_actions].exp()
                target = project_distribution(next_probs, rewards, discounts, self.network.support)
            target_value = rewards + discounts * target_q[rows, next_actions]
        q, log_probs, _ = self.network.action_values(sample.obs)
        q_taken = q[rows, actions]
        td_error = target_value - q_taken.detach()
        if cfg.distributional:
            assert log_probs is not None
            per_sample = -(target * log_probs[rows, actions]).sum(-1)
        elif cfg.loss == "huber":
            per_sample = F.smooth_l1_loss(q_taken, target_value, reduction="none")
        else:
            per_sample = F.mse_loss(q_taken, target_value, reduction="none")
        return per_sample, q_taken, td_error

    # --- state -----------------------------------------------------------------------------------
    def state_dict(self, include_replay: bool = True) -> dict[str, Any]:
        return {
            "target": self.target.state_dict(),
            "optimizer": self.gradient.optimizer.state_dict(),
            "staging": self.staging.state_dict(),
            "replay": self.replay.state_dict() if (include_replay and self.replay is not None) else None,
            "replay_saved": include_replay,
            "rng": self.rng.bit_generator.state,
            "noise": self.noise.get_state(),
            "updates_done": self.updates_done,
            "gradient_steps": self.gradient_steps,
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.target.load_state_dict(state["target"])
        self.gradient.optimizer.load_state_dict(state["optimizer"])
        self.staging.load_state_dict(state["staging"])
        self.rng.bit_generator.state = state["rng"]
        self.noise.set_state(state["noise"])
        self.updates_done, self.gradient_steps, self.steps = int(state["updates_done"]), int(state["gradient_steps"]), int(state["steps"])
        self.replay = None
        self.replay_restored = bool(state.get("replay_saved", True))
        if state["replay"] is not None:
            self.replay = ReplayBuffer.from_state_dict(state["replay"], self.config.alpha)
        elif not self.replay_restored:
            # The buffer refills from empty: learning waits for learning_starts new steps.
            self.steps = 0
        self.network.exploration_rate = self.exploration_rate()


def project_distribution(next_probs: torch.Tensor, rewards: torch.Tensor, discounts: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """C51's target: the distribution of ``r + discount * Z`` (Z on ``support`` with ``next_probs``)
    projected back onto ``support``: each shifted atom's mass split between its two neighbours in
    proportion to closeness (all of it to one where it lands exactly on an atom or is clipped)."""
    atoms = support.shape[0]
    v_min, v_max = float(support[0]), float(support[-1])
    delta = (v_max - v_min) / (atoms - 1)
    shifted = (rewards.unsqueeze(1) + discounts.unsqueeze(1) * support.unsqueeze(0)).clamp(v_min, v_max)
    position = (shifted - v_min) / delta
    lower = position.floor().long().clamp(0, atoms - 1)
    upper = position.ceil().long().clamp(0, atoms - 1)
    upper_weight = position - lower.to(position.dtype)  # 0 when lower == upper: all mass to lower
    projected = torch.zeros_like(next_probs)
    projected.scatter_add_(1, lower, next_probs * (1.0 - upper_weight))
    projected.scatter_add_(1, upper, next_probs * upper_weight)
    return projected


def build_network(observation_space: Any, action_space: Any, policy_config: Any, config: RainbowConfig) -> QNetwork:
    return build_q_network(
        observation_space,
        action_space,
        policy_config,
        dueling=config.dueling,
        distributional=config.distributional,
        num_atoms=config.num_atoms,
        v_min=config.v_min,
        v_max=config.v_max,
        noisy=config.noisy,
        sigma0=config.sigma0,
    )


def _collection(config: RainbowConfig) -> CollectionNeeds:
    return CollectionNeeds(num_steps=config.train_freq)


RAINBOW_SPEC = LearnerSpec(
    "rainbow",
    "Rainbow DQN: double, dueling, prioritized, n-step, distributional, noisy (each switchable)",
    Rainbow,
    RainbowConfig,
    _collection,
    on_policy=False,
    network=build_network,
)
DQN_SPEC = LearnerSpec(
    "dqn",
    "DQN: Rainbow with every part off (epsilon-greedy, one-step, uniform replay)",
    Rainbow,
    RainbowConfig,
    _collection,
    DQN_DEFAULTS,
    on_policy=False,
    network=build_network,
)
