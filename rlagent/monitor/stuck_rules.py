"""The rules of the stuck-run detector: each reads a window of update rows and says what it saw.

A rule is a plain function ``(view, settings) -> Warning | None``. It looks only at tags that are
there: a learner that does not log a tag (Rainbow has no entropy, A2C's approx KL is measured
before its only step) simply never triggers the rules built on it, so a quiet detector never
means "checked and fine" for a tag the run does not write. The bookkeeping (the sliding window,
the run's starting levels, the cooldown) lives in :mod:`rlagent.monitor.stuck`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from statistics import fmean, median

__all__ = ["RETURN_TAGS", "RULES", "START_TAGS", "TAGS", "StuckSettings", "WindowView", "Warning"]

Row = Mapping[str, float]

ENTROPY = "train/entropy_loss"  # minus the entropy
KL = "train/approx_kl"
CLIP = "train/clip_fraction"
EARLY_STOPPED = "train/early_stopped"
OPTIMIZER_STEPS = "train/optimizer_steps"
EXPLAINED_VARIANCE = "train/explained_variance"
LEARNING_RATE = "train/learning_rate"
GRAD_NORM = "grad/norm_total"
# How well the agent does, best first: a task's own score is a cleaner signal than a mean return.
RETURN_TAGS: tuple[str, ...] = ("trial/accuracy", "rollout/win_rate", "rollout/ep_rew_mean")
# Magnitudes that run away before a NaN: the critic's output (Rainbow's Q), its loss, the gradient.
GROWTH_TAGS: tuple[str, ...] = ("value/mean", "train/q_mean", "train/value_loss", GRAD_NORM)
# Tags whose level at the start of the run some rule compares with (their first few values).
START_TAGS: tuple[str, ...] = (ENTROPY, LEARNING_RATE, GRAD_NORM, *RETURN_TAGS)
# Everything any rule reads; the detector keeps nothing else.
VALUE_MEAN, VALUE_STD, VALUE_LOSS = "value/mean", "value/std", "train/value_loss"
TAGS: frozenset[str] = frozenset({KL, CLIP, EARLY_STOPPED, OPTIMIZER_STEPS, EXPLAINED_VARIANCE, VALUE_STD, *START_TAGS, *GROWTH_TAGS})


@dataclass(frozen=True)
class Warning:  # shadows the builtin only where imported by name, as the detector's callers do
    """One finding: the rule that fired, the step of the row it fired on, one line for a console."""

    rule: str
    step: int
    message: str


@dataclass(frozen=True)
class StuckSettings:
    """Thresholds of the rules, each chosen so a healthy run stays far from it.

    Calibrated on a healthy PPO CartPole-v1 run (50k steps, 196 updates, the CartPole preset):
    its approx KL lay between 5e-6 (annealed learning rate) and 0.02, its clip fraction mostly
    0.02-0.2, its mean |explained variance| over any 20 updates after the 10th at least 0.6,
    its gradient norm fell from ~10 to ~0.2 and jumped to 25x its running median on single
    updates (4.7x on two in a row), its value loss jumped 1000x in one update with at most 3
    doublings in a row. Each field below says why its value.

    ``stuck_kl`` (1e-4): healthy PPO moves the policy by 0.005-0.02 nats per update; every update
    of the window 50x smaller than that means the step size does nothing.
    ``stuck_clip_fraction`` (0.01): healthy PPO clips 2-30% of the samples; under 1% on every
    update means the ratio hardly leaves 1.
    ``stuck_entropy_drop`` (0.05): entropy that fell by less than 5% across the window is "not
    falling", as the policy of a learning run sharpens.
    ``stuck_entropy_kept`` (0.5): stuck means stuck near the start; a converged policy also makes
    tiny updates, but its entropy fell well below half its starting level.
    ``lr_annealed`` (0.5): with the learning rate scheduled below half its start, small updates
    are by design, not a symptom.
    ``return_gain`` (0.1): a return (win rate, accuracy) counts as risen once 10% above its
    reference level (any rise when that level is 0), above the noise of a 100-episode mean.
    ``collapse_fraction`` (0.1) / ``collapse_floor`` (0.01): an entropy at a tenth of its start
    (0.07 nats for two actions: one action at 99%) or below 0.01 nats is a deterministic policy.
    ``start_updates`` (3): the run's starting level of a tag is the mean of its first 3 values,
    so one noisy first update does not set it.
    ``warmup_updates`` (10): the critic starts from nothing and values grow from 0 while it learns;
    the explained-variance and growth rules wait until this many updates are done.
    ``ev_fit_fraction`` (0.1): no EV alarm while the value loss is under a tenth of the values'
    second moment (mean^2 + std^2): the critic fits the returns, which merely hardly vary.
    ``ev_zero`` (0.05): the mean |explained variance| over the window under 5% is a critic no
    better than a constant (the healthy run's lowest such mean after warm-up was 0.6).
    ``explosion_factor`` (10) over ``explosion_updates`` (2): a healthy run's gradient spikes on
    single updates (25x once); two updates in a row at 10x the median are no longer a spike.
    ``explosion_history`` (5): the median needs a few updates to mean something.
    ``vanish_floor`` (1e-6): a total gradient norm below 1e-6 moves no float32 weight.
    ``vanish_factor`` (1e-4): four orders of magnitude below the start; the healthy run fell two.
    ``kl_huge`` (1.0): one nat between consecutive policies is 50-100x a healthy update.
    ``growth_updates`` (5), ``growth_per_update`` (2), ``growth_total`` (100): at least doubling on
    each of 5 updates in a row and 100x in all, i.e. 10x every 2-3 updates; healthy runs' spikes
    come and go (at most 3 doublings in a row in the calibration run).
    """

    stuck_kl: float = 1e-4
    stuck_clip_fraction: float = 0.01
    stuck_entropy_drop: float = 0.05
    stuck_entropy_kept: float = 0.5
    lr_annealed: float = 0.5
    return_gain: float = 0.1
    collapse_fraction: float = 0.1
    collapse_floor: float = 0.01
    start_updates: int = 3
    warmup_updates: int = 10
    ev_zero: float = 0.05
    ev_fit_fraction: float = 0.1
    explosion_factor: float = 10.0
    explosion_updates: int = 2
    explosion_history: int = 5
    vanish_floor: float = 1e-6
    vanish_factor: float = 1e-4
    kl_huge: float = 1.0
    growth_updates: int = 5
    growth_per_update: float = 2.0
    growth_total: float = 100.0


@dataclass(frozen=True)
class WindowView:
    """What a rule sees: the last rows (oldest first), how full the window must be, how many
    updates the run has done in all (the last row's included), the run's starting level and
    best value of some tags, and the config section whose keys the suggestions name."""

    rows: Sequence[Row]
    capacity: int
    updates: int
    start: Mapping[str, float]
    peak: Mapping[str, float]
    section: str = "ppo"

    @property
    def full(self) -> bool:
        return len(self.rows) >= self.capacity

    @property
    def step(self) -> int:
        return int(self.rows[-1]["step"])

    def values(self, tag: str) -> list[float]:
        """The tag's values in the window, oldest first, from the rows that have it."""
        return [row[tag] for row in self.rows if tag in row]

    def everywhere(self, tag: str) -> list[float] | None:
        """The tag's values if every row of a full window has it, else None (the rule waits)."""
        values = self.values(tag)
        return values if self.full and len(values) == len(self.rows) else None

    def return_tag(self) -> str | None:
        """The score a rule judges progress by: the first of ``RETURN_TAGS`` the window has."""
        return next((tag for tag in RETURN_TAGS if any(tag in row for row in self.rows)), None)


def _rose(reference: float, value: float, gain: float) -> bool:
    """``value`` is above ``reference`` by the relative ``gain`` (any rise when the reference is 0)."""
    return value > reference + gain * abs(reference)


def _relative_change(values: Sequence[float]) -> float:
    """The least-squares trend across the series as a fraction of its mean level: robust to the
    update-to-update noise that a first-versus-last comparison would read as a trend."""
    n = len(values)
    xs = range(n)
    x_mean, y_mean = (n - 1) / 2, fmean(values)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, values)) / sum((x - x_mean) ** 2 for x in xs)
    return slope * (n - 1) / max(abs(y_mean), 1e-12)


def stuck_mode(view: WindowView, s: StuckSettings) -> Warning | None:
    """Tiny KL and clipping, flat entropy near its start and a flat return: the policy is not
    moving, so the step size (or an entropy bonus pulling it back) is the lever."""
    kl, entropy = view.everywhere(KL), view.everywhere(ENTROPY)
    steps, ret_tag = view.values(OPTIMIZER_STEPS), view.return_tag()
    # With one optimiser step the KL is measured before the step (A2C): always 0, it says nothing.
    if kl is None or entropy is None or ret_tag is None or any(n <= 1 for n in steps):
        return None
    returns, clip = view.everywhere(ret_tag), view.everywhere(CLIP)
    if returns is None or max(kl) >= s.stuck_kl or (clip is not None and max(clip) >= s.stuck_clip_fraction):
        return None
    lr, lr_start = view.values(LEARNING_RATE), view.start.get(LEARNING_RATE)
    if lr and lr_start and lr[-1] < s.lr_annealed * lr_start:
        return None
    entropies = [-e for e in entropy]
    start_entropy = view.start.get(ENTROPY)
    if start_entropy is not None and -start_entropy > 0 and fmean(entropies) < s.stuck_entropy_kept * -start_entropy:
        return None
    change = _relative_change(entropies)
    third = max(len(returns) // 3, 1)
    before, after = fmean(returns[:third]), fmean(returns[-third:])
    if change <= -s.stuck_entropy_drop or _rose(before, after, s.return_gain):
        return None
    clip_text = "" if clip is None else f", clip_fraction <= {max(clip):.2g}"
    # With the gradient gone too, the step size is not what holds the policy: a larger one is
    # what kills ReLU layers in the first place.
    norms, start_norm = view.values(GRAD_NORM), view.start.get(GRAD_NORM)
    if norms and start_norm and (max(norms) < s.vanish_floor or max(norms) < s.vanish_factor * start_norm):
        advice = (
            f"the gradient has vanished as well, so a larger step will not help: look for dead layers "
            f"(act/*/dead_fraction, python -m rlagent.diagnose) and restart with a lower {view.section}.learning_rate"
        )
    else:
        advice = f"updates too small: raise {view.section}.learning_rate or lower {view.section}.entropy_coef"
    return Warning(
        "stuck_mode",
        view.step,
        (
            f"the policy barely moves over the last {len(kl)} updates: approx_kl <= {max(kl):.2g}{clip_text}, "
            f"entropy {entropies[0]:.3g} -> {entropies[-1]:.3g} ({change:+.1%}), {ret_tag} {before:.3g} -> {after:.3g}; {advice}"
        ),
    )


def entropy_collapse(view: WindowView, s: StuckSettings) -> Warning | None:
    """The policy turned deterministic while the score never beat its starting level: it stopped
    exploring before it found any reward, and more training will not find it either."""
    entropy, ret_tag = view.values(ENTROPY), view.return_tag()
    start_entropy = view.start.get(ENTROPY)
    if ret_tag is None or start_entropy is None or -start_entropy <= 0 or len(entropy) < s.start_updates:
        return None
    ret_start, ret_peak = view.start.get(ret_tag), view.peak.get(ret_tag)
    if ret_start is None or ret_peak is None or _rose(ret_start, ret_peak, s.return_gain):
        return None
    now, start = -fmean(entropy[-s.start_updates :]), -start_entropy
    if now >= max(s.collapse_fraction * start, s.collapse_floor):
        return None
    return Warning(
        "entropy_collapse",
        view.step,
        (
            f"entropy fell from {start:.3g} to {now:.3g} ({now / start:.0%} of its start) while {ret_tag} "
            f"never rose above its start {ret_start:.3g} (best {ret_peak:.3g}): collapsed to a deterministic "
            f"policy before any reward; raise {view.section}.entropy_coef or lower {view.section}.learning_rate"
        ),
    )


def kl_early_stop_always(view: WindowView, s: StuckSettings) -> Warning | None:
    """Every update cut short by KL early stopping: the learning rate overshoots the KL budget at
    once, so each update runs a fraction of its epochs and the configured epochs are wasted."""
    stopped = view.everywhere(EARLY_STOPPED)
    if stopped is None or min(stopped) < 0.5:
        return None
    steps, kl = view.values(OPTIMIZER_STEPS), view.values(KL)
    steps_text = f" after {fmean(steps):.1f} optimizer steps on average" if steps else ""
    kl_text = f", approx_kl {fmean(kl):.2g}" if kl else ""
    return Warning(
        "kl_early_stop_always",
        view.step,
        (
            f"KL early stopping cut all of the last {len(stopped)} updates{steps_text}{kl_text}: "
            f"{view.section}.kl_target is too small for this learning rate; raise {view.section}.kl_target "
            f"or lower {view.section}.learning_rate"
        ),
    )


def explained_variance_zero(view: WindowView, s: StuckSettings) -> Warning | None:
    """A critic no better than a constant after warm-up: the advantages are then the raw returns'
    noise and the policy gradient has no baseline to speak of."""
    ev = view.everywhere(EXPLAINED_VARIANCE)
    if ev is None or view.updates - len(ev) < s.warmup_updates:
        return None
    # A critic whose error is small next to the values it predicts is right, whatever its EV: once
    # nearly every game is won the returns hardly vary, and EV reads ~0 (or far below) for it.
    loss, means, stds = view.values(VALUE_LOSS), view.values(VALUE_MEAN), view.values(VALUE_STD)
    if loss and means:
        second_moment = fmean(m * m for m in means) + (fmean(sd * sd for sd in stds) if stds else 0.0)
        if fmean(loss) < s.ev_fit_fraction * second_moment:
            return None
    mean_abs = fmean(abs(v) for v in ev)
    if mean_abs >= s.ev_zero:
        return None
    return Warning(
        "explained_variance_zero",
        view.step,
        (
            f"explained variance stayed near 0 over the last {len(ev)} updates (mean |EV| {mean_abs:.3f}, "
            f"range {min(ev):.2f} to {max(ev):.2f}): the critic predicts nothing; raise {view.section}.value_loss_coef, "
            f"try policy.separate_critic=true or larger policy.hidden_sizes, and check the reward scale"
        ),
    )


def gradient_explosion(view: WindowView, s: StuckSettings) -> Warning | None:
    """The gradient norm stays an order of magnitude above its recent median: a loss term or the
    step size blew up, and the clipped steps now all point where that term says."""
    norms = view.values(GRAD_NORM)
    recent, history = norms[-s.explosion_updates :], norms[: -s.explosion_updates]
    if len(history) < s.explosion_history or GRAD_NORM not in view.rows[-1]:
        return None
    typical = median(history)
    if typical <= 0 or min(recent) < s.explosion_factor * typical:
        return None
    shown = ", ".join(f"{n:.3g}" for n in recent)
    return Warning(
        "gradient_explosion",
        view.step,
        (
            f"grad/norm_total jumped to {shown} on the last {len(recent)} updates, {min(recent) / typical:.0f}x "
            f"its running median {typical:.3g}: lower {view.section}.learning_rate or "
            f"{view.section}.max_grad_norm, and check the reward scale"
        ),
    )


def gradient_vanishing(view: WindowView, s: StuckSettings) -> Warning | None:
    """Gradients that are (numerically) zero, or orders of magnitude below their start: the
    network has saturated or the loss carries no signal, and no step size fixes that."""
    norms = view.values(GRAD_NORM)
    if not view.full or len(norms) < (len(view.rows) + 1) // 2:
        return None
    highest, start = max(norms), view.start.get(GRAD_NORM)
    decayed = start is not None and start > 0 and highest < s.vanish_factor * start
    if highest >= s.vanish_floor and not decayed:
        return None
    since = f" (it started at {start:.3g})" if start is not None else ""
    return Warning(
        "gradient_vanishing",
        view.step,
        (
            f"grad/norm_total stayed at or below {highest:.2g} over the last {len(norms)} updates{since}: "
            f"gradients vanished; check that rewards vary, keep {view.section}.normalize_advantage=true, "
            f"or raise {view.section}.learning_rate / use smaller policy.hidden_sizes if the network saturated"
        ),
    )


def _runaway(view: WindowView, s: StuckSettings, tag: str) -> tuple[float, float, float] | None:
    """``(first, last, factor)`` if ``|tag|`` rose at least ``growth_per_update``-fold on each of
    the last ``growth_updates`` updates and ``growth_total``-fold in all, after warm-up."""
    span = s.growth_updates + 1
    tail = view.rows[-span:]
    if len(tail) < span or view.updates - span < s.warmup_updates or any(tag not in row for row in tail):
        return None
    values = [abs(row[tag]) for row in tail]
    if values[0] <= 0 or any(b < s.growth_per_update * a for a, b in zip(values, values[1:])):
        return None
    factor = values[-1] / values[0]
    return (values[0], values[-1], factor) if factor >= s.growth_total else None


def nan_precursor(view: WindowView, s: StuckSettings) -> Warning | None:
    """Magnitudes growing geometrically, or a huge KL between consecutive policies: the run is
    on its way to an overflow, which ends it with nothing to learn from but the last checkpoint."""
    advice = f"lower {view.section}.learning_rate, set {view.section}.max_grad_norm and check the reward scale"
    kl = view.rows[-1].get(KL)
    if kl is not None and kl > s.kl_huge:
        return Warning(
            "nan_precursor",
            view.step,
            (
                f"approx_kl reached {kl:.3g} on the last update (a healthy update moves ~0.01): "
                f"the run is heading to NaN: {advice}, or set {view.section}.kl_target"
            ),
        )
    for tag in GROWTH_TAGS:
        found = _runaway(view, s, tag)
        if found is not None:
            first, last, factor = found
            return Warning(
                "nan_precursor",
                view.step,
                (
                    f"|{tag}| grew {factor:.0f}x over the last {s.growth_updates} updates ({first:.3g} -> {last:.3g}), "
                    f"at least {s.growth_per_update:g}x each: the run is heading to NaN: {advice}"
                ),
            )
    return None


Rule = Callable[[WindowView, StuckSettings], "Warning | None"]

# In the order their warnings are reported for one update; names are the rules' public names.
RULES: dict[str, Rule] = {
    rule.__name__: rule
    for rule in (
        nan_precursor,
        gradient_explosion,
        gradient_vanishing,
        kl_early_stop_always,
        stuck_mode,
        entropy_collapse,
        explained_variance_zero,
    )
}
