"""``python -m rlagent.watch RUN [--opponent hunter] --out match.gif``: record one Arena match.

Plays the run's agent (greedy, its latest checkpoint, or the checkpoint file given) against an
opponent, a bot by name (``idle``, ``random``, ``hill``, ``turret``, ``hunter``), another run, or
itself (``self``, the default), and writes the match as an animated GIF (or MP4 with
``imageio[ffmpeg]`` installed) drawn by :mod:`envs.arena.render`: walls, hill, bodies in their
team colours with heading and hp, bullets. Prints who won by score.
"""

from __future__ import annotations

from pathlib import Path

import torch

from envs.simultaneous import SimultaneousGame
from envs.simultaneous_env import SeatPlayer
from rlagent.agent import load_agent
from rlagent.cli import OneLineErrorParser, one_line_errors, run_command
from rlagent.episodes import is_seated
from rlagent.errors import ConfigError
from rlagent.games.matches import game_factory
from rlagent.games.players import parse_player
from rlagent.games.seat_matches import OPENINGS, record_game
from rlagent.games.seat_players import PolicySeatPlayer


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="python -m rlagent.watch", description=__doc__.splitlines()[0])
    parser.add_argument("run", help="an Arena run directory (its latest checkpoint) or a checkpoint file")
    parser.add_argument("--opponent", default="self", help="self (default), idle, random, hill, turret, hunter, or a run directory / checkpoint")
    parser.add_argument("--out", default="match.gif", help="the file to write: .gif, or .mp4 with imageio[ffmpeg] (default match.gif)")
    parser.add_argument("--seat", type=int, default=0, choices=(0, 1), help="the agent's seat: 0 starts at the bottom (default), 1 at the top")
    parser.add_argument("--opening", type=int, help="a numbered jittered start (0-63) as the league plays; default: the preset's exact spawn")
    parser.add_argument("--seed", type=int, default=0, help="seed of a random bot's moves")
    parser.add_argument("--every", type=int, default=1, help="keep every Nth step as a frame (default 1)")
    parser.add_argument("--fps", type=int, default=10, help="frames per second of the animation (default 10: real time)")
    return parser


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.every < 1 or args.fps < 1:
        raise ConfigError(f"--every and --fps must be at least 1, got {args.every} and {args.fps}")
    if args.opening is not None and args.opening not in OPENINGS:
        raise ConfigError(f"--opening must be from 0 to {OPENINGS[-1]}, got {args.opening}")
    torch.set_num_threads(1)
    agent = load_agent(args.run)
    if not is_seated(agent):
        raise ConfigError(f"{agent.path} was trained on {agent.config.env}: watch records Arena matches; for Hex use python -m rlagent.play")
    from envs.arena.recording import write_animation  # the Arena's own writer (Pillow, optional imageio)

    game = game_factory(agent.config.env, dict(agent.config.env_kwargs))(1)
    assert isinstance(game, SimultaneousGame), "a seated agent's env is a simultaneous game"
    me = PolicySeatPlayer(agent.policy, game.num_seats, greedy=True, name=agent.path.parent.parent.name or "agent")
    rival = _opponent(args.opponent, agent.policy, game, args.seed)
    frames, seat0_score = record_game(game, me, rival, a_first=args.seat == 0, opening=args.opening, every=args.every)
    write_animation(frames, Path(args.out), fps=args.fps)
    mine = seat0_score if args.seat == 0 else 1.0 - seat0_score
    result = {1.0: "won", 0.5: "drew", 0.0: "lost"}[mine]
    scores = game.score[0]
    print(
        f"{agent.path} {result} against {args.opponent} by score {scores[args.seat]:.1f} to {scores[1 - args.seat]:.1f} "
        f"in {int(game.steps[0])} steps; wrote {len(frames)} frames to {args.out}"
    )
    return 0


def _opponent(spec: str, policy: torch.nn.Module, game: SimultaneousGame, seed: int) -> SeatPlayer:
    if spec == "self":
        return PolicySeatPlayer(policy, game.num_seats, greedy=True, name="self")
    name = parse_player(spec, paths=True, what="opponent")
    if name.kind == "path":
        return PolicySeatPlayer.load(name.path, game.num_seats)
    player = game.named_player(name, seed)
    if player is None:
        raise ConfigError(f"opponent {spec!r} does not play the Arena: use self, idle, random, hill, turret, hunter or a run directory")
    return player


if __name__ == "__main__":
    run_command(main)
