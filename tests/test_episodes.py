"""rlagent.episodes: the evaluation the evaluate command prints, as library functions."""

from __future__ import annotations

import numpy as np
import pytest

import rlagent.episodes as episodes
from rlagent.agent import Agent


def test_win_rates_by_colour_plays_each_colour_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards: a colour mixed up (the first player's games reported as the second's), the odd game
    lost, or both halves played with the same opponent seed."""
    calls = []

    def fake_play(agent, games, opponent, agent_color, seed, deterministic, trial_stats=None, actor=None):
        assert actor is None  # the agent's own policy moves unless a search is given
        # a named search comes as its name: the env builds it, seeded with this half's seed
        calls.append((games, agent_color, seed, opponent if isinstance(opponent, str) else opponent.name))
        # as the first player the agent wins every game, as the second none
        return np.full(games, 1.0 if agent_color == 0 else -1.0)

    monkeypatch.setattr(episodes, "play_episodes", fake_play)
    results = episodes.win_rates_by_colour(Agent(None, None, None), "mcts7", 7, seed=10)
    assert [(r.colour, r.wins, r.games) for r in results] == [(0, 3, 3), (1, 0, 4)]
    assert calls == [(3, 0, 10, "mcts7"), (4, 1, 11, "mcts7")]
    assert results[0].rate == 1.0 and results[0].interval[1] == 1.0 and results[1].interval[0] == 0.0
