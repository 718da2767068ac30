"""Hyperparameter search with Ray Tune: every trial an ordinary training run, the search resumable.

A search samples ``--space`` keys (any key ``--set`` takes) from the distributions ``choice``,
``uniform``, ``loguniform`` and ``int``; each trial resolves its configuration exactly as
``python -m rlagent.train`` would (defaults < preset < ``--config`` < ``--set`` < the sampled values
< the flags) and runs the :class:`~rlagent.run.Trainer`, whose ``on_update`` hook reports every
update's metrics to Tune and hands Tune each checkpoint the run saves. So a trial is a normal run
directory (``config.json``, ``metrics.jsonl``, TensorBoard events, ``checkpoints/``) under the trial's
folder, a scheduler (ASHA) can stop it between updates, and a trial Tune restores continues from its
last reported checkpoint bit for bit, as ``--resume`` does.

Everything lands in ``<storage>/<name>/`` (``logs/tune/<name>/``): Tune's own state, one
``trial_<id>/`` folder per trial holding its run in ``run/``, and what the search concludes:
``trials.csv`` (one row per trial), ``best.yaml`` (the best trial's settings as a preset for
``--config``) and ``metric.png`` (the metric over training steps, the best trial highlighted).
Running the same search again with the same ``--name`` resumes it: finished trials are kept, the
unfinished ones continue from their checkpoints.

Ray is optional (``pip install -e .[ray]``) and imported only inside the functions that use it, so
``import rlagent`` works without it and the settings are checked before Ray starts.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlagent.checkpoint import checkpoint_path, list_checkpoints
from rlagent.config import Config, canonical_key, parse_override, resolve
from rlagent.distributed import INSTALL_RAY, init_ray, require_ray
from rlagent.errors import ConfigError, TrainingError
from rlagent.games.selfplay import POOL_DIR
from rlagent.make_env import make_env
from rlagent.monitor.plots import trials_png
from rlagent.run import Trainer, UpdateEvent

SPACE_FORMS = "KEY=choice:A,B,C, KEY=uniform:LOW:HIGH, KEY=loguniform:LOW:HIGH or KEY=int:LOW:HIGH (both ends included)"
SEARCHES = ("random", "optuna", "hyperopt")
SCHEDULERS = ("none", "asha")
MODES = ("max", "min")
STEPS = "steps"  # the time axis every trial reports: environment steps (ASHA's time_attr)
SEARCH_FILE = "search.json"  # the settings of a search, so a second run under its name can tell resume from clash
RUN_DIR = "run"  # a trial's run directory inside its Tune trial folder


# --- the space ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dimension:
    """One searched setting: ``key`` as ``resolve`` names it (``ppo.discount_factor`` for ``gamma``),
    ``kind`` one of choice/uniform/loguniform/int, ``values`` the options or ``(low, high)``."""

    key: str
    kind: str
    values: tuple[Any, ...]

    def probes(self) -> tuple[Any, ...]:
        """Values that exercise the setting's validation before any trial runs: every option, or
        both ends of a range (its inside is valid if its ends are, for the checks fields have) and,
        for a float range, one inside value that is not a whole number, as nearly every sample is: an
        integer field (``uniform:1:5`` for ``num_epoch``) fails on it here rather than in a trial."""
        if self.kind in ("choice", "int"):
            return self.values
        low, high = self.values
        inside = low * (high / low) ** (1 / math.pi) if self.kind == "loguniform" else low + (high - low) / math.pi
        return (low, high, inside)

    def domain(self) -> Any:
        """The Ray Tune sampling domain; ``int`` includes its upper end (Tune's ``randint`` does not)."""
        from ray import tune

        if self.kind == "choice":
            return tune.choice(list(self.values))
        low, high = self.values
        if self.kind == "uniform":
            return tune.uniform(low, high)
        if self.kind == "loguniform":
            return tune.loguniform(low, high)
        return tune.randint(low, high + 1)

    def describe(self) -> str:
        if self.kind == "choice":
            return f"{self.key}=choice:{','.join(json.dumps(v) for v in self.values)}"
        return f"{self.key}={self.kind}:{self.values[0]}:{self.values[1]}"


def _split_options(text: str) -> list[str]:
    """``a,b,[64,64]`` -> ``["a", "b", "[64,64]"]``: commas inside brackets belong to a list value."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts]


def parse_dimension(algo: str, text: str) -> Dimension:
    """``KEY=DIST:ARGS`` -> a :class:`Dimension`; a malformed spec is one ConfigError naming the forms.
    Choice options are read as ``--set`` values are (YAML: ``0.1``, ``true``, ``[64, 64]``, ``tanh``)."""

    def bad(why: str) -> ConfigError:
        return ConfigError(f"--space {text!r}: {why}; valid forms: {SPACE_FORMS}")

    key, sep, spec = text.partition("=")
    kind, colon, args = spec.partition(":")
    if not sep or not key.strip() or not colon:
        raise bad("expected KEY=DIST:ARGS")
    key, kind = canonical_key(algo, key.strip()), kind.strip()
    if kind == "choice":
        options = _split_options(args)
        if not all(options):
            raise bad("choice needs options separated by commas, none empty")
        return Dimension(key, kind, tuple(parse_override(f"{key}={option}")[1] for option in options))
    if kind not in ("uniform", "loguniform", "int"):
        raise bad(f"unknown distribution {kind!r}")
    bounds = args.split(":")
    if len(bounds) != 2:
        raise bad(f"{kind} takes LOW:HIGH")
    try:
        low, high = (int(b) if kind == "int" else float(b) for b in bounds)
    except ValueError:
        raise bad(f"{kind} bounds must be {'integers' if kind == 'int' else 'numbers'}") from None
    if not low < high:
        raise bad(f"LOW must be below HIGH, got {low} and {high}")
    if kind == "loguniform" and low <= 0:
        raise bad(f"loguniform needs LOW > 0, got {low}")
    return Dimension(key, kind, (low, high))


def yaml_value(value: Any) -> str:
    """One value as YAML text that reads back as the same value: ``1.0e-05`` (YAML 1.1 reads
    ``1e-05`` as a string), ``'off'`` (not false), ``[64, 64]``."""
    text = yaml.safe_dump(_plain(value), default_flow_style=True, width=math.inf)
    return text.removesuffix("\n").removesuffix("\n...")


def override_text(key: str, value: Any) -> str:
    """A sampled value as a ``--set`` override."""
    return f"{key}={yaml_value(value)}"


def _plain(value: Any) -> Any:
    """Tune's samplers may hand back numpy scalars; JSON, YAML and CSV want Python's."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- the search's settings --------------------------------------------------------------------------
@dataclass(frozen=True)
class SearchSpec:
    """Everything a search needs, checked by :func:`check_search` before Ray starts; picklable,
    since each trial receives it. ``config_file`` and ``storage`` are absolute (trials run elsewhere)."""

    algo: str
    env: str
    space: tuple[Dimension, ...]
    metric: str = "rollout/ep_rew_mean"
    mode: str = "max"
    samples: int = 8
    search: str = "random"
    scheduler: str = "none"
    grace_steps: int | None = None
    search_seed: int = 0
    config_file: str | None = None
    overrides: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    name: str = "search"
    storage: str = field(default_factory=lambda: str(Path("logs/tune").absolute()))
    cwd: str = field(default_factory=lambda: str(Path.cwd()))
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0

    @property
    def directory(self) -> Path:
        return Path(self.storage) / self.name

    def settings(self) -> dict[str, Any]:
        """What makes two searches the same search (``search.json``): not where it runs or on what."""
        return {
            "algo": self.algo,
            "env": self.env,
            "space": [d.describe() for d in self.space],
            "metric": self.metric,
            "mode": self.mode,
            "samples": self.samples,
            "search": self.search,
            "scheduler": self.scheduler,
            "grace_steps": self.grace_steps,
            "search_seed": self.search_seed,
            "config_file": self.config_file,
            "overrides": list(self.overrides),
            "extra": dict(self.extra),
        }

    def trial_overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's ``--set`` list: no progress bar (trials share a log), the user's, the sampled values."""
        return ["run.progress=false", *self.overrides, *(override_text(k, v) for k, v in params.items())]

    def trial_config(self, params: Mapping[str, Any]) -> Config:
        return resolve(self.algo, self.env, self.config_file, self.trial_overrides(params), self.extra)


def check_search(spec: SearchSpec) -> Config:
    """Fail fast, before Ray starts: the metric mode, the search and scheduler names, the space's keys
    and every probe value through ``resolve``, a key both fixed by ``--set`` and searched, and the env
    (made once, with the resolved env keywords). Returns the configuration without sampled values."""
    if spec.mode not in MODES:
        raise ConfigError(f"--mode must be max or min, got {spec.mode!r}")
    if spec.search not in SEARCHES:
        raise ConfigError(f"--search must be one of {', '.join(SEARCHES)}, got {spec.search!r}")
    if spec.scheduler not in SCHEDULERS:
        raise ConfigError(f"--scheduler must be one of {', '.join(SCHEDULERS)}, got {spec.scheduler!r}")
    if spec.samples < 1:
        raise ConfigError(f"--samples must be a positive number of trials, got {spec.samples}")
    if spec.grace_steps is not None and spec.grace_steps < 1:
        raise ConfigError(f"--grace-steps must be a positive number of steps, got {spec.grace_steps}")
    if not spec.space:
        raise ConfigError(f"give at least one --space: {SPACE_FORMS}")
    keys = [d.key for d in spec.space]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"--space names {', '.join(repeated)} more than once")
    fixed = {canonical_key(spec.algo, parse_override(o)[0]) for o in spec.overrides}
    both = sorted(fixed & set(keys))
    if both:
        raise ConfigError(f"{', '.join(both)} is both fixed by --set and searched by --space: drop one")
    base = resolve(spec.algo, spec.env, spec.config_file, list(spec.overrides), spec.extra)
    for dimension in spec.space:
        for value in dimension.probes():
            try:
                spec.trial_config({dimension.key: value})
            except ConfigError as error:
                hint = " (an integer setting: use int:LOW:HIGH)" if "must be an integer" in str(error) and dimension.kind != "int" else ""
                raise ConfigError(f"--space {dimension.describe()}: the value {_plain(value)!r} fails: {error}{hint}") from None
    probe = make_env(base.env, 1, dict(base.env_kwargs))
    probe.close()
    if spec.search != "random":
        _require_module(spec.search)
    return base


def _require_module(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        raise ConfigError(f"--search {name} needs {name}: pip install {name}")


# --- Ray --------------------------------------------------------------------------------------------
def _require_ray() -> None:
    """One line on how to get Ray (and Tune, which the extra brings), instead of an ImportError from
    deep inside a search."""
    require_ray()
    if importlib.util.find_spec("ray.tune") is None:
        raise ConfigError(f"Ray Tune is not installed: {INSTALL_RAY}")


# --- one trial ----------------------------------------------------------------------------------------
def trial_folder(trial_id: str) -> str:
    """A trial's name in Tune's output and its folder's name: short, and known inside the trial
    from its id alone (which is how it finds where to put its run directory)."""
    return f"trial_{trial_id}"


def trial_dirname(trial: Any) -> str:
    """Tune's ``trial_dirname_creator`` and ``trial_name_creator``: :func:`trial_folder` of the trial."""
    return trial_folder(trial.trial_id)


class _TuneReporter:
    """The Trainer's ``on_update`` hook inside a trial: each update's metrics to ``tune.report``, and
    each checkpoint the run saves packed into a Tune checkpoint with the metrics of the same step.

    Tune refuses a result without the search's metric, and some metrics come late or seldom
    (``rollout/ep_rew_mean`` after the first finished episode, ``elo/current`` every
    ``selfplay.eval_every`` updates): reports start at its first value and carry the latest value
    forward; a checkpoint saved before that rides on the first report.
    """

    def __init__(self, metric: str, run_dir: Path) -> None:
        self.metric = metric
        self.run_dir = run_dir
        self.value: float | None = None
        self.pending: Path | None = None
        self.seen: set[str] = set()

    def __call__(self, event: UpdateEvent) -> None:
        from ray import tune

        self.seen.update(event.metrics)
        if self.metric in event.metrics:
            self.value = float(event.metrics[self.metric])
        if event.checkpoint is not None:
            self.pending = event.checkpoint
        if self.value is None:
            return
        row = {**event.metrics, self.metric: self.value, STEPS: event.steps, "updates": event.updates}
        if self.pending is None or not self.pending.is_file():
            tune.report(row)
            return
        with tempfile.TemporaryDirectory(prefix="rlagent-tune-") as folder:
            _pack_checkpoint(self.pending, self.run_dir, Path(folder))
            tune.report(row, checkpoint=tune.Checkpoint.from_directory(folder))
        self.pending = None

    def finish(self) -> None:
        if self.value is None:
            raise TrainingError(f"the run never reported {self.metric}; it reports {', '.join(sorted(self.seen)) or 'nothing'}: pick one with --metric")


def _pack_checkpoint(checkpoint: Path, run_dir: Path, folder: Path) -> None:
    """What a restored trial needs to resume: the checkpoint file, and a self-play run's pool of
    snapshot networks (the checkpoint refers to them; on another node the run folder is not there)."""
    target = folder / checkpoint.relative_to(run_dir)
    target.parent.mkdir(parents=True)
    shutil.copy2(checkpoint, target)
    if (run_dir / POOL_DIR).is_dir():
        shutil.copytree(run_dir / POOL_DIR, folder / POOL_DIR)


def _unpack_checkpoint(folder: Path, run_dir: Path) -> None:
    """Put a Tune checkpoint back into the run folder: checkpoints the run saved after it (never
    reported, so Tune's result history ends before them) are removed so the resume starts from it."""
    ((step, source),) = list_checkpoints(folder)
    for later, path in list_checkpoints(run_dir):
        if later > step:
            path.unlink()
    target = checkpoint_path(run_dir, step)
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    if (folder / POOL_DIR).is_dir() and not (run_dir / POOL_DIR).is_dir():
        shutil.copytree(folder / POOL_DIR, run_dir / POOL_DIR)


def run_trial(params: dict[str, Any], spec: SearchSpec) -> None:
    """The Tune trainable: one training run with the sampled ``params``. Its run directory is in the
    trial's folder on the search's storage, so the runs outlive Ray's temporary working folders."""
    from ray import tune

    if Path(spec.cwd).is_dir():
        os.chdir(spec.cwd)  # relative paths and presets in --set/--config mean what they meant to the user
    context = tune.get_context()
    run_dir = spec.directory / trial_folder(context.get_trial_id()) / RUN_DIR
    config = spec.trial_config(params)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            _unpack_checkpoint(Path(folder), run_dir)
    elif run_dir.exists():
        shutil.rmtree(run_dir)  # a trial restarted before its first checkpoint starts over, not on top of its logs
    trainer = Trainer(config, run_dir=run_dir, resume=checkpoint is not None)
    reporter = _TuneReporter(spec.metric, run_dir)
    trainer.train(on_update=reporter)
    reporter.finish()


# --- the search -----------------------------------------------------------------------------------
@dataclass
class TrialRow:
    """One trial as the search reports it; ``final`` is the metric's last value, ``best`` its best."""

    trial: str
    params: dict[str, Any]
    steps: int
    final: float
    best: float
    status: str
    run_dir: str
    error: str = ""
    curve: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))


@dataclass
class SearchOutcome:
    """What a search concluded: its rows, the best trial (None if no trial reported the metric),
    whether this call resumed it and whether every trial finished (``complete``), the files written."""

    directory: Path
    rows: list[TrialRow]
    best: TrialRow | None
    resumed: bool
    complete: bool = True
    files: dict[str, Path] = field(default_factory=dict)


def run_search(spec: SearchSpec, address: str | None = None, num_cpus: int | None = None, verbose: int = 1) -> SearchOutcome:
    """Check ``spec``, run (or resume) the search on Ray, and write ``trials.csv``, ``best.yaml`` and
    ``metric.png`` into its folder."""
    base = check_search(spec)
    _require_ray()
    resumed = _claim_directory(spec)
    started = init_ray(address, num_cpus)
    try:
        tuner = _tuner(spec, base, resumed, verbose)
        grid = tuner.fit()
    finally:
        if started:
            import ray

            ray.shutdown()
    complete = grid.num_terminated + grid.num_errors == len(grid)  # else Ctrl-C (or a lost driver) cut it short
    rows = _rows(grid, spec, base, complete)
    best = _best(rows, spec.mode)
    outcome = SearchOutcome(spec.directory, rows, best, resumed, complete)
    outcome.files["trials"] = write_trials_csv(spec.directory / "trials.csv", rows, spec)
    curves = {row.trial: row.curve for row in rows}
    outcome.files["plot"] = trials_png(
        curves,
        best.trial if best else None,
        spec.metric,
        spec.directory / "metric.png",
        title=f"{spec.algo} on {spec.env}: {spec.metric} of {len(rows)} trials",
    )
    if best is not None:
        outcome.files["best"] = write_best_preset(spec.directory / "best.yaml", spec, best)
    return outcome


def _claim_directory(spec: SearchSpec) -> bool:
    """Whether this is a resume: the folder holds a search with the same settings. Another search's
    folder, or something else, is refused rather than mixed into."""
    from ray import tune

    directory = spec.directory
    saved = directory / SEARCH_FILE
    if saved.is_file():
        if json.loads(saved.read_text()) != spec.settings():
            raise ConfigError(
                f"{directory} holds a search with other settings ({saved}): choose another --name, or repeat that search's arguments to resume it"
            )
        return tune.Tuner.can_restore(str(directory))
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} exists and is not a search folder: choose another --name")
    directory.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(spec.settings(), indent=2) + "\n")
    return False


def _tuner(spec: SearchSpec, base: Config, resume: bool, verbose: int) -> Any:
    from ray import tune

    trainable = tune.with_resources(tune.with_parameters(run_trial, spec=spec), {"cpu": spec.cpus_per_trial, "gpu": spec.gpus_per_trial})
    if resume:
        # Finished trials stay finished; unfinished and failed ones continue from their last checkpoint.
        return tune.Tuner.restore(str(spec.directory), trainable=trainable, resume_unfinished=True, resume_errored=True)
    return tune.Tuner(
        trainable,
        param_space={d.key: d.domain() for d in spec.space},
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            num_samples=spec.samples,
            search_alg=_search_algorithm(spec),
            scheduler=_scheduler(spec, base),
            trial_dirname_creator=trial_dirname,
            trial_name_creator=trial_dirname,
        ),
        run_config=tune.RunConfig(
            name=spec.name,
            storage_path=spec.storage,
            verbose=verbose,
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
        ),
    )


def _search_algorithm(spec: SearchSpec) -> Any:
    if spec.search == "optuna":
        _require_module("optuna")
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        return OptunaSearch(sampler=optuna.samplers.TPESampler(seed=spec.search_seed))
    if spec.search == "hyperopt":
        _require_module("hyperopt")
        from ray.tune.search.hyperopt import HyperOptSearch

        return HyperOptSearch(random_state_seed=spec.search_seed)
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(random_state=spec.search_seed)


def _scheduler(spec: SearchSpec, base: Config) -> Any:
    """ASHA on environment steps: trials are compared at rungs of ``grace_steps`` (default a quarter
    of the budget) times 4, 16, ...; the lower three quarters at a rung stop there."""
    if spec.scheduler == "none":
        return None
    from ray.tune.schedulers import ASHAScheduler

    total = base.run.total_steps
    return ASHAScheduler(time_attr=STEPS, max_t=total, grace_period=spec.grace_steps or max(total // 4, 1))


def _rows(grid: Any, spec: SearchSpec, base: Config, complete: bool) -> list[TrialRow]:
    """One row per trial. Status: ``done`` (its whole budget), ``error``, ``stopped`` (short of its
    budget in a finished search: the scheduler stopped it) or ``unfinished`` (an interrupted search)."""
    rows: list[TrialRow] = []
    started: list[float] = []
    sign = 1 if spec.mode == "max" else -1
    for result in grid:
        trial = Path(result.path).name
        params = {k: _plain(result.config.get(k)) for k in (d.key for d in spec.space)}
        frame = result.metrics_dataframe
        started.append(float(frame["timestamp"].iloc[0]) if frame is not None and "timestamp" in frame and len(frame) else math.inf)
        steps: list[float] = []
        values: list[float] = []
        if frame is not None and spec.metric in frame and STEPS in frame:
            kept = frame[[STEPS, spec.metric]].dropna()
            steps, values = kept[STEPS].astype(float).tolist(), kept[spec.metric].astype(float).tolist()
        finite = [v for v in values if math.isfinite(v)]
        total = int(params.get("run.total_steps") or base.run.total_steps)
        reached = int(steps[-1]) if steps else 0
        status = "error" if result.error else "done" if reached >= total else "stopped" if complete else "unfinished"
        rows.append(
            TrialRow(
                trial=trial,
                params=params,
                steps=reached,
                final=values[-1] if values else math.nan,
                best=sign * max(sign * v for v in finite) if finite else math.nan,
                status=status,
                run_dir=str(Path(result.path) / RUN_DIR),
                curve=(steps, values),
                error=_last_line(str(result.error)) if result.error else "",
            )
        )
    # In the order the trials started (a searcher's trial ids are random; Tune's own order is not kept on restore).
    return [row for _, row in sorted(zip(started, rows), key=lambda pair: (pair[0], pair[1].trial))]


def _last_line(text: str) -> str:
    """A trial's error is a remote traceback; its last line is the message (one of ours says what to do)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def _best(rows: Sequence[TrialRow], mode: str) -> TrialRow | None:
    """The trial with the best final value (Tune's ``scope="last"``): what a run with these settings
    ends at, not a lucky peak on the way."""
    ranked = [row for row in rows if math.isfinite(row.final)]
    if not ranked:
        return None
    return max(ranked, key=lambda row: row.final) if mode == "max" else min(ranked, key=lambda row: row.final)


# --- outputs --------------------------------------------------------------------------------------
def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def table(outcome: SearchOutcome, spec: SearchSpec) -> str:
    """The result table: one line per trial, its sampled values, final and best metric; ``*`` the best."""
    keys = [d.key for d in spec.space]
    header = ["", "trial", *keys, "steps", f"final {spec.metric}", "best", "status"]
    lines = [header]
    for row in outcome.rows:
        mark = "*" if outcome.best is not None and row.trial == outcome.best.trial else ""
        lines.append([mark, row.trial, *(_format(row.params[k]) for k in keys), str(row.steps), _format(row.final), _format(row.best), row.status])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines)


def write_trials_csv(path: Path, rows: Sequence[TrialRow], spec: SearchSpec) -> Path:
    keys = [d.key for d in spec.space]
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["trial", *keys, "steps", f"final {spec.metric}", f"best {spec.metric}", "status", "run_dir"])
        for row in rows:
            values = (json.dumps(row.params[k]) if isinstance(row.params[k], list) else row.params[k] for k in keys)  # full precision
            writer.writerow([row.trial, *values, row.steps, row.final, row.best, row.status, row.run_dir])
    return path


def preset_sections(config: Config, base: Config, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The settings of ``config`` that differ from ``base`` (what ``train`` gives with no options:
    defaults and the env's preset), plus ``keys`` even where they equal it, as file sections. Loading
    the result with ``--config`` reproduces ``config``; keeping only what differs keeps it readable."""
    ours, theirs = config.to_dict(), base.to_dict()
    sections: dict[str, dict[str, Any]] = {}
    for section, values in ours.items():
        if not isinstance(values, dict):
            continue
        name = "env" if section == "env_kwargs" else section
        for key, value in values.items():
            if (section, key) == ("run", "progress"):
                continue
            if value != theirs.get(section, {}).get(key) or f"{name}.{key}" in keys:
                sections.setdefault(name, {})[key] = _plain(value)
    return sections


def write_best_preset(path: Path, spec: SearchSpec, best: TrialRow) -> Path:
    """``best.yaml``: the best trial's settings as a preset, with a header saying where it came from."""
    config = spec.trial_config(best.params)
    plain = resolve(spec.algo, spec.env)
    sections = preset_sections(config, plain, [d.key for d in spec.space])
    header = [
        f"# The best trial of the Ray Tune search {spec.name} ({spec.search} search, {spec.samples} trials): {best.trial},",
        f"# {spec.metric} {best.final:.6g} at the end of its {best.steps} steps ({spec.mode} of the final values).",
        "# Searched: " + "; ".join(d.describe() for d in spec.space),
        f"# Train with it: python -m rlagent.train {spec.algo} --env {spec.env} --config {path}",
    ]
    body = [f"{section}:\n" + "".join(f"  {key}: {yaml_value(value)}\n" for key, value in values.items()) for section, values in sections.items()]
    path.write_text("\n".join(header) + "\n" + "".join(body))
    return path
