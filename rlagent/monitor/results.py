"""Games won, drawn and lost by score, for envs that report each game's ``result`` when it ends.

The Arena pays rewards all game long (the hill, hits, a kill), so the mean return says little
about who won; its env reports ``info["result"]`` (1 won, 0.5 drawn, 0 lost by score) on the
step a game ends, and this monitor turns the last ``window`` of them into ``rollout/win_rate``
and ``rollout/draw_rate`` (the tag board games get from their +-1 returns).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from rlagent.monitor.trials import step_field


class GameResults:
    """The last ``window`` game results reported in ``info["result"]``."""

    def __init__(self, window: int = 100) -> None:
        self.results: deque[float] = deque(maxlen=window)

    def update(self, info: dict[str, Any], dones: np.ndarray, rewards: np.ndarray) -> None:
        if not dones.any():
            return
        result = step_field(info, "result", dones)
        if result is not None:
            self.results.extend(np.asarray(result, float)[dones].tolist())

    def summary(self) -> dict[str, float]:
        if not self.results:
            return {}
        results = np.asarray(self.results)
        return {"rollout/win_rate": float(np.mean(results == 1.0)), "rollout/draw_rate": float(np.mean(results == 0.5))}

    def state_dict(self) -> dict[str, Any]:
        return {"results": list(self.results)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.results.clear()
        self.results.extend(state["results"])
