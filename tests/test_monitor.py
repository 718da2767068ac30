import io
import itertools
import json
import math

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from rlagent.monitor import SB3_TAGS, Progress, RunLogger, flatten_hparams, read_metrics


def _events(run_dir):
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return acc


def _jsonl(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_log_writes_same_values_to_jsonl_and_tensorboard(tmp_path):
    with RunLogger(tmp_path) as logger:
        for step in (0, 64, 128):
            logger.log(
                step,
                {
                    "rollout/ep_rew_mean": float(step) / 2,
                    "train/approx_kl": np.float32(0.25),
                    "train/value_loss": torch.tensor(1.5),
                    "train/n_updates": step // 64,
                    "eval/skipped": None,
                },
            )

    records = _jsonl(tmp_path)
    assert [r["step"] for r in records] == [0, 64, 128]
    assert [r["rollout/ep_rew_mean"] for r in records] == [0.0, 32.0, 64.0]
    assert all(r["train/approx_kl"] == 0.25 and r["train/value_loss"] == 1.5 for r in records)
    assert [r["train/n_updates"] for r in records] == [0, 1, 2]
    assert all("eval/skipped" not in r for r in records)
    times = [r["time"] for r in records]
    assert times == sorted(times) and times[0] >= 0.0

    acc = _events(tmp_path)
    scalars = set(acc.Tags()["scalars"])
    assert {"rollout/ep_rew_mean", "train/approx_kl", "train/value_loss", "train/n_updates"} <= scalars
    assert "eval/skipped" not in scalars
    points = acc.Scalars("rollout/ep_rew_mean")
    assert [(p.step, p.value) for p in points] == [(0, 0.0), (64, 32.0), (128, 64.0)]


def test_non_finite_values_are_written_not_rejected(tmp_path):
    with RunLogger(tmp_path) as logger:
        logger.log(1, {"train/loss": float("nan"), "train/value_loss": np.inf})
    (record,) = read_metrics(tmp_path)
    assert math.isnan(record["train/loss"]) and record["train/value_loss"] == math.inf
    (point,) = _events(tmp_path).Scalars("train/loss")
    assert math.isnan(point.value)


def test_log_rejects_non_scalars_and_reserved_names(tmp_path):
    with RunLogger(tmp_path) as logger:
        with pytest.raises(TypeError, match="train/loss"):
            logger.log(0, {"train/loss": torch.zeros(3)})
        with pytest.raises(TypeError, match="name"):
            logger.log(0, {"name": "ppo"})
        with pytest.raises(ValueError, match="reserved"):
            logger.log(0, {"time": 1.0})


def test_log_hparams_lands_in_the_run_dir_beside_the_scalars(tmp_path):
    hparams = {"algo": "ppo", "ppo": {"clip_param": 0.2, "hidden": [64, 64], "target_kl": None, "norm_adv": True}}
    with RunLogger(tmp_path, hparams=hparams) as logger:
        logger.log(100, {"rollout/ep_rew_mean": 3.0})
        logger.log_hparams(hparams, {"rollout/ep_rew_mean": 3.0, "hparam/win_rate": 0.75})

    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []  # no add_hparams sub-run
    acc = _events(tmp_path)
    content = acc.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"} <= set(content)

    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = start.session_start_info.hparams
    assert values["algo"].string_value == "ppo"
    assert values["ppo.clip_param"].number_value == pytest.approx(0.2)
    assert values["ppo.hidden"].string_value == "[64, 64]"
    assert values["ppo.target_kl"].string_value == "None"
    assert values["ppo.norm_adv"].string_value == "True"

    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert {m.name.tag for m in experiment.metric_infos} == {"hparam/rollout/ep_rew_mean", "hparam/win_rate"}
    assert [(p.step, p.value) for p in acc.Scalars("hparam/win_rate")] == [(100, 0.75)]
    # The training curve itself got no extra point from the final metrics.
    assert [p.step for p in acc.Scalars("rollout/ep_rew_mean")] == [100]


def test_flatten_hparams_makes_every_value_tensorboard_friendly():
    flat = flatten_hparams({"a": {"b": {"c": 1}}, "d": (1, 2), "e": np.float64(0.5), "f": None, "g": False})
    assert flat == {"a.b.c": 1, "d": "[1, 2]", "e": 0.5, "f": "None", "g": "False"}


def test_resume_keeps_the_checkpoint_step_and_hides_points_after_it(tmp_path):
    # The run logs a step, then saves its checkpoint: the checkpoint at 30 already has its row.
    with RunLogger(tmp_path) as logger:
        for step in (0, 10, 20, 30, 40):
            logger.log(step, {"rollout/ep_rew_mean": float(step)})
    with (tmp_path / "metrics.jsonl").open("a") as f:
        f.write('{"step": 50, "rollout/ep_r')  # killed mid-write
    time_at_checkpoint = read_metrics(tmp_path)[3]["time"]

    # Resumed from the checkpoint at 30: 40 (written after it) and the torn 50 are written again.
    with RunLogger(tmp_path, resume_step=30) as logger:
        logger.log(40, {"rollout/ep_rew_mean": 400.0})
        logger.log(50, {"rollout/ep_rew_mean": 500.0})

    records = _jsonl(tmp_path)
    assert [r["step"] for r in records] == [0, 10, 20, 30, 40, 50]
    assert [r["rollout/ep_rew_mean"] for r in records] == [0.0, 10.0, 20.0, 30.0, 400.0, 500.0]
    assert records[4]["time"] >= time_at_checkpoint  # run time continues, not restarts

    points = _events(tmp_path).Scalars("rollout/ep_rew_mean")
    assert [(p.step, p.value) for p in points] == [(0, 0.0), (10, 10.0), (20, 20.0), (30, 30.0), (40, 400.0), (50, 500.0)]


def test_closed_logger_refuses_writes_and_closes_twice(tmp_path):
    logger = RunLogger(tmp_path)
    logger.flush()
    logger.close()
    logger.close()
    with pytest.raises(RuntimeError, match="closed"):
        logger.log(0, {"x": 1.0})


def test_sb3_tags_are_the_known_names():
    assert len(set(SB3_TAGS)) == len(SB3_TAGS) == 12
    assert {"rollout/ep_rew_mean", "train/approx_kl", "train/explained_variance", "time/fps"} <= set(SB3_TAGS)
    assert all(tag.split("/")[0] in ("rollout", "train", "time") for tag in SB3_TAGS)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_silent_when_not_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with Progress(100, desc="train") as bar:
        assert not bar.enabled
        for done in range(0, 101, 10):
            bar.update(done, ret=1.0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_is_silent_in_ci_or_when_disabled(monkeypatch):
    stream = FakeTTY()
    monkeypatch.setenv("CI", "true")
    with Progress(10, file=stream) as bar:
        bar.update(10)
    monkeypatch.delenv("CI")
    with Progress(10, enabled=False, file=stream) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
    with Progress(10, file=stream) as bar:
        assert bar.enabled


def test_progress_shows_counts_rate_and_fields_when_enabled(capsys):
    with Progress(1000, desc="ppo hex", enabled=True) as bar:
        bar.update(500, **{"return": 123.4, "win": "87%"})
        bar.update(1000, **{"return": 130.0, "win": "90%"})
    err = capsys.readouterr().err
    assert "ppo hex: 500/1,000 (50%)" in err
    assert "return=123.4 win=87%" in err
    assert "1,000/1,000 (100%)" in err and "win=90%" in err
    assert "steps/s" in err
    assert err.endswith("\n") and "\r" in err


def test_progress_throttles_redraws_but_keeps_the_final_state(monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # this test exercises the terminal path; CI turns it off
    stream = FakeTTY()
    with Progress(100_000, file=stream, min_interval=60.0) as bar:
        for done in range(1, 10_001):
            bar.update(done, loss=0.5)
    text = stream.getvalue()
    assert text.count("\r") <= 3
    assert "10,000/100,000" in text


def test_progress_write_keeps_messages_when_disabled(capsys):
    bar = Progress(10, enabled=False)
    bar.write("saved checkpoint step_10.pt")
    bar.close()
    assert capsys.readouterr().err == "saved checkpoint step_10.pt\n"


def test_progress_names_its_unit_and_shows_slow_rates_with_decimals(capsys, monkeypatch):
    clock = itertools.chain([0.0], itertools.repeat(4.0))  # started at 0, every later reading at 4 s
    monkeypatch.setattr("rlagent.monitor.progress.time.monotonic", lambda: next(clock))
    with Progress(10, desc="league games", enabled=True, unit="games") as bar:
        bar.update(3)  # 3 games in 4 s
    err = capsys.readouterr().err
    assert "0.75 games/s" in err and "steps/s" not in err
