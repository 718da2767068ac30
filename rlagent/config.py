"""Run configuration: frozen dataclasses are the one source of truth.

Values come, in rising precedence, from the dataclass defaults, the algorithm's usual defaults, the
tuned preset for the environment (``experiments/<env>/<algo>.yaml``, found by name), a ``--config``
file (YAML or JSON), and ``--set section.key=value`` overrides. Every key is checked against the
dataclasses and every value against its type and range, at once, with a one-line
:class:`~rlagent.errors.ConfigError` naming the field and what is valid.

Sections: ``run`` (budget, seed, device, logging; its keys may also be given bare, e.g.
``--set num_envs=16``), ``env`` (keyword arguments of the environment, passed through), the
algorithm's section named after it (``ppo``, ``a2c``, ``reinforce``), ``policy`` (the network), ``selfplay``
(the opponent pool of two-player games) and ``monitor`` (training diagnostics).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from envs.player_names import parse_player_name
from rlagent.algos import LEARNERS
from rlagent.errors import ConfigError
from rlagent.fast.paths import FAST_MODES
from rlagent.nets.policy import PolicyConfig
from rlagent.validation import ALGORITHM_SECTION, choice, non_negative, positive, unit_interval

# Names practitioners know from other libraries, mapped to ours.
ALIASES = {
    "gamma": "discount_factor",
    "vf_coef": "value_loss_coef",
    "ent_coef": "entropy_coef",
    "target_kl": "kl_target",
    "n_epochs": "num_epoch",
    "n_steps": "num_steps",
    "batch_size": "minibatch_size",
    "clip_range": "clip_param",
    "clip_range_vf": "value_clip",
    "lr": "learning_rate",
    "n_envs": "num_envs",
}


DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class RunConfig:
    """What to run and for how long; where results go.

    ``threads``: torch's CPU threads. One is fastest for the small networks of RL on a laptop
    (thread start-up costs more than the work they share) and keeps runs reproducible; raise it
    for large board networks; 0 keeps torch's own default. ``fast``: ``auto`` takes the speed
    paths for small MLP policies where they compute exactly what torch would (a numpy rollout
    actor, PPO's gradient by hand: :mod:`rlagent.fast`), ``off`` uses torch alone; which ran is
    recorded in ``config.json`` (``fast_paths``) and the ``fast/*`` scalars. ``save_replay``: an
    off-policy learner's checkpoints hold its replay buffer (an exact resume); false keeps them
    small for huge buffers, and a resume then refills the buffer before learning again.

    ``backend``: ``local`` steps all ``num_envs`` envs in this process; ``ray`` splits them over
    ``num_workers`` Ray actors (``num_envs / num_workers`` each, so ``num_workers`` must divide
    ``num_envs``), which collect with the latest weights while this process learns, synchronously
    (:mod:`rlagent.distributed_rollouts`; on-policy learners only). ``address``: the Ray cluster
    to join (``auto``: the one ``ray start`` runs here; null: start Ray in this process).
    """

    total_steps: int = 100_000
    num_envs: int = 8
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    logdir: str = "logs"
    checkpoint_every: int = 50
    keep_checkpoints: int = 3
    log_every: int = 1
    progress: bool = True
    fast: str = "auto"
    save_replay: bool = True
    backend: str = "local"
    num_workers: int = 0
    address: str | None = None

    def __post_init__(self) -> None:
        positive(self, "run", "total_steps", "num_envs", "checkpoint_every", "keep_checkpoints", "log_every")
        choice(self, "run", "device", DEVICES)
        choice(self, "run", "fast", FAST_MODES)
        choice(self, "run", "backend", BACKENDS)
        self._check_workers()
        if self.seed < 0:
            raise ConfigError(f"run.seed must be a non-negative integer, got {self.seed}")
        if self.threads < 0:
            raise ConfigError(f"run.threads must be 0 (torch's default) or a positive integer, got {self.threads}")

    def _check_workers(self) -> None:
        """Worker settings only mean something to the Ray backend: naming them for a local run is
        a mistake that would silently run everything in one process."""
        if self.backend == "local":
            if self.num_workers:
                raise ConfigError(f"run.num_workers={self.num_workers} needs run.backend=ray (the local backend steps all envs in this process)")
            if self.address is not None:
                raise ConfigError(f"run.address={self.address!r} needs run.backend=ray")
            return
        if self.num_workers < 1:
            raise ConfigError(f"run.backend=ray needs run.num_workers >= 1 (Ray actors that step the envs), got {self.num_workers}")
        if self.num_envs % self.num_workers:
            raise ConfigError(f"run.num_workers={self.num_workers} must divide run.num_envs={self.num_envs} (each worker steps num_envs / num_workers envs)")


@dataclass(frozen=True)
class SelfPlayConfig:
    """Self-play against a pool of past selves and fixed baselines (two-player games only).

    ``baselines``: player names, ``random`` or ``mctsN`` (:mod:`envs.player_names`).

    ``snapshot_every``: updates between snapshots of the learner joining the pool (the first one,
    step 0, joins at the start); at most ``max_snapshots`` of them are drawn from (the oldest
    retire; their files stay in ``pool/`` for the league). ``sampling``: how each env slot draws
    its opponent when a game starts: ``uniform`` over the pool, ``latest`` (the newest snapshot
    with probability ``latest_fraction``, the rest uniform) or ``prioritized`` (weight
    ``(loss rate + 0.05) ** priority_power``, the loss rate being the learner's against that
    opponent with one virtual loss and one virtual win). Snapshots play moves sampled at
    ``opponent_temperature`` (diverse games teach more than one fixed line; a Q-network's, rainbow's
    or dqn's, sample softmax(Q / temperature), close to uniform at 1 for Q within [-1, 1]: use about
    0.1 there). ``eval_every``
    updates the learner plays ``eval_games`` games (both colours, random first moves) against
    every pool member; ``elo/current`` is the Bradley-Terry rating of the learner from all these
    games so far, anchored at ``random``. ``eval_every: 0`` turns that off. On Hex boards up to
    7x7 the same rounds log ``eval/winning_move_rate``: in which share of ``eval_positions``
    random-play positions won for the mover the greedy policy keeps the win (exact values, drawn
    and solved once per run, kept in ``pool/solved_positions.npz``: ~10 s on 5x5, ~2 min on 7x7);
    ``eval_positions: 0`` turns that off.
    """

    enabled: bool = False
    baselines: tuple[str, ...] = ("random",)
    snapshot_every: int = 10
    max_snapshots: int = 20
    sampling: str = "uniform"
    latest_fraction: float = 0.5
    priority_power: float = 1.0
    opponent_temperature: float = 1.0
    eval_every: int = 10
    eval_games: int = 16
    eval_positions: int = 200

    def __post_init__(self) -> None:
        positive(self, "selfplay", "snapshot_every", "max_snapshots", "eval_games", "opponent_temperature")
        non_negative(self, "selfplay", "priority_power")
        if self.eval_every < 0:
            raise ConfigError(f"selfplay.eval_every must be 0 (off) or a positive number of updates, got {self.eval_every}")
        if self.eval_positions < 0:
            raise ConfigError(f"selfplay.eval_positions must be 0 (off) or a number of positions, got {self.eval_positions}")
        if self.eval_games % 2:
            raise ConfigError(f"selfplay.eval_games must be even (both colours equally often), got {self.eval_games}")
        choice(self, "selfplay", "sampling", ("uniform", "latest", "prioritized"))
        unit_interval(self, "selfplay", "latest_fraction")
        for name in self.baselines:
            try:
                parse_player_name(name, what="selfplay baseline")
            except ValueError as error:
                raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class MonitorConfig:
    """Training diagnostics (:mod:`rlagent.monitor.diagnostics`): why a run is or is not learning.

    Every ``every`` updates (0: never) the run measures, off the hot path, on a stored sample of
    ``sample_size`` observations from the last rollout: each layer's dead and saturated units
    (``act/*``), the actor's and the critic's gradient on the shared trunk and each layer's
    update-to-weight ratio (``grad/*``, ``update_ratio/*``), the policy's entropy and confidence
    and the value's error against realised outcomes by game stage or trial period
    (``policy/*``, ``value/*``). ``dominance_factor``: warn when the actor's or the critic's
    gradient on the shared trunk is that many times the other's. ``warnings``: the stuck-run
    detector (:mod:`rlagent.monitor.stuck`) prints one line per problem it sees in the last
    ``window`` updates, with a suggestion, and writes it to TensorBoard's text tab.
    """

    every: int = 10
    sample_size: int = 512
    dominance_factor: float = 100.0
    warnings: bool = True
    window: int = 20

    def __post_init__(self) -> None:
        positive(self, "monitor", "sample_size", "dominance_factor", "window")
        if self.every < 0:
            raise ConfigError(f"monitor.every must be 0 (off) or a positive number of updates, got {self.every}")
        if self.dominance_factor <= 1:
            raise ConfigError(f"monitor.dominance_factor must be above 1 (a ratio of gradient norms), got {self.dominance_factor}")


def algorithm_names() -> tuple[str, ...]:
    """The learners' names, as registered in :data:`rlagent.algos.LEARNERS`."""
    return tuple(LEARNERS)


@dataclass(frozen=True)
class Config:
    """Everything a run needs, resolved."""

    algo: str
    env: str
    run: RunConfig = field(default_factory=RunConfig)
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    algorithm: Any = None  # the learner's own section: LEARNERS[algo].config
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)

    def __post_init__(self) -> None:
        if self.algo not in LEARNERS:
            raise ConfigError(f"unknown algorithm {self.algo!r}: valid algorithms are {', '.join(algorithm_names())}")
        spec = LEARNERS[self.algo]
        if self.algorithm is None:
            object.__setattr__(self, "algorithm", spec.config(**spec.defaults))
        elif not isinstance(self.algorithm, spec.config):
            raise ConfigError(f"{self.algo} takes a {spec.config.__name__} as its algorithm section, got {type(self.algorithm).__name__}")
        if self.run.backend == "ray" and not spec.on_policy:
            on_policy = ", ".join(name for name, learner in LEARNERS.items() if learner.on_policy)
            raise ConfigError(
                f"run.backend=ray collects rollouts for on-policy learners ({on_policy}); {self.algo} learns from a replay: use run.backend=local"
            )

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration in the layout of a config file (what ``config.json`` holds)."""
        return {
            "algo": self.algo,
            "env": self.env,
            "run": dataclasses.asdict(self.run),
            "env_kwargs": dict(self.env_kwargs),
            self.algo: dataclasses.asdict(self.algorithm),
            "policy": dataclasses.asdict(self.policy),
            "selfplay": dataclasses.asdict(self.selfplay),
            "monitor": dataclasses.asdict(self.monitor),
        }


def preset_path(env: str, algo: str) -> Path | None:
    """The tuned preset ``experiments/<env>/<algo>.yaml`` for this env, if a checkout has one."""
    name = env.split("/")[-1].split("-v")[0].lower()
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        path = root / "experiments" / name / f"{algo}.yaml"
        if path.is_file():
            return path
    return None


def load_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(f"cannot read config file {path}: {first_line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections, got {type(data).__name__}")
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``section.key=value`` with the value read as YAML (so ``0.1``, ``true``, ``null``, ``[64, 64]``)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value (e.g. ppo.clip_param=0.1), got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, bool) and raw.strip().lower() not in ("true", "false"):
        value = raw.strip()  # YAML 1.1 reads on/off/yes/no as booleans: keep the word (run.fast=off)
    return key.strip(), value


def resolve(
    algo: str,
    env: str,
    config_file: str | Path | None = None,
    overrides: list[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    base: Mapping[str, Any] | None = None,
) -> Config:
    """Build the run's configuration: defaults < algorithm defaults < preset < ``base`` (a resumed
    run's saved config) < file < ``--set`` < ``extra`` (the CLI's dedicated flags)."""
    if algo not in LEARNERS:
        raise ConfigError(f"unknown algorithm {algo!r}: valid algorithms are {', '.join(algorithm_names())}")
    spec = LEARNERS[algo]
    layers: list[tuple[str, Mapping[str, Any]]] = [("defaults of " + algo, {algo: dict(spec.defaults)})]
    preset = preset_path(env, algo)
    if preset is not None and base is None:
        layers.append((str(preset), load_file(preset)))
    if base is not None:
        layers.append(("the resumed run", base))
    if config_file is not None:
        layers.append((str(config_file), load_file(config_file)))
    for text in overrides or []:
        key, value = parse_override(text)
        layers.append((f"--set {text}", _nest(key, value)))
    if extra:
        layers.append(("command line", {"run": dict(extra)}))

    sections: dict[str, dict[str, Any]] = {"run": {}, "env_kwargs": {}, "algorithm": {}, "policy": {}, "selfplay": {}, "monitor": {}}
    for source, layer in layers:
        _merge(sections, layer, algo, source)
    config = Config(
        algo=algo,
        env=env,
        run=_build(RunConfig, sections["run"], "run"),
        env_kwargs=dict(sections["env_kwargs"]),
        algorithm=_build(spec.config, sections["algorithm"], algo),
        policy=_build(PolicyConfig, sections["policy"], "policy"),
        selfplay=_build(SelfPlayConfig, sections["selfplay"], "selfplay"),
        monitor=_build(MonitorConfig, sections["monitor"], "monitor"),
    )
    return config


def canonical_key(algo: str, key: str) -> str:
    """The ``section.field`` a ``--set`` key lands on for ``algo`` (``gamma`` -> ``ppo.discount_factor``,
    ``num_envs`` -> ``run.num_envs``, ``env.size`` stays), found by the same merge ``resolve`` does,
    so two spellings of one setting are recognised as one (a search cannot both fix and sample it).
    Only the name is checked here: an unknown field fails when the value is resolved."""
    if algo not in LEARNERS:
        raise ConfigError(f"unknown algorithm {algo!r}: valid algorithms are {', '.join(algorithm_names())}")
    sections: dict[str, dict[str, Any]] = {"run": {}, "env_kwargs": {}, "algorithm": {}, "policy": {}, "selfplay": {}, "monitor": {}}
    _merge(sections, _nest(key, None), algo, f"--set {key}")
    names = {"algorithm": algo, "env_kwargs": "env"}
    ((target, values),) = ((t, v) for t, v in sections.items() if v)
    return f"{names.get(target, target)}.{next(iter(values))}"


def field_help() -> list[tuple[str, str, Any]]:
    """(section.key, type, default) for every hyperparameter, for ``--help``."""
    rows = []
    by_class: dict[type, list[str]] = {}
    for name, spec in LEARNERS.items():
        by_class.setdefault(spec.config, []).append(name)
    learners = tuple(("/".join(names), cls) for cls, names in by_class.items())
    sections = (("run", RunConfig), *learners, ("policy", PolicyConfig), ("selfplay", SelfPlayConfig), ("monitor", MonitorConfig))
    for section, cls in sections:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                raise TypeError(f"{cls.__name__}.{f.name} has no default: every hyperparameter needs one")
            rows.append((f"{section}.{f.name}", _type_name(hints[f.name]), default))
    return rows


# --- internals -----------------------------------------------------------------------------------
_RUN_FIELDS = {f.name for f in dataclasses.fields(RunConfig)}


def _nest(key: str, value: Any) -> dict[str, Any]:
    parts = key.split(".")
    if len(parts) == 1:
        return {"run": {parts[0]: value}}
    if len(parts) != 2:
        raise ConfigError(f"--set key {key!r} must be section.key (e.g. ppo.clip_param or env.size)")
    return {parts[0]: {parts[1]: value}}


def _merge(sections: dict[str, dict[str, Any]], layer: Mapping[str, Any], algo: str, source: str) -> None:
    for section, values in layer.items():
        if section in ("algo", "fast_paths") or (section == "env" and not isinstance(values, Mapping)):
            continue  # a saved config.json names the algorithm and env (the command line decides) and records the speed paths
        target = _section_name(section, algo, source)
        if target == "run" and not isinstance(values, Mapping) and section in _RUN_FIELDS | set(ALIASES):
            values, section = {section: values}, "run"
        if not isinstance(values, Mapping):
            raise ConfigError(f"section {section!r} in {source} must be a mapping of keys to values")
        own = _own_fields(target, algo)
        for key, value in values.items():
            key = str(key)
            if target != "env_kwargs" and key not in own:  # a section's own name wins (dqn.batch_size)
                key = ALIASES.get(key, key)
            # A bare key (--set gamma=0.98, a top-level YAML key) that is the learner's, not the run's.
            bare = target == "run" and key not in own and key in _own_fields("algorithm", algo)
            sections["algorithm" if bare else target][key] = value


def _own_fields(target: str, algo: str) -> set[str]:
    classes = {"run": RunConfig, "policy": PolicyConfig, "selfplay": SelfPlayConfig, "monitor": MonitorConfig, "algorithm": LEARNERS[algo].config}
    return {f.name for f in dataclasses.fields(classes[target])} if target in classes else set()


def _section_name(section: str, algo: str, source: str) -> str:
    if section == algo:
        return "algorithm"
    if section in ("env", "env_kwargs"):
        return "env_kwargs"
    if section in ("run", "policy", "selfplay", "monitor"):
        return section
    if section in _RUN_FIELDS or section in ALIASES:
        return "run"
    others = [a for a in LEARNERS if a != algo]
    if section in others:
        raise ConfigError(f"section {section!r} in {source} configures {section}, but this run uses {algo}")
    raise ConfigError(f"unknown section {section!r} in {source}: valid sections are run, env, {algo}, policy, selfplay, monitor")


def _build(cls: type, values: dict[str, Any], section: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(f"unknown key {section}.{key}: valid keys are {', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], f"{section}.{key}")
    try:
        return cls(**kwargs)
    except ConfigError as error:  # a learner's section names itself generically; say which one
        raise ConfigError(str(error).replace(f"{ALGORITHM_SECTION}.", f"{section}.")) from None


_YAML_BOOLEAN_WORDS = {"yes": True, "on": True, "no": False, "off": False}


def _coerce(value: Any, hint: Any, name: str) -> Any:
    """Check ``value`` against a field's type, converting only where it is lossless."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], name)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _YAML_BOOLEAN_WORDS:
            return _YAML_BOOLEAN_WORDS[value.lower()]
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if hint in (int, float) and isinstance(value, str):
        # YAML 1.1 reads ``1e-9`` and ``1e5`` as strings; people write numbers that way.
        try:
            value = float(value)
        except ValueError:
            pass
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise ConfigError(f"{name} must be a string, got {value!r} (YAML reads unquoted on/off/yes/no as true/false: quote the word, e.g. 'off')")
        raise ConfigError(f"{name} must be a string, got {value!r}")
    if origin is tuple:
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(v, args[0], name) for v in value)
        raise ConfigError(f"{name} must be a list like [64, 64], got {value!r}")
    return value


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is tuple:
        return f"list[{_type_name(args[0])}]"
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))
