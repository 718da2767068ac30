"""Distributed rollouts (``run.backend=ray``): Ray actors step the envs, this process learns.

Each of ``run.num_workers`` :class:`RolloutWorker` actors owns ``num_envs / num_workers`` envs,
its own copy of the policy and its own :class:`~rlagent.rollout.Collector`. Every update the
learner puts its weights in Ray's object store once (``ray.put``), each worker loads them and
collects T steps, and :class:`RemoteCollector` joins the workers' rollouts along the env axis
(worker 0's envs first): the learner sees one (T, N) rollout, as from a local collector, and
updates on it. Collection is synchronous, so the learning is that of a local run with N envs; only
the random streams differ.

Seeds: worker ``k`` seeds its collector (its envs and its sampling noise) and its opponent pool
with ``run.seed + k * num_envs / num_workers``, so a vector env that seeds its copies ``seed,
seed+1, ...`` gets the seeds a local run's envs get, and one worker is exactly a local run.

Monitors: the learner keeps the run's :class:`~rlagent.rollout.EpisodeStats` and its step
observers (trial accuracy, game results, the diagnostics' stage clock). Workers send each step's
``info`` (less the final observations, which are in the rollout) and the learner replays the
steps through its observers with the workers' infos joined as one N-env info, so every monitor
reads what it would read from a local collector, and checkpoints them as the local run does.

Self-play: each worker seats its own :class:`~rlagent.games.selfplay.OpponentPool` in its envs.
The learner's pool stays the one that writes snapshot files (``pool/step_N.pt``, once), rates the
learner and writes ``pool.json``. A new snapshot reaches the workers with the next collection, as
weights through Ray (no shared disk needed); with each collection the learner also sends every
member's record (games, learner score), so prioritized sampling reads the whole run's record, and
the workers send back the games they played, which the learner's pool adds up. A record thus lags
by at most one rollout behind a local run's.

Checkpoints and resume: the learner saves each worker's collector state (its envs pickled
mid-episode, its pool inside them) with its own monitors and pool, and a resume hands each worker
its state back, with the active snapshots' weights; where an env cannot be pickled its episodes
restart, as in a local run. A checkpoint resumes with the same ``run.num_workers``.
"""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import torch
from gymnasium.vector import VectorEnv

from envs.simultaneous import SimultaneousGame
from rlagent.algos import LEARNERS
from rlagent.checkpoint import unpickle_env
from rlagent.config import Config
from rlagent.distributed import init_ray, require_ray
from rlagent.errors import CheckpointError, ConfigError
from rlagent.fast.paths import select_fast_paths
from rlagent.games.selfplay import OpponentPool, selfplay_game_factory
from rlagent.make_env import make_env
from rlagent.rollout import Collector, EpisodeStats, Rollout, StepObserver, concatenate_envs

_FINAL_OBS_KEYS = ("final_obs", "_final_obs")  # in the rollout already: not sent twice

Records = dict[str, tuple[int, float]]  # member name -> (games, learner score)


def worker_seed(seed: int, index: int, envs_per_worker: int) -> int:
    """Worker ``index``'s seed: its envs continue the numbering of the previous worker's (see the module docstring)."""
    return seed + index * envs_per_worker


# --- the worker side -------------------------------------------------------------------------------
def _copy_info(info: dict[str, Any]) -> dict[str, Any]:
    """A step's info as it is now (an env may reuse its arrays next step), less the final observations."""
    copied: dict[str, Any] = {}
    for key, value in info.items():
        if key in _FINAL_OBS_KEYS:
            continue
        if isinstance(value, dict):
            copied[key] = _copy_info(value)
        elif isinstance(value, np.ndarray):
            copied[key] = value.copy()
        else:
            copied[key] = value
    return copied


class InfoRecorder:
    """A worker's step observer: keeps each step's info until the learner takes the rollout."""

    def __init__(self) -> None:
        self.infos: list[dict[str, Any]] = []

    def update(self, info: dict[str, Any], dones: np.ndarray, rewards: np.ndarray) -> None:
        self.infos.append(_copy_info(info))

    def take(self) -> list[dict[str, Any]]:
        infos, self.infos = self.infos, []
        return infos

    def state_dict(self) -> dict[str, Any]:
        return {}  # emptied every rollout, and checkpoints are taken between rollouts

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _records(pool: OpponentPool) -> Records:
    return {member.name: (member.games, member.learner_score) for member in pool.members}


class RolloutWorker:
    """One Ray actor's share of the envs: its env, policy copy, collector and (self-play) pool.

    Plain Python: :class:`RemoteCollector` wraps it with ``ray.remote``, and tests can run it in
    process. ``snapshots``: ``(step, weights)`` of the pool's snapshots so far, joined before the
    envs start their first games (as step 0 is in a local run). ``pool_directory``: the learner's
    ``pool/``, never written here; read only for a retired snapshot still seated after a resume.
    """

    def __init__(
        self,
        config: Config,
        index: int,
        num_steps: int,
        reset_state_per_trial: bool = False,
        pool_directory: str | None = None,
        snapshots: Sequence[tuple[int, dict[str, torch.Tensor]]] = (),
    ) -> None:
        cfg = config.run
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.num_envs = cfg.num_envs // cfg.num_workers
        self.seed = worker_seed(cfg.seed, index, self.num_envs)
        random.seed(self.seed)  # as the trainer seeds its process (rlagent.run.seed_everything)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        env_kwargs = dict(config.env_kwargs)
        self.pool: OpponentPool | None = None
        self.pool_directory = Path(pool_directory) if pool_directory else None
        if config.selfplay.enabled:
            probe = selfplay_game_factory(config)(self.num_envs)
            seat_game = probe if isinstance(probe, SimultaneousGame) else None
            self.pool = OpponentPool(config.selfplay, self.num_envs, self.pool_directory or Path("pool"), seed=self.seed, seat_game=seat_game)
            env_kwargs["opponent"] = self.pool
        env = make_env(config.env, self.num_envs, env_kwargs)
        self.config, self.spaces = config, (env.single_observation_space, env.single_action_space)
        self.policy = self._network()
        for step, weights in snapshots:
            self._join(step, weights)
        self.recorder = InfoRecorder()
        self.collector = Collector(
            env,
            self.policy,
            num_steps,
            self.seed,
            actor=select_fast_paths(self.policy, cfg.fast).actor,
            reset_state_per_trial=reset_state_per_trial,
            observers=(self.recorder,),
        )

    def _network(self, weights: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
        """The learner's network for these spaces: the policy copy, or a frozen snapshot with ``weights``."""
        network = LEARNERS[self.config.algo].build_network(*self.spaces, self.config.policy, self.config.algorithm)
        if weights is not None:
            network.load_state_dict(weights)
            network.requires_grad_(False)
        return network

    def _join(self, step: int, weights: dict[str, torch.Tensor]) -> None:
        if self.pool is not None and f"step_{int(step)}" not in {m.name for m in self.pool.members}:
            self.pool.join_snapshot(self._network(weights), step)

    def collect(self, weights: dict[str, torch.Tensor], sync: dict[str, Any] | None = None) -> dict[str, Any]:
        """Load the learner's weights, take in the pool's news (``sync``: new snapshots, the
        learner's records), collect, and return the rollout, each step's info and the games
        this worker's pool played."""
        self.policy.load_state_dict(weights)
        before: Records = {}
        if self.pool is not None and sync is not None:
            for step, snapshot in sync["snapshots"]:
                self._join(step, snapshot)
            for member in self.pool.members:
                if member.name in sync["records"]:
                    member.games, member.learner_score = sync["records"][member.name]
            before = _records(self.pool)
        rollout = self.collector.collect()
        played: Records = {}
        if self.pool is not None:
            for name, (games, score) in _records(self.pool).items():
                old_games, old_score = before.get(name, (0, 0.0))
                if games != old_games:
                    played[name] = (games - old_games, score - old_score)
        return {"rollout": rollout, "infos": self.recorder.take(), "fast_actor_used": self.collector.fast_actor_used, "played": played}

    def state_dict(self) -> dict[str, Any]:
        return {"collector": self.collector.state_dict()}

    def load_state_dict(self, state: dict[str, Any], snapshots: dict[str, tuple[int, dict[str, torch.Tensor]]]) -> tuple[bool, list[str]]:
        """Continue from a checkpoint: the envs mid-episode where they could be pickled (their
        pool inside them, its snapshot networks from ``snapshots`` rather than from disk). Returns
        whether the envs came back, and the snapshots this worker's pool now holds."""
        restored = self.collector.load_state_dict(state["collector"], unpickle=unpickle_env)
        if restored and self.pool is not None:
            self.pool = self.collector.env.match.opponent  # type: ignore[attr-defined]  # our TurnBasedVectorEnv, pool inside
            if self.pool_directory is not None:
                self.pool.directory = self.pool_directory  # only read, for retired snapshots still seated
            self.pool.provide_networks({name: self._network(weights) for name, (_, weights) in snapshots.items()})
            self.pool.restore_players()
        members = [] if self.pool is None else [m.name for m in self.pool.members if m.kind == "snapshot"]
        return restored, members


# --- the learner side ------------------------------------------------------------------------------
def merge_infos(infos: Sequence[dict[str, Any]], sizes: Sequence[int]) -> dict[str, Any]:
    """The workers' infos of one step as one info of ``sum(sizes)`` envs, in worker order.

    A key some workers lack (a Gymnasium vector env reports a key only when one of its envs
    does) is filled with zeros, and its ``_key`` mask with False, for those workers' envs; a
    value that is not per env is taken from the first worker that has it.
    """
    merged: dict[str, Any] = {}
    for key in dict.fromkeys(key for info in infos for key in info):
        values = [info.get(key) for info in infos]
        present = [value for value in values if value is not None]
        if all(isinstance(value, dict) for value in present):
            merged[key] = merge_infos([value if value is not None else {} for value in values], sizes)
            continue
        per_env = all(isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == size for value, size in zip(values, sizes) if value is not None)
        if not per_env:
            merged[key] = present[0]
            continue
        template = present[0]
        merged[key] = np.concatenate(
            [value if value is not None else np.zeros((size, *template.shape[1:]), template.dtype) for value, size in zip(values, sizes)]
        )
    return merged


class RemoteCollector:
    """A :class:`~rlagent.rollout.Collector` whose envs live in Ray workers (module docstring).

    The same interface: ``collect() -> Rollout`` of all N envs, ``stats``, ``fast_actor_used``,
    ``env``, ``state_dict``/``load_state_dict``, ``close``. ``env`` is a local env like one
    worker's, never stepped: the trainer reads spaces, episode length and game from it, and in
    self-play it seats the learner's pool (which binds the game, for baselines that search).
    """

    def __init__(
        self,
        config: Config,
        policy: torch.nn.Module,
        env: VectorEnv,
        num_steps: int,
        reset_state_per_trial: bool = False,
        observers: tuple[StepObserver, ...] = (),
        pool: OpponentPool | None = None,
    ) -> None:
        cfg = config.run
        self._ray = require_ray()
        self.num_workers = cfg.num_workers
        self._owns_ray = init_ray(cfg.address, num_cpus=max(cfg.num_workers, os.cpu_count() or 1))
        cpus = self._ray.cluster_resources().get("CPU", 0)
        if cpus < cfg.num_workers:
            self.close()
            raise ConfigError(f"the Ray cluster has {cpus:g} CPUs; run.num_workers={cfg.num_workers} workers need one each")
        self.policy, self.env, self.pool = policy, env, pool
        self.num_steps, self.num_envs = num_steps, cfg.num_envs
        self.observers = tuple(observers)
        self.stats = EpisodeStats(self.num_envs)
        self.fast_actor_used = False
        self._sent: set[str] = set()  # snapshots the workers hold
        snapshots = self._snapshots()
        actor = self._ray.remote(num_cpus=1)(RolloutWorker)
        directory = None if pool is None else str(pool.directory)
        self.workers = [
            actor.remote(config, index, num_steps, reset_state_per_trial, directory, [(step, weights) for _, step, weights in snapshots])
            for index in range(cfg.num_workers)
        ]

    def _snapshots(self) -> list[tuple[str, int, dict[str, torch.Tensor]]]:
        """The learner's active snapshots the workers do not hold yet, as (name, step, weights);
        from now on the workers hold every snapshot up to these (retired ones need no copy)."""
        if self.pool is None:
            return []
        new = [
            (member.name, member.step, _cpu_weights(self.pool.network(index)))
            for index, member in enumerate(self.pool.members)
            if member.kind == "snapshot" and member.active and member.name not in self._sent
        ]
        self._sent.update(member.name for member in self.pool.members if member.kind == "snapshot")
        return new

    def collect(self) -> Rollout:
        """One synchronous round: broadcast the weights, every worker collects T steps, join."""
        if not self.workers:
            raise RuntimeError("this RemoteCollector is closed: its Ray workers are gone")
        ray = self._ray
        weights = ray.put(_cpu_weights(self.policy))
        sync = None
        if self.pool is not None:
            sync = ray.put(
                {
                    "snapshots": [(step, state) for _, step, state in self._snapshots()],
                    "records": _records(self.pool),
                }
            )
        results = ray.get([worker.collect.remote(weights, sync) for worker in self.workers])
        rollout = concatenate_envs([result["rollout"] for result in results])
        self._replay(rollout, [result["infos"] for result in results], [result["rollout"].num_envs for result in results])
        self.fast_actor_used = all(result["fast_actor_used"] for result in results)
        if self.pool is not None:
            members = {member.name: member for member in self.pool.members}
            for result in results:
                for name, (games, score) in result["played"].items():
                    members[name].games += games
                    members[name].learner_score += score
        return rollout

    def _replay(self, rollout: Rollout, infos: list[list[dict[str, Any]]], sizes: list[int]) -> None:
        """Step the learner's monitors through the joined rollout, as a local collector steps them."""
        dones = rollout.terminated | rollout.truncated
        for t in range(rollout.num_steps):
            self.stats.update(rollout.rewards[t], dones[t], None if rollout.valid is None else rollout.valid[t])
            if self.observers:
                info = merge_infos([worker_infos[t] for worker_infos in infos], sizes)
                for observer in self.observers:
                    observer.update(info, dones[t], rollout.rewards[t])

    # --- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The workers' collectors (envs mid-episode), the learner's monitors and its pool."""
        if not self.workers:
            raise RuntimeError("this RemoteCollector is closed: its workers' envs are gone, save before closing")
        return {
            "workers": self._ray.get([worker.state_dict.remote() for worker in self.workers]),
            "stats": self.stats.state_dict(),
            "observers": [observer.state_dict() for observer in self.observers],
            "pool": None if self.pool is None else cloudpickle.dumps(self.pool),
        }

    def load_state_dict(self, state: dict[str, Any], unpickle: Callable[[bytes], Any] = pickle.loads) -> bool:
        """Restore the learner's side, then each worker's; False when the envs restart instead."""
        saved = state.get("workers")
        if saved is None:
            raise CheckpointError("this checkpoint was collected by the local backend: resume it with --set run.backend=local")
        if len(saved) != self.num_workers:
            raise CheckpointError(f"this checkpoint was collected by {len(saved)} Ray workers: resume it with --set run.num_workers={len(saved)}")
        self.stats.load_state_dict(state["stats"])
        for observer, observer_state in zip(self.observers, state["observers"]):
            observer.load_state_dict(observer_state)
        if self.pool is not None and state.get("pool") is not None:
            self._restore_pool(unpickle(state["pool"]))
        self._sent = set()
        snapshots = self._ray.put({name: (step, weights) for name, step, weights in self._snapshots()})
        answers = self._ray.get([worker.load_state_dict.remote(worker_state, snapshots) for worker, worker_state in zip(self.workers, saved)])
        restored = all(answer[0] for answer in answers)
        self._sent = set.intersection(*(set(answer[1]) for answer in answers))
        if not restored:
            self.stats.restart_episodes()
        return restored

    def _restore_pool(self, saved: OpponentPool) -> None:
        """The learner's pool, restored in place (the trainer and the local env hold it), keeping
        where it writes and the game it is bound to."""
        pool = self.pool
        assert pool is not None, "only a self-play run saves a pool"
        directory, game = pool.directory, pool.board_game
        pool.__dict__.update(saved.__dict__)
        pool.directory = directory
        if game is not None:
            pool.bind_game(game)
        pool.restore_players()

    def close(self) -> None:
        """Release the workers (and Ray, if this collector started it)."""
        for worker in getattr(self, "workers", []):
            self._ray.kill(worker)
        self.workers = []
        if self._owns_ray:
            self._ray.shutdown()
            self._owns_ray = False


def _cpu_weights(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.detach().cpu() for name, value in network.state_dict().items()}
