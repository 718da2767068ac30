import json
import os
import random
import zipfile

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlagent.checkpoint import (
    FORMAT_VERSION,
    capture_rng_state,
    check_compatible,
    check_state_dict_compatible,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
    space_signature,
)
from rlagent.errors import CheckpointError, ConfigError, RlagentError, TrainingError


def _one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message and message
    return message


def _payload(value: float = 1.0) -> dict:
    return {"model": {"w": torch.full((2, 3), value)}, "step": int(value)}


# ---------------------------------------------------------------- errors


def test_error_types_share_a_base_and_stay_on_one_line():
    for cls in (ConfigError, CheckpointError, TrainingError):
        assert issubclass(cls, RlagentError) and issubclass(cls, Exception)
    error = ConfigError("unknown algo 'ppx'\nvalid: ppo, a2c")
    assert str(error) == "unknown algo 'ppx' valid: ppo, a2c"


# ---------------------------------------------------------------- save / load


def test_round_trip_keeps_tensors_arrays_and_nesting(tmp_path):
    payload = {
        "model": {"layer.weight": torch.randn(4, 3), "layer.bias": torch.zeros(4)},
        "optimizer": {"state": {0: {"exp_avg": torch.ones(2)}}, "param_groups": [{"lr": 3e-4}]},
        "obs_rms": {"mean": np.arange(5, dtype=np.float32), "count": np.float64(7.0)},
        "config": {"ppo": {"clip_param": 0.2, "hidden": (64, 64)}},
        "step": 1000,
    }
    path = tmp_path / "deep" / "dir" / "step_1000.pt"
    save_checkpoint(path, payload)
    loaded = load_checkpoint(path)

    assert "format_version" not in payload  # the caller's dict is not modified
    assert loaded["format_version"] == FORMAT_VERSION
    assert torch.equal(loaded["model"]["layer.weight"], payload["model"]["layer.weight"])
    assert torch.equal(loaded["optimizer"]["state"][0]["exp_avg"], torch.ones(2))
    np.testing.assert_array_equal(loaded["obs_rms"]["mean"], payload["obs_rms"]["mean"])
    assert loaded["obs_rms"]["mean"].dtype == np.float32
    assert loaded["config"] == payload["config"] and loaded["step"] == 1000
    assert sorted(os.listdir(path.parent)) == ["step_1000.pt"]


def test_save_requires_a_model(tmp_path):
    with pytest.raises(ValueError, match="model"):
        save_checkpoint(tmp_path / "x.pt", {"step": 1})


def test_crash_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "step_10.pt"
    save_checkpoint(path, _payload(1.0))
    real_save = torch.save

    def crashing_save(obj, f, *args, **kwargs):
        buffer = __import__("io").BytesIO()
        real_save(obj, buffer)
        f.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _payload(2.0))

    assert os.listdir(tmp_path) == ["step_10.pt"]  # no temporary file left behind
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.full((2, 3), 1.0))


def test_disk_error_during_save_is_a_checkpoint_error(tmp_path, monkeypatch):
    path = tmp_path / "step_10.pt"

    def full_disk(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError) as exc_info:
        save_checkpoint(path, _payload())
    message = _one_line(exc_info)
    assert str(path) in message and "No space left" in message
    assert os.listdir(tmp_path) == []


def _write_truncated(path):
    save_checkpoint(path, _payload())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_random(path):
    path.write_bytes(np.random.default_rng(0).bytes(4096))


def _write_foreign_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")


def _write_list(path):
    torch.save([1, 2, 3], path)


def _write_plain_state_dict(path):
    torch.save({"w": torch.zeros(2)}, path)


def _write_future_version(path):
    torch.save({"format_version": FORMAT_VERSION + 1, "model": {}}, path)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.mkdir(), "not a file"),
        (_write_truncated, "truncated or corrupt"),
        (_write_random, "truncated or corrupt"),
        (_write_foreign_zip, "truncated or corrupt"),
        (_write_list, "holds a list"),
        (_write_plain_state_dict, "lacks format_version, model"),
        (_write_future_version, "format_version"),
    ],
    ids=["missing", "empty", "directory", "truncated", "random", "foreign-zip", "list", "no-keys", "future"],
)
def test_broken_checkpoints_give_one_line_naming_the_file(tmp_path, make, expected):
    path = tmp_path / "checkpoints" / "step_1000.pt"
    path.parent.mkdir()
    make(path)
    with pytest.raises(CheckpointError) as exc_info:
        load_checkpoint(path)
    message = _one_line(exc_info)
    assert str(path) in message
    assert expected in message


# ---------------------------------------------------------------- run directory layout


def test_latest_checkpoint_orders_numerically_and_ignores_temp_files(tmp_path):
    assert latest_checkpoint(tmp_path) is None
    for step in (999, 1000, 50):
        save_checkpoint(checkpoint_path(tmp_path, step), _payload())
    directory = tmp_path / "checkpoints"
    (directory / ".step_5000.pt.abc123.tmp").write_bytes(b"half")
    (directory / "step_7000.pt.bak").write_bytes(b"x")
    (directory / "notes.txt").write_text("x")

    assert checkpoint_path(tmp_path, 1000) == directory / "step_1000.pt"
    assert latest_checkpoint(tmp_path) == directory / "step_1000.pt"
    assert [step for step, _ in list_checkpoints(tmp_path)] == [50, 999, 1000]


def test_prune_keeps_the_newest_and_the_protected(tmp_path):
    for step in (10, 20, 30, 40, 50):
        save_checkpoint(checkpoint_path(tmp_path, step), _payload())
    removed = prune_checkpoints(tmp_path, keep=2, protect={checkpoint_path(tmp_path, 20)})
    assert sorted(p.name for p in removed) == ["step_10.pt", "step_30.pt"]
    assert [step for step, _ in list_checkpoints(tmp_path)] == [20, 40, 50]


# ---------------------------------------------------------------- compatibility


def _board_spaces(size: int, n_actions: int | None = None):
    n = n_actions if n_actions is not None else size * size
    observation = spaces.Dict(
        {
            "observation": spaces.Box(0.0, 1.0, shape=(3, size, size), dtype=np.float32),
            "action_mask": spaces.Box(0, 1, shape=(n,), dtype=np.int8),
        }
    )
    return observation, spaces.Discrete(n)


def test_space_signature_is_strict_json():
    signature = space_signature(
        spaces.Dict(
            {
                "x": spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float32),
                "m": spaces.MultiBinary(3),
                "t": spaces.Tuple((spaces.Discrete(3, start=1), spaces.MultiDiscrete([2, 5]))),
            }
        ),
        spaces.Discrete(9),
    )
    assert json.loads(json.dumps(signature, allow_nan=False)) == signature
    box = signature["observation"]["spaces"]["x"]
    assert box == {"type": "Box", "shape": [4], "dtype": "float32", "low": "-inf", "high": "inf"}
    assert signature["observation"]["spaces"]["t"]["spaces"][1]["nvec"] == [2, 5]
    assert signature["action"] == {"type": "Discrete", "n": 9, "start": 0, "dtype": "int64"}


def test_same_spaces_are_compatible_even_after_json():
    saved = json.loads(json.dumps(space_signature(*_board_spaces(5))))
    check_compatible(saved, space_signature(*_board_spaces(5)))


def test_shape_mismatch_names_the_subspace_and_both_shapes():
    with pytest.raises(CheckpointError) as exc_info:
        check_compatible(space_signature(*_board_spaces(5)), space_signature(*_board_spaces(7, n_actions=25)))
    message = _one_line(exc_info)
    assert "observation['observation']" in message
    assert "Box(shape=(3, 5, 5), dtype=float32)" in message
    assert "Box(shape=(3, 7, 7), dtype=float32)" in message
    assert "environment" in message and "start a new run" in message


def test_action_mismatch_and_custom_wording():
    obs, _ = _board_spaces(5)
    with pytest.raises(CheckpointError) as exc_info:
        check_compatible(
            space_signature(obs, spaces.Discrete(25)),
            space_signature(obs, spaces.Discrete(26)),
            what="opponent env",
            hint="pick a checkpoint of the same board size",
        )
    message = _one_line(exc_info)
    assert "action Discrete(n=25)" in message and "opponent env gives Discrete(n=26)" in message
    assert message.endswith("pick a checkpoint of the same board size")


def test_bounds_only_mismatch_shows_the_bounds():
    box01 = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
    box11 = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    with pytest.raises(CheckpointError) as exc_info:
        check_compatible(space_signature(box01, spaces.Discrete(2)), space_signature(box11, spaces.Discrete(2)))
    message = _one_line(exc_info)
    assert "low=0.0" in message and "low=-1.0" in message


def _net(hidden: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(75, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 25))


def test_state_dict_mismatch_names_the_first_parameter_and_both_shapes():
    check_state_dict_compatible(_net(64).state_dict(), _net(64))
    with pytest.raises(CheckpointError) as exc_info:
        check_state_dict_compatible(_net(64).state_dict(), _net(128))
    message = _one_line(exc_info)
    assert "'0.weight'" in message and "(64, 75)" in message and "(128, 75)" in message
    assert "2 more" in message  # 0.bias and 2.weight; 2.bias (25,) still fits


def test_state_dict_missing_and_unexpected_keys():
    state = _net(64).state_dict()
    state["extra.weight"] = state.pop("2.bias")
    with pytest.raises(CheckpointError) as exc_info:
        check_state_dict_compatible(state, _net(64), source="checkpoint step_10.pt")
    message = _one_line(exc_info)
    assert "checkpoint step_10.pt has no '2.bias'" in message and "1 more" in message


# ---------------------------------------------------------------- RNG state


def _draw():
    return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist()


def test_rng_state_round_trip_through_a_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    _draw()
    path = tmp_path / "step_1.pt"
    save_checkpoint(path, {"model": {}, "rng": capture_rng_state()})
    expected = _draw()

    random.seed(99)
    np.random.seed(99)
    torch.manual_seed(99)
    assert _draw() != expected
    restore_rng_state(load_checkpoint(path)["rng"])
    assert _draw() == expected


def test_bad_rng_state_is_a_checkpoint_error():
    with pytest.raises(CheckpointError, match="RNG state"):
        restore_rng_state({"python": (1, 2)})


# ---------------------------------------------------------------- episode statistics


def _play(stats, rewards, dones):
    for r, d in zip(rewards, dones):
        stats.update(np.asarray(r, dtype=np.float32), np.asarray(d, dtype=bool))


def test_episode_stats_keep_the_running_episodes_through_a_checkpoint(tmp_path):
    from rlagent.rollout import EpisodeStats

    straight = EpisodeStats(2)
    _play(straight, [[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]], [[True, False], [False, False], [False, False]])
    path = tmp_path / "step_3.pt"
    save_checkpoint(path, {"model": {}, "stats": straight.state_dict()})
    resumed = EpisodeStats(2)
    resumed.load_state_dict(load_checkpoint(path)["stats"])

    later = ([[1.0, 0.5], [2.0, 0.5]], [[True, False], [False, True]])
    _play(straight, *later)
    _play(resumed, *later)
    # Env 0's second episode (3 steps) and env 1's only one (5 steps) are counted whole.
    assert list(resumed.returns) == list(straight.returns) == [1.0, 3.0, 2.5]
    assert list(resumed.lengths) == list(straight.lengths) == [1, 3, 5]
    assert resumed.summary() == straight.summary()


def test_episode_stats_of_older_checkpoints_still_load():
    from rlagent.rollout import EpisodeStats

    stats = EpisodeStats(2)
    stats.load_state_dict({"returns": [1.0, 2.0], "lengths": [3, 4], "episodes": 7})  # no running episodes
    assert stats.summary()["rollout/ep_rew_mean"] == 1.5 and stats.episodes == 7
    assert stats.running_return.tolist() == [0.0, 0.0] and stats.running_length.tolist() == [0, 0]


def test_running_episodes_restart_when_the_env_could_not_be_saved(tmp_path):
    from rlagent.config import resolve
    from rlagent.run import Trainer

    config = resolve(
        "ppo", "CartPole-v1", overrides=["run.progress=false", "run.num_envs=2", "ppo.num_steps=8"], extra={"total_steps": 16, "logdir": str(tmp_path)}
    )
    collector = Trainer(config).collector
    collector.collect()
    state = collector.state_dict()
    assert state["stats"]["running_length"].any()
    fresh = Trainer(config).collector
    assert not fresh.load_state_dict({**state, "env": None})  # the env restarts its episodes...
    assert not fresh.stats.running_length.any() and not fresh.stats.running_return.any()  # ...so do the stats
