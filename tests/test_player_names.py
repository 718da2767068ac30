"""One syntax for player names (envs.player_names), the same everywhere a player is named.

The same good and bad names go to every consumer: the config (``--set selfplay.baselines``), the
league's baselines, ``make_player`` (self-play pool, league), ``make_opponent`` (``rlagent.evaluate
--opponent``), the env's ``opponent`` option through ``gymnasium.make`` and through rlagent's
``make_env``. Each accepts the good ones and refuses the bad ones with a one-line error listing the
valid forms. The path of a trained run is valid only where an agent can be loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers rlagent/Hex-v0)
from envs.hex.core import HexCore
from envs.hex.mcts import MCTSPlayer
from envs.player_names import MAX_SIMULATIONS, MCTS, PATH, RANDOM, PlayerName, parse_player_name
from rlagent.agent import load_agent
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.games.league import _check_baselines_fit, parse_baselines
from rlagent.games.players import PolicyPlayer, RandomPlayer, make_opponent, make_player
from rlagent.make_env import make_env
from rlagent.run import Trainer

HEX = "rlagent/Hex-v0"
GOOD = ["random", "mcts1", "mcts10", "mcts100", f"mcts{MAX_SIMULATIONS}"]
BAD = [
    "mcts0",
    "mcts",
    "mcts-1",
    "mcts+5",
    "mcts1.5",
    "mcts010",
    "mcts 10",
    "mcts1e3",
    f"mcts{MAX_SIMULATIONS + 1}",
    "mcts\u0661\u0660",
    "mcts1\u0660",  # Arabic-Indic digits, which int() would read as 10
    "MCTS10",
    "Random",
    "RANDOM",
    " random",
    "random ",
    "mcts10 ",
    "random\n",
    "",
    "foo",
    "gnugo",
    "mcts10x",
    "random,mcts10",
    10,
    3.5,
    True,
    ["random"],
]
FORMS = "valid .*random.*mctsN"


def _config(name: object) -> Any:
    return resolve("ppo", "hex", overrides=[f"selfplay.baselines={json.dumps([name])}"]).selfplay.baselines


def _gym_make(name: object) -> Any:
    env = gym.make(HEX, size=3, opponent=name)
    return env.unwrapped.match.opponent


def _make_env(name: object) -> Any:
    env = make_env("hex", 2, {"size": 3, "opponent": name})
    return env.match.opponent


CONSUMERS: dict[str, Callable[[object], Any]] = {
    "config selfplay.baselines": _config,
    "league parse_baselines": lambda name: parse_baselines([name]),
    "make_player": lambda name: make_player(name, game=HexCore(1, size=3)),  # a search is its game's
    "make_opponent": make_opponent,
    "gym.make opponent": _gym_make,
    "rlagent make_env opponent": _make_env,
}


@pytest.mark.parametrize("consumer", list(CONSUMERS))
@pytest.mark.parametrize("name", GOOD)
def test_every_consumer_accepts_the_good_names(consumer: str, name: str) -> None:
    CONSUMERS[consumer](name)


@pytest.mark.parametrize("consumer", list(CONSUMERS))
@pytest.mark.parametrize("name", BAD, ids=repr)
def test_every_consumer_refuses_the_bad_names_in_one_line(consumer: str, name: object) -> None:
    with pytest.raises((ValueError, ConfigError)) as error:
        CONSUMERS[consumer](name)
    message = str(error.value)
    assert "\n" not in message
    if consumer == "config selfplay.baselines" and not isinstance(name, str):
        assert "selfplay.baselines must be a string" in message  # the config's type check comes first
    else:
        assert f"{name!r}" in message and "mctsN" in message and "random" in message, message


def test_the_parser_reads_the_names() -> None:
    assert parse_player_name("random") == PlayerName(RANDOM)
    assert parse_player_name("mcts250") == PlayerName(MCTS, simulations=250)
    assert str(parse_player_name("mcts250")) == "mcts250"
    with pytest.raises(ValueError, match=r"^unknown baseline 'mcts0': valid baselines are random, mctsN for UCT with N "):
        parse_player_name("mcts0", what="baseline")


def test_each_consumer_builds_the_named_player() -> None:
    assert isinstance(make_player("random"), RandomPlayer)
    mcts = make_player("mcts25", seed=3, game=HexCore(1, size=5))
    assert isinstance(mcts, MCTSPlayer) and mcts.simulations == 25 and mcts.name == "mcts25"
    assert make_opponent("random") == "random"  # the env's own batched random player
    assert make_opponent("mcts25") == "mcts25"  # built by the env as its game's own search
    assert isinstance(make_env("hex", 1, {"size": 5, "opponent": make_opponent("mcts25")}).match.opponent, MCTSPlayer)
    for opponent in (_gym_make("mcts25"), _make_env("mcts25")):
        assert isinstance(opponent, MCTSPlayer) and opponent.simulations == 25
    assert _gym_make("random") == "random" and _make_env("random") == "random"
    assert [e.name for e in parse_baselines(["mcts25", "random", "mcts25"])] == ["mcts25", "random"]
    assert _config("mcts25") == ("mcts25",)


def test_the_league_command_line_list_ignores_spaces_and_empty_items() -> None:
    assert [e.name for e in parse_baselines(" mcts400, random,,mcts400")] == ["mcts400", "random"]
    assert parse_baselines("") == []
    with pytest.raises(ConfigError, match="unknown baseline 'mcts0'"):
        parse_baselines("random, mcts0")


def test_an_env_mcts_opponent_is_reseeded_by_a_seeded_reset() -> None:
    """The same seed plays the same games against MCTS (it draws from its own stream)."""

    def moves(seed: int) -> list[int]:
        env = gym.make_vec(HEX, num_envs=4, size=4, opponent="mcts8", agent_color=1)
        env.reset(seed=seed)
        return env.unwrapped.game.board.reshape(4, -1).argmax(axis=1).tolist()

    assert moves(7) == moves(7)
    assert len({tuple(moves(s)) for s in range(5)}) > 1


def test_mcts_on_a_game_without_mcts_is_refused() -> None:
    from envs.turn_based_env import Match

    class NoMCTS:  # a game that has no named player but random
        name = "Nim"
        batch_size = 1

        def named_player(self, name: PlayerName, seed: int | None = None) -> None:
            return None

    with pytest.raises(ValueError, match="opponent 'mcts10' does not play Nim: valid opponents for it are random, a callable"):
        Match(NoMCTS(), "mcts10")  # type: ignore[arg-type]
    baselines = parse_baselines("random,mcts10")
    _check_baselines_fit(baselines[:1], NoMCTS(), "nim")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="baseline mcts10 does not play Nim, the game of this run's env nim: use --baselines random"):
        _check_baselines_fit(baselines, NoMCTS(), "nim")  # type: ignore[arg-type]


# --- a run trained against MCTS, and its directory as an opponent ---------------------------------


@pytest.fixture(scope="module")
def mcts_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PPO on 3x3 Hex against mcts10 for a few hundred steps, configured as on the command line."""
    config = resolve(
        "ppo",
        "hex",
        overrides=[
            "env.size=3",
            "env.opponent=mcts10",
            "env.agent_color=random",
            "run.progress=false",
            "num_envs=4",
            "ppo.num_steps=32",
            "ppo.minibatch_size=64",
            "policy.board_channels=8",
            "policy.board_blocks=1",
        ],
        extra={"total_steps": 384, "logdir": str(tmp_path_factory.mktemp("runs"))},
    )
    assert config.env_kwargs["opponent"] == "mcts10"
    trainer = Trainer(config)
    opponent = trainer.env.match.opponent
    assert isinstance(opponent, MCTSPlayer) and opponent.simulations == 10  # really MCTS, not random
    result = trainer.train()
    assert result.steps >= 384 and result.updates == 3 and all(np.isfinite(v) for v in result.metrics.values())
    return trainer.run_dir


def test_ppo_trains_against_mcts_and_the_name_survives_config_json(mcts_run: Path) -> None:
    saved = json.loads((mcts_run / "config.json").read_text())
    assert saved["env_kwargs"]["opponent"] == "mcts10"
    again = resolve(saved["algo"], saved["env"], base=saved)
    assert again.env_kwargs["opponent"] == "mcts10"
    env = make_env(again.env, 2, dict(again.env_kwargs))  # as evaluate and the league rebuild it
    assert isinstance(env.match.opponent, MCTSPlayer) and env.match.opponent.simulations == 10
    assert load_agent(mcts_run).config.env_kwargs["opponent"] == "mcts10"


def test_a_run_directory_is_an_opponent_only_where_agents_load(mcts_run: Path) -> None:
    path = str(mcts_run)
    assert isinstance(make_opponent(path), PolicyPlayer)
    assert isinstance(_make_env(path), PolicyPlayer)
    checkpoint = str(sorted((mcts_run / "checkpoints").glob("step_*.pt"))[-1])
    assert isinstance(_make_env(checkpoint), PolicyPlayer)
    assert parse_player_name(path, paths=True) == PlayerName(PATH, path=path)
    with pytest.raises(ValueError, match=r"looks like the path of a trained agent, which an env cannot load: make the env with rlagent.make_env") as error:
        _gym_make(path)
    assert "\n" not in str(error.value)
    for consumer in ("config selfplay.baselines", "league parse_baselines", "make_player"):
        with pytest.raises(ConfigError, match=FORMS):
            CONSUMERS[consumer](path)
    for consumer in ("make_opponent", "rlagent make_env opponent"):
        with pytest.raises(ConfigError, match=r"no such file or directory\): valid opponents are random, .*or the path of a run directory or checkpoint"):
            CONSUMERS[consumer](path + "_missing")


def test_training_against_a_run_directory_through_the_config(mcts_run: Path, tmp_path: Path) -> None:
    config = resolve(
        "ppo",
        "hex",
        overrides=[
            "env.size=3",
            f"env.opponent={mcts_run}",
            "run.progress=false",
            "num_envs=4",
            "ppo.num_steps=16",
            "ppo.minibatch_size=32",
            "policy.board_channels=8",
            "policy.board_blocks=1",
        ],
        extra={"total_steps": 64, "logdir": str(tmp_path)},
    )
    trainer = Trainer(config)
    assert isinstance(trainer.env.match.opponent, PolicyPlayer)
    trainer.train()
    saved = json.loads((trainer.run_dir / "config.json").read_text())
    assert saved["env_kwargs"]["opponent"] == str(mcts_run)  # the path, not the loaded network
    agent = load_agent(trainer.run_dir)
    assert agent.config.env_kwargs["opponent"] == str(mcts_run)
    # Played as it was trained (its own env options, the path opponent loaded again).
    from rlagent.episodes import play_episodes

    returns = play_episodes(agent, 4, None, None, seed=0, deterministic=True)
    assert returns.shape == (4,) and set(returns) <= {-1.0, 0.0, 1.0}


def test_evaluate_takes_the_same_names(mcts_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent import evaluate

    for name in ("mcts0", "Random", "logs/nope"):
        assert evaluate.main([str(mcts_run), "--opponent", name, "--games", "2"]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"unknown opponent {name!r}" in error and "or the path of a run directory" in error
    for name in ("mcts5", str(mcts_run)):
        assert evaluate.main([str(mcts_run), "--opponent", name, "--games", "2"]) == 0
        assert f"overall vs {name}: won" in capsys.readouterr().out
