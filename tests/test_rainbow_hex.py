"""Rainbow on Hex: Q-networks as players (evaluate, league, play, analyze), self-play with them,
noisy nets acting with their mean weights wherever they are judged, and a learned result."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import envs  # noqa: F401
from rlagent import analyze as analyze_cli
from rlagent import evaluate as evaluate_cli
from rlagent import league as league_cli
from rlagent import play as play_cli
from rlagent.agent import load_agent
from rlagent.config import SelfPlayConfig, resolve
from rlagent.episodes import win_rates_by_colour
from rlagent.games.hex.analysis import analyze, heat_map
from rlagent.games.players import PolicyPlayer
from rlagent.games.selfplay import OpponentPool, rate_learner, selfplay_game_factory
from rlagent.make_env import make_env
from rlagent.nets.policy import PolicyConfig
from rlagent.nets.q_network import QNetwork, build_q_network, greedy_actions
from rlagent.run import Trainer

SMALL_3X3 = ["env.size=3", "run.progress=false", "policy.board_channels=8", "policy.board_blocks=1", "rainbow.v_min=-1", "rainbow.v_max=1"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A barely trained 3x3 Rainbow agent, with a self-play pool: it only has to play."""
    logdir = tmp_path_factory.mktemp("runs")
    config = resolve(
        "rainbow",
        "hex",
        overrides=[
            *SMALL_3X3,
            "rainbow.learning_starts=64",
            "selfplay.enabled=true",
            "selfplay.snapshot_every=4",
            "selfplay.eval_every=4",
            "selfplay.eval_games=4",
            "selfplay.opponent_temperature=0.1",
            "run.checkpoint_every=8",
            "run.num_envs=4",
        ],
        extra={"total_steps": 512, "logdir": str(logdir)},
    )
    trainer = Trainer(config)
    trainer.train()
    assert trainer.policy.training  # rated in eval mode, then back to training mode
    return trainer.run_dir


def noisy_board_network(size: int = 3, sigma0: float = 50.0) -> QNetwork:
    """A noisy, dueling, distributional board Q-network with a large sigma: noise would show."""
    env = make_env("hex", 1, {"size": size})
    network = build_q_network(
        env.single_observation_space,
        env.single_action_space,
        PolicyConfig(board_channels=8, board_blocks=1),
        dueling=True,
        distributional=True,
        num_atoms=11,
        v_min=-1.0,
        v_max=1.0,
        noisy=True,
        sigma0=sigma0,
    )
    env.close()
    return network


def random_positions(size: int, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    env = make_env("hex", batch, {"size": size, "agent_color": "random"})
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        mask = env.action_masks()
        obs, *_ = env.step(np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1))
    env.close()
    return obs


def mean_weight_q(network: QNetwork, obs: dict[str, np.ndarray]) -> torch.Tensor:
    """Q computed by hand with every noisy layer's mean weights only (mu), whatever the mode."""
    originals = {}
    for layer in network.noisy_layers:
        originals[layer] = layer.forward
        layer.forward = (lambda layer: lambda x: F.linear(x, layer.weight_mu, layer.bias_mu))(layer)
    try:
        with torch.no_grad():
            q, _, mask = network.action_values(obs)
    finally:
        for layer, forward in originals.items():
            layer.forward = forward
    return greedy_actions(q, mask)


# --- noisy nets act with their mean weights when judged -------------------------------------------


def test_noisy_network_in_eval_mode_acts_with_mean_weights_and_ignores_reset_noise() -> None:
    network = noisy_board_network()
    obs = random_positions(3, 64)
    generator = torch.Generator().manual_seed(0)
    network.reset_noise(generator)
    expected = mean_weight_q(network, obs)
    network.eval()
    player = PolicyPlayer(network)  # what evaluate, the league and self-play opponents play with
    before = player(obs["observation"], obs["action_mask"])
    acted, *_ = network.act(obs, deterministic=False)
    assert np.array_equal(before, expected.numpy()) and np.array_equal(acted, expected.numpy())
    for _ in range(3):
        network.reset_noise(generator)
        assert np.array_equal(player(obs["observation"], obs["action_mask"]), before)
        assert np.array_equal(network.act(obs, deterministic=True)[0], before)

    network.train()  # training mode: the noise is the exploration, and it changes the actions
    changed = 0
    for _ in range(3):
        network.reset_noise(generator)
        changed += not np.array_equal(network.act(obs, deterministic=True)[0], before)
    assert changed >= 2


def test_loaded_noisy_agent_and_selfplay_snapshots_are_in_eval_mode(run_dir: Path) -> None:
    agent = load_agent(run_dir)
    assert isinstance(agent.policy, QNetwork) and agent.policy.noisy_layers
    assert not any(layer.training for layer in agent.policy.noisy_layers)
    snapshots = sorted((run_dir / "pool").glob("step_*.pt"))
    assert snapshots
    snapshot = load_agent(snapshots[-1]).policy
    assert isinstance(snapshot, QNetwork) and not snapshot.training


def test_rate_learner_rates_noisy_nets_without_noise_and_restores_training_mode(tmp_path: Path) -> None:
    network = noisy_board_network()
    network.train()
    config = resolve("rainbow", "hex", overrides=SMALL_3X3)
    pool = OpponentPool(SelfPlayConfig(enabled=True, eval_games=8, opponent_temperature=0.1), 4, tmp_path, seed=0)
    pool.metadata = {}
    pool.add_snapshot(network, 0)  # a snapshot of the learner: frozen, in eval mode
    assert network.training and not pool.network(1).training
    modes: list[bool] = []
    hooks = [layer.register_forward_pre_hook(lambda module, args: modes.append(module.training)) for layer in network.noisy_layers]
    metrics = rate_learner(pool, network, 100, selfplay_game_factory(config))
    for hook in hooks:
        hook.remove()
    assert modes and not any(modes)  # rated with the mean weights
    assert network.training and all(layer.training for layer in network.noisy_layers)  # noisy again after
    assert np.isfinite(metrics["elo/current"])


# --- the commands take Rainbow checkpoints ---------------------------------------------------------


def test_evaluate_league_and_play_take_a_rainbow_run(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert evaluate_cli.main([str(run_dir), "--games", "20"]) == 0
    out = capsys.readouterr().out
    assert "(rainbow on hex" in out and "overall vs random: won" in out

    assert league_cli.main([str(run_dir), "--games", "4", "--baselines", "random"]) == 0
    out = capsys.readouterr().out
    assert "random" in out and "step_512" in out

    moves = iter(["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"])  # every cell: enough for a game

    def typed(prompt: str) -> str:
        try:
            return next(moves)
        except StopIteration:
            raise EOFError from None

    printed: list[str] = []
    assert play_cli.main(["hex", str(run_dir), "--color", "first", "--sample", "--temperature", "0.1"], input_fn=typed, print_fn=printed.append) == 0
    assert any(line.startswith("the winner: ") for line in printed)


def test_analyze_shows_a_q_networks_action_values(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    player = PolicyPlayer.load(run_dir)
    result = analyze(player, "x../.o./")
    assert result.shows_action_values
    q, _, _ = player.policy.action_values({"observation": _planes("x../.o./", 0), "action_mask": _mask("x../.o./")})
    expected = q[0, :9].detach().numpy().reshape(3, 3)
    assert np.isnan(result.action_values[0, 0]) and np.isnan(result.action_values[1, 1])
    assert np.allclose(np.nan_to_num(result.action_values), np.where(np.isnan(result.action_values), 0, expected), atol=1e-6)
    assert result.value == pytest.approx(np.nanmax(result.action_values), abs=1e-6)
    assert result.top_moves(1)[0][1] == pytest.approx(result.value, abs=1e-6)
    lines = heat_map(result).splitlines()
    tokens = [token for line in lines[1:-1] for token in line.split()[1:-1] if token not in ("X", "O")]
    assert len(tokens) == 7 and all(token[0] in "+-" and len(token) == 5 for token in tokens)  # Q, e.g. +0.53

    assert analyze_cli.main([str(run_dir), "--board", "x../.o./", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "Q-network: shows action values Q" in out
    assert "action values Q (X to move; a Q-network: Q-values, not probabilities" in out
    assert "move probabilities" not in out and "%" not in out


def _planes(text: str, mover: int) -> np.ndarray:
    from envs.hex.core import planes_from_boards
    from rlagent.games.hex.analysis import parse_board

    return planes_from_boards(parse_board(text, 3)[None], np.array([mover]))


def _mask(text: str) -> np.ndarray:
    from rlagent.games.hex.analysis import parse_board

    board = parse_board(text, 3)
    mask = np.zeros((1, 10), np.int8)
    mask[0, :9] = board.reshape(-1) == 0
    return mask


# --- a learned result ------------------------------------------------------------------------------


@pytest.mark.slow
def test_rainbow_learns_3x3_hex_against_random(tmp_path: Path) -> None:
    started = time.perf_counter()
    config = resolve(
        "rainbow",
        "hex",
        overrides=[
            "env.size=3",
            "run.progress=false",
            "policy.board_channels=16",
            "policy.board_blocks=1",
            "rainbow.v_min=-1",
            "rainbow.v_max=1",
            "rainbow.learning_rate=0.001",
            "run.num_envs=16",
            "rainbow.train_freq=2",
        ],
        extra={"total_steps": 20000, "logdir": str(tmp_path), "seed": 0},
    )
    trainer = Trainer(config)
    trainer.train()
    results = win_rates_by_colour(load_agent(trainer.run_dir), "random", 400, seed=7)
    rates = [r.rate for r in results]
    overall = sum(r.wins for r in results) / sum(r.games for r in results)
    print(f"3x3 rainbow vs random: {overall:.1%} (first {rates[0]:.1%}, second {rates[1]:.1%}) in {time.perf_counter() - started:.0f} s")
    assert overall > 0.9
