"""Train/inference consistency checks (rlagent.monitor.consistency) and the dashboard layout."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.custom_scalar import layout_pb2

from envs.connect_four.core import ConnectFourCore
from envs.hex.core import HexCore
from rlagent.agent import load_agent
from rlagent.checkpoint import load_checkpoint
from rlagent.config import resolve
from rlagent.monitor.consistency import check_autograd, check_mover_frame, check_reload, check_value_range
from rlagent.run import Trainer


def train(tmp_path: Path, env: str, overrides: list[str], steps: int) -> Path:
    config = resolve("ppo", env, overrides=["run.progress=false", f"run.logdir={tmp_path}", *overrides], extra={"total_steps": steps})
    return Trainer(config).train().run_dir


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("cp"), "CartPole-v1", ["num_envs=4", "ppo.num_steps=32"], 256)


def reference(run: Path) -> dict:
    agent = load_agent(run)
    return load_checkpoint(agent.path)["reference"]


def test_reloaded_agent_reproduces_the_training_network_bit_for_bit(cartpole_run: Path) -> None:
    agent, ref = load_agent(cartpole_run), reference(cartpole_run)
    assert ref["obs"].shape == (64, 4) and ref["device"] == "cpu"
    check = check_reload(agent.policy, ref)
    assert check.ok, check.line()
    assert check_autograd(ref).ok
    with torch.no_grad():  # one float32 step off in one weight: no longer bit-identical
        weight = agent.policy.value_head.linear.weight
        weight[0, 0] = torch.nextafter(weight[0, 0], torch.tensor(10.0))
    failed = check_reload(agent.policy, ref)
    assert failed.ok is False and "value" in failed.message and "\n" not in failed.line()


def test_a_model_that_changes_in_eval_mode_is_caught(cartpole_run: Path) -> None:
    agent, ref = load_agent(cartpole_run), reference(cartpole_run)

    head = agent.policy.value_head
    plain = head.forward
    # what a dropout or batch norm layer does to a saved model: another function in eval mode
    head.forward = lambda features: plain(features) + (0.0 if head.training else 0.01)
    check = check_reload(agent.policy, ref)
    assert check.ok is False


def test_value_range_flags_a_bce_head_fed_returns_outside_its_range(cartpole_run: Path) -> None:
    ref = reference(cartpole_run)
    assert check_value_range(ref, game=False).ok  # mse on CartPole's returns: fine
    wrong = copy.deepcopy(ref)
    wrong["value_loss"] = "bce"
    check = check_value_range(wrong, game=False)
    assert check.ok is False and "value_loss=bce" in check.message
    # an unbounded head whose values its game's searches would read as win probabilities
    big = copy.deepcopy(ref)
    big["inference"]["value"] = big["inference"]["value"] * 0 + 3.0
    assert check_value_range(big, game=True).ok is False
    assert check_value_range(big, game=False).ok


def test_mover_frame_round_trip_holds_for_hex_and_catches_a_wrong_transform() -> None:
    assert check_mover_frame(HexCore(1, size=5, swap=True)).ok
    assert check_mover_frame(None).ok is None

    class FlippedView(HexCore):  # player 1's frame flipped instead of transposed
        def observation(self, boards: np.ndarray | None = None, player: object = None) -> np.ndarray:
            obs = super().observation(boards, player)
            idx = self._all if boards is None else self._select(boards)
            who = np.broadcast_to(np.asarray(self.to_move[idx] if player is None else player), (len(obs),))
            obs[who == 1] = obs[who == 1][:, :, ::-1, :]
            return obs

    check = check_mover_frame(FlippedView(1, size=5))
    assert check.ok is False and "FlippedView" in check.message

    class BrokenSymmetry(HexCore):  # a "half turn" that is really a quarter turn
        def turn_view(self, observation: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return np.rot90(observation, 1, axes=(2, 3)).copy(), mask

    assert check_mover_frame(BrokenSymmetry(1, size=5)).ok is False


def test_mover_frame_round_trip_holds_for_connect_four_and_catches_a_mirrored_view() -> None:
    """Connect Four's actions are columns, not cells: the check must read them so (it once raised)."""
    assert check_mover_frame(ConnectFourCore(1)).ok

    class MirroredView(ConnectFourCore):  # player 1 sees the board mirrored, but its moves are not
        def observation(self, boards: np.ndarray | None = None, player: object = None) -> np.ndarray:
            obs = super().observation(boards, player)
            idx = self._select(boards)
            who = np.broadcast_to(np.asarray(self.to_move[idx] if player is None else player), (len(obs),))
            obs[who == 1] = obs[who == 1][..., ::-1]
            return obs

    check = check_mover_frame(MirroredView(1))
    assert check.ok is False and "column" in check.message


def test_runs_open_with_the_grouped_dashboard(cartpole_run: Path) -> None:
    layouts = []
    for path in cartpole_run.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == "custom_scalars__config__":
                    layout = layout_pb2.Layout()
                    layout.ParseFromString(value.tensor.string_val[0])
                    layouts.append(layout)
    assert len(layouts) == 1
    titles = [category.title for category in layouts[0].category]
    assert titles[:6] == ["learning", "value", "policy", "gradients", "activations", "league"]
