"""A deliberately naive Hex minimax, independent of the solver's bit tricks, to check it against."""

from __future__ import annotations

from functools import lru_cache

NEIGHBOURS = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))


def connected(cells: tuple[int, ...], n: int, player: int) -> bool:
    """Whether ``player`` (0: top-bottom with stones 1, 1: left-right with stones 2) has connected."""
    stone = player + 1
    if player == 0:
        frontier = [(0, c) for c in range(n) if cells[c] == stone]
    else:
        frontier = [(r, 0) for r in range(n) if cells[r * n] == stone]
    seen = set(frontier)
    while frontier:
        r, c = frontier.pop()
        if (player == 0 and r == n - 1) or (player == 1 and c == n - 1):
            return True
        for dr, dc in NEIGHBOURS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < n and 0 <= cc < n and (rr, cc) not in seen and cells[rr * n + cc] == stone:
                seen.add((rr, cc))
                frontier.append((rr, cc))
    return False


@lru_cache(maxsize=None)
def mover_wins(cells: tuple[int, ...], n: int, mover: int) -> bool:
    for i, cell in enumerate(cells):
        if cell == 0:
            child = cells[:i] + (mover + 1,) + cells[i + 1 :]
            if connected(child, n, mover) or not mover_wins(child, n, 1 - mover):
                return True
    return False


def winning_moves(cells: tuple[int, ...], n: int, mover: int) -> list[int]:
    moves = []
    for i, cell in enumerate(cells):
        if cell == 0:
            child = cells[:i] + (mover + 1,) + cells[i + 1 :]
            if connected(child, n, mover) or not mover_wins(child, n, 1 - mover):
                moves.append(i)
    return moves
