"""PPO (clipped surrogate, KL early stopping, actor/critic loss coefficients) and A2C.

A2C is this update with A2C's configuration (one epoch, one minibatch, no clipping, RMSprop; see
``A2C_DEFAULTS``): at the single gradient step the ratio is 1 and the clipped
objective's gradient is exactly the policy gradient, so one implementation serves both.

KL early stopping checks the approximate KL on every minibatch *before* its optimiser step and
stops the whole update once it exceeds ``kl_stop_factor * kl_target`` (Stable-Baselines3's rule,
factor 1.5). The metrics say at which epoch and minibatch it stopped and how many optimiser steps
really ran, so a run that early-stops every update is visible as such.

For plain MLP policies (the usual choice for vector observations) the minibatch gradient can be
derived by hand instead of by autograd (:mod:`rlagent.fast.analytic_loss`, chosen by
``run.fast``): the same loss and the same gradients to float rounding, at about two thirds of the
time per optimiser step on CPU, behind the same interface as :class:`AutogradLoss`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlagent.algos.common import SCHEDULES, scheduled, validate_learner_fields
from rlagent.algos.learner import CollectionNeeds, LearnerSpec
from rlagent.algos.optimizing import GradientStep
from rlagent.errors import TrainingError
from rlagent.fast.paths import FastPaths, select_fast_paths
from rlagent.losses import LOSS_TERMS, clipped_surrogate, normalize, on_return_scale, value_loss
from rlagent.nets.policy import ActorCritic
from rlagent.returns import explained_variance, gae
from rlagent.rollout import Rollout, flatten_steps
from rlagent.validation import ALGORITHM_SECTION, choice, positive, unit_interval


@dataclass(frozen=True)
class OnPolicyConfig:
    """PPO's hyperparameters; A2C is the same update with its own defaults (see ``A2C_DEFAULTS``).

    ``kl_target``: the update stops, before the optimiser step of the minibatch, once the
    approximate KL between the rollout policy and the current one exceeds
    ``kl_stop_factor * kl_target`` (1.5 like Stable-Baselines3). ``value_loss``: ``mse``,
    ``huber``, ``bce`` (a win-probability head: returns must lie in [-1, 1]; the value is
    ``tanh`` of the head's output) or ``quartic`` (mse + 0.25 * mean(err^4), which punishes
    confident mistakes harder).
    """

    learning_rate: float = 3e-4
    lr_schedule: str = "constant"
    num_steps: int = 128
    num_epoch: int = 4
    num_minibatch: int = 4
    minibatch_size: int | None = None
    discount_factor: float = 0.99
    gae_lambda: float = 0.95
    clip_param: float | None = 0.2
    clip_schedule: str = "constant"
    value_clip: float | None = None
    actor_loss_coef: float = 1.0
    value_loss_coef: float = 0.5
    entropy_coef: float = 0.0
    max_grad_norm: float | None = 0.5
    kl_target: float | None = None
    kl_stop_factor: float = 1.5
    normalize_advantage: bool = True
    value_loss: str = "mse"
    optimizer: str = "adam"
    adam_eps: float = 1e-5

    def __post_init__(self) -> None:
        validate_learner_fields(self)
        section = ALGORITHM_SECTION
        positive(self, section, "num_steps", "num_epoch", "num_minibatch", "kl_stop_factor")
        positive(self, section, "minibatch_size", "clip_param", "value_clip", "kl_target", optional=True)
        unit_interval(self, section, "gae_lambda")
        choice(self, section, "clip_schedule", SCHEDULES)


A2C_DEFAULTS: dict[str, Any] = {
    "learning_rate": 7e-4,
    "num_steps": 5,
    "num_epoch": 1,
    "num_minibatch": 1,
    "clip_param": None,
    "gae_lambda": 1.0,
    "normalize_advantage": False,
    "optimizer": "rmsprop",
}


def _to_tensor(array: Any, device: torch.device) -> Any:
    if isinstance(array, dict):
        return {k: _to_tensor(v, device) for k, v in array.items()}
    return torch.as_tensor(array, device=device)


def _rows(batch: Any, index: torch.Tensor | np.ndarray) -> Any:
    return {k: v[index] for k, v in batch.items()} if isinstance(batch, dict) else batch[index]


TERMS = LOSS_TERMS  # the loss terms and diagnostics averaged over an update


class PPO:
    """The update rule: ``update(rollout) -> metrics``. The run loop owns everything else.

    ``fast`` (:func:`rlagent.fast.paths.select_fast_paths`) says whether the minibatch gradient may
    be computed by hand; the update itself does not know which way it is computed: it asks
    :meth:`_minibatch_loss` once per update for an object with the :class:`AutogradLoss` interface.
    """

    def __init__(
        self,
        policy: ActorCritic,
        config: OnPolicyConfig,
        total_updates: int,
        device: torch.device,
        seed: int = 0,
        fast: FastPaths | None = None,
    ) -> None:
        """``fast``: the run's speed paths (default: ``select_fast_paths(policy, "auto")``)."""
        fast = select_fast_paths(policy, "auto") if fast is None else fast
        self.policy, self.config, self.device = policy, config, device
        self.generator = torch.Generator().manual_seed(seed)  # minibatch shuffling, saved with checkpoints
        self.total_updates = max(1, total_updates)
        self.gradient = GradientStep(policy, config)
        self.updates_done = 0
        self.optimizer_steps = 0
        self.recurrent = policy.initial_state(1) is not None
        self.autograd = AutogradLoss(policy, config, self.gradient, self.recurrent)
        self.analytic = fast.minibatch_loss(policy, config, self.gradient)

    def _minibatch_loss(self) -> Any:
        """The hand-derived loss where it computes exactly autograd's gradient (asked every update:
        a layer frozen, a hook added or the policy moved since means autograd), else autograd."""
        if self.analytic is not None and self.analytic.applies():
            return self.analytic
        return self.autograd

    # --- schedules -------------------------------------------------------------------------------
    def learning_rate(self) -> float:
        return scheduled(self.config.learning_rate, self.config.lr_schedule, self.updates_done, self.total_updates)

    def clip_param(self) -> float | None:
        clip = self.config.clip_param
        return None if clip is None else scheduled(clip, self.config.clip_schedule, self.updates_done, self.total_updates)

    # --- the update ------------------------------------------------------------------------------
    def update(self, rollout: Rollout) -> dict[str, float]:
        cfg = self.config
        start = time.perf_counter()
        # Values on the returns' scale; a truncated episode continues as V(its final observation).
        scale = cfg.value_loss
        values = on_return_scale(rollout.values, scale)
        advantages, returns = gae(
            rollout.rewards,
            values,
            rollout.terminated,
            rollout.truncated,
            on_return_scale(rollout.last_values, scale),
            cfg.discount_factor,
            cfg.gae_lambda,
            truncation_values=on_return_scale(rollout.truncation_values(self.policy), scale),
        )
        rollout.advantages, rollout.returns, rollout.scaled_values = advantages, returns, values
        lr, clip = self.learning_rate(), self.clip_param()
        self.gradient.set_learning_rate(lr)
        loss = self._minibatch_loss()

        rows: list[Any] = []  # the TERMS of each optimiser step
        squares: list[torch.Tensor] = []  # each step's squared gradient norm per parameter
        stop_epoch, stop_minibatch = float(cfg.num_epoch), -1
        data = self._tensors(rollout, as_numpy=loss.wants_numpy)
        for epoch in range(cfg.num_epoch):
            # A fresh split every epoch, as in PPO: reusing one split would show the network the
            # same groups of samples again and again.
            batches = self._minibatches(data, rollout.num_steps, rollout.num_envs)
            for position, batch in enumerate(batches):
                terms = loss.terms(batch, clip)
                # KL early stopping, checked before this minibatch's step (SB3's rule).
                if cfg.kl_target is not None and float(terms["kl"]) > cfg.kl_stop_factor * cfg.kl_target:
                    stop_epoch = epoch + position / len(batches)
                    stop_minibatch = position
                    break
                total = loss.total(terms)
                value = _as_float(total)  # one sync, as the finiteness check needs
                if not math.isfinite(value):
                    raise TrainingError(
                        f"the loss became {value} at update {self.updates_done + 1} (epoch {epoch + 1}); "
                        "lower the learning rate or check the rewards; the last good checkpoint is kept"
                    )
                squares.append(loss.step(total))
                rows.append(loss.row(terms))
            if stop_minibatch >= 0:
                break

        steps = len(squares)
        self.updates_done += 1
        self.optimizer_steps += steps
        values, returns = values.reshape(-1), returns.reshape(-1)
        if rollout.valid is not None:
            keep = rollout.valid.reshape(-1)
            values, returns, advantages = values[keep], returns[keep], advantages.reshape(-1)[keep]
        totals = dict(zip(TERMS, loss.means(rows) if rows else [0.0] * len(TERMS)))
        pg, vl = totals["pg"], totals["value"]
        metrics = {
            "train/policy_gradient_loss": pg,
            "train/value_loss": vl,
            "train/entropy_loss": -totals["entropy"],
            "train/approx_kl": totals["kl"],
            "train/clip_fraction": totals["clip"],
            "train/explained_variance": explained_variance(values, returns),
            "train/learning_rate": lr,
            "train/clip_range": float("nan") if clip is None else clip,
            "train/n_updates": float(self.optimizer_steps),
            "train/optimizer_steps": float(steps),
            "train/kl_stop_epoch": stop_epoch,
            "train/kl_stop_minibatch": float(stop_minibatch),
            "train/early_stopped": float(stop_minibatch >= 0),
            # How much the actor's weighted term outweighs the critic's: the balance the loss
            # coefficients set, the first thing to look at when one of the two stops learning.
            "train/policy_value_loss_ratio": abs(cfg.actor_loss_coef * pg) / max(cfg.value_loss_coef * vl, 1e-12),
            "value/mean": float(values.mean()),
            "value/std": float(values.std()),
            "value/advantage_std": float(advantages.std()),
            "fast/analytic_gradient": float(loss is self.analytic),
            "train/update_seconds": time.perf_counter() - start,
        }
        if squares:  # the mean over optimiser steps of each step's norm
            norms = self.gradient.part_norms(torch.stack(squares)).items()
            metrics.update({f"grad/norm_{name}": float(per_step.mean()) for name, per_step in norms})
        else:
            metrics.update({f"grad/norm_{name}": 0.0 for name in (*self.gradient.parts, "total")})
        return metrics

    def _tensors(self, rollout: Rollout, as_numpy: bool = False) -> dict[str, Any]:
        """The rollout as tensors on the device, once per update: (T, N, ...) for recurrent
        policies, which train on whole sequences, else flattened to (T*N, ...); ``as_numpy``
        (feed-forward only) keeps the flattened numpy arrays."""
        fields = {
            "obs": rollout.obs,
            "actions": rollout.actions,
            "log_probs": rollout.log_probs,
            "values": rollout.scaled_values,
            "advantages": rollout.advantages,
            "returns": rollout.returns,
        }
        if self.recurrent:
            tensors = {k: _to_tensor(v, self.device) for k, v in fields.items()}
            tensors["episode_starts"] = _to_tensor(rollout.episode_starts, self.device)
            assert rollout.states is not None, "a recurrent policy's rollout keeps its states"
            tensors["state"] = torch.as_tensor(rollout.states[0], device=self.device)
            if rollout.valid is not None:
                tensors["valid"] = _to_tensor(rollout.valid, self.device)
            return tensors
        flat = {k: flatten_steps(v) for k, v in fields.items()}
        if rollout.valid is not None:  # NEXT_STEP reset steps are no transitions: drop them
            keep = np.flatnonzero(rollout.valid.reshape(-1))
            flat = {k: _rows(v, keep) for k, v in flat.items()}
        if as_numpy:
            return flat
        return {k: _to_tensor(v, self.device) for k, v in flat.items()}

    def _minibatches(self, tensors: dict[str, Any], num_steps: int, num_envs: int) -> list[dict[str, Any]]:
        """One epoch's random split. Recurrent policies get whole (T,)-sequences of some envs, so
        the hidden state can be rebuilt from each sequence's stored starting state."""
        cfg = self.config
        if self.recurrent:
            order = torch.randperm(num_envs, generator=self.generator)
            groups = torch.tensor_split(order, min(cfg.num_minibatch, num_envs))
            batches = []
            for envs in groups:
                index = envs.to(self.device)
                batch = {k: _rows_columns(v, index) for k, v in tensors.items() if k != "state"}
                batch["state"] = tensors["state"][index]
                batches.append(batch)
            return batches
        size = len(tensors["returns"])  # num_steps * num_envs, less any reset steps
        minibatch = cfg.minibatch_size or max(1, size // cfg.num_minibatch)
        if minibatch >= size:  # one minibatch of everything: its gradient does not depend on the order
            return [tensors]
        order = torch.randperm(size, generator=self.generator)
        permutation = order.numpy() if isinstance(tensors["returns"], np.ndarray) else order.to(self.device)
        return [{k: _rows(v, permutation[i : i + minibatch]) for k, v in tensors.items()} for i in range(0, size, minibatch)]

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.gradient.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "updates_done": self.updates_done,
            "optimizer_steps": self.optimizer_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gradient.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.updates_done = state["updates_done"]
        self.optimizer_steps = state["optimizer_steps"]


class AutogradLoss:
    """PPO's minibatch loss as the textbook writes it, differentiated by autograd.

    The interface every minibatch loss of PPO has (the hand-derived one in
    :mod:`rlagent.fast.analytic_loss` too): ``terms(batch, clip)`` gives the loss terms and
    diagnostics, ``total(terms)`` their weighted sum, ``step(total)`` one optimiser step on it
    (returning each parameter's squared gradient norm), ``row``/``means`` average the terms over
    an update. Terms stay tensors on the device until ``means`` reads them, once per update.
    """

    wants_numpy = False  # it reads minibatches of tensors

    def __init__(self, policy: ActorCritic, config: OnPolicyConfig, gradient: GradientStep, recurrent: bool) -> None:
        self.policy, self.config, self.gradient, self.recurrent = policy, config, gradient, recurrent

    def terms(self, batch: dict[str, Any], clip: float | None) -> dict[str, torch.Tensor]:
        cfg = self.config
        if self.recurrent:
            out = self.policy.forward_sequence(batch["obs"], batch["state"], batch["episode_starts"])
            batch = {k: flatten_steps(v) for k, v in batch.items() if k not in ("state", "episode_starts")}
        else:
            out = self.policy.forward(batch["obs"])
        log_probs, values = out.dist.log_prob(batch["actions"]), out.value
        if cfg.entropy_coef:
            entropy = out.dist.entropy()
        else:  # only a diagnostic then: no autograd graph for it
            with torch.no_grad():
                entropy = out.dist.entropy()
        if "valid" in batch:  # whole sequences ran through the core; only real transitions count
            keep = batch.pop("valid").nonzero().squeeze(1)
            log_probs, entropy, values = log_probs[keep], entropy[keep], values[keep]
            batch = {k: _rows(v, keep) if k != "obs" else v for k, v in batch.items()}
        advantages = batch["advantages"]
        if cfg.normalize_advantage:
            advantages = normalize(advantages)
        pg, kl, clip_fraction = clipped_surrogate(log_probs, batch["log_probs"], advantages, clip)
        value = value_loss(values, batch["returns"], cfg.value_loss, batch["values"], cfg.value_clip)
        return {"pg": pg, "value": value, "entropy": entropy.mean(), "kl": kl, "clip": clip_fraction}

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``actor_coef * pg + value_coef * value - entropy_coef * entropy``, leaving out the
        multiplications by 1 and the terms weighted 0 (each is an autograd node on every step)."""
        cfg = self.config
        loss = terms["pg"] if cfg.actor_loss_coef == 1.0 else cfg.actor_loss_coef * terms["pg"]
        loss = loss + (terms["value"] if cfg.value_loss_coef == 1.0 else cfg.value_loss_coef * terms["value"])
        if cfg.entropy_coef:
            loss = loss - cfg.entropy_coef * terms["entropy"]
        return loss

    def step(self, total: torch.Tensor) -> torch.Tensor:
        return self.gradient.step(total)

    def row(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([terms[key].detach() for key in TERMS])

    def means(self, rows: list[torch.Tensor]) -> list[float]:
        return torch.stack(rows).mean(0).tolist()


def _as_float(loss: Any) -> float:
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)


def _rows_columns(array: Any, envs: torch.Tensor) -> Any:
    """Select env columns of (T, N, ...) tensors, keeping whole sequences."""
    if isinstance(array, dict):
        return {k: v[:, envs] for k, v in array.items()}
    return array[:, envs]


def _collection(config: OnPolicyConfig) -> CollectionNeeds:
    return CollectionNeeds(num_steps=config.num_steps)


PPO_SPEC = LearnerSpec("ppo", "PPO: clipped surrogate, KL early stopping, actor/critic loss coefficients", PPO, OnPolicyConfig, _collection)
A2C_SPEC = LearnerSpec("a2c", "A2C: PPO's update with one epoch, one minibatch, no clipping, RMSprop", PPO, OnPolicyConfig, _collection, A2C_DEFAULTS)
