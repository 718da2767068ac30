"""Training checkpoints: atomic save, careful load, compatibility checks, RNG state.

A run is killed at arbitrary moments (Ctrl-C, preemption, OOM), so a save must
never leave a half-written file where the last good checkpoint was, and a load
must turn every way a file can be broken into one :class:`CheckpointError` line
that says which file and what to do, instead of a pickle or zip traceback.

Every checkpoint (and every self-play pool snapshot, ``pool/step_<N>.pt``) carries an integer
``format_version``; :data:`FORMAT_VERSION` is the one this code writes. The formats:

1. rlagent up to commit e0598a3, before the package was reorganised. The same top-level keys as 2,
   but the objects pickled inside a checkpoint (the collector's env, which holds the self-play
   :class:`~rlagent.games.selfplay.OpponentPool`, its members and baseline players) name the old
   modules (``rlagent.selfplay``, ``rlagent.players``, ...), and the collector's state differs: a
   numpy ``rng`` (the old numpy actor's sampling noise; not read any more, so a resumed format 1
   run samples other actions than the old code would have) and ``trial_stats`` (read as the trial
   monitor's state), without the running episodes' returns (those restart from 0).
2. The modules in their present places (``rlagent.games``, ``rlagent.fast``); the collector's
   state holds its step observers' states and the running episodes. Since the diagnostics, a
   checkpoint may also hold a ``reference`` batch (observations with the training network's
   outputs, :func:`rlagent.monitor.consistency.reference_batch`): optional, so older files of
   format 2 still load, and ``python -m rlagent.diagnose`` skips that check for them.

Older formats are read: their payload is unchanged, and :func:`unpickle_env` finds classes
that moved under their new module (:data:`MOVED_MODULES`). A file from a newer rlagent (a
higher version) is refused in one line that says to upgrade.
"""

from __future__ import annotations

import io
import os
import pickle
import random
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlagent.errors import CheckpointError

__all__ = [
    "FORMAT_VERSION",
    "MOVED_MODULES",
    "OLDEST_FORMAT_VERSION",
    "REQUIRED_KEYS",
    "capture_rng_state",
    "check_compatible",
    "check_state_dict_compatible",
    "checkpoint_path",
    "describe_signature",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "prune_checkpoints",
    "restore_rng_state",
    "save_checkpoint",
    "space_signature",
    "unpickle_env",
]

FORMAT_VERSION = 2  # see the module docstring for what each version means
OLDEST_FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "model")
CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"step_(\d+)\.pt")
_DETAIL_CHARS = 160


def _detail(exc: BaseException) -> str:
    """The gist of a low-level error, on one short line, for the parenthesis in our message."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.split(". ", 1)[0]  # torch/miniz append paragraphs of advice that do not apply here
    if len(text) > _DETAIL_CHARS:
        text = text[: _DETAIL_CHARS - 3] + "..."
    return f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------- save / load


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` (plus ``format_version``) to ``path`` so that ``path`` is always whole.

    The data goes to a temporary file in the same directory (same filesystem,
    so the rename is atomic), is fsynced, and only then replaces ``path``. A
    crash at any point leaves either the old file or the new one, never a mix;
    the temporary file is removed on failure. Disk errors become CheckpointError.
    """
    path = Path(path)
    if "model" not in payload:
        raise ValueError("checkpoint payload needs a 'model' entry (the policy's state_dict)")
    data = {**payload, "format_version": FORMAT_VERSION}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path)
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path} ({_detail(exc)})") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"cannot write checkpoint {path} ({_detail(exc)})") from exc
        raise
    _fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, Path]:
    """A fresh file beside ``path`` with the umask's permissions (mkstemp's 0600 would stick after the rename)."""
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue


def _fsync_dir(directory: Path) -> None:
    """Persist the rename itself; not possible (nor needed) on every platform."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, onto the CPU.

    ``weights_only=False`` is needed because checkpoints hold more than tensors
    (numpy and Python RNG states, configs, optimiser state). That unpickles
    arbitrary objects, which is acceptable because the files are this project's
    own run outputs; loading a checkpoint from an untrusted source is unsafe
    (it can run arbitrary code), as with any pickle.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist: check the path or the run directory")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file: give a checkpoints/step_<N>.pt file")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path} ({_detail(exc)})") from exc
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty: delete it or resume from an earlier one")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except PermissionError as exc:
        raise CheckpointError(f"cannot read checkpoint {path} ({_detail(exc)})") from exc
    except Exception as exc:
        raise CheckpointError(f"checkpoint {path} is truncated or corrupt ({_detail(exc)}): delete it or resume from an earlier one") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(data).__name__}, not an rlagent checkpoint dict with keys {', '.join(REQUIRED_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}: it was not written by rlagent (expected keys {', '.join(REQUIRED_KEYS)})")
    version = data["format_version"]
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format_version {version} but this rlagent reads format_version "
            f"{OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}: it was written by a newer rlagent, upgrade rlagent to load it"
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < OLDEST_FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format_version {version!r}, which no rlagent wrote "
            f"(this one reads {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}): it is damaged or not an rlagent checkpoint"
        )
    return data


# ---------------------------------------------------------------- objects pickled by older formats

# Format 1 -> 2: where the modules of the reorganisation went. Only names that no longer resolve
# are looked up here, so a module that kept its name (rlagent.league is now the command) is not
# shadowed for the classes it still defines.
MOVED_MODULES: dict[str, str] = {
    "rlagent.players": "rlagent.games.players",
    "rlagent.matches": "rlagent.games.matches",
    "rlagent.selfplay": "rlagent.games.selfplay",
    "rlagent.elo": "rlagent.games.elo",
    "rlagent.league_report": "rlagent.games.league_report",
    "rlagent.match_table": "rlagent.games.match_table",
    "rlagent.league": "rlagent.games.league",
    "rlagent.algos.analytic_loss": "rlagent.fast.analytic_loss",
    "rlagent.loss_gradients": "rlagent.fast.loss_gradients",
    "rlagent.nets.mlp_backprop": "rlagent.fast.mlp_backprop",
    "rlagent.nets.mlp_layout": "rlagent.fast.mlp_layout",
    "rlagent.nets.numpy_actor": "rlagent.fast.numpy_actor",
    "rlagent.optim": "rlagent.fast.fused_adam",
    "rlagent.nets.activations": "rlagent.fast.activations",
}
# Single names that left a module that still exists.
_MOVED_NAMES: dict[tuple[str, str], str] = {
    ("rlagent.evaluate", "load_agent"): "rlagent.agent",
    ("rlagent.config", "OnPolicyConfig"): "rlagent.algos.ppo",
    ("rlagent.config", "ReinforceConfig"): "rlagent.algos.reinforce",
}


class _MovedClassUnpickler(pickle.Unpickler):
    """A pickle reader that looks a class up under its new module when its old one lacks it."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            moved = _MOVED_NAMES.get((module, name)) or MOVED_MODULES.get(module)
            if moved is None:
                raise
            return super().find_class(moved, name)


def unpickle_env(data: bytes) -> Any:
    """The env a checkpoint's collector pickled (with cloudpickle), from any readable format.

    Classes pickled under a module that has since moved (format 1's ``rlagent.selfplay.OpponentPool``)
    are found in their new place. An env that still cannot be rebuilt (a class that is gone, an env
    package that is not installed) is one CheckpointError, not an unpickling traceback.
    """
    try:
        return _MovedClassUnpickler(io.BytesIO(data)).load()
    except Exception as exc:
        raise CheckpointError(
            f"the saved env cannot be rebuilt ({_detail(exc)}), so this rlagent cannot resume the run: "
            "evaluate it or rate it in the league as it is, resume it with the rlagent that wrote it, or start a new run"
        ) from exc


# ---------------------------------------------------------------- run directory layout


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives; one naming scheme for savers and finders."""
    if step < 0:
        raise ValueError(f"checkpoint step must be >= 0, got {step}")
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{int(step)}.pt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """All ``(step, path)`` of a run, oldest first; temporary files of unfinished saves are ignored."""
    directory = Path(run_dir) / CHECKPOINT_DIR
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        match = _NAME.fullmatch(entry.name)
        if match and entry.is_file():
            found.append((int(match.group(1)), entry))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint with the highest step (numerically: step_1000 after step_999), or None."""
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def prune_checkpoints(run_dir: Path, keep: int, protect: Iterable[Path] = ()) -> list[Path]:
    """Delete all but the newest ``keep`` checkpoints, sparing ``protect`` (e.g. the best one).

    Returns the deleted paths so the caller can log them.
    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    spared = {Path(p).resolve() for p in protect}
    found = list_checkpoints(run_dir)
    old = found[: max(len(found) - keep, 0)]
    removed = []
    for _, path in old:
        if path.resolve() in spared:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


# ---------------------------------------------------------------- compatibility


def _bound(value: float) -> float | str:
    """JSON has no infinity; unbounded Box limits are stored as strings."""
    value = float(value)
    return value if np.isfinite(value) else ("inf" if value > 0 else "-inf")


def _space(space: spaces.Space) -> dict[str, Any]:
    kind = type(space).__name__
    if isinstance(space, spaces.Box):
        return {
            "type": kind,
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _bound(np.min(space.low)) if space.low.size else 0.0,
            "high": _bound(np.max(space.high)) if space.high.size else 0.0,
        }
    if isinstance(space, spaces.Discrete):
        return {"type": kind, "n": int(space.n), "start": int(space.start), "dtype": str(space.dtype)}
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "type": kind,
            "nvec": np.asarray(space.nvec).tolist(),
            "start": np.asarray(space.start).tolist(),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiBinary):
        return {"type": kind, "shape": list(space.shape), "dtype": str(space.dtype)}
    if isinstance(space, spaces.Dict):
        return {"type": kind, "spaces": {key: _space(sub) for key, sub in space.spaces.items()}}
    if isinstance(space, spaces.Tuple):
        return {"type": kind, "spaces": [_space(sub) for sub in space.spaces]}
    return {"type": kind, "repr": str(space)}


def space_signature(observation_space: spaces.Space, action_space: spaces.Space) -> dict[str, Any]:
    """Describe what a policy was built for as plain JSON data, to store in checkpoints.

    Pass the spaces of ONE env (``VectorEnv.single_observation_space``), not the
    batched ones, or the batch size becomes part of the signature. Box bounds are
    kept as their overall min/max: a changed value range silently breaks a
    trained network, while per-element bounds would bloat the file.
    """
    return {"observation": _space(observation_space), "action": _space(action_space)}


def describe_signature(sig: Mapping[str, Any], bounds: bool = False) -> str:
    """A compact, one-line rendering of one space signature for error messages."""
    kind = sig.get("type", "?")
    if kind in ("Box", "MultiBinary"):
        text = f"shape={tuple(sig['shape'])}, dtype={sig['dtype']}"
        if bounds and kind == "Box":
            text += f", low={sig['low']}, high={sig['high']}"
        return f"{kind}({text})"
    if kind == "Discrete":
        start = f", start={sig['start']}" if sig.get("start") else ""
        return f"Discrete(n={sig['n']}{start})"
    if kind == "MultiDiscrete":
        return f"MultiDiscrete(nvec={sig['nvec']})"
    if kind == "Dict":
        inner = ", ".join(f"{key}: {describe_signature(sub, bounds)}" for key, sub in sig["spaces"].items())
        return f"Dict({inner})"
    if kind == "Tuple":
        return f"Tuple({', '.join(describe_signature(sub, bounds) for sub in sig['spaces'])})"
    return str(sig.get("repr", kind))


def _first_difference(saved: Any, current: Any, label: str) -> tuple[str, Any, Any] | None:
    """Walk into Dict/Tuple spaces so the message names the sub-space that differs."""
    if saved == current:
        return None
    if isinstance(saved, Mapping) and isinstance(current, Mapping) and saved.get("type") == current.get("type") and saved.get("type") in ("Dict", "Tuple"):
        a, b = saved["spaces"], current["spaces"]
        keys = list(a) if isinstance(a, Mapping) else list(range(len(a)))
        other = list(b) if isinstance(b, Mapping) else list(range(len(b)))
        if keys == other:
            for key in keys:
                found = _first_difference(a[key], b[key], f"{label}[{key!r}]")
                if found:
                    return found
    return label, saved, current


def _describe_pair(saved: Any, current: Any) -> tuple[str, str]:
    if not isinstance(saved, Mapping) or not isinstance(current, Mapping):
        return repr(saved), repr(current)
    a, b = describe_signature(saved), describe_signature(current)
    if a == b:
        a, b = describe_signature(saved, bounds=True), describe_signature(current, bounds=True)
    return a, b


def check_compatible(
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    what: str = "environment",
    hint: str = "use the same env settings as the run that wrote it (see its config.json) or start a new run",
) -> None:
    """Refuse to resume or play a checkpoint on spaces it was not trained for, in one line.

    Without this check the failure shows up later as a shape error deep inside
    the network (or worse, not at all when only a value range changed).
    """
    for part in ("observation", "action"):
        found = _first_difference(saved.get(part), current.get(part), part)
        if found is None:
            continue
        label, a, b = found
        desc_a, desc_b = _describe_pair(a, b)
        raise CheckpointError(f"checkpoint was trained on {label} {desc_a} but the {what} gives {desc_b}; {hint}")


def check_state_dict_compatible(
    saved_state: Mapping[str, Any],
    model: torch.nn.Module,
    source: str = "checkpoint",
) -> None:
    """Compare names and shapes before ``load_state_dict``, to get one line instead of PyTorch's list.

    The first mismatch in the model's own parameter order is named, with both
    shapes and a count of the others, which is enough to tell which network
    setting differs.
    """
    expected = model.state_dict()
    problems: list[str] = []
    for name, tensor in expected.items():
        if name not in saved_state:
            problems.append(f"{source} has no {name!r} (shape {tuple(tensor.shape)}) that the model needs")
            continue
        saved = saved_state[name]
        if hasattr(saved, "shape") and hasattr(tensor, "shape") and tuple(saved.shape) != tuple(tensor.shape):
            problems.append(f"parameter {name!r} has shape {tuple(saved.shape)} in the {source} but {tuple(tensor.shape)} in the model")
    for name in saved_state:
        if name not in expected:
            problems.append(f"{source} has {name!r} that the model does not have")
    if problems:
        more = f" (and {len(problems) - 1} more mismatches)" if len(problems) > 1 else ""
        raise CheckpointError(f"{problems[0]}{more}; the network settings differ from the run that wrote it: use its config or start a new run")


# ---------------------------------------------------------------- RNG state


def capture_rng_state() -> dict[str, Any]:
    """The global RNG states (Python, numpy, torch CPU, CUDA if present) for an exact resume.

    Generators injected into components (``np_random``, ``torch.Generator``) are
    not global; their owners save them (``bit_generator.state``, ``get_state()``).
    """
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Put back what :func:`capture_rng_state` saved; absent parts are left alone.

    A CUDA state is skipped when CUDA is unavailable (resuming a GPU run on a
    CPU cannot reproduce it anyway) and restored only for devices present.
    """
    try:
        if "python" in state:
            random.setstate(state["python"])
        if "numpy" in state:
            np.random.set_state(state["numpy"])
        if "torch" in state:
            torch.set_rng_state(torch.as_tensor(state["torch"], dtype=torch.uint8).cpu())
        if "cuda" in state and torch.cuda.is_available():
            cuda_states = list(state["cuda"])[: torch.cuda.device_count()]
            for index, cuda_state in enumerate(cuda_states):
                torch.cuda.set_rng_state(torch.as_tensor(cuda_state, dtype=torch.uint8).cpu(), index)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint RNG state cannot be restored ({_detail(exc)})") from exc
