"""The Elo league: its match table, resumption, colour balance, openings, outputs and CLI."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from envs.hex.core import HexCore, transpose_actions
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.games.league import (
    GameResult,
    append_matches,
    find_entrants,
    format_table,
    league_table,
    parse_baselines,
    read_matches,
    run_league,
)
from rlagent.games.matches import play_boards, play_match
from rlagent.games.players import RandomPlayer
from rlagent.league import main
from rlagent.run import Trainer

ROOT = Path(__file__).resolve().parent.parent
STEPS = [128, 256, 384, 512]
CHECKPOINTS = [f"step_{step}" for step in STEPS]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3x3 Hex PPO run with four checkpoints (a few seconds of training)."""
    logdir = tmp_path_factory.mktemp("logs")
    overrides = [
        "env.size=3",
        "run.progress=false",
        f"run.logdir={logdir}",
        "run.checkpoint_every=1",
        "run.keep_checkpoints=10",
        "ppo.num_steps=16",
        "run.num_envs=8",
    ]
    trainer = Trainer(resolve("ppo", "hex", overrides=overrides, extra={"total_steps": 16 * 8 * 4}))
    trainer.train()
    return Path(trainer.run_dir)


@pytest.fixture()
def run(trained_run: Path, tmp_path: Path) -> Path:
    """A private copy of the trained run, so each test starts with no league."""
    return Path(shutil.copytree(trained_run, tmp_path / "run"))


def matches(run_dir: Path) -> list[GameResult]:
    return read_matches(run_dir / "league" / "matches.csv")


def ordered_counts(results: list[GameResult]) -> Counter[tuple[str, str]]:
    return Counter((r.first, r.second) for r in results)


# ------------------------------------------------------------------------------ the match table


def test_match_table_round_trips_exactly(tmp_path: Path) -> None:
    rows = [
        GameResult("step_10", "random", 1.0, 4, "random"),
        GameResult("random", "step_10", 0.5, None, "none"),
        GameResult('odd, "name"', "mcts100", 0.0, 0, "suite"),
    ]
    path = tmp_path / "league" / "matches.csv"
    append_matches(path, rows[:2])
    append_matches(path, rows[2:])
    assert read_matches(path) == rows
    with path.open(newline="") as file:
        assert next(csv.reader(file))[:4] == ["first", "second", "score", "opening"]


def test_a_torn_last_line_is_ignored_and_then_removed(tmp_path: Path) -> None:
    path = tmp_path / "matches.csv"
    row = GameResult("a", "b", 1.0, 3, "random")
    append_matches(path, [row])
    with path.open("a") as file:
        file.write("a,b,0,")  # an interrupted write: no newline
    assert read_matches(path) == [row]
    append_matches(path, [row._replace(score=0.0)])
    assert read_matches(path) == [row, row._replace(score=0.0)]


def test_a_bad_row_is_one_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "matches.csv"
    path.write_text("first,second,score,opening,opening_rule\na,b,1,0,random\na,b,2,0,random\n")
    with pytest.raises(ConfigError, match="line 3: score '2'"):
        read_matches(path)


# ------------------------------------------------------------------------------ scheduling


def test_every_pair_plays_both_colours_equally_often(run: Path) -> None:
    run_league(run, games=6, baselines=("random",))
    counts = ordered_counts(matches(run))
    names = CHECKPOINTS + ["random"]
    assert set(counts) == {(a, b) for a in names for b in names if a != b}
    assert set(counts.values()) == {3}


def test_rerunning_with_the_same_settings_adds_no_game(run: Path) -> None:
    first = run_league(run, games=4, baselines=("random",))
    table = (run / "league" / "matches.csv").read_bytes()
    again = run_league(run, games=4, baselines=("random",))
    assert (run / "league" / "matches.csv").read_bytes() == table
    assert again.ratings == first.ratings


def test_a_smaller_league_gets_only_the_missing_games(run: Path, tmp_path: Path) -> None:
    whole = Path(shutil.copytree(run, tmp_path / "whole"))
    run_league(whole, games=8, baselines=("random",))
    run_league(run, games=4, baselines=("random",))
    before = matches(run)
    run_league(run, games=8, baselines=("random",))
    after = matches(run)
    assert after[: len(before)] == before  # append-only
    assert len(after) == 2 * len(before)
    assert set(ordered_counts(after).values()) == {4}
    # Growing a league draws the openings a full-size league would have drawn.
    key = lambda r: (r.first, r.second, r.opening)  # noqa: E731
    assert Counter(map(key, after)) == Counter(map(key, matches(whole)))


def test_an_interrupted_league_completes_what_it_lacks(run: Path) -> None:
    run_league(run, games=4, baselines=("random",))
    path = run / "league" / "matches.csv"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:7]))  # the header, one full pairing and a part of the next
    run_league(run, games=4, baselines=("random",))
    assert set(ordered_counts(matches(run)).values()) == {2}
    assert len(matches(run)) == len(lines) - 1


def test_pool_snapshots_join_and_each_step_counts_once(run: Path) -> None:
    (run / "pool").mkdir()
    shutil.copy(run / "checkpoints" / "step_256.pt", run / "pool" / "step_256.pt")
    shutil.copy(run / "checkpoints" / "step_512.pt", run / "pool" / "step_640.pt")
    entrants = find_entrants(run)
    assert [e.name for e in entrants] == CHECKPOINTS + ["step_640"]
    assert Path(entrants[1].spec).parent.name == "checkpoints"
    assert [e.step for e in entrants] == STEPS + [640]


# ------------------------------------------------------------------------------ openings


def test_openings_are_played_for_the_first_mover() -> None:
    game = HexCore(6, size=3)
    openings = np.array([0, 4, 8, 2, 5, 6])
    a_first = np.array([True, True, True, False, False, False])
    seen: dict[str, np.ndarray] = {}

    class Recorder(RandomPlayer):
        def __init__(self, name: str, seed: int) -> None:
            super().__init__(seed)
            self.name = name

        def __call__(self, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
            seen.setdefault(self.name, observation.copy())
            return super().__call__(observation, action_mask)

    play_boards(game, Recorder("a", 1), Recorder("b", 2), a_first, openings)
    # Each player first answers its opponent's opening, seen in its own (transposed) frame.
    for name, boards in (("a", [3, 4, 5]), ("b", [0, 1, 2])):
        replies = seen[name][: len(boards)]
        assert (replies[:, 0] == 0).all()
        assert (replies[:, 1].reshape(len(boards), -1).sum(axis=1) == 1).all()
        cells = replies[:, 1].reshape(len(boards), -1).argmax(axis=1)
        assert cells.tolist() == transpose_actions(openings[boards], 3).tolist()


def test_play_match_keeps_its_signature_and_takes_openings() -> None:
    factory = lambda batch: HexCore(batch, size=3)  # noqa: E731
    a_first, b_first = play_match(factory, RandomPlayer(0), RandomPlayer(1), 10)
    assert a_first.shape == b_first.shape == (5,)
    with pytest.raises(ConfigError, match="not a legal first move"):
        play_match(factory, RandomPlayer(0), RandomPlayer(1), 2, openings=np.array([9, 0]))


def test_suite_plays_every_first_cell_once_per_colour_order(run: Path) -> None:
    run_league(run, games=2, baselines=("random",), openings="suite")
    results = matches(run)
    by_pair: dict[tuple[str, str], list[int | None]] = {}
    for r in results:
        assert r.opening_rule == "suite"
        by_pair.setdefault((r.first, r.second), []).append(r.opening)
    assert len(by_pair) == 5 * 4
    for openings in by_pair.values():
        assert sorted(openings) == list(range(9))
    run_league(run, games=2, baselines=("random",), openings="suite")
    assert len(matches(run)) == len(results)


def test_random_openings_are_legal_varied_and_shared_by_both_orders(run: Path) -> None:
    run_league(run, games=20, baselines=(), seed=3)
    results = matches(run)
    by_pair: dict[tuple[str, str], list[int | None]] = {}
    for r in results:
        by_pair.setdefault((r.first, r.second), []).append(r.opening)
    for (first, second), openings in by_pair.items():
        assert all(0 <= move < 9 for move in openings)
        assert len(set(openings)) > 3
        assert openings == by_pair[(second, first)]


def test_no_openings_start_from_the_empty_board(run: Path) -> None:
    run_league(run, games=4, baselines=("random",), openings="none")
    results = matches(run)
    assert {r.opening for r in results} == {None}
    # Two greedy policies from the empty board play one game over and over.
    step_games = [r.score for r in results if (r.first, r.second) == ("step_128", "step_256")]
    assert len(set(step_games)) == 1


# ------------------------------------------------------------------------------ ratings and outputs


def test_ratings_csv_plot_and_tensorboard_at_the_checkpoint_steps(run: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_league(run, games=4, baselines=("random",))
    run_league(run, games=6, baselines=("random",))  # a second fit must replace the first's points
    league = run / "league"
    with (league / "ratings.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["name", "step", "elo", "low", "high", "games", "winning_move"]
    assert all(0.0 <= float(row["winning_move"]) <= 1.0 for row in rows)  # 3x3: graded on solved positions
    assert [row["name"] for row in rows] == CHECKPOINTS + ["random"]
    assert [row["step"] for row in rows] == [str(step) for step in STEPS] + [""]
    assert all(int(row["games"]) == 4 * 6 for row in rows)
    assert float(rows[-1]["elo"]) == 0.0
    assert (league / "elo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    events = list(league.glob("events.out.tfevents.*"))
    assert len(events) == 1
    accumulator = EventAccumulator(str(league))
    accumulator.Reload()
    assert {"elo/rating", "elo/low", "elo/high", "eval/winning_move_rate"} <= set(accumulator.Tags()["scalars"])
    rating = accumulator.Scalars("elo/rating")
    assert [event.step for event in rating] == STEPS
    assert [event.value for event in rating] == pytest.approx([float(row["elo"]) for row in rows[:-1]], abs=1e-3)
    low = accumulator.Scalars("elo/low")
    assert all(lo.value <= r.value for lo, r in zip(low, rating))


def test_mcts100_rates_above_random(run: Path) -> None:
    ratings = run_league(run, games=10, baselines=("random", "mcts100"))
    assert ratings.anchor == "random"
    low, _ = ratings.intervals["mcts100"]
    assert low > 0.0
    assert ratings.ratings["mcts100"] == max(ratings.ratings.values())


def test_the_anchor_is_named_or_the_oldest_checkpoint(run: Path) -> None:
    ratings = run_league(run, games=2, baselines=())
    assert ratings.anchor == "step_128"
    ratings = run_league(run, games=2, baselines=(), anchor="step_384")
    assert ratings.anchor == "step_384" and ratings.ratings["step_384"] == 0.0
    with pytest.raises(ConfigError, match="anchor 'mcts7' is not in this league"):
        run_league(run, games=2, baselines=(), anchor="mcts7")


def test_table_lists_checkpoints_by_step_then_baselines_by_rating() -> None:
    results = [GameResult("step_20", "random", 1.0, None, "none"), GameResult("random", "step_3", 0.0, None, "none")] * 3
    from rlagent.games.elo import fit_ratings

    ratings = fit_ratings([(r.first, r.second, r.score) for r in results])
    rows = league_table(ratings, results)
    assert [row.name for row in rows] == ["step_3", "step_20", "random"]
    assert rows[0].score == 1.0 and rows[-1].score == 0.0
    text = format_table(rows).splitlines()
    assert text[0].split() == ["name", "step", "Elo", "95%", "interval", "games", "score"]
    assert text[-1].split()[:3] == ["random", "-", "+0"]


# ------------------------------------------------------------------------------ command line


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--games", "3"], "games must be a positive even number"),
        (["--baselines", "random,alphazero"], "unknown baseline 'alphazero': valid baselines are random, mctsN"),
        (["--baselines", "mcts0"], "unknown baseline 'mcts0'"),
        (["--openings", "book"], "invalid choice: 'book'"),
        (["--seed", "-1"], "seed must be a non-negative integer"),
    ],
)
def test_bad_input_exits_2_with_one_line(run: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str) -> None:
    try:
        code = main([str(run), *arguments])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err
    assert not (run / "league").exists()


def test_not_a_run_directory_exits_2_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "rlagent.league", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {tmp_path} is not a run directory (it has no config.json)")


def test_parse_baselines_keeps_order_and_drops_repeats() -> None:
    assert [e.name for e in parse_baselines("mcts400, random,,mcts400")] == ["mcts400", "random"]
    assert parse_baselines("") == []


def test_workers_give_the_same_table_as_one_process(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parallel = Path(shutil.copytree(run, tmp_path / "parallel"))
    arguments = ["--games", "6", "--baselines", "random,mcts100", "--seed", "5"]
    assert main([str(run), *arguments, "--workers", "0"]) == 0
    serial_out = capsys.readouterr().out.splitlines()
    assert main([str(parallel), *arguments, "--workers", "2"]) == 0
    parallel_out = capsys.readouterr().out.splitlines()
    assert serial_out[0].split(";")[0] == parallel_out[0].split(";")[0] == "played 90 new games"
    assert serial_out[1:-1] == parallel_out[1:-1]  # the table and the first-move advantage
    assert len(serial_out) == 2 + 7 + 1
    assert (run / "league" / "ratings.csv").read_text() == (parallel / "league" / "ratings.csv").read_text()
    key = lambda r: (r.first, r.second, r.score, r.opening)  # noqa: E731
    assert sorted(map(key, matches(run))) == sorted(map(key, matches(parallel)))
