"""What every learner's config section shares: the optimiser and loss fields' checks, and the schedules.

Written once so that ``ppo.learning_rate`` and ``reinforce.learning_rate`` are checked, scheduled
and reported alike.
"""

from __future__ import annotations

from typing import Any

from rlagent.losses import VALUE_LOSSES
from rlagent.validation import ALGORITHM_SECTION, choice, non_negative, positive, unit_interval

SCHEDULES = ("constant", "linear")
OPTIMIZERS = ("adam", "rmsprop")


def validate_learner_fields(config: Any) -> None:
    """The checks of the fields a learner's section shares with the others (those it has)."""
    section = ALGORITHM_SECTION

    def has(*names: str) -> tuple[str, ...]:
        return tuple(name for name in names if hasattr(config, name))

    positive(config, section, *has("learning_rate", "adam_eps"))
    positive(config, section, *has("max_grad_norm"), optional=True)
    non_negative(config, section, *has("actor_loss_coef", "value_loss_coef", "entropy_coef"))
    unit_interval(config, section, *has("discount_factor"))
    for name, choices in (("lr_schedule", SCHEDULES), ("value_loss", VALUE_LOSSES), ("optimizer", OPTIMIZERS)):
        if hasattr(config, name):
            choice(config, section, name, choices)


def scheduled(value: float, schedule: str, updates_done: int, total_updates: int) -> float:
    """``value`` at this point of the run: ``constant``, or ``linear`` from ``value`` at the first
    update down to 0 after the last (SB3's and CleanRL's annealing)."""
    if schedule == "constant":
        return value
    return value * max(0.0, 1.0 - updates_done / max(1, total_updates))
