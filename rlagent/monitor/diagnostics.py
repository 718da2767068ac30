"""Training diagnostics during a run: why is it (not) learning?

Every ``monitor.every`` updates, after the learner's update and off the hot path, the run measures
on the rollout it just trained on:

- each layer's dead and saturated units (:mod:`rlagent.monitor.activations`), on a stored sample
  of ``monitor.sample_size`` observations, with hooks registered only while measuring;
- the actor's and the critic's gradient on the shared trunk, and each layer's update-to-weight
  ratio over the update (:mod:`rlagent.monitor.balance`), warning when one loss term dominates;
- the policy's entropy, branching factor and confidence, and the value's error against what
  really happened, by game stage (stones on the board), trial period or step of the episode
  (:mod:`rlagent.monitor.stages`), with the calibration of a game's value as a win probability.

Every update the stuck-run detector (:mod:`rlagent.monitor.stuck`) reads the update's metrics; a
rule that fires prints one line with a suggestion. The samples behind the latest value
diagnostics are kept in ``diagnostics/latest.npz`` for ``python -m rlagent.diagnose``'s plots.

Nothing here draws from a random generator the run uses, so a run with diagnostics on takes
exactly the same steps as one with them off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import torch

from envs.base import TurnBasedGame
from rlagent.losses import normalize, on_return_scale, value_loss
from rlagent.monitor.activations import activation_metrics, measure_activations
from rlagent.monitor.balance import WeightSnapshot, dominance, trunk_gradient_balance
from rlagent.monitor.outcomes import realised_returns
from rlagent.monitor.stages import calibration, calibration_metrics, move_edges, policy_by_stage, stage_labels, value_by_stage, value_return_summary
from rlagent.monitor.stuck import StuckDetector
from rlagent.monitor.trials import step_field
from rlagent.nets.policy import ActorCritic
from rlagent.rollout import flatten_steps

DIAGNOSTICS_DIR = "diagnostics"
DEAD_LAYER = 0.9  # share of a ReLU layer's units never active on the sample: the layer has stopped passing features on
LATEST_FILE = "latest.npz"
EPISODE_BUCKETS = 5


def dead_layers(metrics: dict[str, Any]) -> dict[str, float]:
    """The ReLU layers of one measurement with at least ``DEAD_LAYER`` of their units dead."""
    suffix = "/dead_fraction"
    return {
        tag[len("act/") : -len(suffix)]: float(value)
        for tag, value in metrics.items()
        if tag.startswith("act/") and tag.endswith(suffix) and isinstance(value, (int, float)) and value >= DEAD_LAYER
    }


def dead_layer_warning(layer: str, fraction: float, section: str) -> str:
    return (
        f"{fraction:.0%} of the units of {layer} are dead (no ReLU output above 0 on the sample): the layer passes "
        f"almost nothing on and its gradient is ~0; lower {section}.learning_rate, keep {section}.max_grad_norm, "
        "or try policy.norm=layer"
    )


class StageClock:
    """A step observer: how many steps each env's episode (for trial tasks: trial) has run before
    each step of the current rollout, so diagnostics can group steps by stage."""

    def __init__(self, num_envs: int, num_steps: int, per_trial: bool) -> None:
        self.count = np.zeros(num_envs, dtype=np.int64)
        self.stages = np.zeros((num_steps, num_envs), dtype=np.int64)
        self.position = 0
        self.per_trial = per_trial

    def update(self, info: dict[str, Any], dones: np.ndarray, rewards: np.ndarray) -> None:
        self.stages[self.position] = self.count
        self.count += 1
        self.count[dones] = 0
        if self.per_trial:
            trial_end = step_field(info, "trial_end", dones)
            if trial_end is not None:
                self.count[trial_end.astype(bool)] = 0
        self.position = (self.position + 1) % len(self.stages)

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count.copy(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = np.array(state["count"], dtype=np.int64)
        self.position = int(state["position"])


class StageScheme:
    """What a stage is for this env, fixed for the whole run so the tags keep their names:
    stones on the board for board games, the trial's period for trial tasks, else the step of the
    episode in equal buckets."""

    def __init__(self, env: Any, num_envs: int, num_steps: int) -> None:
        game = getattr(getattr(env, "match", None), "game", None)
        game = game if isinstance(game, TurnBasedGame) else None  # the Arena's results are no win/loss of one board
        task = getattr(env, "task", None)
        self.board_cells = 0
        self.period_of_step: np.ndarray | None = None
        if game is not None and len(getattr(game, "observation_shape", ())) == 3:
            shape = game.observation_shape
            self.board_cells = int(shape[1] * shape[2])
            self.edges, self.names, self.kind = move_edges(self.board_cells), None, "stones on the board"
        elif task is not None and hasattr(task, "step_periods"):
            steps = list(task.step_periods())
            names = list(dict.fromkeys(steps))
            self.period_of_step = np.array([names.index(name) for name in steps], dtype=np.int64)
            self.edges, self.names, self.kind = list(range(len(names))), names, "trial period"
        else:
            longest = getattr(env, "episode_length", None) or _max_episode_steps(env) or 500
            self.edges, self.names, self.kind = move_edges(int(longest) - 1, EPISODE_BUCKETS), None, "step of the episode"
        self.game = game
        self.clock = StageClock(num_envs, num_steps, per_trial=self.period_of_step is not None)

    def stages(self, obs: Any) -> np.ndarray:
        """(T, N) stage of every step of the rollout just collected."""
        if self.board_cells:
            planes = obs["observation"] if isinstance(obs, dict) else obs
            return np.rint(planes[:, :, :2].sum(axis=(2, 3, 4))).astype(np.int64)
        clock = self.clock.stages
        if self.period_of_step is not None:
            return self.period_of_step[np.minimum(clock, len(self.period_of_step) - 1)]
        return clock

    def buckets(self, stage: np.ndarray) -> tuple[np.ndarray, list[str]]:
        return stage_labels(stage, self.edges, self.names)


def _max_episode_steps(env: Any) -> int | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "max_episode_steps", None) if spec is not None else None


def _rows(obs: Any, index: Any) -> Any:
    return {k: v[index] for k, v in obs.items()} if isinstance(obs, dict) else obs[index]


def _spread(total: int, count: int) -> np.ndarray:
    """Up to ``count`` indices evenly spread over ``range(total)``: a sample with no random draw,
    so measuring takes nothing from the run's generators."""
    return np.unique(np.linspace(0, total - 1, min(count, total)).astype(np.int64))


def _columns(obs: Any, envs: np.ndarray) -> Any:
    return {k: v[:, envs] for k, v in obs.items()} if isinstance(obs, dict) else obs[:, envs]


class TrainingDiagnostics:
    """The diagnostics of one run; the trainer calls :meth:`before_update`, :meth:`after_update`
    and :meth:`warnings` around each update, and adds :attr:`clock` to the collector's observers."""

    def __init__(self, config: Any, policy: torch.nn.Module, env: Any, num_steps: int, run_dir: Path) -> None:
        self.settings = config.monitor
        self.algorithm = config.algorithm
        self.section = config.algo
        self.policy = policy
        self.run_dir = Path(run_dir)
        self.scheme = StageScheme(env, config.run.num_envs, num_steps)
        self.clock = self.scheme.clock
        self.detector = StuckDetector(self.settings.window, section=config.algo) if self.settings.warnings else None
        self._snapshot: WeightSnapshot | None = None
        self._pending: list[str] = []
        self._dead_reported: set[str] = set()  # each dead layer is reported once, when it dies
        self._dominance_reported: set[str] = set()

    def due(self, update: int) -> bool:
        """Measure on update number ``update`` (1 for the first)?"""
        every = self.settings.every
        return bool(every) and (update == 1 or update % every == 0)

    def before_update(self, update: int) -> None:
        self._snapshot = WeightSnapshot(self.policy) if self.due(update) else None

    def after_update(self, rollout: Any, update: int) -> dict[str, float]:
        if not self.due(update) or rollout is None:
            return {}
        metrics: dict[str, float] = {}
        if self._snapshot is not None:
            metrics.update(self._snapshot.update_ratios(self.policy))
            self._snapshot = None
        stages = self.scheme.stages(rollout.obs)
        sample, sample_stages, forward = self._sample(rollout, stages)
        outputs: list[Any] = []
        stats = measure_activations(self.policy, lambda: outputs.append(forward()))
        metrics.update(activation_metrics(stats))
        for layer, fraction in dead_layers(metrics).items():
            if layer not in self._dead_reported:
                self._dead_reported.add(layer)
                self._pending.append(dead_layer_warning(layer, fraction, self.section))
        out = outputs[0]
        if hasattr(out.dist, "probs") and out.dist.probs.dim() == 2:
            buckets, labels = self.scheme.buckets(sample_stages)
            mask = sample.get("action_mask") if isinstance(sample, dict) else None
            probs = out.dist.probs.float().cpu().numpy()
            metrics.update(policy_by_stage(probs, buckets, labels, None if mask is None else np.asarray(mask, bool), masked=mask is not None))
        if getattr(self.algorithm, "value_loss", None) is not None:
            metrics.update(self._values(rollout, stages))
            metrics.update(self._balance(rollout))
        return metrics

    def warnings(self, step: int, metrics: dict[str, float]) -> list[str]:
        """The stuck-run detector's warnings for this update, and any loss-balance warning of the
        last measurement: one line each."""
        lines, self._pending = self._pending, []
        if self.detector is not None:
            lines += [warning.message for warning in self.detector.observe(step, metrics)]
        return lines

    # --- pieces ----------------------------------------------------------------------------------
    def _sample(self, rollout: Any, stages: np.ndarray) -> tuple[Any, np.ndarray, Callable[[], Any]]:
        """Up to ``sample_size`` observations of the rollout, evenly spread (no random draw), and
        the forward pass that reads them: rows for a feed-forward policy, whole env columns
        (every step, from the stored state) for a recurrent one."""
        steps, envs = rollout.num_steps, rollout.num_envs
        size = self.settings.sample_size
        if rollout.states is not None:
            cols = _spread(envs, max(1, size // steps))
            obs = _columns(rollout.obs, cols)
            state = torch.as_tensor(rollout.states[0][cols])
            starts = rollout.episode_starts[:, cols]
            recurrent = cast(ActorCritic, self.policy)  # the network with a state and forward_sequence
            return flatten_steps(obs), stages[:, cols].reshape(-1), lambda: recurrent.forward_sequence(obs, state, starts)
        valid = np.ones((steps, envs), bool) if rollout.valid is None else rollout.valid
        rows = np.flatnonzero(valid.reshape(-1))
        rows = rows[_spread(len(rows), size)]
        obs = _rows(flatten_steps(rollout.obs), rows)
        return obs, stages.reshape(-1)[rows], lambda: self.policy.forward(obs)

    def _values(self, rollout: Any, stages: np.ndarray) -> dict[str, float]:
        """The value against what really followed, over every step of the rollout whose episode
        ended within it: the game's result for games, the discounted return otherwise."""
        kind = self.algorithm.value_loss
        values = on_return_scale(rollout.values, kind)
        returns, outcome, resolved = realised_returns(rollout.rewards, rollout.terminated, rollout.truncated, self.algorithm.discount_factor, rollout.valid)
        game = self.scheme.game is not None
        target = outcome if game else returns
        keep = resolved & np.isfinite(target)
        if not keep.any():
            return {}
        buckets, labels = self.scheme.buckets(stages[keep])
        metrics = value_by_stage(values[keep], target[keep], buckets, labels)
        metrics.update(value_return_summary(values[keep], returns[keep]))
        if game:
            metrics.update(calibration_metrics(calibration(values[keep], target[keep])))
        self._save_latest(values[keep], target[keep], returns[keep], stages[keep], game)
        return metrics

    def _balance(self, rollout: Any) -> dict[str, float]:
        """The actor's and the critic's gradient on the trunk they share (none with a separate
        critic), from the learner's own loss terms at the current weights."""
        cfg = self.algorithm
        if getattr(self.policy, "critic", True) is not None or rollout.returns is None:
            return {}
        policy = cast(ActorCritic, self.policy)  # an actor-critic whose critic shares the actor's trunk
        shared = [p for p in policy.actor.parameters() if p.requires_grad]
        if not shared:
            return {}
        steps, envs = rollout.num_steps, rollout.num_envs
        advantages = rollout.advantages if rollout.advantages is not None else rollout.returns - rollout.scaled_values
        cols = _spread(envs, max(1, self.settings.sample_size // steps))
        obs = _columns(rollout.obs, cols)
        with torch.enable_grad():
            if rollout.states is not None:
                out = policy.forward_sequence(obs, torch.as_tensor(rollout.states[0][cols]), rollout.episode_starts[:, cols])
            else:
                out = policy.forward(flatten_steps(obs))
            device = out.value.device
            actions = torch.as_tensor(flatten_steps(rollout.actions[:, cols]), device=device)
            adv = torch.as_tensor(np.asarray(advantages, np.float32)[:, cols].reshape(-1), device=device)
            returns = torch.as_tensor(np.asarray(rollout.returns, np.float32)[:, cols].reshape(-1), device=device)
            valid = None if rollout.valid is None else torch.as_tensor(rollout.valid[:, cols].reshape(-1), device=device)
            log_probs, entropy, values = out.dist.log_prob(actions), out.dist.entropy(), out.value
            if valid is not None:
                log_probs, entropy, values, adv, returns = log_probs[valid], entropy[valid], values[valid], adv[valid], returns[valid]
            if getattr(cfg, "normalize_advantage", False):
                adv = normalize(adv)
            actor_loss = cfg.actor_loss_coef * -(adv * log_probs).mean() - cfg.entropy_coef * entropy.mean()
            critic_loss = cfg.value_loss_coef * value_loss(values, returns, cfg.value_loss)
            metrics = trunk_gradient_balance(shared, actor_loss, critic_loss)
        warning = dominance(metrics["grad/trunk_actor_critic_ratio"], self.settings.dominance_factor, self.section)
        side = "actor" if metrics["grad/trunk_actor_critic_ratio"] > 1 else "critic"
        if warning is not None and side not in self._dominance_reported:  # once per side: diagnose lists every measurement
            self._dominance_reported.add(side)
            self._pending.append(warning)
        return metrics

    def _save_latest(self, values: np.ndarray, outcomes: np.ndarray, returns: np.ndarray, stages: np.ndarray, game: bool) -> None:
        """The last measurement's samples, for diagnose's calibration and scatter plots; written to a
        temporary file and renamed, so a reader never sees half of it."""
        folder = self.run_dir / DIAGNOSTICS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{LATEST_FILE}.{os.getpid()}.tmp.npz"
        np.savez(
            tmp,
            values=values.astype(np.float32),
            outcomes=outcomes.astype(np.float32),
            returns=returns.astype(np.float32),
            stages=stages,
            game=np.array(game),
            edges=np.asarray(self.scheme.edges),
            names=np.array(self.scheme.names or [], dtype=str),
            stage_kind=np.array(self.scheme.kind),
        )
        os.replace(tmp, folder / LATEST_FILE)

    def state_dict(self) -> dict[str, Any]:
        return {
            "detector": None if self.detector is None else self.detector.state_dict(),
            "dead_reported": sorted(self._dead_reported),
            "dominance_reported": sorted(self._dominance_reported),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.detector is not None and state.get("detector") is not None:
            self.detector.load_state_dict(state["detector"])
        self._dead_reported = set(state.get("dead_reported", ()))
        self._dominance_reported = set(state.get("dominance_reported", ()))
