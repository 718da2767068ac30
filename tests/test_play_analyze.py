"""Playing a trained agent in the terminal (HumanPlayer, ``rlagent.play``) and asking it about a
position (``rlagent.analyze``): moves typed in absolute coordinates, probabilities shown in them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest

from envs.hex.core import HexCore, planes_from_boards
from envs.hex.render import board_to_text
from rlagent import analyze as analyze_cli
from rlagent import play as play_cli
from rlagent.config import resolve
from rlagent.errors import ConfigError
from rlagent.games.hex.analysis import analyze, choose_to_move, heat_map, parse_board
from rlagent.games.human import HumanPlayer, QuitGame
from rlagent.games.players import PolicyPlayer
from rlagent.run import Trainer

ROOT = Path(__file__).resolve().parent.parent
CELLS_3X3 = [f"{col}{row}" for row in "123" for col in "abc"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A barely trained 3x3 Hex agent: its opinions do not matter here, only that it plays."""
    logdir = tmp_path_factory.mktemp("runs")
    config = resolve(
        "ppo",
        "hex",
        overrides=["env.size=3", "run.progress=false", "policy.board_channels=8", "policy.board_blocks=1"],
        extra={"total_steps": 2048, "logdir": str(logdir)},
    )
    trainer = Trainer(config)
    trainer.train()
    return trainer.run_dir


@pytest.fixture(scope="module")
def player(run_dir: Path) -> PolicyPlayer:
    return PolicyPlayer.load(run_dir)


def scripted(answers: Iterable[str]) -> Callable[[str], str]:
    """An ``input`` that types ``answers`` in turn, then closes the input (EOFError)."""
    queue = iter(answers)

    def fake_input(prompt: str) -> str:
        try:
            return next(queue)
        except StopIteration:
            raise EOFError from None

    return fake_input


def hex_position(moves: list[int], swap: bool = False) -> HexCore:
    """A 3x3 game after ``moves`` (absolute cells, or 9 for the swap)."""
    core = HexCore(1, 3, swap)
    for cell in moves:
        core.play(core.from_absolute(np.array([cell])))
    return core


# --- HumanPlayer ---------------------------------------------------------------------------------


def test_human_refuses_bad_moves_with_the_reason_then_plays_the_first_good_one() -> None:
    core = hex_position([1, 2])  # X b1, O c1; X to move
    printed: list[str] = []
    human = HumanPlayer(0, input_fn=scripted(["hello", "d1", "swap", "c1", "B1", "  A3 "]), print_fn=printed.append)
    action = human.play_positions(core, np.array([0]))
    assert action.tolist() == [6]  # a3 = row 2, column 0; the first player's frame is absolute
    assert printed[0] == board_to_text(core.board[0], to_move=0)
    refusals = printed[1:]
    assert len(refusals) == 5 and all(line.startswith("refused: ") for line in refusals)
    for line, reason in zip(refusals, ["a column letter a-c", "off the 3x3 board", "swap is not allowed", "c1 is occupied by O", "b1 is occupied by X"]):
        assert reason in line
    core.play(action)
    assert core.board[0, 2, 0] == 1


def test_second_player_types_absolute_cells_and_gets_its_own_frame_back() -> None:
    core = hex_position([1], swap=True)  # X b1 = (0, 1); O to move, in the transposed frame
    printed: list[str] = []
    human = HumanPlayer(1, input_fn=scripted(["b1", "a2"]), print_fn=printed.append)
    action = human.play_positions(core, np.array([0]))
    # a2 is absolute (1, 0) = cell 3; O's frame is transposed, so the action is (0, 1) = 1.
    assert action.tolist() == [1]
    assert printed[0] == board_to_text(core.board[0], to_move=1)  # the board as people see it
    assert "b1 is occupied by X" in printed[1]
    core.play(action)
    assert core.board[0, 1, 0] == 2 and core.board[0, 0, 1] == 1


def test_human_swaps_only_where_legal() -> None:
    core = hex_position([1], swap=True)
    human = HumanPlayer(1, input_fn=scripted(["swap"]), print_fn=lambda _: None)
    assert human.play_positions(core, np.array([0])).tolist() == [9]
    core = hex_position([1], swap=False)
    printed: list[str] = []
    human = HumanPlayer(1, input_fn=scripted(["Swap", "c3"]), print_fn=printed.append, show_board=False)
    assert human.play_positions(core, np.array([0])).tolist() == [8]
    assert len(printed) == 1 and "swap is not allowed" in printed[0]


def test_quit_and_end_of_input_stop_cleanly() -> None:
    core = hex_position([])
    for answers in (["quit"], ["zz", "exit"], []):
        human = HumanPlayer(0, input_fn=scripted(answers), print_fn=lambda _: None)
        with pytest.raises(QuitGame) as stopped:
            human.play_positions(core, np.array([0]))
        assert stopped.value.code == 0


def test_human_player_checks_its_colour_and_batch() -> None:
    with pytest.raises(ConfigError, match="color is 0"):
        HumanPlayer(2)
    with pytest.raises(ValueError, match="one position at a time"):
        HumanPlayer(0).play_positions(HexCore(2, 3), np.array([0, 1]))


# --- the play CLI --------------------------------------------------------------------------------


def scripted_games(games: list[list[str]]) -> Callable[[str], str]:
    """Types each game's moves in turn and answers "another game?" with y while games remain.

    Trying every cell in reading order always finishes a game: occupied cells are refused and the
    next one is typed.
    """
    remaining = iter(games)
    moves = iter(next(remaining))

    def fake_input(prompt: str) -> str:
        nonlocal moves
        if prompt.startswith("another game"):
            following = next(remaining, None)
            if following is None:
                return "n"
            moves = iter(following)
            return "y"
        try:
            return next(moves)
        except StopIteration:
            raise EOFError from None

    return fake_input


@pytest.mark.parametrize("color, human, agent", [("first", "X", "O"), ("second", "O", "X")])
def test_play_cli_plays_a_whole_game_and_names_the_winner(run_dir: Path, color: str, human: str, agent: str) -> None:
    printed: list[str] = []
    code = play_cli.main(["hex", str(run_dir), "--color", color], input_fn=scripted_games([CELLS_3X3]), print_fn=printed.append)
    assert code == 0
    assert sum(line.startswith("the winner: ") for line in printed) == 1
    assert any(line.startswith(f"you ({human}) played ") for line in printed)
    assert any(line.startswith(f"agent ({agent}) played ") for line in printed)
    boards = [line for line in printed if "a b c" in line]
    assert len(boards) == sum("played" in line for line in printed) + 1  # drawn at the start and after every move
    assert boards[-1].endswith(" wins")


def test_play_cli_offers_another_game_and_quits_cleanly(run_dir: Path) -> None:
    printed: list[str] = []
    code = play_cli.main(["hex", str(run_dir), "--color", "first"], input_fn=scripted_games([CELLS_3X3, ["quit"]]), print_fn=printed.append)
    assert code == 0 and printed[-1] == "bye"
    assert sum(line.startswith("you play X") for line in printed) == 2
    assert sum(line.startswith("the winner: ") for line in printed) == 1


def test_play_cli_random_colour_and_sampling_are_seeded(run_dir: Path) -> None:
    def transcript(seed: int) -> list[str]:
        printed: list[str] = []
        answers = scripted_games([CELLS_3X3] * 4)
        assert play_cli.main(["hex", str(run_dir), "--seed", str(seed), "--sample"], input_fn=answers, print_fn=printed.append) == 0
        return printed

    first = transcript(3)
    assert first == transcript(3)
    colours = [line for line in first if line.startswith("you play ")]
    assert len(colours) == 4 and len(set(colours)) == 2  # seed 3 draws both colours in four games


@pytest.mark.parametrize(
    "argv, message",
    [
        (["chess", "RUN"], "unknown game 'chess': valid games are connect4, hex"),
        (["connect4", "RUN"], "was trained on hex, not connect4: pass a connect4 run"),
        (["hex", "/no/such/run"], "/no/such/run does not exist"),
        (["hex", "RUN", "--color", "blue"], "invalid choice: 'blue'"),
    ],
)
def test_play_cli_bad_input_is_one_line_and_status_2(run_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    argv = [str(run_dir) if arg == "RUN" else arg for arg in argv]
    try:
        code = play_cli.main(argv, input_fn=scripted([]), print_fn=lambda _: None)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_play_runs_as_a_module_with_piped_moves(run_dir: Path) -> None:
    moves = "\n".join(CELLS_3X3) + "\n"
    out = subprocess.run(
        [sys.executable, "-m", "rlagent.play", "hex", str(run_dir), "--color", "second"],
        input=moves,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "the winner: " in out.stdout and "agent (X) played" in out.stdout


# --- the board text ------------------------------------------------------------------------------


def test_board_text_pads_short_rows_and_missing_rows() -> None:
    expected = np.zeros((5, 5), np.int8)
    expected[0, 0], expected[0, 3] = 1, 2
    assert np.array_equal(parse_board("x..o./...../.....//", 5), expected)
    assert np.array_equal(parse_board("X..O", 5), expected)
    assert np.array_equal(parse_board("x . . o", 5), expected)  # spaces are only for the eye
    expected[2, 1] = 1
    assert np.array_equal(parse_board("x..o//.x", 5), expected)  # an empty row in the middle
    assert np.array_equal(parse_board("", 3), np.zeros((3, 3), np.int8))
    full = "xxx/ooo/xxx"
    assert np.array_equal(parse_board(full + "//", 3), parse_board(full, 3))  # a closing // on a full board


def test_board_text_errors_name_what_is_valid() -> None:
    with pytest.raises(ConfigError, match=r"bad character 'z' in row 2 .*x or X .*o or O .*\. \(empty cell\)"):
        parse_board("x/.z", 3)
    with pytest.raises(ConfigError, match="4 rows but the agent plays 3x3"):
        parse_board("x/./././", 3)
    with pytest.raises(ConfigError, match="row 1 of the board text has 4 cells but the board is 3 wide"):
        parse_board("x..o", 3)


def test_player_to_move_follows_the_stone_counts() -> None:
    board = parse_board("x..", 3)
    assert choose_to_move(board, None, swap=False) == 1
    assert choose_to_move(parse_board("x/o", 3), None, swap=False) == 0
    assert choose_to_move(parse_board("x/o", 3), "O", swap=True) == 1  # after a swap, O may move on equal counts
    assert choose_to_move(parse_board("o", 3), None, swap=True) == 0  # X swapped away and moves again
    with pytest.raises(ConfigError, match="inconsistent stone counts: 2 x and 0 o"):
        choose_to_move(parse_board("xx", 3), None, swap=False)
    with pytest.raises(ConfigError, match="inconsistent stone counts: 0 x and 1 o"):
        choose_to_move(parse_board("o", 3), None, swap=False)
    with pytest.raises(ConfigError, match="X cannot be to move with 1 x and 0 o on the board: O is"):
        choose_to_move(board, "x", swap=False)


# --- analyze -------------------------------------------------------------------------------------


def test_probabilities_are_absolute_sum_to_one_and_skip_occupied_cells(player: PolicyPlayer) -> None:
    result = analyze(player, ".x/..o/")  # X b1 = (0, 1), O c2 = (1, 2): X to move
    assert result.to_move == 0 and result.swap_probability is None
    assert result.probabilities.shape == (3, 3)
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.probabilities[0, 1] == 0 and result.probabilities[1, 2] == 0
    assert (np.delete(result.probabilities.reshape(-1), [1, 5]) > 0).all()

    second = analyze(player, ".x")  # O to move: its frame is transposed, the result must not be
    assert second.to_move == 1
    assert second.probabilities[0, 1] == 0 and second.probabilities[1, 0] > 0
    board = parse_board(".x", 3)
    planes = planes_from_boards(board[None], np.array([1]))
    mask = np.ones((1, 10), np.int8)
    mask[0, 3], mask[0, 9] = 0, 0  # absolute b1 is the mover's-frame cell (1, 0)
    dist, value = player.distribution(planes, mask)
    assert np.allclose(second.probabilities, dist.probs[0, :9].numpy().reshape(3, 3).T)
    assert second.value == pytest.approx(float(value[0]))


def test_swap_probability_and_a_bce_value_on_the_return_scale(player: PolicyPlayer) -> None:
    result = analyze(player, ".x", swap=True)
    assert result.swap_probability is not None and result.swap_probability > 0
    assert result.probabilities.sum() + result.swap_probability == pytest.approx(1.0)
    assert "swap" in [name for name, _ in result.top_moves(9)]
    assert analyze(player, ".x/o", swap=True).swap_probability is None  # only the second move may swap
    raw = analyze(player, ".x").value
    assert analyze(player, ".x", value_loss="bce").value == pytest.approx(np.tanh(raw))
    top = result.top_moves(5)
    assert len(top) == 5 and [p for _, p in top] == sorted((p for _, p in top), reverse=True)


def test_heat_map_lays_percentages_on_the_rhombus(player: PolicyPlayer) -> None:
    result = analyze(player, "x../.o./")
    lines = heat_map(result).splitlines()
    assert len(lines) == 5
    # Cell (r, c) ends at column 5 + 2r + 4c (a half-cell shift per row, as board_to_text draws it).
    assert lines[1][5] == "X" and lines[2][11] == "O"
    assert lines[0].split() == ["a", "b", "c"] and lines[-1].split() == ["a", "b", "c"]
    numbers = [int(token) for line in lines[1:-1] for token in line.split()[1:-1] if token.isdigit()]
    assert len(numbers) == 7 and abs(sum(numbers) - 100) <= 4  # rounded percentages of 7 empty cells


def test_analyze_cli_prints_a_heat_map_top_moves_and_value(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert analyze_cli.main([str(run_dir), "--board", "x../.o./", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "move probabilities in % (X to move):" in out
    assert out.count("top moves:") == 1 and " 3. " in out and " 4. " not in out
    value_line = next(line for line in out.splitlines() if line.startswith("value: "))
    assert "for X, the player to move (+1 = X wins, -1 = X loses)" in value_line
    assert "swap:" not in out  # the run has no swap rule


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--board", "x/.q"], "bad character 'q' in row 2"),
        (["--board", "xx"], "inconsistent stone counts"),
        (["--board", "x/././."], "4 rows"),
        (["--board", "x", "--to-move", "x"], "X cannot be to move"),
        (["--board", "xox/oxo/xox"], "the board is full"),
    ],
)
def test_analyze_cli_bad_input_is_one_line_and_status_2(run_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert analyze_cli.main([str(run_dir), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err


def test_analyze_cli_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        analyze_cli.main([str(tmp_path)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--board" in err and "python -m rlagent.analyze --help" in err
    assert analyze_cli.main([str(tmp_path / "missing"), "--board", "x"]) == 2
    assert "does not exist" in capsys.readouterr().err
