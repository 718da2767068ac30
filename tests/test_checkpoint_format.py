"""Checkpoint format versions: runs written by the format 1 rlagent (before the package was
reorganised) still evaluate, league and resume; files from a newer format are refused in one line.

The format 1 runs in tests/fixtures/format1 were written by the rlagent of commit e0598a3 (see
generate.py there); their self-play checkpoint pickles ``rlagent.selfplay.OpponentPool``.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
import types
from pathlib import Path

import cloudpickle
import pytest
import torch

from rlagent.checkpoint import FORMAT_VERSION, MOVED_MODULES, load_checkpoint, unpickle_env
from rlagent.errors import CheckpointError
from rlagent.evaluate import main as evaluate_main
from rlagent.league import main as league_main
from rlagent.train import main as train_main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "format1"
EXPECTED = json.loads((FIXTURES / "expected_resume.json").read_text())


def old_run(name: str, tmp_path: Path) -> Path:
    """A private copy of a format 1 run directory (the commands write into it)."""
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


def one_error_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def rewrite(path: Path, **changes) -> None:
    """Change a checkpoint's entries in place, keeping its format_version unless told (not save_checkpoint,
    which would stamp the present version)."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    payload.update(changes)
    torch.save(payload, path)


# ---------------------------------------------------------------- the fixtures are what they claim


def test_fixtures_are_format_1_and_pickle_the_old_module_paths() -> None:
    payload = torch.load(FIXTURES / "hex-selfplay" / "checkpoints" / "step_256.pt", map_location="cpu", weights_only=False)
    assert payload["format_version"] == 1 < FORMAT_VERSION
    env = payload["collector"]["env"]
    assert b"rlagent.selfplay" in env and b"OpponentPool" in env and b"rlagent.players" in env
    with pytest.raises(ModuleNotFoundError, match="rlagent.selfplay"):
        pickle.loads(env)  # what rollout.py did before: the old path is gone
    for snapshot in (FIXTURES / "hex-selfplay" / "pool").glob("step_*.pt"):
        assert torch.load(snapshot, map_location="cpu", weights_only=False)["format_version"] == 1


def test_the_old_pool_is_unpickled_as_the_present_class() -> None:
    from rlagent.games.players import RandomPlayer
    from rlagent.games.selfplay import Member, OpponentPool

    payload = load_checkpoint(FIXTURES / "hex-selfplay" / "checkpoints" / "step_256.pt")
    env = unpickle_env(payload["collector"]["env"])
    pool = env.match.opponent
    assert type(pool) is OpponentPool
    assert all(type(member) is Member for member in pool.members)
    assert type(pool.players["random"]) is RandomPlayer


# ---------------------------------------------------------------- format 1 runs in the commands


def test_evaluate_reads_a_format_1_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = old_run("hex-selfplay", tmp_path)
    assert evaluate_main([str(run), "--games", "4"]) == 0
    assert evaluate_main([str(run / "pool" / "step_128.pt"), "--games", "4"]) == 0
    assert "overall vs random" in capsys.readouterr().out


def test_league_rates_the_checkpoint_and_snapshots_of_a_format_1_run(tmp_path: Path) -> None:
    run = old_run("hex-selfplay", tmp_path)
    assert league_main([str(run), "--games", "2", "--baselines", "random"]) == 0
    rated = {line.split(",")[0] for line in (run / "league" / "ratings.csv").read_text().splitlines()[1:]}
    assert rated == {"random", "step_0", "step_128", "step_256"}


@pytest.mark.parametrize("name", ["hex-ppo", "hex-selfplay"])
def test_resuming_a_format_1_run_continues_it(name: str, tmp_path: Path) -> None:
    """The old pool (and everything else in the env) is restored and the run goes on from the
    checkpoint: the pool keeps its members and the new files are in the present format.

    Not bit for bit what the format 1 code made of the same resume (expected_resume.json): since
    format 2 the numpy rollout actor draws its sampling noise from the collector's torch generator
    (the same stream as torch's actor), where format 1 drew it from a numpy generator, so the
    resumed run samples other moves from the same saved state."""
    run = old_run(name, tmp_path)
    before = load_checkpoint(run / "checkpoints" / "step_256.pt")["model"]
    steps = EXPECTED["steps"]
    assert train_main(["ppo", "--env", "hex", "--resume", str(run), "--total-steps", str(steps)]) == 0
    payload = load_checkpoint(run / "checkpoints" / f"step_{steps}.pt")
    assert payload["format_version"] == FORMAT_VERSION and payload["steps"] == steps
    expected = EXPECTED["runs"][name]
    assert list(payload["model"]) == list(expected["model"])
    assert all(torch.isfinite(value).all() for value in payload["model"].values())
    assert any(not torch.equal(payload["model"][key], before[key]) for key in before), "the resumed run did not train"
    if "pool" in expected:
        pool = json.loads((run / "pool" / "pool.json").read_text())
        assert [[m["name"], m["active"]] for m in pool["members"]] == [member[:2] for member in expected["pool"]]
        assert load_checkpoint(run / "pool" / f"step_{steps}.pt")["format_version"] == FORMAT_VERSION


# ---------------------------------------------------------------- what cannot be read: one line


def test_a_newer_format_is_refused_in_one_line_by_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = old_run("hex-ppo", tmp_path)
    checkpoint = run / "checkpoints" / "step_256.pt"
    rewrite(checkpoint, format_version=FORMAT_VERSION + 1)
    expected = (
        f"error: checkpoint {checkpoint} has format_version {FORMAT_VERSION + 1} but this rlagent reads format_version "
        f"1 to {FORMAT_VERSION}: it was written by a newer rlagent, upgrade rlagent to load it\n"
    )
    for command in (
        lambda: evaluate_main([str(run), "--games", "2"]),
        lambda: league_main([str(run), "--games", "2", "--baselines", "random"]),
        lambda: train_main(["ppo", "--env", "hex", "--resume", str(run), "--total-steps", "384"]),
    ):
        assert one_error_line(capsys, command()) == expected
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_256.pt"]


@pytest.mark.parametrize("version", [0, -1, "2", 2.0, True, None])
def test_a_version_no_rlagent_wrote_is_refused_in_one_line(version: object, tmp_path: Path) -> None:
    path = tmp_path / "step_1.pt"
    torch.save({"format_version": version, "model": {}}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == (
        f"checkpoint {path} has format_version {version!r}, which no rlagent wrote "
        f"(this one reads 1 to {FORMAT_VERSION}): it is damaged or not an rlagent checkpoint"
    )


@pytest.fixture()
def vanished_class() -> bytes:
    """A pickled object of a class whose module is gone (as a class deleted in a later rlagent)."""
    module = types.ModuleType("rlagent_vanished")
    exec("class Gone:\n    pass\n", module.__dict__)
    sys.modules["rlagent_vanished"] = module
    try:
        return pickle.dumps(module.Gone())
    finally:
        del sys.modules["rlagent_vanished"]


def test_resuming_an_old_run_whose_env_cannot_be_rebuilt_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], vanished_class: bytes) -> None:
    run = old_run("hex-ppo", tmp_path)
    checkpoint = run / "checkpoints" / "step_256.pt"
    payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    rewrite(checkpoint, collector={**payload["collector"], "env": vanished_class})
    err = one_error_line(capsys, train_main(["ppo", "--env", "hex", "--resume", str(run), "--total-steps", "384"]))
    assert err == (
        f"error: cannot resume from {checkpoint} (checkpoint format_version 1): the saved env cannot be rebuilt "
        "(ModuleNotFoundError: No module named 'rlagent_vanished'), so this rlagent cannot resume the run: evaluate it "
        "or rate it in the league as it is, resume it with the rlagent that wrote it, or start a new run\n"
    )
    assert evaluate_main([str(run), "--games", "2"]) == 0  # the network itself is fine


# ---------------------------------------------------------------- the remapping itself


def test_every_moved_module_exists_in_its_new_place() -> None:
    import importlib

    for old, new in MOVED_MODULES.items():
        importlib.import_module(new)
        assert old != new


@pytest.fixture()
def old_selfplay_module() -> types.ModuleType:
    """A stand-in for the format 1 module ``rlagent.selfplay``, to pickle an object under that path."""
    module = types.ModuleType("rlagent.selfplay")
    exec("class OpponentPool:\n    pass\n", module.__dict__)
    sys.modules["rlagent.selfplay"] = module
    try:
        yield module
    finally:
        del sys.modules["rlagent.selfplay"]


def test_unpickle_env_maps_old_module_paths_and_leaves_present_ones(old_selfplay_module: types.ModuleType) -> None:
    from rlagent.games.selfplay import OpponentPool

    old_bytes = cloudpickle.dumps([old_selfplay_module.OpponentPool])
    del sys.modules["rlagent.selfplay"]
    try:
        assert unpickle_env(old_bytes) == [OpponentPool]
    finally:
        sys.modules["rlagent.selfplay"] = old_selfplay_module
    assert unpickle_env(cloudpickle.dumps([OpponentPool])) == [OpponentPool]
