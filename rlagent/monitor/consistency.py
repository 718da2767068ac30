"""Train/inference consistency: does the saved agent behave like the network that trained?

The field's quietest failures are here: a network that acts differently once reloaded (a layer
in training mode, weights loaded into the wrong module), a value head whose range its consumers
misread (a ``bce`` head is ``tanh`` of its output on [-1, 1]; an ``mse`` head is unbounded, and
a search that reads it as a win probability is wrong), a mover's-frame board transform that
does not round-trip, so the network learns from one board and plays on another. Each check is a
:class:`Check` whose message is one line saying what to fix.

The trainer stores a small **reference batch** in every checkpoint (:func:`reference_batch`):
observations of the last rollout with the trainer's own outputs on them, computed the way the
collector computes them (``torch.inference_mode``) and the way the loss does (autograd). A
reloaded agent must reproduce the first bit for bit on CPU; the second may differ in the last
bits only (the MLP's ``tanh`` takes a cheaper path without autograd: :mod:`rlagent.fast.activations`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from envs.base import TurnBasedGame
from rlagent.losses import on_return_scale
from rlagent.rollout import flatten_steps

REFERENCE_SIZE = 64  # observations kept in a checkpoint's reference batch: enough to catch a mismatch, a few kB
GPU_TOLERANCE = 1e-4  # GPU kernels may reorder sums between calls; CPU must match exactly
AUTOGRAD_TOLERANCE = 1e-5  # the loss's forward vs the actor's: the documented tanh difference is <= 2e-7


@dataclass(frozen=True)
class Check:
    """One consistency check: ``ok`` True (passed), False (failed: ``message`` says what to fix) or
    None (does not apply to this run: ``message`` says why)."""

    name: str
    ok: bool | None
    message: str

    def line(self) -> str:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[self.ok]
        return f"{mark} {self.name}: {self.message}"


def network_outputs(model: torch.nn.Module, obs: Any) -> dict[str, torch.Tensor]:
    """What a consumer reads from the network: the action distribution's parameters (probabilities,
    or mean and std for continuous actions) and the raw value-head output."""
    out = model.forward(obs)
    dist = out.dist
    outputs = {"value": out.value.float()}
    if hasattr(dist, "probs"):
        outputs["probs"] = dist.probs.float()
    else:  # a Gaussian
        outputs["mean"], outputs["std"] = dist.mean.float(), dist.std.float()
    return {k: v.detach().cpu() for k, v in outputs.items()}


def _noisy(model: torch.nn.Module) -> bool:
    layers = getattr(model, "noisy_layers", ())
    return bool(layers() if callable(layers) else layers)


def reference_batch(model: torch.nn.Module, rollout: Any, value_loss: str | None) -> dict[str, Any] | None:
    """The checkpoint's reference: up to ``REFERENCE_SIZE`` observations of ``rollout`` (spread over
    its steps and envs) with the trainer's outputs on them, and the value targets the learner
    trained on (``rollout.returns`` where the learner set them) on the returns' scale.

    Noisy networks (Rainbow) are measured in evaluation mode, noise off, because that is the only
    mode in which two calls agree; the others in the mode the collector runs them.
    """
    if rollout is None:
        return None
    flat = flatten_steps(rollout.obs)
    total = len(next(iter(flat.values()))) if isinstance(flat, dict) else len(flat)
    if total == 0:
        return None
    index = np.unique(np.linspace(0, total - 1, min(REFERENCE_SIZE, total)).astype(np.int64))
    obs = {k: np.array(v[index]) for k, v in flat.items()} if isinstance(flat, dict) else np.array(flat[index])
    was_training = model.training
    if _noisy(model):
        model.eval()
    try:
        with torch.inference_mode():
            inference = network_outputs(model, obs)
        with torch.enable_grad():
            autograd = network_outputs(model, obs)
    finally:
        model.train(was_training)
    returns = getattr(rollout, "returns", None)
    target_range = None if returns is None or not np.size(returns) else (float(np.min(returns)), float(np.max(returns)))
    return {
        "obs": obs,
        "inference": inference,
        "autograd": autograd,
        "target_range": target_range,
        "value_loss": value_loss,
        "device": str(next(model.parameters()).device.type),
        "noisy_eval": _noisy(model),
    }


def _max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> tuple[float, str]:
    """The largest difference between two sets of outputs, relative to the size of the numbers
    (a value of 20 carries float32 rounding 20 times that of a probability)."""
    worst, where = 0.0, ""
    for key in a:
        if key not in b or a[key].shape != b[key].shape:
            return float("inf"), key
        diff = float(((a[key] - b[key]).abs() / a[key].abs().clamp(min=1.0)).max()) if a[key].numel() else 0.0
        if not diff <= worst:  # NaN counts as the worst
            worst, where = diff, key
    return worst, where


def check_reload(model: torch.nn.Module, reference: dict[str, Any] | None) -> Check:
    """The reloaded agent (evaluation mode, inference mode) against the trainer's own outputs."""
    name = "reloaded agent matches the training network"
    if reference is None:
        return Check(name, None, "the checkpoint has no reference batch (written before rlagent's diagnostics, or before any update)")
    model.eval()
    with torch.inference_mode():
        outputs = network_outputs(model, reference["obs"])
    diff, where = _max_difference(reference["inference"], outputs)
    exact = reference["device"] == "cpu" and next(model.parameters()).device.type == "cpu"
    if exact and diff == 0.0:
        return Check(name, True, f"probabilities and values bit-identical on {len(outputs['value'])} stored observations (CPU)")
    if not exact and diff <= GPU_TOLERANCE:
        return Check(name, True, f"probabilities and values within {diff:.1e} (relative) on {len(outputs['value'])} stored observations (GPU)")
    return Check(
        name,
        False,
        f"the reloaded network's {where} differs from the training network's by {diff:.3g}: a layer that behaves "
        "differently in eval mode (dropout, batch norm) or weights loaded into the wrong module; compare "
        "model.train() and model.eval() outputs and the checkpoint's state_dict keys",
    )


def check_autograd(reference: dict[str, Any] | None) -> Check:
    """The learner's forward (autograd) against the collector's (inference), as stored at save time."""
    name = "the loss sees what the actor saw"
    if reference is None or "autograd" not in reference:
        return Check(name, None, "no reference batch in the checkpoint")
    diff, where = _max_difference(reference["inference"], reference["autograd"])
    if diff <= AUTOGRAD_TOLERANCE:
        return Check(name, True, f"the forward pass with and without autograd agrees to {diff:.1e} (relative)")
    return Check(
        name,
        False,
        f"the network's {where} differs by {diff:.3g} between the rollout's forward (no autograd) and the loss's: "
        "the ratio of new to old probabilities starts away from 1; make the two forward paths compute the same function",
    )


def check_value_range(reference: dict[str, Any] | None, game: bool) -> Check:
    """The value's range against the loss that trained it and the consumers that read it.

    ``bce`` heads are win probabilities: their targets must lie in [-1, 1], or the loss is fitting
    a target it cannot reach. ``mse``/``huber`` heads are unbounded: fine for returns, but a
    game's searches (PUCT, analysis) read the value as a win probability on [-1, 1].
    """
    name = "value range matches its loss and its readers"
    if reference is None or reference.get("value_loss") is None:
        return Check(name, None, "no value head trained with a value loss (or no reference batch)")
    kind = reference["value_loss"]
    values = on_return_scale(reference["inference"]["value"].numpy(), kind)
    lo, hi = reference.get("target_range") or (None, None)
    if kind == "bce":
        if lo is not None and hi is not None and (lo < -1.0 - 1e-6 or hi > 1.0 + 1e-6):
            return Check(
                name,
                False,
                f"value_loss=bce reads the value as a win probability on [-1, 1], but its targets range over "
                f"[{lo:.3g}, {hi:.3g}]: use value_loss=mse (or huber) for returns outside [-1, 1], or rescale the rewards",
            )
        if not np.all(np.abs(values) <= 1.0):
            return Check(name, False, "a bce head's values leave [-1, 1] after tanh: its readers do not apply rlagent.losses.on_return_scale")
        return Check(
            name,
            True,
            f"bce head: values on [-1, 1] after tanh, targets on [{lo:.3g}, {hi:.3g}]" if lo is not None else "bce head: values on [-1, 1] after tanh",
        )
    spread = float(np.max(np.abs(values))) if values.size else 0.0
    if game and spread > 1.5:
        return Check(
            name,
            False,
            f"this game's searches and analysis read the value as a win probability on [-1, 1], but the {kind} head "
            f"gives values up to {spread:.3g}: train with value_loss=bce, or keep rewards on [-1, 1]",
        )
    where = f", targets on [{lo:.3g}, {hi:.3g}]" if lo is not None else ""
    return Check(name, True, f"{kind} head (unbounded): values up to |{spread:.3g}|{where}")


def check_mover_frame(game: Any, seed: int = 0, boards: int = 64, plies: int = 24) -> Check:
    """A move chosen in the mover's frame lands where the mover saw it: play random games; at every
    ply the mover's next view of its own stones (plane 0) gains exactly the cell it chose (in a game
    whose actions are columns, such as Connect Four: one stone, in the column it chose), and the
    opponent's plane is unchanged by the mover's move. Where the game declares a symmetry, the
    turned view turned back is the view, and the same holds for moves chosen in the turned view."""
    name = "mover's-frame board transform round-trips"
    if not isinstance(game, TurnBasedGame):
        return Check(name, None, "not a turn-based board game")
    shape = tuple(game.observation_shape)
    if len(shape) != 3:
        return Check(name, None, "the observation is not a stack of board planes")
    cells = shape[1] * shape[2]
    columns = game.num_actions < cells  # a stone drops down the chosen column (Connect Four)
    if columns and game.num_actions != shape[2]:
        return Check(name, None, f"{game.num_actions} actions are neither the board's {cells} cells nor its {shape[2]} columns")
    rng = np.random.default_rng(seed)
    game = type(game)(**_game_kwargs(game, boards))
    game.reset()
    for _ in range(plies):
        live = np.flatnonzero(~game.done)
        if live.size == 0:
            break
        mover = game.to_move[live].copy()
        before = game.observation(live, mover)
        mask = game.legal_mask(live)
        if getattr(game, "has_symmetry", False):
            turned, turned_mask = game.turn_view(before, mask)
            back, back_mask = game.turn_view(turned, turned_mask)
            if not (np.array_equal(back, before) and np.array_equal(back_mask, mask)):
                return Check(name, False, f"{type(game).__name__}.turn_view is not its own inverse: the symmetric views teach a different board")
        if not columns:
            mask = mask[:, :cells] & (before[:, 0].reshape(len(live), -1) == 0) & (before[:, 1].reshape(len(live), -1) == 0)
        has_cell = mask.any(axis=1)
        live, mover, before, mask = live[has_cell], mover[has_cell], before[has_cell], mask[has_cell]
        if live.size == 0:
            break
        scores = np.where(mask, rng.random(mask.shape), -1.0)
        actions = scores.argmax(axis=1)  # a uniformly random empty cell (legal column) per board
        game.play(actions, live)
        after = game.observation(live, mover)
        if columns:  # one stone gained, in the chosen column
            gained = (after[:, 0] - before[:, 0]).sum(axis=1)
            expected = np.zeros_like(gained)
            expected[np.arange(len(live)), actions] = 1.0
        else:
            gained = (after[:, 0] - before[:, 0]).reshape(len(live), -1)
            expected = np.zeros_like(gained)
            expected[np.arange(len(live)), actions] = 1.0
        if not np.array_equal(gained, expected) or not np.array_equal(after[:, 1], before[:, 1]):
            bad = int(np.flatnonzero((gained != expected).any(axis=1) | (after[:, 1] != before[:, 1]).reshape(len(live), -1).any(axis=1))[0])
            return Check(
                name,
                False,
                f"{type(game).__name__}: player {int(mover[bad])} chose {'column' if columns else 'cell'} {int(actions[bad])} in its own frame, but its next "
                "observation shows the stone elsewhere: the observation's transform and the action's do not match "
                "(check observation(player=...) against play())",
            )
    return Check(name, True, f"{type(game).__name__}: every random move appeared where its mover saw it ({boards} games, both players)")


def _game_kwargs(game: Any, batch_size: int) -> dict[str, Any]:
    """A fresh game of the same kind and options (``size``, ``swap``...) for the round-trip check."""
    kwargs: dict[str, Any] = {"batch_size": batch_size}
    for name in inspect.signature(type(game).__init__).parameters:
        if name not in ("self", "batch_size") and hasattr(game, name):
            kwargs[name] = getattr(game, name)
    return kwargs
