"""Bradley–Terry Elo ratings fitted from the whole match table, with 95% confidence intervals.

Why a fit and not the classic game-by-game Elo update: an incremental update gives ratings that
depend on the order the games were played in and on an arbitrary K factor, and it has no error
bars. Here the results are first aggregated into a win/draw/loss count table per ordered pair
(first mover, second mover), so the fit cannot see the order of the games, and the ratings are the
maximum of one likelihood over that table (OpenSpiel's approach).

Model, in Elo points (400 * log10 scale)::

    P(first mover i beats second mover j) = 1 / (1 + 10 ** ((R_j - R_i - A) / 400))

where ``A`` is a first-move advantage fitted jointly with the ratings (in Hex the first mover
wins far more often, so ignoring it would blur colour-unbalanced schedules). A draw counts as half
a win for each side (a score-weighted binomial likelihood), so one win and one loss carry exactly
the information of two draws.

Ratings are only defined up to a common shift, so one player, the anchor (``"random"`` by
default), is fixed at 0 and every interval is relative to it.

A player that won (or lost) every game has an infinite maximum-likelihood rating. To keep every
rating finite, each player plays ``prior_games`` virtual draws in total, spread evenly over all
the other players, and ``A`` gets ``prior_games`` virtual draws between equal players. The prior
is a function of rating differences only, so moving the anchor shifts every rating by the same
amount. Its cost is a shrinkage of differences towards 0 that fades with the number of games:
with the default of 2 virtual draws, a player scoring 75% (true difference 190.8 Elo) comes out at
190.7 over 4,000 games but at 147 over 8 games (6-2), which is the point: few games, weak claims.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rlagent.errors import ConfigError, RlagentError

__all__ = [
    "ELO_PER_NAT",
    "Ratings",
    "bradley_terry",
    "colour_balanced_pairings",
    "elo_difference_from_win_rate",
    "expected_score",
    "fit_ratings",
]

ELO_PER_NAT = 400.0 / math.log(10.0)
"""Elo points per unit of natural log-odds: the fit works in log-odds, the results are in Elo."""

_Z95 = 1.959963984540054  # two-sided 95% quantile of the standard normal
_TOLERANCE = 1e-10  # largest Newton step (log-odds) at convergence: ~2e-8 Elo
_MAX_ITERATIONS = 200
_VALID_SCORES = (0, 0.5, 1)


@dataclass(frozen=True)
class Ratings:
    """A fitted league table, in Elo points; meant to be stored (CSV, JSON, TensorBoard) as is.

    ``intervals`` are 95% intervals relative to the anchor, whose own interval is ``(0.0, 0.0)``.
    ``games`` counts real games only (not the prior's virtual draws).
    """

    ratings: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    first_move_advantage: float
    advantage_interval: tuple[float, float]
    games: dict[str, int]
    anchor: str
    iterations: int


def expected_score(rating_a: float, rating_b: float, advantage: float = 0.0) -> float:
    """Expected score of ``a`` against ``b``; ``advantage`` is added to ``a`` (e.g. when a moves first)."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a - advantage) / 400.0))


def elo_difference_from_win_rate(p: float) -> float:
    """Elo difference that makes ``p`` the expected score: 400 * log10(p / (1 - p)); 0.75 -> ~190.8."""
    if not 0.0 < p < 1.0:
        raise ConfigError(f"win rate must be strictly between 0 and 1, got {p!r}")
    return 400.0 * math.log10(p / (1.0 - p))


def colour_balanced_pairings(players: Sequence[str], games_per_pair: int) -> list[tuple[str, str]]:
    """Every pair of ``players`` with ``games_per_pair`` games, half with each as first mover.

    Balanced colours make the ratings nearly uncorrelated with the first-move advantage, which
    narrows their intervals; first movers alternate within a pair.
    """
    if isinstance(games_per_pair, bool) or not isinstance(games_per_pair, numbers.Integral) or games_per_pair <= 0:
        raise ConfigError(f"games_per_pair must be a positive even integer, got {games_per_pair!r}")
    if games_per_pair % 2:
        raise ConfigError(f"games_per_pair must be even so each player moves first equally often, got {games_per_pair}")
    names = list(players)
    if len(set(names)) != len(names):
        raise ConfigError(f"players must be distinct, got {names!r}")
    pairings: list[tuple[str, str]] = []
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            pairings.extend([(first, second), (second, first)] * (games_per_pair // 2))
    return pairings


def bradley_terry(
    results: Iterable[Sequence[object]],
    anchor: str | None = "random",
    prior_games: float = 2.0,
    first_move_advantage: bool = True,
) -> dict[str, tuple[float, float, float]]:
    """``name -> (rating, low, high)`` in Elo; see :func:`fit_ratings` for the arguments."""
    fit = fit_ratings(results, anchor, prior_games=prior_games, first_move_advantage=first_move_advantage)
    return {name: (rating, *fit.intervals[name]) for name, rating in fit.ratings.items()}


def fit_ratings(
    results: Iterable[Sequence[object]],
    anchor: str | None = "random",
    *,
    prior_games: float = 2.0,
    first_move_advantage: bool = True,
) -> Ratings:
    """Maximum a-posteriori Bradley–Terry ratings from ``(first_mover, second_mover, score)`` rows.

    ``score`` is the first mover's: 1, 0.5 or 0. ``anchor`` is fixed at 0 if it played; if it is
    ``None`` or did not play, the first player to appear in ``results`` is the anchor instead (in a
    league that is the oldest checkpoint when games are listed in checkpoint order). That fallback
    is the one thing that can depend on row order, and it only shifts all ratings by one constant;
    name the anchor to make the result fully independent of the order.

    With ``first_move_advantage=False`` the advantage is held at 0 rather than fitted.
    """
    if isinstance(prior_games, bool) or not isinstance(prior_games, numbers.Real) or not 0 < prior_games < math.inf:
        raise ConfigError(f"prior_games must be a positive number of virtual draws, got {prior_games!r}")
    table, appearance = _count_table(results)
    names = sorted(appearance)  # a fixed index order makes the arithmetic identical for any row order
    if anchor is None or anchor not in appearance:
        anchor = min(appearance, key=appearance.__getitem__)
    index = {name: i for i, name in enumerate(names)}
    size = len(names)
    games = np.zeros((size, size))  # games[i, j]: games with i first and j second
    score = np.zeros((size, size))  # score[i, j]: i's total score in them
    for (first, second), (wins, draws, losses) in sorted(table.items()):
        games[index[first], index[second]] = wins + draws + losses
        score[index[first], index[second]] = wins + 0.5 * draws

    theta, advantage, covariance, iterations = _newton(games, score, index[anchor], float(prior_games), first_move_advantage)

    ratings: dict[str, float] = {}
    intervals: dict[str, tuple[float, float]] = {}
    free = [i for i in range(size) if i != index[anchor]]
    half_width = np.zeros(size)
    half_width[free] = _Z95 * np.sqrt(np.diag(covariance)[: size - 1])
    for name in names:
        i = index[name]
        rating = float(theta[i] * ELO_PER_NAT)
        ratings[name] = rating
        width = float(half_width[i] * ELO_PER_NAT)
        intervals[name] = (rating - width, rating + width)
    if first_move_advantage:
        advantage_half_width = _Z95 * math.sqrt(float(covariance[-1, -1])) * ELO_PER_NAT
    else:
        advantage_half_width = 0.0
    advantage_elo = float(advantage * ELO_PER_NAT)
    played = games.sum(axis=0) + games.sum(axis=1)
    return Ratings(
        ratings=ratings,
        intervals=intervals,
        first_move_advantage=advantage_elo,
        advantage_interval=(advantage_elo - advantage_half_width, advantage_elo + advantage_half_width),
        games={name: int(played[index[name]]) for name in names},
        anchor=anchor,
        iterations=iterations,
    )


def _count_table(results: Iterable[Sequence[object]]) -> tuple[dict[tuple[str, str], list[int]], dict[str, int]]:
    """Aggregate rows into ``(first, second) -> [wins, draws, losses]`` (integer counts, so exact).

    Also returns each name's first row, for the anchor fallback. Rows are numbered from 0 in errors.
    """
    table: dict[tuple[str, str], list[int]] = {}
    appearance: dict[str, int] = {}
    for row_number, row in enumerate(results):
        try:
            first, second, result = row
        except (TypeError, ValueError):
            raise ConfigError(f"result row {row_number} must be (first_mover, second_mover, score), got {row!r}") from None
        if not isinstance(first, str) or not isinstance(second, str) or not first or not second:
            raise ConfigError(f"result row {row_number} must name players with non-empty strings, got {row!r}")
        if first == second:
            raise ConfigError(f"result row {row_number} has {first!r} playing itself: {row!r}")
        if isinstance(result, bool) or not isinstance(result, numbers.Real) or result not in _VALID_SCORES:
            raise ConfigError(f"result row {row_number} has score {result!r}; valid scores are 1, 0.5 and 0")
        counts = table.setdefault((first, second), [0, 0, 0])
        counts[0 if result == 1 else 1 if result == 0.5 else 2] += 1
        appearance.setdefault(first, row_number)
        appearance.setdefault(second, row_number)
    if not table:
        raise ConfigError("no results to rate: need at least one (first_mover, second_mover, score) row")
    return table, appearance


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


def _log_posterior(theta: np.ndarray, advantage: float, games: np.ndarray, score: np.ndarray, prior_games: float) -> float:
    """Score-weighted binomial log-likelihood plus the virtual-draw prior, in log-odds units."""
    z = theta[:, None] - theta[None, :] + advantage
    log_p_first = -np.logaddexp(0.0, -z)
    log_p_second = -np.logaddexp(0.0, z)
    value = float(np.sum(score * log_p_first + (games - score) * log_p_second))
    per_pair = prior_games / (len(theta) - 1)
    d = theta[:, None] - theta[None, :]
    draws = 0.5 * (-np.logaddexp(0.0, -d) - np.logaddexp(0.0, d))  # one virtual draw between i and j
    np.fill_diagonal(draws, 0.0)
    value += per_pair * 0.5 * float(np.sum(draws))  # each unordered pair counted once
    value += prior_games * 0.5 * (-math.log1p(math.exp(-abs(advantage))) * 2 - abs(advantage))
    return value


def _newton(games: np.ndarray, score: np.ndarray, anchor: int, prior_games: float, fit_advantage: bool) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Damped Newton ascent of the (strictly concave) log-posterior over the free parameters.

    Returns the ratings and advantage in log-odds, the covariance of the free parameters (the
    inverse of the observed information, i.e. of minus the Hessian at the optimum; ratings other
    than the anchor's, then the advantage if fitted) and the number of iterations.
    """
    size = games.shape[0]
    free = np.array([i for i in range(size) if i != anchor])
    theta = np.zeros(size)
    advantage = 0.0
    per_pair = prior_games / (size - 1)
    current = _log_posterior(theta, advantage, games, score, prior_games)
    for iteration in range(1, _MAX_ITERATIONS + 1):
        gradient, information = _gradient_and_information(theta, advantage, games, score, prior_games, per_pair)
        keep = np.append(free, size) if fit_advantage else free
        gradient, information = gradient[keep], information[np.ix_(keep, keep)]
        step = np.linalg.solve(information, gradient)
        scale = 1.0
        while True:  # halve the step until the posterior does not fall; Newton's full step near the optimum
            trial_theta = theta.copy()
            trial_theta[free] += scale * step[: size - 1]
            trial_advantage = advantage + scale * float(step[-1]) if fit_advantage else 0.0
            trial = _log_posterior(trial_theta, trial_advantage, games, score, prior_games)
            if trial >= current - 1e-12 * abs(current) or scale < 1e-6:
                break
            scale *= 0.5
        theta, advantage, current = trial_theta, trial_advantage, trial
        if np.max(np.abs(step)) < _TOLERANCE:
            _, information = _gradient_and_information(theta, advantage, games, score, prior_games, per_pair)
            return theta, advantage, np.linalg.inv(information[np.ix_(keep, keep)]), iteration
    raise RlagentError(f"Elo fit did not converge in {_MAX_ITERATIONS} Newton iterations; please report the table")


def _gradient_and_information(
    theta: np.ndarray, advantage: float, games: np.ndarray, score: np.ndarray, prior_games: float, per_pair: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of the log-posterior and minus its Hessian over (all ratings..., advantage)."""
    size = len(theta)
    p = _sigmoid(theta[:, None] - theta[None, :] + advantage)
    residual = score - games * p  # d log-likelihood / d z for each ordered pair
    weight = games * p * (1.0 - p)  # -d2 log-likelihood / d z2
    q = _sigmoid(theta[:, None] - theta[None, :])
    prior_residual = per_pair * (0.5 - q)
    prior_weight = per_pair * q * (1.0 - q)
    np.fill_diagonal(prior_weight, 0.0)

    gradient = np.empty(size + 1)
    gradient[:size] = residual.sum(axis=1) - residual.sum(axis=0) + prior_residual.sum(axis=1)
    p_advantage = 1.0 / (1.0 + math.exp(-advantage))
    gradient[size] = residual.sum() + prior_games * (0.5 - p_advantage)

    information = np.empty((size + 1, size + 1))
    symmetric = weight + weight.T + prior_weight  # prior_weight is already symmetric
    information[:size, :size] = np.diag(symmetric.sum(axis=1)) - symmetric
    information[:size, size] = information[size, :size] = weight.sum(axis=1) - weight.sum(axis=0)
    information[size, size] = weight.sum() + prior_games * p_advantage * (1.0 - p_advantage)
    return gradient, information


def wilson_interval(wins: float, games: int, z: float = 1.96) -> tuple[float, float]:
    """95% interval for a win rate: unlike the normal approximation it stays inside [0, 1] and is
    honest at 0% or 100%, exactly where a strong agent's results sit."""
    if games == 0:
        return 0.0, 1.0
    p = wins / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games)) / (1 + z * z / games)
    return max(0.0, centre - half), min(1.0, centre + half)
