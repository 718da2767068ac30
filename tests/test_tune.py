"""Ray Tune searches: the space syntax and its checks (no Ray needed), the run loop's ``on_update``
hook and the Tune checkpoint round trip, and, marked ``ray``, a real search on CartPole: its table,
``best.yaml`` reproducing the best trial, and a resume that runs nothing again."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import math
import shutil
from pathlib import Path

import pytest
import torch

from rlagent.config import resolve
from rlagent.errors import ConfigError, TrainingError
from rlagent.run import Trainer, UpdateEvent
from rlagent.tuning import (
    Dimension,
    SearchSpec,
    TrialRow,
    _pack_checkpoint,
    _TuneReporter,
    _unpack_checkpoint,
    check_search,
    override_text,
    parse_dimension,
    write_best_preset,
)

QUIET = ["run.progress=false", "monitor.every=0"]


def _config(tmp_path: Path, total_steps: int, *overrides: str):
    return resolve("ppo", "CartPole-v1", overrides=[*QUIET, *overrides], extra={"total_steps": total_steps, "logdir": str(tmp_path)})


# --- the space ----------------------------------------------------------------------------------------
def test_space_specs_parse_to_canonical_keys_and_typed_values() -> None:
    assert parse_dimension("ppo", "ppo.learning_rate=loguniform:1e-4:1e-2") == Dimension("ppo.learning_rate", "loguniform", (1e-4, 1e-2))
    assert parse_dimension("ppo", "gamma=uniform:0.9:0.999") == Dimension("ppo.discount_factor", "uniform", (0.9, 0.999))
    assert parse_dimension("ppo", "ppo.num_epoch=int:2:10") == Dimension("ppo.num_epoch", "int", (2, 10))
    choice = parse_dimension("ppo", "policy.hidden_sizes=choice:[64,64],[128, 128],[32]")
    assert choice == Dimension("policy.hidden_sizes", "choice", ([64, 64], [128, 128], [32]))
    assert parse_dimension("ppo", "run.fast=choice:auto,off").values == ("auto", "off")  # off stays a word, as in --set


@pytest.mark.parametrize(
    "text",
    [
        "ppo.clip_param",
        "ppo.clip_param=0.2",
        "ppo.clip_param=normal:0:1",
        "ppo.clip_param=uniform:0.3",
        "ppo.clip_param=uniform:a:b",
        "ppo.clip_param=uniform:0.3:0.1",
        "ppo.learning_rate=loguniform:0:1e-2",
        "ppo.num_epoch=int:2.5:10",
        "ppo.clip_param=choice:0.1,,0.2",
    ],
)
def test_a_bad_space_spec_is_one_line_naming_the_valid_forms(text: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_dimension("ppo", text)
    assert "valid forms: KEY=choice:A,B,C, KEY=uniform:LOW:HIGH" in str(error.value) and "\n" not in str(error.value)


def test_sampled_values_travel_as_overrides_that_read_back_the_same() -> None:
    for value, expected in ((1e-5, 1e-5), (0.2, 0.2), (3, 3), ("off", "off"), ([64, 64], (64, 64))):
        key = {str: "run.fast", list: "policy.hidden_sizes", int: "ppo.num_epoch"}.get(type(value), "ppo.learning_rate")
        config = resolve("ppo", "CartPole-v1", overrides=[override_text(key, value)])
        section, name = key.split(".")
        got = getattr(config.algorithm if section == "ppo" else getattr(config, section), name)
        assert got == expected and type(got) is type(expected)


def _spec(tmp_path: Path, *space: str, overrides: tuple[str, ...] = (), **kwargs) -> SearchSpec:
    return SearchSpec(
        algo="ppo", env="CartPole-v1", space=tuple(parse_dimension("ppo", s) for s in space), overrides=overrides, storage=str(tmp_path), name="s", **kwargs
    )


@pytest.mark.parametrize(
    "space, overrides, message",
    [
        (("ppo.no_such_key=uniform:0:1",), (), "unknown key ppo.no_such_key"),
        (("ppo.num_epoch=uniform:1:5",), (), "ppo.num_epoch must be an integer"),
        (("ppo.clip_param=uniform:-0.5:0.5",), (), "the value -0.5 fails"),
        (("policy.activation=choice:tanh,sigmoidish",), (), "sigmoidish"),
        (("gamma=uniform:0.9:0.99",), ("ppo.discount_factor=0.98",), "ppo.discount_factor is both fixed by --set and searched"),
        (("ppo.clip_param=uniform:0.1:0.3", "clip_range=choice:0.2"), (), "names ppo.clip_param more than once"),
        ((), (), "give at least one --space"),
    ],
)
def test_a_search_is_checked_before_ray_starts(tmp_path: Path, space: tuple[str, ...], overrides: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        check_search(_spec(tmp_path, *space, overrides=overrides))


def test_optuna_missing_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "optuna" else find_spec(name, *rest))
    with pytest.raises(ConfigError, match="--search optuna needs optuna: pip install optuna"):
        check_search(_spec(tmp_path, "ppo.clip_param=uniform:0.1:0.3", search="optuna"))


def test_the_command_reports_a_bad_space_in_one_line_without_starting_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.tune import main

    code = main(["ppo", "--env", "CartPole-v1", "--space", "ppo.num_epoch=int:2", "--storage", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "int takes LOW:HIGH" in err
    assert list(tmp_path.iterdir()) == []


def test_without_ray_the_command_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.tune import main

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name.split(".")[0] == "ray" else find_spec(name, *args))
    code = main(["ppo", "--env", "CartPole-v1", "--space", "ppo.clip_param=uniform:0.1:0.3", "--storage", str(tmp_path)])
    assert code == 2 and 'pip install -e ".[ray]"' in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- the run loop's hook and the Tune checkpoint round trip ----------------------------------------
def test_on_update_sees_every_update_and_each_saved_checkpoint_with_its_step(tmp_path: Path) -> None:
    events: list[UpdateEvent] = []
    trainer = Trainer(_config(tmp_path, 5 * 256, "run.checkpoint_every=2"))
    trainer.train(on_update=events.append)
    assert [e.updates for e in events] == [1, 2, 3, 4, 5] and [e.steps for e in events] == [256, 512, 768, 1024, 1280]
    assert [e.checkpoint.name if e.checkpoint else None for e in events] == [None, "step_512.pt", None, "step_1024.pt", "step_1280.pt"]
    assert all("rollout/ep_rew_mean" in e.metrics for e in events)
    assert sorted(p.name for p in (trainer.run_dir / "checkpoints").iterdir()) == ["step_1024.pt", "step_1280.pt", "step_512.pt"]


def test_a_trial_restored_from_its_tune_checkpoint_continues_from_that_step(tmp_path: Path) -> None:
    """Tune recorded the checkpoint of step 512; the run went on to save 1024 before the search
    stopped. The restored trial must resume at 512 (Tune's results end there) and end as a run
    that was never stopped."""
    straight = Trainer(_config(tmp_path / "straight", 6 * 256, "run.checkpoint_every=2"))
    straight.train()

    first = Trainer(_config(tmp_path, 6 * 256, "run.checkpoint_every=2"), run_dir=tmp_path / "trial" / "run")
    recorded = tmp_path / "tune_checkpoint"
    stop_after = {"updates": 4}

    def hook(event: UpdateEvent) -> None:
        if event.steps == 512:
            _pack_checkpoint(event.checkpoint, first.run_dir, recorded)
        if event.updates == stop_after["updates"]:
            raise KeyboardInterrupt  # the search is stopped here

    with pytest.raises(KeyboardInterrupt):
        first.train(on_update=hook)
    assert (first.run_dir / "checkpoints" / "step_1024.pt").is_file()

    _unpack_checkpoint(recorded, first.run_dir)
    resumed = Trainer(_config(tmp_path, 6 * 256, "run.checkpoint_every=2"), run_dir=first.run_dir, resume=True)
    events: list[UpdateEvent] = []
    resumed.train(on_update=events.append)
    assert [e.steps for e in events] == [768, 1024, 1280, 1536]
    for a, b in zip(straight.policy.parameters(), resumed.policy.parameters()):
        assert torch.equal(a, b)


def test_best_yaml_is_a_preset_that_reproduces_the_trial(tmp_path: Path) -> None:
    spec = _spec(
        tmp_path,
        "ppo.learning_rate=loguniform:1e-4:1e-2",
        "ppo.clip_param=choice:0.1,0.2,0.3",
        overrides=("policy.hidden_sizes=[32, 32]", "run.num_envs=4"),
        extra={"total_steps": 4096},
    )
    params = {"ppo.learning_rate": 0.0012345678901234, "ppo.clip_param": 0.2}  # 0.2: the preset's own value, written all the same
    path = write_best_preset(tmp_path / "best.yaml", spec, TrialRow("trial_x", params, 4096, 1.0, 1.0, "done", ""))
    text = path.read_text()
    assert "clip_param: 0.2" in text and "ppo.learning_rate=loguniform" in text.splitlines()[2]
    loaded = resolve("ppo", "CartPole-v1", config_file=path)
    trial = spec.trial_config(params)
    assert loaded.to_dict() | {"run": {}} == trial.to_dict() | {"run": {}}
    assert {k: v for k, v in vars(loaded.run).items() if k != "progress"} == {k: v for k, v in vars(trial.run).items() if k != "progress"}


# --- with Ray -----------------------------------------------------------------------------------------
@pytest.mark.ray
def test_int_draws_both_ends(ray_session: None) -> None:
    draws = parse_dimension("ppo", "ppo.num_epoch=int:2:4").domain().sample(size=300, random_state=0)
    assert set(draws) == {2, 3, 4}


@pytest.mark.ray
def test_the_reporter_waits_for_the_metric_and_carries_the_checkpoint_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_session: None) -> None:
    from ray import tune

    reports: list[tuple[dict, list[str] | None]] = []

    def report(row: dict, checkpoint: tune.Checkpoint | None = None) -> None:
        files = sorted(str(p.relative_to(checkpoint.path)) for p in Path(checkpoint.path).rglob("*.pt")) if checkpoint else None
        reports.append((row, files))

    monkeypatch.setattr(tune, "report", report)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    saved = run_dir / "checkpoints" / "step_20.pt"
    saved.write_bytes(b"x")
    reporter = _TuneReporter("elo/current", run_dir)
    reporter(UpdateEvent(10, 1, {"a": 1.0}, None))
    reporter(UpdateEvent(20, 2, {"a": 2.0}, saved))
    reporter(UpdateEvent(30, 3, {"a": 3.0, "elo/current": 50.0}, None))
    reporter(UpdateEvent(40, 4, {"a": 4.0}, None))
    assert [(row["steps"], row["elo/current"], files) for row, files in reports] == [(30, 50.0, ["checkpoints/step_20.pt"]), (40, 50.0, None)]
    with pytest.raises(TrainingError, match="never reported nope; it reports a"):
        silent = _TuneReporter("nope", run_dir)
        silent(UpdateEvent(10, 1, {"a": 1.0}, None))
        silent.finish()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.ray
def test_a_search_reports_its_trials_saves_the_best_and_resumes_without_rerunning(
    tmp_path: Path, ray_session: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from rlagent.tune import main

    args = [
        "ppo",
        "--env",
        "CartPole-v1",
        "--total-steps",
        "1024",
        "--samples",
        "3",
        "--set",
        "monitor.every=0",
        "--space",
        "ppo.learning_rate=loguniform:1e-4:1e-2",
        "--space",
        "ppo.num_epoch=int:2:4",
        "--space",
        "ppo.clip_param=choice:0.1,0.2,0.3",
        "--name",
        "cartpole",
        "--storage",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "cartpole"
    trials = sorted(folder.glob("trial_*"))
    assert len(trials) == 3 and sum(line.lstrip("* ").startswith("trial_") for line in out.splitlines()) == 3

    with (folder / "trials.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3 and all(row["status"] == "done" and row["steps"] == "1024" for row in rows)
    best = max(rows, key=lambda row: float(row["final rollout/ep_rew_mean"]))
    assert f"*  {best['trial']}" in out
    for trial in trials:  # every update reported (4 of 256 steps), and a Tune checkpoint holding the run's last one
        assert len((trial / "result.json").read_text().splitlines()) == 4
        assert len((trial / "run" / "metrics.jsonl").read_text().splitlines()) == 4
        assert list(trial.glob("checkpoint_*/checkpoints/step_1024.pt"))

    loaded = json.loads(json.dumps(resolve("ppo", "CartPole-v1", config_file=folder / "best.yaml").to_dict()))
    trial_config = json.loads((folder / best["trial"] / "run" / "config.json").read_text())
    assert math.isclose(loaded["ppo"]["learning_rate"], float(best["ppo.learning_rate"]), rel_tol=1e-12)
    assert (loaded["ppo"]["num_epoch"], loaded["ppo"]["clip_param"]) == (int(best["ppo.num_epoch"]), float(best["ppo.clip_param"]))
    for section in ("ppo", "policy", "monitor", "env_kwargs"):
        assert loaded[section] == trial_config[section], section
    assert (folder / "metric.png").read_bytes()[:4] == b"\x89PNG"

    before = _digest(folder)
    assert main(args) == 0
    assert "resumed 3 trials" in capsys.readouterr().out
    after = _digest(folder)
    changed = {name for name in before if before[name] != after.get(name)}
    assert not {name for name in changed if name.startswith("trial_")}  # no trial ran again
    assert set(after) - set(before) <= {name for name in after if not name.startswith("trial_")}

    other = [a.replace("choice:0.1,0.2,0.3", "choice:0.1,0.3") for a in args]
    assert main(other) == 2
    assert "holds a search with other settings" in capsys.readouterr().err
    shutil.rmtree(folder)


@pytest.mark.ray
@pytest.mark.parametrize("search, scheduler", [("random", "asha"), ("optuna", "none"), ("hyperopt", "none")])
def test_searchers_and_asha_run_a_search_to_its_outputs(
    tmp_path: Path, ray_session: None, capsys: pytest.CaptureFixture[str], search: str, scheduler: str
) -> None:
    if search != "random":
        pytest.importorskip(search)
    from rlagent.tune import main

    args = [
        "ppo",
        "--env",
        "CartPole-v1",
        "--total-steps",
        "1024",
        "--samples",
        "3",
        "--set",
        "monitor.every=0",
        "--search",
        search,
        "--scheduler",
        scheduler,
        "--grace-steps",
        "256",
        "--space",
        "ppo.learning_rate=loguniform:1e-4:1e-2",
        "--space",
        "policy.hidden_sizes=choice:[32,32],[64]",
        "--name",
        "s",
        "--storage",
        str(tmp_path),
        "--verbose",
        "0",
    ]
    assert main(args) == 0
    with (tmp_path / "s" / "trials.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 3 and {row["status"] for row in rows} <= {"done", "stopped"} and any(row["status"] == "done" for row in rows)
    for row in rows:  # ASHA stops a trial only at a rung: after grace_steps (256) times 4**k, before the budget
        assert row["steps"] == "1024" or (scheduler == "asha" and row["steps"] == "256")
    loaded = resolve("ppo", "CartPole-v1", config_file=tmp_path / "s" / "best.yaml")
    assert loaded.policy.hidden_sizes in ((32, 32), (64,))
