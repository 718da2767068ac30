"""Bradley–Terry Elo: recovers known ratings, order-independent, anchored, finite for unbeaten players."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlagent.errors import ConfigError
from rlagent.games.elo import (
    bradley_terry,
    colour_balanced_pairings,
    elo_difference_from_win_rate,
    expected_score,
    fit_ratings,
)

TRUE_RATINGS = {"random": 0.0, "p100": 100.0, "p300": 300.0, "p600": 600.0}
TRUE_ADVANTAGE = 50.0


def simulate(ratings: dict[str, float], advantage: float, games_per_pair: int, seed: int) -> list[tuple[str, str, float]]:
    """Colour-balanced games under the model; draws take equally from wins and losses, so E[score] is the model's."""
    rng = np.random.default_rng(seed)
    pairings = colour_balanced_pairings(sorted(ratings), games_per_pair)
    p = np.array([expected_score(ratings[a], ratings[b], advantage) for a, b in pairings])
    draw_half = 0.1 * np.minimum(p, 1.0 - p)
    u = rng.random(len(pairings))
    scores = np.where(u < p - draw_half, 1.0, np.where(u < p + draw_half, 0.5, 0.0))
    return [(a, b, float(s)) for (a, b), s in zip(pairings, scores)]


def balanced_record(a: str, b: str, a_wins: int, b_wins: int) -> list[tuple[str, str, float]]:
    """``a`` wins ``a_wins`` and loses ``b_wins`` games with each colour: no first-move effect in the data."""
    rows = []
    for first, second, first_is_a in ((a, b, True), (b, a, False)):
        rows += [(first, second, 1.0 if first_is_a else 0.0)] * a_wins
        rows += [(first, second, 0.0 if first_is_a else 1.0)] * b_wins
    return rows


def test_recovers_known_ratings_and_first_move_advantage() -> None:
    fit = fit_ratings(simulate(TRUE_RATINGS, TRUE_ADVANTAGE, 2000, seed=0), anchor="random")
    assert fit.anchor == "random" and fit.ratings["random"] == 0.0 and fit.intervals["random"] == (0.0, 0.0)
    for name, truth in TRUE_RATINGS.items():
        low, high = fit.intervals[name]
        assert low <= truth <= high, (name, fit.ratings[name], (low, high))
        assert high - low < 60.0
        assert fit.games[name] == 3 * 2000
    low, high = fit.advantage_interval
    assert low <= TRUE_ADVANTAGE <= high and high - low < 30.0
    assert fit.ratings["p100"] < fit.ratings["p300"] < fit.ratings["p600"]


def test_75_percent_is_about_191_elo() -> None:
    assert elo_difference_from_win_rate(0.75) == pytest.approx(190.8485, abs=1e-3)
    assert expected_score(190.8485, 0.0) == pytest.approx(0.75, abs=1e-6)
    assert expected_score(0.0, 0.0, advantage=190.8485) == pytest.approx(0.75, abs=1e-6)
    fit = fit_ratings(balanced_record("a", "b", 1500, 500), anchor="b")
    difference = fit.ratings["a"] - fit.ratings["b"]
    low, high = fit.intervals["a"]
    assert low <= 190.8485 <= high and abs(difference - 190.8485) < 15.0
    assert 0.0 < 190.8485 - difference < 0.2  # the prior shrinks, slightly, towards 0
    assert abs(fit.first_move_advantage) < 1e-9
    assert bradley_terry(balanced_record("a", "b", 1500, 500), anchor="b")["a"] == (difference, low, high)


def test_row_order_does_not_change_the_fit() -> None:
    rows = simulate(TRUE_RATINGS, TRUE_ADVANTAGE, 100, seed=1)
    shuffled = rows.copy()
    random.Random(0).shuffle(shuffled)
    assert fit_ratings(shuffled, anchor="random") == fit_ratings(rows, anchor="random")


def test_anchor_shifts_every_rating_by_one_constant() -> None:
    rows = simulate(TRUE_RATINGS, TRUE_ADVANTAGE, 50, seed=2)
    by_random = fit_ratings(rows, anchor="random")
    by_p300 = fit_ratings(rows, anchor="p300")
    assert by_p300.ratings["p300"] == 0.0 and by_p300.intervals["p300"] == (0.0, 0.0)
    shift = by_random.ratings["p300"]
    for name in TRUE_RATINGS:
        assert by_p300.ratings[name] == pytest.approx(by_random.ratings[name] - shift, abs=1e-9)
    assert by_p300.first_move_advantage == pytest.approx(by_random.first_move_advantage, abs=1e-9)


def test_anchor_fallback_is_the_first_player_to_appear() -> None:
    rows = [("ckpt_2", "ckpt_1", 1.0), ("ckpt_1", "ckpt_2", 0.5)]
    assert fit_ratings(rows).anchor == "ckpt_2"  # "random" did not play
    assert fit_ratings(rows, anchor=None).anchor == "ckpt_2"
    assert fit_ratings(rows, anchor="ckpt_1").ratings["ckpt_1"] == 0.0


def test_draws_count_half() -> None:
    only_draws = fit_ratings([("a", "b", 0.5), ("b", "a", 0.5)] * 20, anchor="a")
    assert only_draws.ratings["b"] == pytest.approx(0.0, abs=1e-9)
    base = [("a", "c", 1.0), ("c", "b", 0.0), ("b", "a", 0.5), ("c", "a", 1.0)]
    win_and_loss = fit_ratings(base + [("a", "b", 1.0), ("a", "b", 0.0)], anchor="a")
    two_draws = fit_ratings(base + [("a", "b", 0.5), ("a", "b", 0.5)], anchor="a")
    assert win_and_loss.ratings == pytest.approx(two_draws.ratings, abs=1e-9)
    assert win_and_loss.intervals["b"] == pytest.approx(two_draws.intervals["b"], abs=1e-9)


@pytest.mark.parametrize("score, sign", [(1.0, 1.0), (0.0, -1.0)])
def test_unbeaten_and_winless_players_get_finite_ratings(score: float, sign: float) -> None:
    rows = simulate({"random": 0.0, "b": 200.0, "c": 400.0}, 0.0, 40, seed=3)
    rows += [("d", opponent, score) for opponent in ("random", "b", "c")] * 30
    rows += [(opponent, "d", 1.0 - score) for opponent in ("random", "b", "c")] * 30
    fit = fit_ratings(rows, anchor="random")
    low, high = fit.intervals["d"]
    assert all(math.isfinite(x) for x in (fit.ratings["d"], low, high)) and low < fit.ratings["d"] < high
    others = [rating for name, rating in fit.ratings.items() if name != "d"]
    assert sign * fit.ratings["d"] > max(sign * rating for rating in others)
    lopsided = fit_ratings([("a", "b", score)] * 50_000 + [("b", "a", 1.0 - score)] * 50_000, anchor="b")
    assert math.isfinite(lopsided.ratings["a"]) and sign * lopsided.ratings["a"] > 1000.0


@pytest.mark.parametrize(
    "row, message",
    [
        (("a", "b", 2), "result row 1 has score 2; valid scores are 1, 0.5 and 0"),
        (("a", "b", True), "result row 1 has score True"),
        (("a", "b"), "result row 1 must be (first_mover, second_mover, score), got ('a', 'b')"),
        (("a", "a", 1), "result row 1 has 'a' playing itself"),
        ((None, "a", 1), "result row 1 must name players with non-empty strings"),
    ],
)
def test_bad_rows_raise_one_line_config_errors(row: tuple, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        fit_ratings([("a", "b", 1.0), row])
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fit_ratings([]), "no results to rate"),
        (lambda: fit_ratings([("a", "b", 1)], prior_games=0), "prior_games must be a positive number"),
        (lambda: elo_difference_from_win_rate(1.0), "strictly between 0 and 1"),
        (lambda: colour_balanced_pairings(["a", "b"], 3), "games_per_pair must be even"),
        (lambda: colour_balanced_pairings(["a", "a"], 2), "players must be distinct"),
    ],
)
def test_bad_arguments_raise_config_errors(call, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()


def test_colour_balanced_pairings() -> None:
    players = ["random", "c1", "c2", "c3"]
    pairings = colour_balanced_pairings(players, 6)
    assert len(pairings) == 6 * 6
    for i, a in enumerate(players):
        for b in players[i + 1 :]:
            assert pairings.count((a, b)) == pairings.count((b, a)) == 3


def test_without_first_move_advantage_it_is_held_at_zero() -> None:
    rows = [("a", "b", 1.0)] * 30 + [("b", "a", 1.0)] * 30  # the first mover always wins
    with_advantage = fit_ratings(rows, anchor="a")
    without = fit_ratings(rows, anchor="a", first_move_advantage=False)
    assert with_advantage.first_move_advantage > 300.0 and with_advantage.ratings["b"] == pytest.approx(0.0, abs=1e-9)
    assert without.first_move_advantage == 0.0 and without.advantage_interval == (0.0, 0.0)
    assert without.ratings["b"] == pytest.approx(0.0, abs=1e-9)


names = st.sampled_from(["random", "a", "b", "c", "d"])
rows_strategy = st.lists(
    st.tuples(names, names, st.sampled_from([0.0, 0.5, 1.0])).filter(lambda row: row[0] != row[1]),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, seed=st.integers(0, 2**16))
def test_fit_is_a_function_of_the_table_alone(rows: list[tuple[str, str, float]], seed: int) -> None:
    anchor = rows[0][0]
    fit = fit_ratings(rows, anchor=anchor)
    shuffled = rows.copy()
    random.Random(seed).shuffle(shuffled)
    assert fit_ratings(shuffled, anchor=anchor) == fit  # permuting rows changes nothing, bit for bit
    # Swapping colours and scores in every game is the same table with the advantage negated.
    mirrored = fit_ratings([(b, a, 1.0 - s) for a, b, s in rows], anchor=anchor)
    assert mirrored.ratings == pytest.approx(fit.ratings, abs=1e-7)
    assert mirrored.first_move_advantage == pytest.approx(-fit.first_move_advantage, abs=1e-7)
    # Another anchor shifts every rating by the same constant and leaves the interval widths of differences alone.
    other = sorted(fit.ratings)[-1]
    reanchored = fit_ratings(rows, anchor=other)
    for name, rating in fit.ratings.items():
        assert reanchored.ratings[name] == pytest.approx(rating - fit.ratings[other], abs=1e-7)
        assert all(math.isfinite(x) for x in fit.intervals[name])
