"""The game tooling works for any registered turn-based game, not Hex alone: baselines by name
(the league, the self-play pool), matches with searches that read positions, and Connect Four
(a game written as a user would) as the proof."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from envs.connect_four import ConnectFourCore
from envs.hex.core import HexCore, parse_cell
from envs.hex.mcts import MCTSPlayer
from envs.mcts import GenericMCTSPlayer
from rlagent.errors import ConfigError
from rlagent.games.matches import play_games
from rlagent.games.players import RandomPlayer, make_player


def test_make_player_builds_each_games_own_search() -> None:
    assert isinstance(make_player("mcts30", seed=1, game=HexCore(1, size=5)), MCTSPlayer)
    search = make_player("mcts30", seed=1, game=ConnectFourCore(1))
    assert isinstance(search, GenericMCTSPlayer) and search.name == "mcts30" and search.simulations == 30
    assert isinstance(make_player("random", seed=1), RandomPlayer)
    with pytest.raises(ConfigError, match="needs the game it plays"):
        make_player("mcts30")


def test_a_search_that_reads_positions_plays_batched_matches() -> None:
    """The generic search is a PositionPlayer: matches hand it the game, not observations. Against
    random play on Connect Four, 50 simulations win nearly every game from either seat."""
    search = make_player("mcts50", seed=0, game=ConnectFourCore(1))
    as_first = play_games(ConnectFourCore(20), search, RandomPlayer(1))
    as_second = 1.0 - play_games(ConnectFourCore(20), RandomPlayer(2), search)
    assert as_first.mean() >= 0.9 and as_second.mean() >= 0.9, (as_first.mean(), as_second.mean())


def _train(tmp_path: Path, *overrides: str) -> Path:
    from rlagent.train import main as train_main

    argv = [
        "ppo",
        "--env",
        "connect4",
        "--logdir",
        str(tmp_path),
        "--set",
        "run.progress=false",
        "--set",
        "run.num_envs=8",
        "--set",
        "ppo.num_steps=16",
        "--set",
        "policy.board_channels=8",
        "--set",
        "policy.board_blocks=1",
    ]
    for override in overrides:
        argv += ["--set", override]
    assert train_main(argv) == 0
    return next(tmp_path.iterdir())


@pytest.mark.slow
def test_a_connect_four_selfplay_pool_seats_a_search_baseline(tmp_path: Path) -> None:
    run = _train(
        tmp_path,
        "run.total_steps=512",
        "selfplay.enabled=true",
        "selfplay.baselines=[mcts10]",
        "selfplay.snapshot_every=2",
        "selfplay.eval_every=2",
        "selfplay.eval_games=4",
    )
    members = {m["name"]: m for m in json.loads((run / "pool" / "pool.json").read_text())["members"]}
    assert members["mcts10"]["games"] > 0  # the search sat at the env's boards and finished games there
    assert members["mcts10"]["learner_win_rate"] <= 0.5  # an untrained learner does not beat a search


@pytest.mark.slow
def test_the_league_rates_connect_four_with_its_search_baseline(tmp_path: Path) -> None:
    from rlagent.games.league import run_league

    run = _train(tmp_path, "run.total_steps=128")
    ratings = run_league(run, games=8, baselines="random,mcts40", progress=False, positions=0, seed=0)
    assert ratings.ratings["mcts40"] > ratings.ratings["random"] + 200, ratings.ratings
    again = run_league(run, games=8, baselines="random,mcts40", progress=False, positions=0, seed=0)
    assert again.ratings == ratings.ratings  # nothing left to play: the same table, the same fit
    assert np.isfinite(list(ratings.ratings.values())).all()


# --- people: positions as text, a human at the keyboard, play and analyze -------------------------


def test_connect_four_reads_positions_with_gravity_counts_and_no_winner() -> None:
    game = ConnectFourCore(2)
    game.set_position("..xo/..ox/.xxo.o", board=1)
    assert game.to_move[1] == 0 and game.num_moves[1] == 8 and game.heights[1].tolist() == [0, 1, 3, 3, 0, 1, 0]
    game.play(np.array([1]), np.array([1]))  # the position plays on: b lands on b's single stone
    assert game.board[1, 4, 1] == 1 and game.to_move[1] == 1
    game.set_position("xxx.ooo")
    game.play(np.array([3]), np.array([0]))  # X completes the bottom row
    assert game.winner[0] == 0
    for text, reason in [("x./.x", "floats"), ("xx", "inconsistent stone counts"), ("x/x/x/xooo", "four in a row"), ("xq", "bad character")]:
        with pytest.raises(ValueError, match=reason):
            game.set_position(text)


def test_a_human_types_connect_four_columns_and_is_told_why_a_move_is_refused() -> None:
    from rlagent.games.human import HumanPlayer

    game = ConnectFourCore(1)
    game.set_position("x/o/x/o/x/o")  # column a is full
    printed: list[str] = []
    answers = iter(["a", "z", "C"])
    human = HumanPlayer(1, input_fn=lambda _: next(answers), print_fn=printed.append, show_board=False)
    assert human.play_positions(game, np.array([0])).tolist() == [2]
    assert "column a is full" in printed[0] and "a Connect Four move is a column a-g" in printed[1] and len(printed) == 2


@pytest.fixture(scope="module")
def connect_four_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _train(tmp_path_factory.mktemp("c4"), "run.total_steps=256")


def test_play_connect_four_in_the_terminal(connect_four_run: Path) -> None:
    from rlagent.play import main as play_main

    printed: list[str] = []
    columns = iter(["a", "b", "c", "d", "e", "f", "g"] * 6)
    code = play_main(
        ["connect4", str(connect_four_run), "--color", "first"],
        input_fn=lambda prompt: "n" if prompt.startswith("another") else next(columns),
        print_fn=printed.append,
    )
    assert code == 0
    assert any(line.startswith("you (X) played ") for line in printed) and any(line.startswith("agent (O) played ") for line in printed)
    assert sum(line.startswith(("the winner: ", "the game is a draw")) for line in printed) == 1


def test_analyze_a_connect_four_position(connect_four_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.analyze import main as analyze_main

    assert analyze_main([str(connect_four_run), "--board", "..xo/..ox/.xxo.o"]) == 0
    out = capsys.readouterr().out
    percentages = [float(p.rstrip("%")) for p in out.split("top moves: ")[1].splitlines()[0].split()[2::3]]
    assert "X to move" in out and "   a   b   c   d   e   f   g" in out and len(percentages) == 5
    assert sorted(percentages, reverse=True) == percentages
    assert analyze_main([str(connect_four_run), "--board", "xx"]) == 2
    assert "inconsistent stone counts" in capsys.readouterr().err


@pytest.mark.parametrize("make", [lambda: HexCore(1, size=4, swap=True), lambda: ConnectFourCore(1)], ids=["hex", "connect4"])
def test_move_names_read_back_and_name_where_the_stone_lands(make) -> None:  # noqa: ANN001 - a game factory
    """People read and type absolute moves whichever side moves (Hex's second player sees the board
    transposed): every legal action's name parses back to it, and the named cell gets the stone."""
    game = make()
    rng = np.random.default_rng(0)
    while not game.done[0]:
        legal = np.flatnonzero(game.legal_mask(np.array([0]))[0])
        assert [game.parse_move(game.move_name(int(a), 0), 0) for a in legal] == legal.tolist()
        action = int(rng.choice(legal))
        name, mover = game.move_name(action, 0), int(game.to_move[0])
        game.play(np.array([action]), np.array([0]))
        if isinstance(game, HexCore) and name != "swap":
            assert game.board[0].flat[parse_cell(name, 4)] == mover + 1, name
