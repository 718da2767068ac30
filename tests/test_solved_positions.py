"""Grading players against exact values: the position suites, the score, and where it shows up
(``evaluate --positions``, the league's ``win move`` column, ``eval/winning_move_rate`` in
self-play runs, ``analyze --solve``)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hex_brute_force import connected, winning_moves

from envs.hex.core import HexCore
from rlagent import analyze as analyze_cli
from rlagent import evaluate as evaluate_cli
from rlagent import league as league_cli
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.games.hex.analysis import Analysis, analyze, solve
from rlagent.games.hex.solved_positions import (
    SUITE_FILE,
    draw_positions,
    parse_stone_range,
    score_player,
    selfplay_suite,
    stone_range,
)
from rlagent.games.players import PolicyPlayer, RandomPlayer
from rlagent.run import Trainer


class Oracle:
    """Plays the first winning move (``wrong=True``: the first losing one where there is one)."""

    def __init__(self, suite, wrong: bool = False) -> None:
        self.suite, self.wrong = suite, wrong

    def select_moves(self, boards: np.ndarray, to_move: np.ndarray) -> np.ndarray:
        out = []
        for board, mover in zip(boards, to_move):
            index = next(i for i in range(len(self.suite)) if (self.suite.boards[i] == board).all() and self.suite.to_move[i] == mover)
            good = self.suite.winning[index]
            empty = board.reshape(-1) == 0
            pick = np.flatnonzero(empty & ~good) if self.wrong else np.flatnonzero(good)
            out.append(pick[0] if pick.size else np.flatnonzero(good)[0])
        return np.asarray(out)


def test_suites_are_seeded_unfinished_won_for_the_mover_and_exactly_solved():
    suite = draw_positions(4, 60, seed=3)
    again = draw_positions(4, 60, seed=3)
    assert (suite.boards == again.boards).all() and (suite.winning == again.winning).all()
    assert not (suite.boards == draw_positions(4, 60, seed=4).boards[: len(suite)]).all()
    assert suite.drawn == 60 and 10 < len(suite) < 60 and suite.unsolved == 0
    low, high = stone_range(4)
    assert ((suite.stones >= low) & (suite.stones <= high)).all()
    for board, mover, stones, winning in zip(suite.boards, suite.to_move, suite.stones, suite.winning):
        cells = tuple(int(c) for c in board.reshape(-1))
        assert (board != 0).sum() == stones and mover == stones % 2 and (board == 1).sum() - (board == 2).sum() == stones % 2
        assert not connected(cells, 4, 0) and not connected(cells, 4, 1)
        assert np.flatnonzero(winning).tolist() == winning_moves(cells, 4, int(mover))  # naive minimax agrees


def test_score_counts_winning_moves_overall_and_by_stone_count():
    suite = draw_positions(4, 80, seed=1)
    perfect = score_player(Oracle(suite), suite)
    assert perfect.correct == perfect.positions == len(suite) and perfect.rate == 1.0
    assert sum(total for _, total in perfect.by_stones.values()) == len(suite)
    wrong = score_player(Oracle(suite, wrong=True), suite)
    only_winning = (suite.winning.sum(axis=1) == (suite.boards.reshape(len(suite), -1) == 0).sum(axis=1)).sum()
    assert wrong.correct == only_winning  # wrong only where every move wins
    share = suite.winning.sum(axis=1) / (suite.boards.reshape(len(suite), -1) == 0).sum(axis=1)
    rates = [score_player(RandomPlayer(seed), suite).rate for seed in range(20)]
    assert abs(np.mean(rates) - share.mean()) < 0.03  # a random mover wins as often as winning moves are common
    low, high = perfect.interval
    assert 0.9 < low <= high == 1.0


def test_bad_suite_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="1x1 to 8x8"):
        stone_range(9)
    with pytest.raises(ConfigError, match="0 <= low <= high < 16"):
        stone_range(4, (5, 16))
    with pytest.raises(ConfigError, match="like 4-14"):
        parse_stone_range("four")
    assert parse_stone_range("4-14") == (4, 14) and parse_stone_range("7") == (7, 7)
    with pytest.raises(ConfigError, match="at least 1"):
        draw_positions(4, 0)
    with pytest.raises(ConfigError, match="it is no player"):
        score_player(object(), draw_positions(3, 5))


def test_selfplay_suite_is_hex_up_to_7x7_and_read_back(tmp_path: Path):
    assert selfplay_suite(HexCore(1, 8), 10, 0, tmp_path) is None
    assert selfplay_suite(HexCore(1, 4), 0, 0, tmp_path) is None
    suite = selfplay_suite(HexCore(1, 4), 30, 0, tmp_path)
    assert (tmp_path / SUITE_FILE).exists()
    again = selfplay_suite(HexCore(1, 4), 30, 0, tmp_path)
    assert (again.boards == suite.boards).all() and (again.winning == suite.winning).all()
    other = selfplay_suite(HexCore(1, 4), 30, 1, tmp_path)  # another seed: drawn afresh
    assert other.boards.shape != suite.boards.shape or not (other.boards == suite.boards).all()


@pytest.fixture(scope="module")
def selfplay_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short 4x4 self-play run rated every update, with three checkpoints."""
    logdir = tmp_path_factory.mktemp("logs")
    overrides = [
        "env.size=4",
        "run.progress=false",
        f"run.logdir={logdir}",
        "run.checkpoint_every=2",
        "run.keep_checkpoints=10",
        "ppo.num_steps=16",
        "run.num_envs=8",
        "selfplay.enabled=true",
        "selfplay.eval_every=1",
        "selfplay.eval_positions=40",
        "policy.board_channels=8",
        "policy.board_blocks=1",
    ]
    trainer = Trainer(resolve("ppo", "hex", overrides=overrides, extra={"total_steps": 16 * 8 * 6}))
    trainer.train()
    return Path(trainer.run_dir)


def test_selfplay_runs_log_the_winning_move_rate(selfplay_run: Path):
    rows = [json.loads(line) for line in (selfplay_run / "metrics.jsonl").read_text().splitlines()]
    rates = [row["eval/winning_move_rate"] for row in rows if "eval/winning_move_rate" in row]
    assert len(rates) == 6 and all(0.0 <= r <= 1.0 for r in rates)
    assert (selfplay_run / "pool" / SUITE_FILE).exists()


def test_evaluate_positions_prints_the_score_by_stone_count(selfplay_run: Path, capsys: pytest.CaptureFixture[str]):
    assert evaluate_cli.main([str(selfplay_run), "--positions", "50", "--stones", "5-7"]) == 0
    out = capsys.readouterr().out
    assert "greedy policy: picks a winning move in " in out and "95% CI" in out and "on 4x4 (5-7 stones" in out
    assert {line.split()[0] for line in out.splitlines() if line.strip() and line.split()[0].isdigit()} <= {"5", "6", "7"}
    assert evaluate_cli.main([str(selfplay_run), "--positions", "50", "--stones", "3-20"]) == 2
    assert "0 <= low <= high < 16" in capsys.readouterr().err
    assert evaluate_cli.main([str(selfplay_run), "--stones", "3-5"]) == 2
    assert "only applies with --positions" in capsys.readouterr().err


def test_league_grades_every_entrant_once(selfplay_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    run = Path(shutil.copytree(selfplay_run, tmp_path / "run"))
    assert league_cli.main([str(run), "--games", "4", "--baselines", "random,mcts20", "--positions", "60"]) == 0
    out = capsys.readouterr().out
    assert "win move" in out.splitlines()[1]
    with (run / "league" / "ratings.csv").open(newline="") as file:
        rows = {row["name"]: row for row in csv.DictReader(file)}
    assert set(rows) >= {"step_0", "random", "mcts20"} and all(row["winning_move"] for row in rows.values())
    scores = (run / "league" / "solved_positions.csv").read_text()
    assert league_cli.main([str(run), "--games", "4", "--baselines", "random,mcts20", "--positions", "60"]) == 0
    assert (run / "league" / "solved_positions.csv").read_text() == scores  # graded once, not again
    capsys.readouterr()
    assert league_cli.main([str(run), "--games", "4", "--positions", "0"]) == 0
    assert "win move" not in capsys.readouterr().out.splitlines()[1]


def test_analyze_solve_marks_exactly_the_winning_moves(selfplay_run: Path, capsys: pytest.CaptureFixture[str]):
    player = PolicyPlayer.load(selfplay_run)
    board = "x.../.o../..../....//"
    result = solve(analyze(player, board))
    cells = tuple(int(c) for c in result.board.reshape(-1))
    assert np.flatnonzero(result.winning).tolist() == winning_moves(cells, 4, 0)
    assert analyze_cli.main([str(selfplay_run), "--board", board, "--solve"]) == 0
    out = capsys.readouterr().out
    assert "exact: X to move wins" in out and "winning moves: c2;" in out
    assert out.count(" W ") + out.count(" W\n") >= 1
    assert analyze_cli.main([str(selfplay_run), "--board", "xo../xo../xo../x...//", "--solve"]) == 2
    assert "the game is over" in capsys.readouterr().err


def test_solve_judges_the_swap():
    """With the swap rule, O's first reply may take over X's stone (mirrored): it wins exactly when
    X's opening was a winning one (on 4x4 the short diagonal)."""
    for cell in range(16):
        board = np.zeros((4, 4), dtype=np.int8)
        board.flat[cell] = 1
        flat = np.full((4, 4), 1 / 15)
        flat.flat[cell] = 0.0
        result = solve(Analysis(board, 1, flat * 0.9, 0.1, 0.0))
        assert result.swap_wins == (cell in (3, 6, 9, 12))
        assert result.winning.any() != (cell in (3, 6, 9, 12))  # O wins by moving iff the opening lost
