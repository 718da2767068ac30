"""The diagnose report of a run directory: checks, warnings, tables and plots, from what the run wrote.

Everything comes from the run's own files: ``metrics.jsonl`` (every update's scalars, the
diagnostics' every ``monitor.every`` updates), the latest checkpoint (its reference batch, for the
train/inference checks) and ``diagnostics/latest.npz`` (the samples behind the last value
diagnostics). The stuck-run rules are replayed over the whole run, so a run trained before its
warnings existed, or whose console scrolled away, gets them too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from rlagent.agent import load_agent
from rlagent.checkpoint import load_checkpoint
from rlagent.gym_envs import make_vector_env
from rlagent.monitor.balance import dominance
from rlagent.monitor.consistency import Check, check_autograd, check_mover_frame, check_reload, check_value_range
from rlagent.monitor.diagnostics import DIAGNOSTICS_DIR, LATEST_FILE, dead_layer_warning, dead_layers
from rlagent.monitor.logger import read_metrics
from rlagent.monitor.plots import reliability_png, series_png, value_by_stage_png, value_scatter_png
from rlagent.monitor.stages import calibration
from rlagent.monitor.stuck import StuckDetector

DEAD_ALARM = 0.5  # a layer with half its units dead has lost half its width
SATURATED_ALARM = 0.5  # half the tanh outputs pinned at +-1: their gradient is ~0


@dataclass
class Report:
    text: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pngs: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(check.ok is False for check in self.checks)


def text_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers to 4 significant digits, missing ones as '-'."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(str(h)) for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    for row in cells:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    return "\n".join("  " + line for line in lines)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _last_with(rows: Sequence[Mapping[str, Any]], prefix: str) -> Mapping[str, Any] | None:
    for row in reversed(rows):
        if any(tag.startswith(prefix) for tag in row):
            return row
    return None


def _tags(rows: Sequence[Mapping[str, Any]], prefix: str, suffix: str = "") -> list[str]:
    return sorted({tag for row in rows for tag in row if tag.startswith(prefix) and tag.endswith(suffix)})


def _learning_table(rows: Sequence[Mapping[str, Any]]) -> str:
    tags = [
        "rollout/ep_rew_mean",
        "rollout/win_rate",
        "trial/accuracy",
        "eval/winning_move_rate",
        "elo/current",
        "train/policy_gradient_loss",
        "train/value_loss",
        "train/entropy_loss",
        "train/approx_kl",
        "train/clip_fraction",
        "train/explained_variance",
        "train/early_stopped",
        "train/policy_value_loss_ratio",
    ]
    present = [tag for tag in tags if any(tag in row for row in rows)]
    thirds = [rows[0], rows[len(rows) // 2], rows[-1]]
    body = []
    for tag in present:
        values = [row.get(tag) for row in thirds]
        if all(v is None for v in values):  # logged only now and then: the nearest logged values
            series = [row[tag] for row in rows if tag in row]
            values = [series[0], series[len(series) // 2], series[-1]]
        body.append([tag, *values])
    steps = [f"step {row['step']}" for row in thirds]
    return text_table(["tag", *steps], body)


def _stage_table(row: Mapping[str, Any], prefix: str, columns: Sequence[str]) -> str:
    labels = list(dict.fromkeys(tag[len(prefix) :].rpartition("/")[0] for tag in row if tag.startswith(prefix)))
    body = [[label, *(row.get(f"{prefix}{label}/{name}") for name in columns)] for label in labels]
    return text_table(["stage", *columns], body)


def _activation_table(row: Mapping[str, Any]) -> str:
    layers = list(dict.fromkeys(tag[len("act/") :].rpartition("/")[0] for tag in row if tag.startswith("act/")))
    body = []
    for layer in layers:
        dead, saturated = row.get(f"act/{layer}/dead_fraction"), row.get(f"act/{layer}/saturated_fraction")
        flag = ""
        if dead is not None and dead >= DEAD_ALARM:
            flag = "DEAD"
        elif saturated is not None and saturated >= SATURATED_ALARM:
            flag = "SATURATED"
        body.append([layer, dead, saturated, row.get(f"act/{layer}/mean"), row.get(f"act/{layer}/std"), flag])
    return text_table(["layer", "dead", "saturated", "mean", "std", ""], body)


def _gradient_table(rows: Sequence[Mapping[str, Any]]) -> str:
    body = []
    for tag in [*_tags(rows, "grad/norm_"), "grad/trunk_from_actor", "grad/trunk_from_critic", "grad/trunk_actor_critic_ratio", *_tags(rows, "update_ratio/")]:
        series = np.array([row[tag] for row in rows if tag in row and isinstance(row[tag], (int, float))], dtype=np.float64)
        if series.size:
            body.append([tag, float(series[0]), float(np.median(series)), float(np.max(series)), float(series[-1])])
    return text_table(["tag", "first", "median", "max", "last"], body)


def consistency_checks(run_dir: Path) -> list[Check]:
    """The train/inference checks of :mod:`rlagent.monitor.consistency` on the run's latest checkpoint."""
    agent = load_agent(run_dir)
    reference = load_checkpoint(agent.path).get("reference")
    kwargs = {k: v for k, v in agent.config.env_kwargs.items() if k != "opponent"}
    env = make_vector_env(agent.config.env, 1, kwargs)
    try:
        game = getattr(getattr(env, "match", None), "game", None)
    finally:
        env.close()
    return [
        check_reload(agent.policy, reference),
        check_autograd(reference),
        check_value_range(reference, game=game is not None),
        check_mover_frame(game),
    ]


def _plots(run_dir: Path, rows: Sequence[Mapping[str, Any]]) -> list[Path]:
    out: list[Path] = []
    if _tags(rows, "act/"):
        out.append(
            series_png(
                rows,
                {
                    "dead units (ReLU layers)": _tags(rows, "act/", "/dead_fraction"),
                    "saturated units (tanh layers)": _tags(rows, "act/", "/saturated_fraction"),
                    "activation std": _tags(rows, "act/", "/std"),
                },
                run_dir / "activations.png",
                "activations over training",
            )
        )
    out.append(
        series_png(
            rows,
            {
                "loss terms": ["train/policy_gradient_loss", "train/value_loss", "train/entropy_loss"],
                "actor vs critic": ["train/policy_value_loss_ratio", "grad/trunk_actor_critic_ratio"],
                "trunk gradient by source": ["grad/trunk_from_actor", "grad/trunk_from_critic"],
            },
            run_dir / "loss_balance.png",
            "loss balance",
        )
    )
    out.append(
        series_png(
            rows,
            {
                "gradient norms (before clipping)": _tags(rows, "grad/norm_"),
                "update-to-weight ratio": _tags(rows, "update_ratio/"),
            },
            run_dir / "gradients.png",
            "gradients",
        )
    )
    last = _last_with(rows, "value/by_stage/")
    if last is not None:
        out.append(value_by_stage_png(last, run_dir / "value_by_stage.png", f"value by stage (step {last['step']})"))
    latest = run_dir / DIAGNOSTICS_DIR / LATEST_FILE
    if latest.is_file():
        with np.load(latest) as data:
            values, outcomes, returns, game = data["values"], data["outcomes"], data["returns"], bool(data["game"])
        out.append(value_scatter_png(values, returns, run_dir / "value_scatter.png", "value vs realised return (last measurement)"))
        if game:
            out.append(reliability_png(calibration(values, outcomes), run_dir / "calibration.png", "value as win probability (last measurement)"))
    return out


def diagnose_run(run_dir: str | Path, plots: bool = True) -> Report:
    """The whole report of one run directory."""
    run_dir = Path(run_dir)
    rows = read_metrics(run_dir)
    checks = consistency_checks(run_dir)
    agent_config = load_agent(run_dir).config
    section = agent_config.algo
    found = [(w.step, f"[{w.rule}] {w.message}") for w in StuckDetector(agent_config.monitor.window, section=section).scan(rows)]
    dead_seen: set[str] = set()
    for row in rows:
        for layer, fraction in dead_layers(row).items():
            if layer not in dead_seen:
                dead_seen.add(layer)
                found.append((row["step"], f"[dead_layer] {dead_layer_warning(layer, fraction, section)}"))
        ratio = row.get("grad/trunk_actor_critic_ratio")
        line = None if ratio is None else dominance(float(ratio), agent_config.monitor.dominance_factor, section)
        if line is not None:
            found.append((row["step"], f"[loss_balance] {line}"))
    warnings = [f"step {step}: {text}" for step, text in sorted(found, key=lambda item: item[0])]
    parts = [f"run {run_dir}: {agent_config.algo} on {agent_config.env}, {rows[-1]['step'] if rows else 0} steps, {len(rows)} updates logged"]
    parts += ["", "train/inference consistency", *("  " + check.line() for check in checks)]
    parts += ["", "warnings (stuck-run rules over the whole run; dead layers; loss balance)", *(("  " + w for w in warnings) if warnings else ["  none"])]
    if rows:
        parts += ["", "learning (first, middle and last update)", _learning_table(rows)]
        value_row = _last_with(rows, "value/by_stage/")
        if value_row is not None:
            ece = value_row.get("value/ece")
            extra = "" if ece is None else f"; expected calibration error {ece:.3f}"
            parts += [
                "",
                f"value against outcomes by stage (step {value_row['step']}{extra})",
                _stage_table(value_row, "value/by_stage/", ("count", "mse", "sign_accuracy", "mean", "extremity")),
            ]
        policy_row = _last_with(rows, "policy/by_stage/")
        if policy_row is not None:
            columns = ("entropy", "branching", "top_prob") + (("legal_mass",) if "policy/legal_mass" in policy_row else ())
            parts += ["", f"policy by stage (step {policy_row['step']})", _stage_table(policy_row, "policy/by_stage/", columns)]
        act_row = _last_with(rows, "act/")
        if act_row is not None:
            parts += ["", f"activations (step {act_row['step']})", _activation_table(act_row)]
        parts += ["", "gradients", _gradient_table(rows)]
    pngs = _plots(run_dir, rows) if plots and rows else []
    if pngs:
        parts += ["", "plots: " + ", ".join(path.name for path in pngs)]
    return Report("\n".join(parts), checks, warnings, pngs)
