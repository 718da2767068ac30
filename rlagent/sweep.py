"""Many small training runs, side by side in worker processes: the engine of studies and learning bars.

A study is a grid of cells (algorithm, env, ``--set`` overrides, budget, seed). Each cell is an
ordinary run (its own run directory with ``config.json`` and ``metrics.jsonl``), so any cell can
be opened in TensorBoard or re-run alone with the command line it prints. A cell's result holds
its learning curve (the chosen metrics at every logged step) and, for trial tasks, the greedy
policy's accuracy on fresh trials after training.

Runs are single-threaded (``run.threads=1``); ``workers`` processes run cells at once, which is
how a 2-core laptop gets through a study in reasonable time. ``backend="ray"`` runs each cell as a
Ray task instead, on more cores or machines (:mod:`rlagent.distributed`); a cell's figures depend
only on the cell, so they are the same on every backend.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rlagent.agent import Agent
from rlagent.config import resolve
from rlagent.distributed import check_backend, ray_map
from rlagent.episodes import trial_accuracy
from rlagent.errors import RlagentError
from rlagent.monitor.logger import read_metrics
from rlagent.monitor.progress import Progress
from rlagent.run import Trainer


@dataclass(frozen=True)
class Cell:
    """One run of a study; ``tags`` are carried into the result for grouping (e.g. the grid axes)."""

    algo: str
    env: str
    overrides: tuple[str, ...]
    total_steps: int
    seed: int = 0
    tags: tuple[tuple[str, Any], ...] = ()

    def command(self) -> str:
        sets = " ".join(f"--set {o}" for o in self.overrides)
        return f"python -m rlagent.train {self.algo} --env {self.env} {sets} --total-steps {self.total_steps} --seed {self.seed}"


@dataclass
class CellResult:
    cell: Cell
    run_dir: str
    curve: list[dict[str, float]] = field(default_factory=list)
    evaluation: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self.cell.tags)


def greedy_trial_accuracy(policy: Any, config: Any, episodes: int, seed: int) -> dict[str, float]:
    """``trial/*`` accuracies of the most likely action on ``episodes`` fresh episodes of a trial
    task (empty for other envs)."""
    return trial_accuracy(Agent(policy, config, Path(".")), episodes, seed, deterministic=True)[1]


def run_cell(cell: Cell, logdir: str | None, curve_keys: Sequence[str], eval_episodes: int) -> CellResult:
    """Train one cell to its budget; never raises (a failed cell reports its one-line error).

    ``logdir`` None: the run goes to a temporary directory, removed once its figures are read, on
    whichever machine ran the cell (a Ray worker may not share this one's disk).
    """
    if logdir is None:
        with tempfile.TemporaryDirectory(prefix="rlagent-sweep-") as temporary:
            return run_cell(cell, temporary, curve_keys, eval_episodes)
    torch.set_num_threads(1)
    overrides = ["run.progress=false", "run.threads=1", *cell.overrides]
    try:
        config = resolve(cell.algo, cell.env, overrides=overrides, extra={"total_steps": cell.total_steps, "seed": cell.seed, "logdir": logdir})
        trainer = Trainer(config)
        trainer.train()
    except RlagentError as error:
        return CellResult(cell, "", error=str(error))
    curve = [{k: row[k] for k in ("step", *curve_keys) if k in row} for row in read_metrics(trainer.run_dir)]
    evaluation = {}
    if eval_episodes:
        evaluation = greedy_trial_accuracy(trainer.policy, config, eval_episodes, seed=10_000 + cell.seed)
    return CellResult(cell, str(trainer.run_dir), curve, evaluation)


def run_sweep(
    cells: Sequence[Cell],
    workers: int = 2,
    logdir: str | Path | None = None,
    curve_keys: Sequence[str] = ("trial/accuracy", "trial/accuracy_nontrivial", "train/value_loss"),
    eval_episodes: int = 200,
    progress: bool | None = None,
    backend: str = "local",
) -> list[CellResult]:
    """Results in the order of ``cells``. ``logdir`` None: each run in a temporary directory, removed after.

    ``backend`` ``"local"``: in this process (``workers`` <= 1) or ``workers`` spawned ones;
    ``"ray"``: Ray tasks, as many at once as Ray has cores (``workers`` unused). On a cluster,
    ``logdir`` should be on storage every node sees, or each run directory stays on its node.
    """
    check_backend(backend)
    root = None if logdir is None else str(logdir)
    results: list[CellResult | None] = [None] * len(cells)
    bar = Progress(len(cells), desc="cells", enabled=progress, unit="cells")
    try:
        if backend == "ray":
            for done, (i, result) in enumerate(ray_map(run_cell, cells, root, tuple(curve_keys), eval_episodes), start=1):
                results[i] = result
                bar.update(done)
        elif workers <= 1:
            for i, cell in enumerate(cells):
                results[i] = run_cell(cell, root, curve_keys, eval_episodes)
                bar.update(i + 1)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(run_cell, cell, root, tuple(curve_keys), eval_episodes): i for i, cell in enumerate(cells)}
                for done, future in enumerate(as_completed(futures), start=1):
                    results[futures[future]] = future.result()
                    bar.update(done)
    finally:
        bar.close()
    return [r for r in results if r is not None]


def first_step_at(curve: list[dict[str, float]], key: str, threshold: float) -> float | None:
    """The first logged step at which ``key`` reached ``threshold`` (None if it never did)."""
    for row in curve:
        if row.get(key, -np.inf) >= threshold:
            return row["step"]
    return None
