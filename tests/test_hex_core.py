"""Tests of the batched Hex rules in :mod:`envs.hex.core`.

The core detects wins incrementally with row bitboards, so every check of a result here goes through
something independent of that code: OpenSpiel's Hex (a separate implementation), or a plain BFS over
the absolute board written below. Random games are seeded, so CI runs the same games every time.

OpenSpiel's ``swap`` parameter (checked by experiment with open_spiel 1.x): action ``n * n``, legal
only as the second move, replaces the first player's stone at ``(r, c)`` by a second-player stone at
``(c, r)`` and gives the turn back to the first player, who is still 'x' (top-bottom). That is exactly
our swap action, with the identity mapping of actions, so swap games are compared against it too.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envs.base import RUNNING, IllegalMoveError
from envs.batched_random import BatchedRandom
from envs.hex.core import HexCore, rotate180_actions, rotate180_mask, rotate180_planes, transpose_actions

NEIGHBOURS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))

# Random games compared with OpenSpiel, per board size (3,150 plain and 500 swap games in all).
GAMES_PER_SIZE = {2: 150, 3: 300, 4: 300, 5: 300, 6: 300, 7: 300, 8: 300, 9: 300, 10: 300, 11: 300}
SWAP_GAMES_PER_SIZE = {size: 50 for size in range(2, 12)}


# --- independent helpers -----------------------------------------------------------------------------
def connects(board: np.ndarray, player: int) -> bool:
    """Plain BFS on the absolute board: do ``player``'s stones join its two edges?

    Written without transposition or bitboards so that it shares no logic with the core.
    """
    n = board.shape[0]
    stone = player + 1
    if player == 0:
        start = [(0, c) for c in range(n) if board[0, c] == stone]
    else:
        start = [(r, 0) for r in range(n) if board[r, 0] == stone]
    seen = set(start)
    queue = deque(start)
    while queue:
        r, c = queue.popleft()
        if (r if player == 0 else c) == n - 1:
            return True
        for dr, dc in NEIGHBOURS:
            nxt = (r + dr, c + dc)
            if 0 <= nxt[0] < n and 0 <= nxt[1] < n and board[nxt] == stone and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def absolute_mask(core: HexCore, mask: np.ndarray, boards: np.ndarray) -> np.ndarray:
    """Mover's-frame masks of ``boards`` turned into absolute-cell masks (swap entry kept last)."""
    n = core.size
    cells = mask[:, : n * n].reshape(-1, n, n)
    flipped = np.where(core.to_move[boards, None, None] == 1, cells.transpose(0, 2, 1), cells)
    return np.concatenate([flipped.reshape(-1, n * n), mask[:, n * n :]], axis=1)


def play_random_games(
    num: int, size: int, swap: bool, seed: int, force_swap: np.ndarray | None = None, record_masks: bool = False
) -> tuple[HexCore, np.ndarray, np.ndarray | None]:
    """Play ``num`` uniformly random games to the end, all boards together.

    Returns the finished core, the absolute moves (``-1`` padded; the swap is ``n * n``) and, if asked,
    the absolute legal mask before each move. ``force_swap`` marks boards that always take the swap:
    random play alone would pick it with chance about ``1 / n**2``.
    """
    core = HexCore(num, size, swap=swap)
    rng = BatchedRandom(num, seed)
    longest = size * size + 1
    moves = np.full((num, longest), -1, dtype=np.int64)
    masks = np.zeros((num, longest, longest), dtype=bool) if record_masks else None
    while not core.done.all():
        live = np.flatnonzero(~core.done)
        actions = core.random_actions(rng.uniform(live), live)
        if force_swap is not None:
            actions = np.where(force_swap[live] & core.swap_legal(live), size * size, actions)
        step = core.num_moves[live]
        if masks is not None:
            masks[live, step] = absolute_mask(core, core.legal_mask(live), live)
        moves[live, step] = core.to_absolute(actions, live)
        core.play(actions, live)
    return core, moves, masks


def play_cells(core: HexCore, cells: list[tuple[int, int]], board: int = 0) -> None:
    """Play absolute ``(r, c)`` cells in turn on one board, each converted to the mover's frame."""
    b = np.array([board])
    for r, c in cells:
        core.play(core.from_absolute(np.array([r * core.size + c]), b), b)


def check_views(core: HexCore) -> None:
    """Observation, legal mask and swap flag of every board agree with the absolute board."""
    n, batch = core.size, core.batch_size
    p1 = core.to_move == 1
    frame = np.where(p1[:, None, None], core.board.transpose(0, 2, 1), core.board)
    own = np.where(p1, 2, 1)[:, None, None]
    running = core.winner == RUNNING
    swap_legal = core.swap & (core.num_moves == 1) & running

    obs = core.observation()
    assert obs.dtype == np.float32 and obs.shape == (batch, 3, n, n)
    np.testing.assert_array_equal(obs[:, 0], frame == own)
    np.testing.assert_array_equal(obs[:, 1], frame == 3 - own)
    np.testing.assert_array_equal(obs[:, 2], np.broadcast_to(swap_legal[:, None, None], (batch, n, n)))
    np.testing.assert_array_equal(core.mover_board(), np.where(frame == 0, 0, np.where(frame == own, 1, 2)))

    expected = np.zeros((batch, n * n + 1), dtype=bool)
    expected[:, : n * n] = (frame == 0).reshape(batch, -1) & running[:, None]
    expected[:, n * n] = swap_legal
    mask = core.legal_mask()
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_array_equal(core.swap_legal(), swap_legal)

    # Asking for a subset, in any order, gives the same rows.
    some = np.arange(batch)[::-1][: max(1, batch // 2)]
    np.testing.assert_array_equal(core.observation(some), obs[some])
    np.testing.assert_array_equal(core.legal_mask(some), mask[some])


# --- 1. agreement with OpenSpiel -----------------------------------------------------------------------
def require_pyspiel():
    """``pyspiel``, or a failure: these tests exist to compare the core with OpenSpiel, and
    open-spiel is in the ``test`` extra, so a missing one is a broken install, not a reason to skip
    (a skip would let CI go green with no game checked)."""
    try:
        import pyspiel
    except ImportError as error:
        missing = error
    else:
        return pyspiel
    pytest.fail(  # outside the except block: the message alone, no chained traceback
        f"OpenSpiel is needed to compare the Hex core with it, but `import pyspiel` failed ({missing}); "
        "open-spiel is in the test extra: pip install -e '.[test]'",
        pytrace=False,
    )


def replay_in_openspiel(size: int, swap: bool, core: HexCore, moves: np.ndarray, masks: np.ndarray) -> None:
    """Each game, move by move: same mover, same legal moves, ends on the same move, same winner and board."""
    pyspiel = require_pyspiel()
    game = pyspiel.load_game("hex", {"board_size": size, "swap": swap, "plain_obs_tensor": True})
    width = game.num_distinct_actions()
    assert width == size * size + swap
    for b in range(core.batch_size):
        length = int(core.num_moves[b])
        state = game.new_initial_state()
        for t in range(length):
            assert not state.is_terminal(), f"OpenSpiel ended game {b} at move {t}, the core at move {length}"
            assert state.current_player() == t % 2
            reference = np.zeros(size * size + 1, dtype=bool)
            reference[state.legal_actions()] = True
            np.testing.assert_array_equal(masks[b, t], reference, err_msg=f"legal moves, game {b}, move {t}")
            state.apply_action(int(moves[b, t]))
        assert state.is_terminal(), f"the core ended game {b} at move {length}, OpenSpiel did not"
        winner = 0 if state.returns()[0] > 0 else 1
        assert int(core.winner[b]) == winner == (length - 1) % 2  # the last mover won
        planes = np.asarray(state.observation_tensor(0)).reshape(3, size, size)  # x, o, empty
        np.testing.assert_array_equal(core.board[b], (planes[0] + 2 * planes[1]).astype(np.int8))


@pytest.mark.parametrize("size", sorted(GAMES_PER_SIZE))
def test_random_games_match_openspiel(size: int) -> None:
    require_pyspiel()  # before playing the games
    core, moves, masks = play_random_games(GAMES_PER_SIZE[size], size, swap=False, seed=1000 + size, record_masks=True)
    replay_in_openspiel(size, False, core, moves, masks)


@pytest.mark.parametrize("size", sorted(SWAP_GAMES_PER_SIZE))
def test_random_swap_games_match_openspiel(size: int) -> None:
    require_pyspiel()  # before playing the games
    num = SWAP_GAMES_PER_SIZE[size]
    force = np.arange(num) % 2 == 0  # half the games swap; the rest take it only if chosen at random
    core, moves, masks = play_random_games(num, size, swap=True, seed=2000 + size, force_swap=force, record_masks=True)
    assert (moves[:, 1] == size * size).sum() >= num // 2
    replay_in_openspiel(size, True, core, moves, masks)


def test_enough_reference_games() -> None:
    """The brief asks for at least 2,000 plain games over sizes 3..11, plus size 2 and swap games,
    checked against OpenSpiel: without it none is checked, and this count must not pass."""
    require_pyspiel()
    assert sum(count for size, count in GAMES_PER_SIZE.items() if 3 <= size <= 11) >= 2000
    assert GAMES_PER_SIZE[2] > 0 and sum(SWAP_GAMES_PER_SIZE.values()) >= 300


# --- 2. observation and mask consistency ---------------------------------------------------------------
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("size", [2, 3, 5, 8, 11])
def test_views_match_board_at_every_move(size: int, swap: bool) -> None:
    num = 64
    core = HexCore(num, size, swap=swap)
    rng = BatchedRandom(num, seed=size * 10 + swap)
    force = np.arange(num) % 4 == 0
    check_views(core)
    while not core.done.all():
        live = np.flatnonzero(~core.done)
        actions = core.random_actions(rng.uniform(live), live)
        assert core.is_legal(actions, live).all()
        actions = np.where(force[live] & core.swap_legal(live), size * size, actions)
        core.play(actions, live)
        check_views(core)
    assert not core.legal_mask().any()


@pytest.mark.parametrize("size", [2, 4, 9])
def test_random_actions_are_legal_at_the_extremes_of_the_uniform(size: int) -> None:
    """Uniforms 0 and just below 1 still pick a legal move (the last one may be the swap)."""
    core = HexCore(2, size, swap=True)
    core.play(np.array([0, size * size - 1]))
    for u in (0.0, np.nextafter(1.0, 0.0)):
        actions = core.random_actions(np.full(2, u))
        assert core.is_legal(actions).all()
    np.testing.assert_array_equal(core.random_actions(np.full(2, np.nextafter(1.0, 0.0))), [size * size] * 2)


@pytest.mark.parametrize("size", [2, 3, 7, 11])
def test_absolute_and_mover_frames_round_trip(size: int) -> None:
    core = HexCore(4, size, swap=True)
    core.play(np.array([0, 1, 2, 3]))  # player 1 to move everywhere
    back = np.array([2, 3])
    core.play(np.argmax(core.legal_mask(back)[:, :-1], axis=1), back)  # boards 2, 3: player 0 again
    actions = np.arange(size * size + 1)
    for b in range(4):
        boards = np.full(actions.size, b)
        cells = core.to_absolute(actions, boards)
        np.testing.assert_array_equal(core.from_absolute(cells, boards), actions)
        r, c = np.divmod(actions[:-1], size)
        expected = c * size + r if core.to_move[b] == 1 else actions[:-1]
        np.testing.assert_array_equal(cells[:-1], expected)
        assert cells[-1] == size * size  # the swap has no cell


def test_illegal_action_numbers_are_not_legal() -> None:
    core = HexCore(1, 3, swap=True)
    np.testing.assert_array_equal(core.is_legal(np.array([-1, 0, 9, 10]), np.zeros(4, dtype=np.int64)), [False, True, False, False])


# --- 3. hand-made positions ----------------------------------------------------------------------------
def transpose_cells(cells: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(c, r) for r, c in cells]


def race(size: int, chain: list[tuple[int, int]], filler: list[tuple[int, int]], winner: int) -> HexCore:
    """``winner`` lays ``chain`` in order while the other lays ``filler``; nobody wins before the last stone.

    Cells are given for player 0 (top-bottom); for player 1 both lists are transposed, which turns
    the same picture into a left-right chain.
    """
    assert not set(chain) & set(filler)
    if winner == 1:
        chain, filler = transpose_cells(chain), transpose_cells(filler)
        order = [cell for pair in zip(filler, chain) for cell in pair]
    else:
        order = [cell for pair in zip(chain[:-1], filler) for cell in pair] + [chain[-1]]
    assert len(order) == 2 * len(chain) - (winner == 0)
    core = HexCore(1, size)
    for i, cell in enumerate(order):
        assert core.winner[0] == RUNNING, f"game ended early, before move {i}"
        mover = int(core.to_move[0])
        play_cells(core, [cell])
        if i < len(order) - 1:
            assert not connects(core.board[0], 0) and not connects(core.board[0], 1)
    assert core.winner[0] == winner == mover
    assert connects(core.board[0], winner) and not connects(core.board[0], 1 - winner)
    assert not core.legal_mask().any()
    return core


ANTI_DIAGONAL = [(0, 4), (1, 3), (2, 2), (3, 1), (4, 0)]  # obtuse corner to obtuse corner
# Acute corner to acute corner; the ends come in from the side, so only (0, 0) and (4, 4) touch the edges.
STAIRCASE = [(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (3, 4), (4, 4)]
SNAKE = (
    [(r, 0) for r in range(6)]  # down column 0 from the top edge, stopping short of the bottom
    + [(5, 1)]
    + [(r, 2) for r in range(5, 0, -1)]  # back up column 2, stopping short of the top
    + [(1, 3)]
    + [(r, 4) for r in range(1, 7)]  # down column 4 to the bottom edge
)
SNAKE_FILLER = [(r, 6) for r in range(7)] + [(r, 5) for r in range(7)] + [(0, c) for c in range(1, 5)] + [(6, 0)]

CHAINS = {
    # name: (size, chain in playing order, the other player's non-connecting stones)
    "obtuse corners, top first": (5, ANTI_DIAGONAL, [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1)]),
    "obtuse corners, bottom first": (5, ANTI_DIAGONAL[::-1], [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1)]),
    "obtuse corners, middle last": (5, [(0, 4), (4, 0), (1, 3), (3, 1), (2, 2)], [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1)]),
    "acute corners, top first": (5, STAIRCASE, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4)]),
    "acute corners, bottom first": (5, STAIRCASE[::-1], [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4)]),
    "acute corners, ends first": (
        5,
        [(0, 0), (4, 4), (1, 0), (3, 4), (1, 1), (3, 3), (2, 1), (3, 2), (2, 2)],
        [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4)],
    ),
    # The last stone is at the top: the flood from it must run down, back up, and down again.
    "zig-zag, top edge last": (7, SNAKE[1:] + SNAKE[:1], SNAKE_FILLER),
    "zig-zag, bottom edge last": (7, SNAKE[:-1][::-1] + SNAKE[-1:], SNAKE_FILLER),
    "zig-zag, upper turn last": (7, [cell for cell in SNAKE if cell != (1, 3)] + [(1, 3)], SNAKE_FILLER),
    "zig-zag, lower turn last": (7, [cell for cell in SNAKE if cell != (5, 1)] + [(5, 1)], SNAKE_FILLER),
    "2x2 obtuse pair": (2, [(0, 1), (1, 0)], [(0, 0), (1, 1)]),
}


@pytest.mark.parametrize("winner", [0, 1])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_wins_exactly_when_complete(name: str, winner: int) -> None:
    size, chain, filler = CHAINS[name]
    race(size, chain, filler, winner)


@pytest.mark.parametrize("size", [2, 3, 5, 9])
def test_acute_diagonal_is_not_connected(size: int) -> None:
    """(r, c) and (r+1, c+1) are not neighbours: a main-diagonal line wins for nobody."""
    core = HexCore(1, size)
    diagonal = [(i, i) for i in range(size)]
    other = [(0, c) for c in range(1, size)]  # player 1's row-0 stones never reach column 0
    play_cells(core, [cell for pair in zip(diagonal, other) for cell in pair] + diagonal[-1:])
    assert core.winner[0] == RUNNING and not connects(core.board[0], 0)


def test_move_completing_both_groups_of_the_mover_wins_for_the_mover() -> None:
    """The winning cell is also the one the opponent needed; the win goes to the mover only."""
    # Player 1's (1, 0), (1, 1) wait for (1, 2); player 0 takes it, joining (0, 2) to (2, 1).
    core = race(3, [(0, 2), (2, 1), (1, 2)], [(1, 0), (1, 1)], winner=0)
    assert core.board[0, 1, 0] == core.board[0, 1, 1] == 2


def test_full_boards_have_exactly_one_winner() -> None:
    """On random complete colourings exactly one side connects, and the core names that side."""
    rng = np.random.default_rng(7)
    for size in range(2, 9):
        for _ in range(30):
            cells = rng.permutation(size * size)
            first, second = cells[: (size * size + 1) // 2], cells[(size * size + 1) // 2 :]
            full = np.zeros(size * size, dtype=np.int8)
            full[first], full[second] = 1, 2
            full = full.reshape(size, size)
            assert connects(full, 0) != connects(full, 1)
            core = HexCore(1, size)
            order = [divmod(int(cell), size) for pair in zip(first, second) for cell in pair] + (
                [divmod(int(first[-1]), size)] if first.size > second.size else []
            )
            for cell in order:
                play_cells(core, [cell])
                if core.done[0]:
                    break
            assert core.done[0]
            # Stones are only ever added, so whoever connected first still connects on the full board.
            assert core.winner[0] == (0 if connects(full, 0) else 1)


def test_swap_then_win_with_the_swapped_stone() -> None:
    core = HexCore(1, 3, swap=True)
    play_cells(core, [(1, 0)])
    assert core.swap_legal()[0] and core.legal_mask()[0, 9]
    core.play(np.array([9]))  # player 0's (1, 0) becomes player 1's (0, 1)
    expected = np.zeros((3, 3), dtype=np.int8)
    expected[0, 1] = 2
    np.testing.assert_array_equal(core.board[0], expected)
    assert core.to_move[0] == 0 and core.num_moves[0] == 2 and not core.swap_legal()[0]
    check_views(core)
    # Player 1's left-right row 0 runs through the swapped stone in the middle; player 0 stays on row 2.
    play_cells(core, [(2, 0), (0, 0), (2, 1)])
    assert core.winner[0] == RUNNING
    play_cells(core, [(0, 2)])
    assert core.winner[0] == 1 and core.num_moves[0] == 6
    assert connects(core.board[0], 1) and not connects(core.board[0], 0)


def test_swap_of_a_diagonal_stone_keeps_the_cell() -> None:
    core = HexCore(1, 4, swap=True)
    play_cells(core, [(2, 2)])
    core.play(np.array([16]))
    assert core.board[0, 2, 2] == 2 and (core.board[0] != 0).sum() == 1
    check_views(core)


@pytest.mark.parametrize(
    ("swap", "before", "message"),
    [
        (True, [], r"only legal as the second move \(this is move 1\)"),
        (True, [(0, 0), (1, 1)], r"only legal as the second move \(this is move 3\)"),
        (False, [(0, 0)], "swap rule is off"),
    ],
)
def test_swap_is_refused_with_a_reason(swap: bool, before: list[tuple[int, int]], message: str) -> None:
    core = HexCore(1, 3, swap=swap)
    play_cells(core, before)
    board = core.board.copy()
    with pytest.raises(IllegalMoveError, match=message):
        core.play(np.array([9]))
    np.testing.assert_array_equal(core.board, board)
    assert core.num_moves[0] == len(before)


def test_second_swap_is_refused() -> None:
    core = HexCore(1, 3, swap=True)
    play_cells(core, [(0, 1)])
    core.play(np.array([9]))
    with pytest.raises(IllegalMoveError, match="this is move 3"):
        core.play(np.array([9]))


def test_occupied_cell_is_refused_in_the_movers_frame() -> None:
    core = HexCore(2, 3)
    core.play(np.array([1, 4]))  # absolute b1 = (0, 1) on board 0, the centre on board 1
    board = core.board.copy()
    # Player 1's action 3 is its (1, 0), the absolute (0, 1): taken. Its action 1 is free.
    with pytest.raises(IllegalMoveError, match="b1 is occupied"):
        core.play(np.array([3]), np.array([0]))
    with pytest.raises(IllegalMoveError, match="occupied"):
        core.play(np.array([0, 4]))  # one bad board refuses the whole call
    np.testing.assert_array_equal(core.board, board)
    np.testing.assert_array_equal(core.num_moves, [1, 1])
    core.play(np.array([1]), np.array([0]))
    assert core.board[0, 1, 0] == 2


@pytest.mark.parametrize("action", [-1, 10, 100])
def test_out_of_range_action_is_refused(action: int) -> None:
    with pytest.raises(IllegalMoveError, match="valid actions"):
        HexCore(1, 3, swap=True).play(np.array([action]))


def test_finished_board_refuses_every_move() -> None:
    core = race(3, [(0, 1), (1, 1), (2, 1)], [(0, 0), (1, 0)], winner=0)
    board = core.board.copy()
    for action in range(10):
        with pytest.raises(IllegalMoveError, match="over"):
            core.play(np.array([action]))
    np.testing.assert_array_equal(core.board, board)
    assert core.num_moves[0] == 5 and core.winner[0] == 0


# --- 4. properties of random games ---------------------------------------------------------------------
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(2, 9), swap=st.booleans(), data=st.data())
def test_random_legal_games_keep_the_invariants(size: int, swap: bool, data: st.DataObject) -> None:
    core = HexCore(1, size, swap=swap)
    swapped = 0
    while core.winner[0] == RUNNING:
        mask = core.legal_mask()[0]
        if mask[size * size] and data.draw(st.booleans(), label="take the swap"):
            action = size * size
        else:
            legal = np.flatnonzero(mask[: size * size])
            action = int(legal[data.draw(st.integers(0, legal.size - 1), label="move index")])
        mover, moves_before = int(core.to_move[0]), int(core.num_moves[0])
        assert mover == moves_before % 2
        core.play(np.array([action]))
        swapped |= action == size * size

        board = core.board[0]
        first, second = int((board == 1).sum()), int((board == 2).sum())
        assert core.num_moves[0] == moves_before + 1
        assert first + second == core.num_moves[0] - swapped  # the swap moves a stone, adds none
        assert first - second == (mover == 0) - swapped
        if first + second == size * size:
            assert core.winner[0] != RUNNING, "a full board must have a winner"
        if core.winner[0] == RUNNING:
            assert not connects(board, 0) and not connects(board, 1)
            assert core.to_move[0] == 1 - mover
    winner = int(core.winner[0])
    assert winner == mover, "the completing move must win for the player who made it"
    assert connects(core.board[0], winner) and not connects(core.board[0], 1 - winner)
    assert not core.legal_mask().any()
    board = core.board.copy()
    for action in range(size * size + 1):
        with pytest.raises(IllegalMoveError):
            core.play(np.array([action]))
    np.testing.assert_array_equal(core.board, board)


# --- 5. the boards of a batch are independent ----------------------------------------------------------
def snapshot(core: HexCore, b: int) -> dict[str, np.ndarray]:
    """Everything public about board ``b``, copied."""
    boards = np.array([b])
    return {
        "board": core.board[b].copy(),
        "winner": core.winner[boards].copy(),
        "to_move": core.to_move[boards].copy(),
        "num_moves": core.num_moves[boards].copy(),
        "observation": core.observation(boards),
        "mask": core.legal_mask(boards),
    }


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize(("size", "swap"), [(2, True), (5, False), (7, True), (11, False)])
def test_batch_plays_like_separate_games(size: int, swap: bool) -> None:
    """Boards played together (in shuffled call order) end exactly like the same games played alone."""
    num = 24
    batch = HexCore(num, size, swap=swap)
    singles = [HexCore(1, size, swap=swap) for _ in range(num)]
    rng = BatchedRandom(num, seed=size)
    order_rng = np.random.default_rng(size)
    force = np.arange(num) % 3 == 0
    while not batch.done.all():
        live = np.flatnonzero(~batch.done)
        uniforms = rng.uniform(live)
        actions = batch.random_actions(uniforms, live)
        for i, b in enumerate(live):
            assert singles[b].random_actions(uniforms[i : i + 1])[0] == actions[i]
        actions = np.where(force[live] & batch.swap_legal(live), size * size, actions)
        shuffled = order_rng.permutation(live.size)
        batch.play(actions[shuffled], live[shuffled])
        for i, b in enumerate(live):
            singles[b].play(actions[i : i + 1])
    for b in range(num):
        assert_same(snapshot(batch, b), snapshot(singles[b], 0))


def test_resetting_some_boards_leaves_the_others_alone() -> None:
    """Reset a mix of finished and running boards mid-play, then replay: hidden state must be clean."""
    size, num = 4, 12
    core = HexCore(num, size, swap=True)
    rng = BatchedRandom(num, seed=3)
    history: list[list[int]] = [[] for _ in range(num)]

    def step() -> None:
        live = np.flatnonzero(~core.done)
        actions = core.random_actions(rng.uniform(live), live)
        actions = np.where((live % 2 == 0) & core.swap_legal(live), size * size, actions)
        core.play(actions, live)
        for b, a in zip(live, actions):
            history[b].append(int(a))

    while core.done.sum() < 2:
        step()
    finished, running = np.flatnonzero(core.done), np.flatnonzero(~core.done)
    assert finished.size >= 2 and running.size >= 2
    chosen = np.concatenate([finished[:2], running[:2]])
    kept = np.setdiff1d(np.arange(num), chosen)
    before = {b: snapshot(core, b) for b in kept}
    core.reset(chosen)
    fresh = snapshot(HexCore(1, size, swap=True), 0)
    for b in chosen:
        assert_same(snapshot(core, b), fresh)
        history[b] = []
    for b in kept:
        assert_same(snapshot(core, b), before[b])
    check_views(core)

    while not core.done.all():
        step()
    for b in range(num):
        single = HexCore(1, size, swap=True)
        for a in history[b]:
            single.play(np.array([a]))
        assert_same(snapshot(core, b), snapshot(single, 0))


# --- 6. symmetry helpers -------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [2, 3, 5, 11])
def test_symmetry_helpers_are_involutions(size: int) -> None:
    cells = size * size
    actions = np.arange(cells + 1)
    r, c = np.divmod(actions[:-1], size)
    np.testing.assert_array_equal(rotate180_actions(actions, size)[:-1], (size - 1 - r) * size + (size - 1 - c))
    np.testing.assert_array_equal(transpose_actions(actions, size)[:-1], c * size + r)
    for helper in (rotate180_actions, transpose_actions):
        assert helper(actions, size)[-1] == cells  # the swap has no cell to move
        np.testing.assert_array_equal(helper(helper(actions, size), size), actions)
    rng = np.random.default_rng(size)
    planes = rng.random((4, 3, size, size)).astype(np.float32)
    np.testing.assert_array_equal(rotate180_planes(planes), np.rot90(planes, 2, axes=(-2, -1)))
    np.testing.assert_array_equal(rotate180_planes(rotate180_planes(planes)), planes)
    for width in (cells, cells + 1):
        mask = rng.random((5, width)) < 0.5
        rotated = rotate180_mask(mask, size)
        np.testing.assert_array_equal(rotated[:, :cells], mask[:, :cells][:, ::-1])
        np.testing.assert_array_equal(rotated[:, cells:], mask[:, cells:])
        np.testing.assert_array_equal(rotate180_mask(rotated, size), mask)


@pytest.mark.parametrize(("size", "swap"), [(2, True), (4, True), (6, False), (9, True)])
def test_rotated_games_have_rotated_positions_and_the_same_winner(size: int, swap: bool) -> None:
    """Playing the 180-degree-rotated mover's-frame moves gives rotated views at every step.

    Rotation commutes with the transposition into player 1's frame and with the mirrored swap, so
    the mover's-frame actions can be rotated directly.
    """
    num = 40
    core, rotated = HexCore(num, size, swap=swap), HexCore(num, size, swap=swap)
    rng = BatchedRandom(num, seed=50 + size)
    while not core.done.all():
        live = np.flatnonzero(~core.done)
        actions = core.random_actions(rng.uniform(live), live)
        actions = np.where((live % 2 == 0) & core.swap_legal(live), size * size, actions)
        core.play(actions, live)
        rotated.play(rotate180_actions(actions, size), live)
        np.testing.assert_array_equal(rotated.board, core.board[:, ::-1, ::-1])
        np.testing.assert_array_equal(rotated.observation(), rotate180_planes(core.observation()))
        np.testing.assert_array_equal(rotated.legal_mask(), rotate180_mask(core.legal_mask(), size))
    assert rotated.done.all()
    np.testing.assert_array_equal(rotated.winner, core.winner)
    np.testing.assert_array_equal(rotated.num_moves, core.num_moves)


def test_a_board_listed_twice_in_one_call_is_refused() -> None:
    """Two moves on one board in one call would each be checked against the old position."""
    core = HexCore(2, 3)
    with pytest.raises(ValueError, match="appears twice"):
        core.play(np.array([0, 1]), np.array([0, 0]))
    assert core.num_moves.tolist() == [0, 0] and not core.board.any()


def test_planes_from_boards_equal_the_cores_own_views() -> None:
    """Positions rebuilt from absolute boards look exactly like the env's observations."""
    from envs.hex.core import planes_from_boards

    core = HexCore(64, 6, swap=True)
    rng = BatchedRandom(64, seed=3)
    for _ in range(12):
        live = np.flatnonzero(~core.done)
        if live.size == 0:
            break
        np.testing.assert_array_equal(planes_from_boards(core.board[live], core.to_move[live], core.swap_legal(live)), core.observation(live))
        core.play(core.random_actions(rng.uniform(live), live), live)
