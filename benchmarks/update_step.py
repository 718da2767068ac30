"""What one PPO minibatch step costs on CPU, op by op, in the ``ppo_vs_sb3.py`` setting.

The setting: ``ppo_vs_sb3.py``'s "tuned" CartPole-v1 (4 observations, 2 actions, minibatch 256,
Adam) with its network (separate 64x64 tanh actor and critic MLPs), one thread. Each line gives the median and the minimum over ``--repeats``
timing rounds of ``--number`` calls, in microseconds per call of this thread's CPU time (time the
thread spends descheduled by other jobs is left out; cache effects are not). Compare a few runs.

Where torch has a reference for what rlagent uses, both are timed side by side: ``torch.tanh``
against ``ACTIVATIONS["tanh"]``, ``torch.optim.Adam(fused=True)`` against ``make_optimizer``.
The PPO lines time the update's own pieces on a real rollout. The three ``full step`` lines run the
same minibatch step with autograd and torch's pieces (``torch.tanh`` in the encoders,
``torch.optim.Adam(fused=True)``), with autograd and rlagent's pieces, and with the hand-derived
gradient PPO uses for such MLP policies (:mod:`rlagent.fast.analytic_loss`), their timing rounds
alternating: the before/after on one noisy machine. ``update / optimizer step`` is ``PPO.update``'s
CPU time divided by its optimiser steps (GAE, tensors and minibatch split included), with autograd
and with the analytic gradient. The script prints; it never asserts.

    python benchmarks/update_step.py [--number 200] [--repeats 7]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from typing import Callable

import torch
import torch.nn.functional as F
from ppo_vs_sb3 import OUR_POLICY, TUNED

from rlagent.algos.optimizing import make_optimizer
from rlagent.config import resolve
from rlagent.nets.encoders import ACTIVATIONS, MLPEncoder
from rlagent.run import Trainer

# The benchmark's "tuned" CartPole setting and network, from the benchmark itself.
OVERRIDES = ["run.progress=false", *TUNED.ours(), *OUR_POLICY]
ROWS, WIDTH = 256, 64


def timed(call: Callable[[], object], number: int, repeats: int) -> tuple[float, float]:
    """(median, minimum) over ``repeats`` rounds of the mean CPU time of ``number`` calls, in microseconds."""
    for _ in range(max(1, number // 10)):
        call()
    rounds = []
    for _ in range(repeats):
        start = time.thread_time()
        for _ in range(number):
            call()
        rounds.append((time.thread_time() - start) / number * 1e6)
    return statistics.median(rounds), min(rounds)


def interleaved(calls: dict[str, Callable[[], object]], number: int, repeats: int) -> dict[str, tuple[float, float]]:
    """``timed`` for several calls, their rounds alternating, so that a noisy stretch hits them all."""
    for call in calls.values():
        for _ in range(max(1, number // 10)):
            call()
    rounds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.thread_time()
            for _ in range(number):
                call()
            rounds[name].append((time.thread_time() - start) / number * 1e6)
    return {name: (statistics.median(r), min(r)) for name, r in rounds.items()}


def report(name: str, micros: tuple[float, float]) -> None:
    print(f"  {name:<46} {micros[0]:9.1f} us  (min {micros[1]:8.1f})")


def activations(number: int, repeats: int) -> None:
    print(f"activation on a {ROWS}x{WIDTH} float32 tensor")
    x = torch.randn(ROWS, WIDTH) * 3
    xg = x.clone().requires_grad_(True)
    grad = torch.randn(ROWS, WIDTH)
    for name, function in (("torch.tanh", torch.tanh), ('ACTIVATIONS["tanh"]', ACTIVATIONS["tanh"])):
        report(f"{name} forward", timed(lambda: function(x), number, repeats))
        report(f"{name} forward + backward", timed(lambda: function(xg).backward(grad), number, repeats))
        with torch.inference_mode():
            report(f"{name} under inference_mode, 8 rows", timed(lambda: function(x[:8]), number, repeats))
    report("torch.sigmoid forward", timed(lambda: torch.sigmoid(x), number, repeats))
    report("torch.relu forward", timed(lambda: torch.relu(x), number, repeats))


def encoder(number: int, repeats: int) -> None:
    print(f"4-{WIDTH}-{WIDTH} tanh MLPEncoder + 2-logit linear, {ROWS} rows, forward + backward")
    torch.manual_seed(0)
    mlp = MLPEncoder(4, (WIDTH, WIDTH), "tanh")
    head = torch.nn.Linear(WIDTH, 2)
    obs = torch.randn(ROWS, 4)

    def step() -> None:
        F.linear(mlp(obs), head.weight, head.bias).sum().backward()

    fast = mlp.activation
    mlp.activation = torch.tanh
    report("with torch.tanh", timed(step, number, repeats))
    mlp.activation = fast
    report('with ACTIVATIONS["tanh"]', timed(step, number, repeats))


def optimizers(trainer: Trainer, number: int, repeats: int) -> None:
    params = [p.detach().clone().requires_grad_(True) for p in trainer.algo.gradient.parameters]
    print(f"optimiser on the policy's {len(params)} parameters ({sum(p.numel() for p in params):,} values)")
    cfg = trainer.config.algorithm
    reference = torch.optim.Adam(params, lr=cfg.learning_rate, eps=cfg.adam_eps, fused=True)
    ours = make_optimizer(params, cfg)
    grads = [torch.randn_like(p) for p in params]

    def with_grads(call: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            for p, g in zip(params, grads):
                p.grad = g
            call()

        return run

    report("setting the gradients alone", timed(with_grads(lambda: None), number, repeats))
    for name, optimizer in (("torch.optim.Adam(fused=True)", reference), (f"make_optimizer: {type(ours).__name__}", ours)):
        report(f"{name} step", timed(with_grads(optimizer.step), number, repeats))
        report(f"{name} zero_grad", timed(with_grads(optimizer.zero_grad), number, repeats))


def ppo_pieces(trainer: Trainer, number: int, repeats: int) -> None:
    algo = trainer.algo
    rollout = trainer.collector.collect()
    algo.update(rollout)  # fills the advantages and returns, and warms everything up
    clip = algo.clip_param()
    analytic = algo.analytic
    assert analytic is not None, "the benchmark's policy is a plain MLP: the analytic gradient should serve it"
    arrays = algo._minibatches(algo._tensors(rollout, as_numpy=True), rollout.num_steps, rollout.num_envs)[0]  # for the analytic path
    batch = {k: torch.as_tensor(v) for k, v in arrays.items()}  # tensors, for autograd
    cfg = algo.config
    print(f"PPO pieces, minibatch of {len(batch['returns'])}; autograd (AutogradLoss.terms + loss.backward) unless marked analytic")

    def loss() -> torch.Tensor:
        terms = algo.autograd.terms(batch, clip)
        return cfg.actor_loss_coef * terms["pg"] + cfg.value_loss_coef * terms["value"] - cfg.entropy_coef * terms["entropy"]

    def backward() -> None:
        algo.gradient.optimizer.zero_grad(set_to_none=True)
        loss().backward()

    def full_step() -> None:
        total = loss()
        if not torch.isfinite(total):
            raise RuntimeError("non-finite loss")
        algo.gradient.optimizer.zero_grad(set_to_none=True)
        total.backward()
        algo.gradient.clip_gradients()
        algo.gradient.optimizer.step()

    # The same step with torch's pieces in place of rlagent's, for a same-process comparison.
    encoders = [m for m in trainer.policy.modules() if isinstance(m, MLPEncoder)]
    ours = algo.gradient.optimizer, [e.activation for e in encoders]
    reference = torch.optim.Adam(algo.gradient.parameters, lr=cfg.learning_rate, eps=cfg.adam_eps, fused=True), [torch.tanh] * len(encoders)

    def with_pieces(pieces: tuple[torch.optim.Optimizer, list[Callable]]) -> Callable[[], None]:
        def run() -> None:
            algo.gradient.optimizer = pieces[0]
            for encoder, activation in zip(encoders, pieces[1]):
                encoder.activation = activation
            full_step()

        return run

    def analytic_forward() -> None:
        analytic.losses(arrays, clip)

    def analytic_backward() -> None:
        analytic.losses(arrays, clip)
        analytic.backward()

    def analytic_step() -> None:
        terms = analytic.losses(arrays, clip)
        if not math.isfinite(cfg.actor_loss_coef * terms["pg"] + cfg.value_loss_coef * terms["value"]):
            raise RuntimeError("non-finite loss")
        analytic.backward()
        algo.gradient.apply()

    report("_losses + loss combination (forward)", timed(loss, number, repeats))
    report("analytic: loss terms (forward)", timed(analytic_forward, number, repeats))
    report("analytic: loss terms + backward", timed(analytic_backward, number, repeats))
    report("forward + zero_grad + backward", timed(backward, number, repeats))
    backward()
    report("clip_gradients", timed(algo.gradient.clip_gradients, number, repeats))
    report("optimizer.step", timed(algo.gradient.optimizer.step, number, repeats))
    report("full minibatch step", timed(full_step, number, repeats))
    both = interleaved({"torch": with_pieces(reference), "rlagent": with_pieces(ours), "analytic": analytic_step}, number, repeats)
    report("full step, torch.tanh + torch Adam(fused=True)", both["torch"])
    report(f"full step, rlagent's ({type(ours[0]).__name__})", both["rlagent"])
    report("full step, analytic (what PPO runs)", both["analytic"])
    with_pieces(ours)()
    for name, path in (("autograd", None), ("analytic", analytic)):
        algo.analytic = path
        per_step = []
        for _ in range(repeats):
            start = time.thread_time()
            metrics = algo.update(rollout)
            per_step.append((time.thread_time() - start) / metrics["train/optimizer_steps"] * 1e6)
        report(f"PPO.update / optimizer step, {name}", (statistics.median(per_step), min(per_step)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, medians of {args.repeats} rounds of {args.number} calls")
    with tempfile.TemporaryDirectory() as logdir:
        config = resolve("ppo", "CartPole-v1", overrides=OVERRIDES, extra={"total_steps": 100_000, "seed": 0, "num_envs": 8, "device": "cpu", "logdir": logdir})
        trainer = Trainer(config)
        activations(args.number, args.repeats)
        encoder(args.number, args.repeats)
        optimizers(trainer, args.number, args.repeats)
        ppo_pieces(trainer, args.number, args.repeats)
        trainer.env.close()


if __name__ == "__main__":
    main()
