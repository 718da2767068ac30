"""Policy and value diagnostics split by stage: the move number in a game, the period in a trial.

An average over a whole rollout hides where a network is weak. In Hex the opening is nearly
free of consequence and the endgame is forced, so a critic can look good on average while it
cannot tell a won middle game from a lost one; a policy's entropy can fall because the endgame
became sharp while the opening stays random. In a trial task the period (fixation, stimulus,
delay, decision) plays the same part. The functions here take flat batches (B,) of samples with
a stage bucket each and return ``dict[str, float]`` of TensorBoard tags; the trainer picks the
samples (e.g. the resolved, valid steps of a rollout, see :mod:`rlagent.monitor.outcomes`).

A tag is left out, never NaN, where it has nothing to measure (an empty bucket, no decided game),
so a curve in TensorBoard has gaps only where there was no data.

Samples whose bucket is negative (a stage before the first edge, or no stage at all) are left
out of everything here, overall tags included: the overall figure is then the count-weighted
mean of the buckets'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EXTREME = 0.9  # |value| above this counts as a confident prediction in ``extremity``


def stage_labels(stage: np.ndarray, edges: Sequence[int], names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Bucket each stage by ``edges`` (the buckets' first stages, increasing): (bucket index, labels).

    ``edges=[0, 5, 10]`` gives buckets ``"0-4"``, ``"5-9"``, ``"10+"``; a one-stage bucket is
    labelled by its number (``"3"``). ``names`` (one per edge) replaces the labels, for trial
    periods (:func:`period_labels`). A stage below ``edges[0]`` gets bucket -1: left out.
    """
    firsts = np.asarray(edges, dtype=np.int64)
    if firsts.ndim != 1 or firsts.size == 0 or np.any(np.diff(firsts) <= 0):
        raise ValueError(f"edges must be a non-empty increasing sequence of stages, got {firsts.tolist()}")
    if names is not None and len(names) != firsts.size:
        raise ValueError(f"{len(names)} names for {firsts.size} buckets")
    buckets = np.searchsorted(firsts, np.asarray(stage), side="right") - 1
    if names is not None:
        return buckets, [str(name) for name in names]
    labels = [str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(firsts[:-1].tolist(), firsts[1:].tolist())]
    labels.append(f"{firsts[-1]}+")
    return buckets, labels


def move_edges(max_stage: int, buckets: int = 5) -> list[int]:
    """About ``buckets`` equal-width buckets of move numbers ``0..max_stage``.

    Pass the game's longest possible episode (``n * n - 1`` for an n x n Hex board), not the
    longest one seen in this rollout: edges that move between updates would rename the tags and
    split each curve in TensorBoard.
    """
    if max_stage < 0 or buckets < 1:
        raise ValueError(f"need max_stage >= 0 and buckets >= 1, got {max_stage}, {buckets}")
    width = math.ceil((max_stage + 1) / buckets)
    return list(range(0, max_stage + 1, width))


def period_labels(period: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Trial periods already are small bucket indices (0..len(names)-1); name them.

    An index outside the names (e.g. -1 for no period) gets bucket -1: left out.
    """
    period = np.asarray(period)
    return np.where((period >= 0) & (period < len(names)), period, -1), [str(name) for name in names]


def _bucket_means(bucket: np.ndarray, count: np.ndarray, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-bucket means of each (B,) column, NaN for an empty bucket; ``bucket`` is >= 0 here."""
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, column in columns.items():
            out[name] = np.bincount(bucket, weights=column, minlength=count.size) / count
    return out


def _tags(prefix: str, labels: Sequence[str], count: np.ndarray, per_bucket: dict[str, np.ndarray]) -> dict[str, float]:
    """``<prefix>/<label>/<name>`` for each non-empty bucket and finite figure."""
    metrics = {}
    for index, label in enumerate(labels):
        if count[index] == 0:
            continue
        for name, values in per_bucket.items():
            if np.isfinite(values[index]):
                metrics[f"{prefix}/{label}/{name}"] = float(values[index])
    return metrics


def _kept(bucket: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    bucket = np.asarray(bucket)
    if np.any(bucket >= len(labels)):
        raise ValueError(f"a bucket index >= {len(labels)}, the number of labels")
    return bucket >= 0


def policy_by_stage(
    probs: np.ndarray,
    stage_bucket: np.ndarray,
    labels: Sequence[str],
    legal: np.ndarray | None = None,
    masked: bool = True,
) -> dict[str, float]:
    """How sure and how spread the policy is, per stage and overall.

    ``probs`` (B, A) are the policy's action probabilities as it sampled them (after masking,
    for a masked policy). Per bucket: ``policy/by_stage/<label>/entropy`` (mean, nats),
    ``.../branching`` (exp of that entropy: the effective number of moves considered; k for a
    uniform choice among k), ``.../top_prob`` (mean probability of the likeliest move) and, only
    for a policy trained *without* masks (``masked=False``) when ``legal`` (B, A) is known,
    ``.../legal_mass`` (mean probability on legal moves: how much it still wastes on illegal
    ones; a masked policy has 1 by construction, so the tag would say nothing). The same without
    ``by_stage/<label>/`` for all kept samples.

    Branching is exp(mean entropy), the perplexity, rather than mean(exp(entropy)), so that it
    stays exactly ``exp`` of the entropy tag beside it.
    """
    probs = np.asarray(probs, dtype=np.float64)
    keep = _kept(stage_bucket, labels)
    probs = probs[keep]
    bucket = np.asarray(stage_bucket)[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=1)
    columns = {"entropy": entropy, "top_prob": probs.max(axis=1, initial=0.0)}
    if legal is not None and not masked:
        columns["legal_mass"] = np.sum(probs * np.asarray(legal, dtype=bool)[keep], axis=1)
    count = np.bincount(bucket, minlength=len(labels)).astype(np.float64)
    per_bucket = _bucket_means(bucket, count, columns)
    per_bucket = {"entropy": per_bucket["entropy"], "branching": np.exp(per_bucket["entropy"]), **per_bucket}
    metrics = _tags("policy/by_stage", labels, count, per_bucket)
    if bucket.size:
        overall = {name: float(column.mean()) for name, column in columns.items()}
        metrics.update({f"policy/{name}": value for name, value in overall.items()})
        metrics["policy/branching"] = math.exp(overall["entropy"])
    return metrics


def value_by_stage(values: np.ndarray, outcomes: np.ndarray, stage_bucket: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """How well the value head foresees the outcome, per stage.

    ``values`` on the returns' scale (:func:`rlagent.losses.on_return_scale`), ``outcomes`` the
    realised ones (``final_outcome`` or ``returns_to_go`` of
    :func:`rlagent.monitor.outcomes.realised_returns`); samples with a non-finite outcome
    (unresolved, truncated) are left out. Per bucket: ``value/by_stage/<label>/mse``,
    ``.../sign_accuracy`` (share with sign(v) == sign(outcome) among nonzero outcomes: does it
    know who wins; absent where every outcome is 0), ``.../mean``, ``.../extremity`` (share with
    |v| > 0.9: a critic saturating early in the game is overconfident whatever its mse) and
    ``.../count``.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    outcomes = np.asarray(outcomes, dtype=np.float64).ravel()
    keep = _kept(np.ravel(stage_bucket), labels) & np.isfinite(outcomes)
    values, outcomes, bucket = values[keep], outcomes[keep], np.ravel(stage_bucket)[keep]
    size = len(labels)
    count = np.bincount(bucket, minlength=size).astype(np.float64)
    decided = outcomes != 0
    right = decided & (np.sign(values) == np.sign(outcomes))
    means = _bucket_means(bucket, count, {"mse": (values - outcomes) ** 2, "mean": values, "extremity": np.abs(values) > EXTREME})
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bucket, weights=right, minlength=size) / np.bincount(bucket, weights=decided, minlength=size)
    columns = {"mse": means["mse"], "sign_accuracy": accuracy, "mean": means["mean"], "extremity": means["extremity"]}
    return _tags("value/by_stage", labels, count, {**columns, "count": count})


@dataclass(frozen=True)
class Calibration:
    """A reliability table of predicted win probability against observed win frequency.

    ``edges`` (bins + 1,) on [0, 1]; ``predicted`` and ``frequency`` (bins,) are NaN in an empty
    bin; ``counts`` (bins,); ``ece`` the count-weighted mean gap |predicted - frequency|.
    """

    edges: np.ndarray
    predicted: np.ndarray
    frequency: np.ndarray
    counts: np.ndarray
    ece: float


def calibration(values: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> Calibration:
    """Is a value of v worth a (v + 1) / 2 chance of winning? For games with values in [-1, 1].

    A win is ``outcome > 0`` (draws count as not won); samples with a non-finite outcome are
    left out. Values outside [-1, 1] (a plain regression head overshooting) are clipped before
    binning, so they land in the end bins and count as certain predictions rather than being
    dropped. ``ece`` is NaN with no samples.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    outcomes = np.asarray(outcomes, dtype=np.float64).ravel()
    known = np.isfinite(outcomes)
    predicted = (np.clip(values[known], -1.0, 1.0) + 1.0) / 2.0
    wins = outcomes[known] > 0
    index = np.minimum((predicted * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.bincount(index, weights=predicted, minlength=bins) / counts
        frequency = np.bincount(index, weights=wins, minlength=bins) / counts
    total = counts.sum()
    gap = np.abs(mean_predicted - frequency)
    ece = float(np.sum(counts[counts > 0] * gap[counts > 0]) / total) if total else math.nan
    return Calibration(np.linspace(0.0, 1.0, bins + 1), mean_predicted, frequency, counts, ece)


def calibration_metrics(cal: Calibration) -> dict[str, float]:
    """``value/ece`` where there was anything to calibrate."""
    return {"value/ece": cal.ece} if math.isfinite(cal.ece) else {}


def value_return_summary(values: np.ndarray, returns: np.ndarray) -> dict[str, float]:
    """For any env: ``value/return_corr``, ``value/return_bias`` (mean of v - G: positive is
    optimistic) and ``value/return_mse`` against realised returns G (non-finite ones left out).

    The correlation is absent where either side is constant (it is undefined there).
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    returns = np.asarray(returns, dtype=np.float64).ravel()
    known = np.isfinite(returns)
    values, returns = values[known], returns[known]
    if not values.size:
        return {}
    error = values - returns
    metrics = {"value/return_bias": float(error.mean()), "value/return_mse": float(np.mean(error**2))}
    if values.std() > 0 and returns.std() > 0:
        metrics["value/return_corr"] = float(np.corrcoef(values, returns)[0, 1])
    return metrics


def stage_values(table: Mapping[str, float], name: str) -> tuple[list[str], np.ndarray]:
    """From a :func:`value_by_stage` dict (or a ``metrics.jsonl`` row holding one): the labels in
    their order and ``name``'s figure for each (NaN where absent), for plotting."""
    prefix = "value/by_stage/"
    labels = list(dict.fromkeys(tag[len(prefix) :].rpartition("/")[0] for tag in table if tag.startswith(prefix)))
    return labels, np.array([table.get(f"{prefix}{label}/{name}", math.nan) for label in labels], dtype=np.float64)
