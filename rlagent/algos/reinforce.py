"""REINFORCE with a learned critic: one gradient step per rollout on Monte-Carlo returns.

The update, top to bottom:

1. returns ``G_t = r_t + discount * G_{t+1}``, stopped at episode ends and (``cut_returns``) at
   trial ends, so a trial of a cognitive task is credited with its own reward only;
2. one forward pass over the whole rollout (a recurrent policy replays it from the stored
   starting state), giving log-probabilities, entropies and values with their graph;
3. the advantage ``A = G - V``, detached: the policy term must not move the critic;
4. policy loss ``-mean(log pi(a) * A)`` and value loss ``mean((G - V)^2)`` (or huber, bce,
   quartic), both means over the same real steps, so the weighting ``value_loss_coef`` means the
   same thing for an episode of 15 steps and one of 60;
5. ``actor_loss_coef * policy + value_loss_coef * value - entropy_coef * entropy``, one step.

``legacy_loss`` reproduces what a published loss-weight study on this task computed (and what
made its best critic weight move with the episode length): the advantage attached and the policy
loss summed over time. It is a documented option for reproducing that study, not for training.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlagent.algos.common import scheduled, validate_learner_fields
from rlagent.algos.learner import CollectionNeeds, LearnerSpec
from rlagent.algos.optimizing import GradientStep
from rlagent.errors import ConfigError, TrainingError
from rlagent.losses import on_return_scale, value_loss
from rlagent.nets.policy import ActorCritic
from rlagent.returns import discounted_returns, explained_variance
from rlagent.rollout import Rollout
from rlagent.validation import ALGORITHM_SECTION, choice


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE with a learned critic: one gradient step per rollout on Monte-Carlo returns.

    The advantage ``G - V`` is detached, and the policy and value losses are both means over the
    rollout's real steps, so the right ``value_loss_coef`` (the critic weight) does not change with
    the episode length. ``cut_returns``: returns stop at the end of each trial of a trial task
    (``info["trial_end"]``), so a trial is credited with its own reward only; otherwise they run
    to the episode's end. ``normalize_returns``: standardise the returns of each rollout (for
    the advantage and the critic's target alike). ``state_reset``: a recurrent policy starts from a
    zero state each ``episode`` or each ``trial``. ``num_steps``: steps per rollout; 0 takes one
    whole episode of a fixed-length env (its ``episode_length``), the pure Monte-Carlo case.
    ``legacy_loss``: the form a published loss-weight study used, kept to reproduce it: the
    advantage NOT detached (the policy term also trains the critic) and the policy loss summed
    over time while the value loss is averaged. Do not train with it otherwise.
    """

    learning_rate: float = 3e-3
    lr_schedule: str = "constant"
    num_steps: int = 0
    discount_factor: float = 1.0
    actor_loss_coef: float = 1.0
    value_loss_coef: float = 1.0
    entropy_coef: float = 0.01
    max_grad_norm: float | None = None
    cut_returns: bool = True
    normalize_returns: bool = False
    state_reset: str = "episode"
    legacy_loss: bool = False
    value_loss: str = "mse"
    optimizer: str = "adam"
    adam_eps: float = 1e-8

    def __post_init__(self) -> None:
        validate_learner_fields(self)
        if self.num_steps < 0:
            raise ConfigError(f"{ALGORITHM_SECTION}.num_steps must be 0 (one whole episode) or positive, got {self.num_steps}")
        choice(self, ALGORITHM_SECTION, "state_reset", ("episode", "trial"))


class Reinforce:
    """The update rule: ``update(rollout) -> metrics``. The run loop owns everything else."""

    def __init__(self, policy: ActorCritic, config: ReinforceConfig, total_updates: int, device: torch.device, seed: int = 0, fast: Any = None) -> None:
        """``seed`` and ``fast`` are the learner interface's; one full-batch step needs neither."""
        self.policy, self.config, self.device = policy, config, device
        self.total_updates = max(1, total_updates)
        self.gradient = GradientStep(policy, config)
        self.updates_done = 0
        self.gradient_steps = 0
        self.recurrent = policy.initial_state(1) is not None

    def learning_rate(self) -> float:
        return scheduled(self.config.learning_rate, self.config.lr_schedule, self.updates_done, self.total_updates)

    def update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        start = time.perf_counter()
        # Monte-Carlo returns: the rewards alone, to the episode's end (truncated or not: no critic
        # estimate at a time limit), or the trial's; the critic fills in only where the rollout stops.
        ends = rollout.dones
        if cfg.cut_returns and rollout.cuts is not None:
            ends = ends | rollout.cuts
        returns = discounted_returns(rollout.rewards, ends, on_return_scale(rollout.last_values, cfg.value_loss), cfg.discount_factor)
        rollout.returns, rollout.scaled_values = returns, on_return_scale(rollout.values, cfg.value_loss)

        out = self._forward(rollout)
        keep = None if rollout.valid is None else torch.as_tensor(rollout.valid.reshape(-1), device=self.device)
        actions = torch.as_tensor(rollout.actions.reshape(-1, *rollout.actions.shape[2:]), device=self.device)
        log_probs, entropy, values = out.dist.log_prob(actions), out.dist.entropy(), out.value
        target = torch.as_tensor(returns.reshape(-1), device=self.device)
        if keep is not None:  # NEXT_STEP reset steps are no transitions
            log_probs, entropy, values, target = log_probs[keep], entropy[keep], values[keep], target[keep]
        if cfg.normalize_returns and target.numel() > 1:
            target = (target - target.mean()) / (target.std() + 1e-8)

        prediction = torch.tanh(values) if cfg.value_loss == "bce" else values
        if cfg.legacy_loss:
            advantage = target - prediction  # attached: the policy term pushes the critic too
            pg = -(log_probs * advantage).sum() / rollout.num_envs  # summed over time
        else:
            advantage = (target - prediction).detach()
            pg = -(log_probs * advantage).mean()
        vl = value_loss(values, target, cfg.value_loss)
        loss = cfg.actor_loss_coef * pg + cfg.value_loss_coef * vl - cfg.entropy_coef * entropy.mean()
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the loss became {loss.item()} at update {self.updates_done + 1}; "
                "lower the learning rate or check the rewards; the last good checkpoint is kept"
            )
        lr = self.learning_rate()
        self.gradient.set_learning_rate(lr)
        norms = self.gradient.part_norms(self.gradient.step(loss))
        self.updates_done += 1
        self.gradient_steps += 1
        return self._metrics(rollout, returns, pg, vl, entropy, prediction.detach(), target, norms, lr, start)

    def _forward(self, rollout: Rollout) -> Any:
        obs = rollout.obs
        if self.recurrent:
            assert rollout.states is not None, "a recurrent policy's rollout keeps its states"
            state0 = torch.as_tensor(rollout.states[0], device=self.device)
            starts = torch.as_tensor(rollout.episode_starts, device=self.device)
            return self.policy.forward_sequence(obs, state0, starts)
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in obs.items()} if isinstance(obs, dict) else obs.reshape(-1, *obs.shape[2:])
        return self.policy.forward(flat)

    def _metrics(
        self,
        rollout: Rollout,
        returns: np.ndarray,
        pg: torch.Tensor,
        vl: torch.Tensor,
        entropy: torch.Tensor,
        prediction: torch.Tensor,
        target: torch.Tensor,
        norms: dict[str, torch.Tensor],
        lr: float,
        start: float,
    ) -> dict[str, float]:
        cfg = self.config
        pg_value, vl_value = float(pg.detach()), float(vl.detach())
        predicted, targets = prediction.cpu().numpy(), target.cpu().numpy()
        metrics = {
            "train/policy_gradient_loss": pg_value,
            "train/value_loss": vl_value,
            "train/entropy_loss": -float(entropy.detach().mean()),
            "train/explained_variance": explained_variance(predicted, targets),
            "train/learning_rate": lr,
            "train/n_updates": float(self.gradient_steps),
            # Both losses are means over this many steps (the legacy loss sums the policy term).
            "train/loss_steps": float(targets.size),
            "train/policy_value_loss_ratio": abs(cfg.actor_loss_coef * pg_value) / max(cfg.value_loss_coef * vl_value, 1e-12),
            "value/mean": float(predicted.mean()),
            "value/std": float(predicted.std()),
            "train/update_seconds": time.perf_counter() - start,
        }
        metrics.update({f"grad/norm_{name}": float(norm) for name, norm in norms.items()})
        return metrics

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.gradient.optimizer.state_dict(), "updates_done": self.updates_done, "gradient_steps": self.gradient_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gradient.optimizer.load_state_dict(state["optimizer"])
        self.updates_done = state["updates_done"]
        self.gradient_steps = state.get("gradient_steps", self.updates_done)  # older checkpoints: one step per update


def _collection(config: ReinforceConfig) -> CollectionNeeds:
    return CollectionNeeds(num_steps=config.num_steps, reset_state_per_trial=config.state_reset == "trial")


REINFORCE_SPEC = LearnerSpec("reinforce", "REINFORCE with a learned critic: Monte-Carlo returns, one step per rollout", Reinforce, ReinforceConfig, _collection)
