"""The tactics report of ``evaluate --tactics``: missed wins and gifts read from the game's rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from envs.connect_four import ConnectFourCore
from envs.player_names import parse_player_name
from rlagent.games.tactics import classify_moves, tactics_match

# Rows from the top, shorter = the bottom rows; x moves first. In each, x is to move.
WIN_AT_D = "...x.../o..x.../oo.x..."  # x has three up column d: d wins at once
GIFT_UNLESS_D = "xx...../ooo...x"  # o threatens d1: every move but d lets o win at once
LOST_ANYWAY = ".xx..../.ooo..x"  # o threatens a1 and e1: whatever x plays, o wins at once


def positions(*texts: str) -> ConnectFourCore:
    game = ConnectFourCore(len(texts))
    for board, text in enumerate(texts):
        game.set_position(text, board)
    return game


def leftmost(observation: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A player that never looks: the lowest legal column."""
    return np.argmax(mask.astype(bool), axis=1)


@pytest.mark.parametrize(
    ("text", "action", "expected"),
    [
        (WIN_AT_D, 3, (True, False, False, False)),  # took the win
        (WIN_AT_D, 0, (True, True, False, False)),  # missed it (no gift counted when a win was there)
        (GIFT_UNLESS_D, 3, (False, False, True, False)),  # blocked
        (GIFT_UNLESS_D, 6, (False, False, True, True)),  # let o win at d
        (LOST_ANYWAY, 0, (False, False, False, False)),  # no safe move existed: not a gift
    ],
)
def test_moves_are_classified_by_what_the_rules_say_one_move_deep(text: str, action: int, expected: tuple[bool, ...]) -> None:
    game = positions(text)
    before = game.board.copy()
    result = classify_moves(game, np.array([0]), np.array([action]))
    assert tuple(bool(flags[0]) for flags in result) == expected
    np.testing.assert_array_equal(game.board, before)  # only copies were played on


def test_a_batch_is_classified_board_by_board() -> None:
    game = positions(GIFT_UNLESS_D, WIN_AT_D, LOST_ANYWAY, GIFT_UNLESS_D)
    available, missed, possible, gift = classify_moves(game, np.array([0, 1, 2, 3]), np.array([6, 0, 0, 3]))
    assert available.tolist() == [False, True, False, False]
    assert missed.tolist() == [False, True, False, False]
    assert possible.tolist() == [True, False, False, True]
    assert gift.tolist() == [True, False, False, False]


def test_a_player_that_never_looks_loses_to_gifts() -> None:
    opponent = ConnectFourCore(1).named_player(parse_player_name("mcts20"), seed=0)
    report = tactics_match(ConnectFourCore, leftmost, opponent, games=8)
    assert report.games == 8 and report.losses == 8 and report.moves > 0
    assert 0 < report.gifts <= report.gift_chances
    assert report.lost_after_gift + report.lost_after_missed_win + report.lost_outplayed == report.losses
    assert report.lost_after_gift >= 4  # filling column a then b hands mcts20 a win in most games
    assert any("lets mcts20 win at once" in line for line in report.lines("mcts20"))


def test_evaluate_prints_the_tactics_of_a_connect_four_agent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.evaluate import main as evaluate_main
    from rlagent.train import main as train_main

    assert (
        train_main(
            [
                "ppo",
                "--env",
                "connect4",
                "--total-steps",
                "256",
                "--logdir",
                str(tmp_path),
                "--set",
                "run.num_envs=4",
                "--set",
                "ppo.num_steps=64",
                "--set",
                "policy.board_channels=8",
                "--set",
                "policy.board_blocks=1",
                "--set",
                "run.progress=false",
            ]
        )
        == 0
    )
    run = next(tmp_path.iterdir())
    capsys.readouterr()
    assert evaluate_main([str(run), "--opponent", "mcts10", "--games", "4", "--tactics"]) == 0
    out = capsys.readouterr().out
    assert "tactics match, 4 more games" in out and "a win in one was there" in out and "lost games (" in out


def test_tactics_is_refused_where_there_is_no_board_game(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.evaluate import main as evaluate_main
    from rlagent.train import main as train_main

    assert train_main(["ppo", "--env", "CartPole-v1", "--total-steps", "64", "--logdir", str(tmp_path), "--set", "run.progress=false"]) == 0
    run = next(tmp_path.iterdir())
    capsys.readouterr()
    assert evaluate_main([str(run), "--games", "2", "--tactics"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--tactics" in error[0] and "CartPole-v1 is not a two-player board game (valid: " in error[0] and "connect4" in error[0]
    assert evaluate_main([str(run), "--positions", "10", "--tactics"]) == 2
    assert "use one or the other" in capsys.readouterr().err
