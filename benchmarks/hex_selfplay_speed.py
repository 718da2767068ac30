"""Hex self-play at scale: how fast the board ResNet generates self-play data and trains with PPO.

Two parts, in one process; the script prints figures and asserts nothing.

(a) Self-play data generation. The learner's own rollout collection (``Trainer.collector.collect()``)
    on ``rlagent/Hex-v0`` with ``selfplay.enabled``: the opponent pool (``random`` and
    ``--snapshots`` + 1 frozen copies of the learner, 3 + 1 by default, drawn uniformly per game) moves inside the vector
    env, with one batched forward pass per member that holds boards with a move to make, beside
    the learner's one batched pass for all envs. Moves/s count stones placed: the learner's (one
    per env per step) and the pool's (counted at the pool's ``moves`` call) separately and summed;
    ``opp. share`` is the part of the wall time spent inside the pool's moves. Rows for 7x7 and
    11x11, ``--batches`` envs (64 and 256), and the ResNet sizes the code uses: 32 channels x 3
    blocks (``experiments/hex/ppo.yaml``) and 64 x 4 (``PolicyConfig``'s default). Each figure is
    the collection rate over a window of at least ``--seconds`` after one untimed rollout.

(b) PPO training steps/s on 7x7 Hex against the random opponent, agent colour random: our PPO
    (the Trainer's ``collect`` + ``update``, as in ``ppo_vs_sb3.py``) against sb3-contrib's
    ``MaskablePPO`` with the SAME network: our ``BoardEncoder`` as its features extractor, our
    ``BoardPolicyHead``'s layers as its ``action_net`` (a 1x1 convolution per cell plus a linear for
    the swap action), a linear value head on the flattened feature map, shared trunk, SB3's
    orthogonal initialisation; the parameter counts of both are printed. The hex preset's PPO
    settings for both (16 envs, n_steps 64, 4 epochs, batch 256, lr 5e-4, ent_coef 0.01). SB3 plays
    on ``make_vec_env("rlagent/Hex-v0", 16)`` (a DummyVecEnv of single envs, as in
    ``ppo_vs_sb3.py``); its mask reaches ``MaskablePPO`` through the env's ``action_masks()``.
    The ratio line is ours / SB3 (the issue's target: >= 3x).

``--device cuda`` runs both parts on a GPU (networks and updates there; envs stay numpy on the
CPU); it needs a machine with one and has not been measured here. ``--threads`` sets torch's CPU
threads (default 1, as in the other benchmarks). sb3-contrib comes with ``pip install -e ".[benchmark]"``;
without it part (b) says so in one line and is skipped.

    python benchmarks/hex_selfplay_speed.py [--quick] [--device cpu|cuda] [--profile] [--skip-selfplay] [--skip-sb3]

``--profile`` adds one rollout + update of ours under ``torch.profiler``: the operators that take
the time and the convolution kernels' share of it.

What limits the speed (measured on 2 shared CPU cores, AVX2, one torch thread): both parts are
bound by torch's oneDNN convolution kernels. In (b) they take about 87% of our rollout + update
(``--profile``: the backward about 52%, the forward 34%; ReLUs, residual adds and everything of
ours, Python included, share the rest), and SB3 calls the same kernels the same number of times
for the same network and settings, so ours ran 1.1-1.3x SB3's steps/s, with a ceiling near 1.5x
even if all our other time vanished. The 3x of the MLP comparison (``ppo_vs_sb3.py``, 4.7x) came
from removing per-step overhead, which a network of this size hides. In (a) convolutions took
about 80% of collection at 7x7 and 256 envs (cProfile); the env and the pool's bookkeeping about
1%. Neither channels-last memory format, splitting the minibatch, an im2col gradient nor a frozen
TorchScript encoder gained beyond the noise (under 15%) here. What would: a GPU (``--device cuda``),
fewer FLOPs (a smaller network), or a CPU with bf16 matrix units (not this one).

The full run takes about 5 minutes on 2 CPU cores; ``--quick`` (one net, shorter windows and runs)
about 1.5 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppo_vs_sb3 import RunStats, Setting, make_sb3_callback, run_ours  # noqa: E402

from rlagent.config import resolve  # noqa: E402
from rlagent.nets.encoders import BoardEncoder  # noqa: E402
from rlagent.nets.heads import BoardPolicyHead  # noqa: E402
from rlagent.run import Trainer  # noqa: E402

NETS = ((32, 3), (64, 4))  # (channels, blocks): the hex PPO preset's, and PolicyConfig's default
# The hex PPO preset (experiments/hex/ppo.yaml) in the vocabulary of ppo_vs_sb3.py, for both libraries.
HEX_RESNET = Setting("hex-resnet", 16, 64, 4, 256, 5e-4, False, 0.95, 0.99, 0.2, False, 0.01, target_ratio=3.0)


# --- (a) self-play data generation --------------------------------------------------------------
@dataclass
class CollectRate:
    size: int
    envs: int
    net: tuple[int, int]
    learner_moves: int
    opponent_moves: int
    seconds: float
    opponent_seconds: float
    calls: int  # batched forward passes of snapshot members

    def row(self) -> str:
        total = self.learner_moves + self.opponent_moves
        steps = self.learner_moves / self.envs
        return (
            f"{self.size:>2}x{self.size:<2} {self.envs:>5} {f'{self.net[0]}x{self.net[1]}':>6} | "
            f"{self.learner_moves / self.seconds:>9,.0f} {self.opponent_moves / self.seconds:>9,.0f} "
            f"{total / self.seconds:>9,.0f} | {self.opponent_seconds / self.seconds:>9.0%} {self.calls / steps:>10.1f}"
        )


def selfplay_trainer(size: int, envs_: int, net: tuple[int, int], snapshots: int, device: str, logdir: str) -> Trainer:
    """A PPO self-play Trainer on Hex whose pool holds ``random`` and ``snapshots`` + 1 copies of the learner."""
    config = resolve(
        "ppo",
        "hex",
        overrides=[
            "run.progress=false",
            f"run.threads={torch.get_num_threads()}",
            f"env.size={size}",
            "env.agent_color=random",
            f"policy.board_channels={net[0]}",
            f"policy.board_blocks={net[1]}",
            "ppo.num_steps=8",
            "selfplay.enabled=true",
            "selfplay.eval_every=0",
            f"selfplay.max_snapshots={snapshots + 1}",
        ],
        extra={"num_envs": envs_, "device": device, "logdir": logdir, "seed": 0, "total_steps": 10**9},
    )
    trainer = Trainer(config)  # its pool starts with random and the learner's step_0 snapshot
    for step in range(1, snapshots + 1):
        trainer.pool.add_snapshot(trainer.policy, step)
    # The games under way were seated before these snapshots joined (only random or step_0): seat
    # them again from the whole pool, or long games (11x11) would time a pool of two for a while.
    trainer.pool.start_games(np.arange(envs_))
    return trainer


def collect_rate(size: int, envs_: int, net: tuple[int, int], snapshots: int, seconds: float, device: str, logdir: str) -> CollectRate:
    trainer = selfplay_trainer(size, envs_, net, snapshots, device, logdir)
    pool, collector = trainer.pool, trainer.collector
    counts = {"moves": 0, "seconds": 0.0, "calls": 0}
    pool_moves = pool.moves

    def counting_moves(boards: np.ndarray, observation: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        seated = pool.seated[boards]
        counts["calls"] += sum(pool.members[int(i)].kind == "snapshot" for i in np.unique(seated))
        actions = pool_moves(boards, observation, action_mask)
        counts["moves"] += len(boards)
        counts["seconds"] += time.perf_counter() - start
        return actions

    pool.moves = counting_moves  # the env asks its opponent's ``moves`` at every step
    collector.collect()  # untimed: first calls, allocations
    counts.update(moves=0, seconds=0.0, calls=0)
    learner, begin = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - begin) < seconds:
        collector.collect()
        learner += collector.num_steps * collector.num_envs
    trainer.env.close()
    return CollectRate(size, envs_, net, learner, counts["moves"], elapsed, counts["seconds"], counts["calls"])


def part_a(args: argparse.Namespace, nets: tuple[tuple[int, int], ...], logdir: str) -> None:
    print(
        f"\n== (a) self-play data generation: Trainer.collector.collect(), pool = random + {args.snapshots + 1} snapshots "
        f"(uniform), 8 steps a rollout, device {args.device} =="
    )
    header = f"{'board':<5} {'envs':>5} {'net':>6} | {'learner':>9} {'opponent':>9} {'total':>9} | {'opp. share':>9} {'fwd/step':>10}"
    print(f"{'':<19}   {'moves/s':^29}   (snapshot forward passes per step)")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        for net in nets:
            for batch in args.batches:
                print(collect_rate(size, batch, net, args.snapshots, args.seconds, args.device, logdir).row(), flush=True)


# --- (b) PPO against sb3-contrib's MaskablePPO with the same network --------------------------------
def sb3_board_policy(channels: int, blocks: int, size: int) -> tuple[type, dict[str, Any]]:
    """sb3-contrib's masked multi-input policy with our board network: (policy class, policy_kwargs)."""
    from sb3_contrib.common.maskable.policies import MaskableMultiInputActorCriticPolicy
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    class BoardFeatures(BaseFeaturesExtractor):
        """Our ``BoardEncoder`` on the ``observation`` planes; the mask goes to MaskablePPO separately."""

        def __init__(self, observation_space: Any) -> None:
            encoder = BoardEncoder(3, size, channels, blocks, "resnet")
            super().__init__(observation_space, encoder.output_dim)
            self.encoder = encoder

        def forward(self, observations: dict[str, Tensor]) -> Tensor:
            return self.encoder(observations["observation"])

    class CellLogits(nn.Module):
        """Our ``BoardPolicyHead``'s layers on SB3's flat latent: a 1x1 convolution per cell, a
        linear on the whole map for the swap; raw logits (SB3's distribution masks and normalises)."""

        def __init__(self, actions: int) -> None:
            super().__init__()
            head = BoardPolicyHead(channels, size, size, actions)
            self.cells, self.extra = head.cells, head.extra

        def forward(self, latent: Tensor) -> Tensor:
            logits = self.cells(latent.view(-1, channels, size, size)).flatten(1)
            return logits if self.extra is None else torch.cat([logits, self.extra(latent)], dim=1)

    class BoardPolicy(MaskableMultiInputActorCriticPolicy):
        def _build(self, lr_schedule: Any) -> None:
            super()._build(lr_schedule)
            self.action_net = CellLogits(int(self.action_space.n))
            if self.ortho_init:
                self.action_net.apply(lambda module: self.init_weights(module, gain=0.01))
            # the optimiser built in super()._build holds the replaced linear head: rebuild it
            self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    kwargs = dict(features_extractor_class=BoardFeatures, net_arch=[], share_features_extractor=True, ortho_init=True)
    return BoardPolicy, kwargs


def run_sb3_board(setting: Setting, steps: int, seed: int, net: tuple[int, int], device: str) -> tuple[RunStats, int]:
    """MaskablePPO with our board network on 7x7 Hex: (timings, parameter count)."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.env_util import make_vec_env

    stats = RunStats("SB3 MaskablePPO", seed)
    callback = make_sb3_callback(stats, None, masked=True)
    begin = time.perf_counter()
    vec = make_vec_env("rlagent/Hex-v0", n_envs=setting.num_envs, seed=seed, env_kwargs={"size": 7, "agent_color": "random"})
    policy, policy_kwargs = sb3_board_policy(*net, size=7)
    model = MaskablePPO(policy, vec, policy_kwargs=policy_kwargs, seed=seed, device=device, **setting.sb3())
    model.learn(steps, callback=callback)
    end = time.perf_counter()
    stats.startup = callback.first_step - begin
    stats.steps = model.num_timesteps
    stats.train = end - callback.first_step
    stats.update = stats.train - stats.collect
    parameters = sum(p.numel() for p in model.policy.parameters())
    vec.close()
    return stats, parameters


def run_ours_board(setting: Setting, steps: int, seed: int, net: tuple[int, int], device: str, logdir: str) -> tuple[RunStats, int]:
    overrides = [
        f"run.threads={torch.get_num_threads()}",
        "env.size=7",
        "env.agent_color=random",
        "policy.encoder=resnet",
        "policy.separate_critic=false",
        f"policy.board_channels={net[0]}",
        f"policy.board_blocks={net[1]}",
    ]
    stats = run_ours("hex", setting, steps, seed, overrides, None, logdir, device=device)
    parameters = sum(p.numel() for p in stats.model.policy.parameters())
    return stats, parameters


def profile_ours(net: tuple[int, int], device: str, logdir: str, ratio: float, rows: int = 8) -> None:
    """One rollout and update of our PPO under ``torch.profiler``: where the time goes, by operator,
    and the share of the convolution kernels (forward and backward), which SB3 runs just the same:
    with every other operator and all Python gone, ours would still be at most ``ratio / share``
    times SB3's speed."""
    from torch.profiler import ProfilerActivity, profile

    stats = run_ours_board(HEX_RESNET, HEX_RESNET.num_envs * HEX_RESNET.n_steps, 0, net, device, logdir)[0]
    trainer = stats.model
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        trainer.algo.update(trainer.collector.collect())
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    conv = sum(e.self_cpu_time_total for e in events if "convolution" in e.key)
    print(f"\n(b) profile of one rollout + update of ours: convolution kernels {conv / total:.0%} of {total / 1e6:.2f} s CPU; top operators:")
    for event in sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]:
        print(f"  {event.key[:40]:<40} {event.self_cpu_time_total / total:>6.1%}  ({event.count} calls)")
    print(f"ceiling of the ratio with everything of ours outside the convolution kernels taking no time: {ratio * total / conv:.2f}x")


def part_b(args: argparse.Namespace, logdir: str) -> None:
    if importlib.util.find_spec("sb3_contrib") is None:
        print('\n(b) skipped: sb3-contrib is not installed (pip install -e ".[benchmark]" or pip install sb3-contrib)')
        return
    net, setting, steps = (args.ppo_channels, args.ppo_blocks), HEX_RESNET, args.ppo_steps
    # untimed warm-up of both: lazy imports, numba compilation of the Hex core, first-call costs
    run_ours_board(setting, setting.num_envs * setting.n_steps, 0, net, args.device, logdir)
    run_sb3_board(setting, setting.num_envs * setting.n_steps, 0, net, args.device)
    ours, ours_params = run_ours_board(setting, steps, 0, net, args.device, logdir)
    sb3, sb3_params = run_sb3_board(setting, steps, 0, net, args.device)
    print(f"\n== (b) PPO on 7x7 Hex vs random, agent_color random: {setting.describe()}; {steps:,} steps, device {args.device} ==")
    print(f"network: board ResNet {net[0]} channels x {net[1]} blocks, shared trunk, per-cell 1x1 policy head + swap linear, linear value head")
    header = f"{'library':<16} {'parameters':>10} {'steps/s':>9} {'start-up s':>10} {'collect/update s':>17}"
    print(header)
    print("-" * len(header))
    for stats, params in ((ours, ours_params), (sb3, sb3_params)):
        split = f"{stats.collect:.1f}/{stats.update:.1f}"
        print(f"{stats.library:<16} {params:>10,} {stats.rate:>9,.0f} {stats.startup:>10.2f} {split:>17}")
    ratio = ours.rate / sb3.rate
    print(f"ratio ours/SB3 of steps/s: {ratio:.2f}x   (target >= {setting.target_ratio:g}x: {'met' if ratio >= setting.target_ratio else 'NOT met'})")
    if args.profile:
        profile_ours(net, args.device, logdir, ratio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[7, 11], help="(a) board sizes (default 7 11)")
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="(a) envs (default 64 256)")
    parser.add_argument("--snapshots", type=int, default=3, help="(a) snapshots added to the pool besides step_0 (default 3)")
    parser.add_argument("--seconds", type=float, default=4.0, help="(a) least timed seconds per row (default 4)")
    parser.add_argument("--ppo-steps", type=int, default=16_384, help="(b) env steps per library (default 16,384)")
    parser.add_argument("--ppo-channels", type=int, default=32, help="(b) ResNet channels (default 32, the hex preset's)")
    parser.add_argument("--ppo-blocks", type=int, default=3, help="(b) ResNet blocks (default 3, the hex preset's)")
    parser.add_argument("--quick", action="store_true", help="smoke run: the preset's net only in (a), 1 s windows, 4,096 PPO steps")
    parser.add_argument("--profile", action="store_true", help="(b) also profile one rollout + update of ours by operator")
    parser.add_argument("--skip-selfplay", action="store_true", help="leave out (a)")
    parser.add_argument("--skip-sb3", action="store_true", help="leave out (b)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")
    nets = NETS
    if args.quick:
        nets, args.seconds, args.ppo_steps = NETS[:1], 1.0, 4_096

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as logdir:
        if not args.skip_selfplay:
            part_a(args, nets, logdir)
        if not args.skip_sb3:
            part_b(args, logdir)
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
