"""The run loop every learner shares: collect, update, log, checkpoint.

The learner comes from the registry (:data:`rlagent.algos.LEARNERS`) with what it needs from
collection; the loop hands it each batch of whole transitions (an on-policy learner trains on it,
an off-policy one adds it to its replay) and has no branch on which learner it runs.

A run lives in ``logs/<env>-<algo>-<time>-s<seed>/``: ``config.json`` (the resolved
hyperparameters), TensorBoard event files and ``metrics.jsonl`` with the same scalars, and
``checkpoints/step_<N>.pt``. Nothing is lost on the way out: Ctrl-C saves a checkpoint before
exiting, and a NaN or infinite loss stops the run without overwriting the last good checkpoint.
A resumed run continues bit for bit where the checkpoint left it (same seed and CPU), because the
checkpoint holds the model, the optimiser, every random generator and, where it can be pickled,
the vector env mid-episode.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from envs.simultaneous import SimultaneousGame
from envs.simultaneous_env import SimultaneousVectorEnv
from envs.turn_based_env import TurnBasedVectorEnv
from rlagent.algos import LEARNERS
from rlagent.algos.learner import OffPolicyLearner
from rlagent.checkpoint import (
    capture_rng_state,
    check_compatible,
    check_state_dict_compatible,
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
    space_signature,
    unpickle_env,
)
from rlagent.config import Config
from rlagent.distributed_rollouts import RemoteCollector
from rlagent.errors import CheckpointError, ConfigError
from rlagent.fast.paths import select_fast_paths
from rlagent.games.extras import extras_for
from rlagent.games.players import PolicyPlayer
from rlagent.games.selfplay import POOL_DIR, OpponentPool, rate_learner, selfplay_game_factory
from rlagent.gym_envs import resolve_env_id
from rlagent.make_env import make_env
from rlagent.monitor.consistency import reference_batch
from rlagent.monitor.diagnostics import TrainingDiagnostics
from rlagent.monitor.logger import RunLogger
from rlagent.monitor.progress import Progress
from rlagent.monitor.results import GameResults
from rlagent.monitor.trials import TrialStats
from rlagent.rollout import Collector, Rollout


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("run.device is cuda but torch sees no CUDA device: use --device cpu or auto")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed the global generators once, at the edge; the learner's own generators derive from it."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def new_run_dir(config: Config) -> Path:
    """``logs/<env>-<algo>-<time>-s<seed>``, created here and now: two runs started in the same
    second (a sweep, two terminals) each get their own (``-2``, ``-3``...). Checking that a path is
    free and creating it later would let both take the same one and interleave their logs."""
    env_name = resolve_env_id(config.env).split("/")[-1].split("-v")[0].lower()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(config.run.logdir) / f"{env_name}-{config.algo}-{stamp}-s{config.run.seed}"
    base.parent.mkdir(parents=True, exist_ok=True)
    path, suffix = base, 1
    while True:
        try:
            path.mkdir()
            return path
        except FileExistsError:
            suffix += 1
            path = base.with_name(f"{base.name}-{suffix}")


def saved_run_config(run_dir: Path, algo: str, env: str) -> dict[str, Any]:
    """The resolved settings a run saved (its ``config.json``), checked to be a run of ``algo`` on ``env``."""
    saved_path = Path(run_dir) / "config.json"
    if not saved_path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (no config.json): pass the folder a run wrote under logs/")
    saved = json.loads(saved_path.read_text())
    if saved.get("algo") != algo or saved.get("env") != env:
        raise ConfigError(
            f"{run_dir} is a {saved.get('algo')} run on {saved.get('env')}; resume it with "
            f"`python -m rlagent.train {saved.get('algo')} --env {saved.get('env')} --resume {run_dir}`"
        )
    return saved


class _GracefulInterrupt:
    """First Ctrl-C: finish the current update, save, stop. Second Ctrl-C: stop at once.

    Saving between updates (not mid-rollout) is what makes a resumed run identical to one that
    was never interrupted.
    """

    def __init__(self, progress: Progress) -> None:
        self.requested = False
        self._progress = progress
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._progress.write("Ctrl-C: finishing this update and saving a checkpoint (Ctrl-C again to stop at once)")

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


@dataclass(frozen=True)
class UpdateEvent:
    """What :meth:`Trainer.train` tells its ``on_update`` hook after each update.

    ``checkpoint`` is the file saved at this update, or None: a caller that keeps its own copy of
    the run's progress (a Ray Tune trial) takes it exactly when it exists, with the metrics of the
    same step, so a restored copy resumes where those metrics were measured.
    """

    steps: int
    updates: int
    metrics: dict[str, float]
    checkpoint: Path | None


@dataclass
class RunResult:
    run_dir: Path
    steps: int
    updates: int
    metrics: dict[str, float]
    interrupted: bool = False


class Trainer:
    """Builds env, policy, algorithm and collector from a config, and runs them."""

    def __init__(self, config: Config, run_dir: Path | None = None, resume: bool = False) -> None:
        self.config = config
        cfg = config.run
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        seed_everything(cfg.seed)
        self.device = select_device(cfg.device)
        self.run_dir = run_dir or new_run_dir(config)
        try:
            self._build(config, resume)
        except BaseException:
            if run_dir is None and self.run_dir.is_dir() and not any(self.run_dir.iterdir()):
                self.run_dir.rmdir()  # a run that never started leaves no empty folder behind
            raise

    def _build(self, config: Config, resume: bool) -> None:
        cfg = config.run
        env_kwargs = dict(config.env_kwargs)
        self.pool: OpponentPool | None = None
        if config.selfplay.enabled:
            self.game_factory = selfplay_game_factory(config)
            probe = self.game_factory(cfg.num_envs)
            seat_game = probe if isinstance(probe, SimultaneousGame) else None
            self.pool = OpponentPool(config.selfplay, cfg.num_envs, self.run_dir / POOL_DIR, seed=cfg.seed, seat_game=seat_game)
            env_kwargs["opponent"] = self.pool
        # Ray workers step the envs (run.backend=ray): this env is one like a worker's, never
        # stepped, for the spaces, the episode length, the diagnostics and the pool's game.
        remote = cfg.backend == "ray"
        self.env = make_env(config.env, cfg.num_envs // cfg.num_workers if remote else cfg.num_envs, env_kwargs)
        spec = LEARNERS[config.algo]
        self.policy = spec.build_network(self.env.single_observation_space, self.env.single_action_space, config.policy, config.algorithm).to(self.device)
        self.on_policy = spec.on_policy
        needs = spec.collection(config.algorithm)
        num_steps = self._rollout_length(needs.num_steps)
        self.steps_per_update = num_steps * cfg.num_envs
        self.total_updates = -(-cfg.total_steps // self.steps_per_update)
        self.fast = select_fast_paths(self.policy, cfg.fast)
        self.algo = spec.build(self.policy, config.algorithm, self.total_updates, self.device, seed=cfg.seed, fast=self.fast)
        self.signature = space_signature(self.env.single_observation_space, self.env.single_action_space)
        if self.pool is not None:
            self.pool.metadata = {"config": config.to_dict(), "spaces": self.signature}
            if not resume:
                self.pool.add_snapshot(self.policy, 0)  # before the first games, so step_0 plays in them
        self.trial_stats = TrialStats()
        self.game_results = GameResults()
        self.diagnostics = TrainingDiagnostics(config, self.policy, self.env, num_steps, self.run_dir)
        observers = (self.trial_stats, self.game_results, self.diagnostics.clock)
        self.collector: Collector | RemoteCollector
        if remote:
            self.collector = RemoteCollector(config, self.policy, self.env, num_steps, needs.reset_state_per_trial, observers, self.pool)
        else:
            self.collector = Collector(
                self.env,
                self.policy,
                num_steps,
                cfg.seed,
                actor=self.fast.actor,
                reset_state_per_trial=needs.reset_state_per_trial,
                observers=observers,
            )
        self.steps = 0
        self._last_rollout: Rollout | None = None  # for the checkpoints' reference batch
        self.resumed_from: Path | None = None
        if resume:
            self._restore()

    def fast_paths_taken(self) -> dict[str, str]:
        """Which speed paths this run takes (``config.json``'s ``fast_paths``); the ``fast/*`` scalars
        say, update by update, where one stepped aside (a hook registered, a layer frozen)."""
        return {
            "mode": self.config.run.fast,
            "actor": "numpy" if self.fast.actor is not None else "torch",
            "gradient": "analytic" if getattr(self.algo, "analytic", None) is not None else "autograd",
        }

    def _rollout_length(self, steps: int) -> int:
        """Steps per env per rollout; 0 (REINFORCE's default) means one whole fixed-length episode."""
        if steps:
            return steps
        length = getattr(self.env, "episode_length", None)
        if not length:
            raise ConfigError(
                f"{self.config.algo}.num_steps is 0 (one whole episode) but {self.config.env} has no fixed episode "
                f"length: set {self.config.algo}.num_steps, e.g. --set {self.config.algo}.num_steps=128"
            )
        return int(length)

    # --- checkpoints -----------------------------------------------------------------------------
    def checkpoint_payload(self) -> dict[str, Any]:
        return {
            "model": self.policy.state_dict(),
            "algorithm": self.algo.state_dict() if self.on_policy else cast(OffPolicyLearner, self.algo).state_dict(include_replay=self.config.run.save_replay),
            "collector": self.collector.state_dict(),
            "config": self.config.to_dict(),
            "spaces": self.signature,
            "steps": self.steps,
            "rng": capture_rng_state(),
            # The trainer's own outputs on a few observations, for `diagnose` to compare the reloaded agent with.
            "reference": reference_batch(self.policy, self._last_rollout, getattr(self.config.algorithm, "value_loss", None)),
            "diagnostics": self.diagnostics.state_dict(),
        }

    def save(self) -> Path:
        path = checkpoint_path(self.run_dir, self.steps)
        save_checkpoint(path, self.checkpoint_payload())
        if self.pool is not None:
            self.pool.write_summary()
        prune_checkpoints(self.run_dir, self.config.run.keep_checkpoints, protect=[path])
        return path

    def _restore(self) -> None:
        path = latest_checkpoint(self.run_dir)
        if path is None:
            raise CheckpointError(f"no checkpoint in {self.run_dir / 'checkpoints'}: nothing to resume")
        payload = load_checkpoint(path)
        check_compatible(payload["spaces"], self.signature)
        check_state_dict_compatible(payload["model"], self.policy, source=str(path))
        self.policy.load_state_dict(payload["model"])
        self.algo.load_state_dict(payload["algorithm"])
        if not getattr(self.algo, "replay_restored", True):
            print(f"note: {path} holds no replay buffer (run.save_replay=false): it refills from empty before learning resumes")
        try:
            # unpickle_env also finds classes an older rlagent pickled under old module names.
            restored_env = self.collector.load_state_dict(payload["collector"], unpickle=unpickle_env)
        except CheckpointError as exc:
            raise CheckpointError(f"cannot resume from {path} (checkpoint format_version {payload['format_version']}): {exc}") from exc
        if not restored_env:
            print(f"note: the env of {path} could not be saved; episodes restart on resume")
        self.env = self.collector.env
        if self.pool is not None:
            # The pool travelled inside the pickled env; its snapshot networks come from pool/.
            assert isinstance(self.env, (TurnBasedVectorEnv, SimultaneousVectorEnv)), "a self-play env plays a match"
            pool = self.env.match.opponent
            assert isinstance(pool, OpponentPool), "a self-play env's opponent is its pool"
            pool.directory = self.run_dir / POOL_DIR
            pool.restore_players()
            self.pool = pool
        restore_rng_state(payload["rng"])
        self.diagnostics.load_state_dict(payload.get("diagnostics") or {})
        self.steps = int(payload["steps"])
        self.resumed_from = path

    # --- the loop --------------------------------------------------------------------------------
    def train(self, on_update: Callable[[UpdateEvent], None] | None = None) -> RunResult:
        """Train to ``run.total_steps``; ``on_update`` (optional) sees every update's metrics and
        checkpoint (:class:`UpdateEvent`), for a caller that drives the run from outside: a search
        reporting to Ray Tune. The run's own logs and checkpoints are the same with or without it."""
        cfg = self.config.run
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # The resolved settings, and which speed paths this run takes (``fast_paths``; read back by
        # nothing: a record for the reader, see rlagent.fast.paths).
        record = {**self.config.to_dict(), "fast_paths": self.fast_paths_taken()}
        (self.run_dir / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        logger = RunLogger(self.run_dir, hparams=self.config.to_dict(), resume_step=self.steps if self.resumed_from else None)
        progress = Progress(cfg.total_steps, desc=f"{self.config.algo} {self.config.env}", enabled=None if cfg.progress else False, initial=self.steps)
        metrics: dict[str, float] = {}
        started, steps_at_start = time.perf_counter(), self.steps
        stop = _GracefulInterrupt(progress)
        try:
            while self.steps < cfg.total_steps and not stop.requested:
                rollout = self._last_rollout = self.collector.collect()
                self.diagnostics.before_update(self.algo.updates_done + 1)
                metrics = self.algo.update(rollout)
                self.steps += self.steps_per_update
                metrics.update(self.diagnostics.after_update(rollout, self.algo.updates_done))
                metrics.update(self.collector.stats.summary())
                metrics.update(self.trial_stats.summary(rollout))
                metrics.update(self.game_results.summary())
                metrics["fast/numpy_actor"] = float(self.collector.fast_actor_used)
                metrics.setdefault("fast/analytic_gradient", 0.0)  # learners without that path
                if self.pool is not None:
                    metrics.update(self._selfplay_step())
                elapsed = time.perf_counter() - started
                metrics["time/fps"] = (self.steps - steps_at_start) / max(elapsed, 1e-9)
                for line in self.diagnostics.warnings(self.steps, metrics):
                    progress.write(f"warning at step {self.steps}: {line}")
                    logger.text("warnings", line, self.steps)
                if self.algo.updates_done % cfg.log_every == 0:
                    logger.log(self.steps, metrics)
                progress.update(self.steps, **self._progress_fields(metrics))
                saved = None
                # The last update saves here too (not only after the loop), so the hook sees the final checkpoint.
                if (self.algo.updates_done % cfg.checkpoint_every == 0 or self.steps >= cfg.total_steps) and not stop.requested:
                    logger.flush()  # rows up to a checkpoint are on disk before it: a resume keeps them
                    saved = self.save()
                if on_update is not None:
                    on_update(UpdateEvent(self.steps, self.algo.updates_done, dict(metrics), saved))
            logger.flush()
            path = checkpoint_path(self.run_dir, self.steps)
            if not path.is_file():  # interrupted, or nothing to do: the loop saved no final checkpoint
                path = self.save()
            if stop.requested:
                progress.write(f"interrupted: saved {path}; continue with --resume {self.run_dir}")
            else:
                final = {k: v for k, v in metrics.items() if k.startswith(("rollout/", "train/"))}
                logger.log_hparams(self.config.to_dict(), final)
        finally:
            stop.restore()
            progress.close()
            logger.close()
            self.collector.close()  # Ray workers go back; a local collector holds nothing to release
        return RunResult(self.run_dir, self.steps, self.algo.updates_done, metrics, stop.requested)

    def _selfplay_step(self) -> dict[str, float]:
        """Rate the learner against the pool, then (in that order, so this policy is rated before
        it becomes a member) add its snapshot, on the configured update counts."""
        sp, updates, pool = self.config.selfplay, self.algo.updates_done, self.pool
        assert pool is not None, "self-play steps are taken with a pool"
        metrics = pool.metrics()
        if sp.eval_every and updates % sp.eval_every == 0:
            metrics.update(rate_learner(pool, self.policy, self.steps, self.game_factory))
            metrics.update(self._position_score())
        if updates % sp.snapshot_every == 0:
            pool.add_snapshot(self.policy, self.steps)
        return metrics

    @cached_property
    def _position_suite(self) -> Any:
        """Drawn and solved at the first rating round, not at start-up: a run that never rates pays
        nothing. None for games that register no solved positions (:mod:`rlagent.games.extras`)."""
        suite = extras_for(self.config.env).position_suite
        if suite is None:
            return None
        return suite(self.game_factory(1), self.config.selfplay.eval_positions, self.config.run.seed, self.run_dir / POOL_DIR)

    def _position_score(self) -> dict[str, float]:
        """``eval/winning_move_rate`` on positions with exact values (Hex boards the solver handles,
        see ``selfplay.eval_positions``)."""
        suite, score = self._position_suite, extras_for(self.config.env).score_positions
        if suite is None or not len(suite) or score is None:
            return {}
        try:
            rate = score(PolicyPlayer(self.policy, greedy=True), suite)
        finally:
            self.policy.train()
        return {"eval/winning_move_rate": rate}

    @staticmethod
    def _progress_fields(metrics: dict[str, float]) -> dict[str, str]:
        if "rollout/win_rate" in metrics:
            return {"win": f"{metrics['rollout/win_rate']:.0%}"}
        if "rollout/ep_rew_mean" in metrics:
            return {"return": f"{metrics['rollout/ep_rew_mean']:.1f}"}
        return {}
