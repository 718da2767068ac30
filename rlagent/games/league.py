"""The Elo league: plans, plays and rates a run's checkpoints against each other and baselines.

The command is ``python -m rlagent.league`` (:mod:`rlagent.league`); this module is the library it
calls. It rates every checkpoint and self-play pool snapshot of a run, together with fixed baselines
(``random``, ``mctsN``; for Hex also ``RUN@puctN``, a checkpoint searched with PUCT), on one
Bradley–Terry Elo scale, so that progress is measured against players that do not change while
the learner does. ``snapshots="latest"`` enters only the newest snapshot: what a search adds to the
final agent is then measured without replaying the run's history.

Why it is built the way it is:

* Every pair of entrants plays ``games`` games, half with each colour (Hex has a large first-move
  advantage, so one-sided schedules would mix colour and strength). In a simultaneous-move game
  (the Arena) the colours are the seats, played by :mod:`rlagent.games.seat_matches`; its seats
  are mirror images, so no first-move advantage is fitted there.
* Greedy policies are deterministic: two of them would play the same game every time, and 40
  games would carry the information of one. So by default each game starts from a uniformly
  random legal first move (``--openings random``), drawn from the league seed and the pair, the
  same opening for both colour orders; ``suite`` plays every first move once per colour order
  (no opening noise at all); ``none`` plays from the empty board.
* Every game is appended to ``league/matches.csv`` as soon as its match ends (flushed), and the
  ratings are fitted from the whole table, never updated game by game. An interrupted league
  keeps what it played, and re-running it plays only the games each ordered pair still lacks,
  so a league can grow (``--games 100`` after ``--games 40``) or follow a run as it trains.
* The results are stored where they are read: ``league/ratings.csv``, ``league/elo.png`` (Elo
  against training step) and TensorBoard scalars ``elo/rating``, ``elo/low``, ``elo/high`` at each
  checkpoint's step in ``league/`` (rewritten whole each time, so re-runs do not add points).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.base import PositionPlayer, TurnBasedGame
from envs.player_names import PUCT, PUCT_FORM, RANDOM, PlayerName, search_name
from envs.simultaneous import SimultaneousGame
from envs.simultaneous_env import SeatPlayer
from rlagent.agent import Agent, load_agent
from rlagent.checkpoint import latest_checkpoint, list_checkpoints
from rlagent.distributed import check_backend, ray_map
from rlagent.errors import ConfigError, RlagentError
from rlagent.games.elo import Ratings, fit_ratings
from rlagent.games.extras import extras_for, games_with, searched_agent
from rlagent.games.league_report import TableRow, format_table, league_table, plot_ratings, snapshot_step, write_ratings, write_tensorboard
from rlagent.games.match_table import GameResult, append_matches, read_matches
from rlagent.games.matches import Player, game_factory, play_boards
from rlagent.games.players import PolicyPlayer, make_player, parse_player
from rlagent.games.seat_matches import OPENINGS, play_seated, record_game
from rlagent.games.seat_players import PolicySeatPlayer
from rlagent.gym_envs import resolve_env_id
from rlagent.monitor.progress import Progress

__all__ = [
    "OPENING_RULES",
    "Entrant",
    "GameResult",
    "TableRow",
    "find_entrants",
    "format_table",
    "league_table",
    "parse_baselines",
    "play_pairing",
    "read_matches",
    "read_position_scores",
    "append_matches",
    "run_league",
]

LEAGUE_DIR = "league"
MATCHES_FILE = "matches.csv"
RATINGS_FILE = "ratings.csv"
POSITION_SCORES_FILE = "solved_positions.csv"
DEFAULT_POSITIONS = 200
PLOT_FILE = "elo.png"
SAMPLES_DIR = "samples"
OPENING_RULES = ("random", "suite", "none")
SNAPSHOT_RULES = ("all", "latest")
# Fixed players rated beside the run's snapshots when none are named: board games, simultaneous games.
DEFAULT_BASELINES = {"boards": ("random", "mcts100"), "seats": ("idle", "random", "hill", "turret", "hunter")}
_SNAPSHOT = re.compile(r"step_(\d+)\.pt")


@dataclass(frozen=True)
class Entrant:
    """A league player: a snapshot of the run (``step`` set, ``spec`` its file) or a baseline
    (``step`` None, ``spec`` its name; for a search, ``CHECKPOINT_FILE@puctN``). Plain strings, so a
    worker process can rebuild it."""

    name: str
    spec: str
    step: int | None = None


@dataclass(frozen=True, eq=False)
class _Pairing:
    """The missing games of one pair of entrants, played as one batch (possibly in a worker)."""

    a: Entrant
    b: Entrant
    a_first: np.ndarray
    openings: np.ndarray | None
    rule: str
    seed: int
    env: str
    env_kwargs: str  # JSON, so that it hashes for the per-process cache of game factories


# ------------------------------------------------------------------------------------------ API


def run_league(
    run_dir: str | Path,
    games: int = 40,
    baselines: str | Sequence[str] | None = None,
    workers: int = 0,
    *,
    anchor: str | None = None,
    openings: str = "random",
    seed: int = 0,
    progress: bool | None = None,
    gifs: bool = False,
    positions: int = DEFAULT_POSITIONS,
    snapshots: str = "all",
    backend: str = "local",
) -> Ratings:
    """Play the games the league of ``run_dir`` still lacks, then rate everyone and store it.

    ``gifs`` (simultaneous-move games, the Arena): also record one sample match per pair of
    entrants, ``league/samples/<a>-vs-<b>.gif`` (``a`` in seat 0, opening 0), to see what the
    ratings mean.

    ``positions`` (Hex up to 7x7; 0: off): also grade every entrant on that many random-play
    positions with exact values, the table's ``win move`` column (:func:`grade_positions`).

    ``baselines`` None: :data:`DEFAULT_BASELINES` for the run's kind of game. ``snapshots``:
    ``all`` of the run's checkpoints and pool snapshots enter, or only the ``latest``.
    ``workers`` > 0 plays pairings in that many spawned processes (0: in this one); ``backend``
    ``"ray"`` plays them as Ray tasks instead (:mod:`rlagent.distributed`: a private Ray on this
    machine unless one was started or joined, e.g. by :func:`~rlagent.distributed.init_ray`;
    ``workers`` is then Ray's to decide). The results depend on neither. ``anchor`` is fixed at 0 Elo; by default ``random`` when it has played,
    else the oldest checkpoint. ``progress`` as in :class:`~rlagent.monitor.progress.Progress`.
    Returns the ratings fitted over every game in ``league/matches.csv``.
    """
    run_dir = Path(run_dir)
    _check_settings(games, workers, openings, seed)
    check_backend(backend)
    if not isinstance(positions, int) or positions < 0:
        raise ConfigError(f"positions must be 0 (off) or a number of positions, got {positions!r}")
    if snapshots not in SNAPSHOT_RULES:
        raise ConfigError(f"unknown snapshots {snapshots!r}: valid are {', '.join(SNAPSHOT_RULES)}")
    env, env_kwargs = read_run_env(run_dir)
    kwargs_json = json.dumps(env_kwargs, sort_keys=True)
    probe = _factory(env, kwargs_json)(1)
    symmetric = isinstance(probe, SimultaneousGame)  # every seat alike: no first-move term to fit
    if gifs and not symmetric:
        raise ConfigError(f"--gifs records Arena matches; {env} is a board game (see python -m rlagent.play for its games)")
    if baselines is None:
        baselines = DEFAULT_BASELINES["seats" if isinstance(probe, SimultaneousGame) else "boards"]
    entrants = find_entrants(run_dir)[-1:] if snapshots == "latest" else find_entrants(run_dir)
    entrants += parse_baselines(baselines, run_dir)
    if len(entrants) < 2:
        raise ConfigError(f"a league needs at least two entrants, {run_dir} gives only {entrants[0].name}: add a baseline such as random")
    _check_baselines_fit(entrants, probe, env)
    league_dir = run_dir / LEAGUE_DIR
    matches_path = league_dir / MATCHES_FILE
    results = read_matches(matches_path)
    if anchor is not None and anchor not in {e.name for e in entrants} | _names(results):
        raise ConfigError(f"anchor {anchor!r} is not in this league; choose one of {', '.join(e.name for e in entrants)}")
    pairings = _plan(entrants, results, games, openings, _first_moves(probe), seed, env, kwargs_json)
    _play_all(pairings, matches_path, workers, progress, backend)
    if gifs:
        record_samples(entrants, env, kwargs_json, league_dir / SAMPLES_DIR, seed)
    grade_positions(entrants, probe, league_dir, positions, seed, env)
    return _rate_and_store(league_dir, anchor, run_dir.name, symmetric)


def grade_positions(entrants: Sequence[Entrant], probe: Any, league_dir: Path, positions: int, seed: int, env: str) -> dict[str, float]:
    """Each entrant's share of won random-play positions where it picks a winning move, kept in
    ``league/solved_positions.csv`` (entrants graded before on the same suite are not graded again).

    Only where the exact solver is quick enough (Hex up to 7x7); elsewhere nothing is graded. The
    suite is drawn and solved once per league (``league/solved_positions.npz``).
    """
    extras = extras_for(env)
    if extras.position_suite is None or extras.score_positions is None:
        return {}
    suite = extras.position_suite(probe, positions, seed, league_dir)
    if suite is None or not len(suite):
        return {}
    path = league_dir / POSITION_SCORES_FILE
    scores = read_position_scores(league_dir, positions, seed)
    missing = [e for e in entrants if e.name not in scores]
    for entrant in missing:
        scores[entrant.name] = extras.score_positions(_build_player(entrant, _derive_seed(seed, "positions", entrant.name), probe), suite)
    if missing:
        partial = path.with_suffix(".tmp")
        with partial.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(("name", "winning_move", "positions", "seed"))
            writer.writerows((name, f"{rate:.6f}", positions, seed) for name, rate in scores.items())
        partial.replace(path)
    return scores


def read_position_scores(league_dir: Path, positions: int | None = None, seed: int | None = None) -> dict[str, float]:
    """The graded entrants of ``league/solved_positions.csv``: of the given suite, or all of it."""
    path = league_dir / POSITION_SCORES_FILE
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return {
        row["name"]: float(row["winning_move"])
        for row in rows
        if (positions is None or int(row["positions"]) == positions) and (seed is None or int(row["seed"]) == seed)
    }


def record_samples(entrants: Sequence[Entrant], env: str, env_kwargs: str, directory: Path, seed: int = 0) -> list[Path]:
    """One recorded match per pair of entrants (the earlier entrant in seat 0, opening 0), as
    ``<a>-vs-<b>.gif`` in ``directory``; pairs already recorded are skipped."""
    from envs.arena.recording import write_animation  # pictures are the Arena's own

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for i, a in enumerate(entrants):
        for b in entrants[i + 1 :]:
            path = directory / f"{a.name}-vs-{b.name}.gif"
            if path.exists():
                continue
            game = _factory(env, env_kwargs)(1)
            first, second = _build_seat_player(a, game, seed), _build_seat_player(b, game, seed + 1)
            frames, _ = record_game(game, first, second, a_first=True, opening=0, every=2)
            write_animation(frames, path, fps=5)
            written.append(path)
    return written


def _rate_and_store(league_dir: Path, anchor: str | None, title: str, symmetric: bool = False) -> Ratings:
    """Fit the whole match table and write it out in every form the league promises. A
    ``symmetric`` game (the Arena: its seats are mirror images) gets no first-move advantage."""
    results = read_matches(league_dir / MATCHES_FILE)
    ratings = fit_ratings([(r.first, r.second, r.score) for r in results], anchor=_choose_anchor(anchor, results), first_move_advantage=not symmetric)
    rows = league_table(ratings, results, read_position_scores(league_dir))
    write_ratings(league_dir / RATINGS_FILE, rows)
    plot_ratings(league_dir / PLOT_FILE, rows, ratings.anchor, title)
    write_tensorboard(league_dir, rows)
    return ratings


def read_run_env(run_dir: Path) -> tuple[str, dict[str, Any]]:
    """The env name and keyword arguments a run was trained with, from its ``config.json``."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a directory: pass a run directory made by python -m rlagent.train")
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise ConfigError(f"{run_dir} is not a run directory (it has no config.json): pass one made by python -m rlagent.train")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        return str(config["env"]), dict(config.get("env_kwargs") or {})
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(f"{config_path} is unreadable or has no env ({type(error).__name__}: {error})") from None


def find_entrants(run_dir: str | Path) -> list[Entrant]:
    """Every checkpoint and pool snapshot of a run, oldest first, one per step.

    A pool snapshot and a checkpoint of the same step hold the same learner, so the checkpoint
    stands for both.
    """
    run_dir = Path(run_dir)
    found: dict[int, Path] = {}
    pool = run_dir / "pool"
    if pool.is_dir():
        for entry in pool.iterdir():
            match = _SNAPSHOT.fullmatch(entry.name)
            if match and entry.is_file():
                found[int(match.group(1))] = entry
    found.update(dict(list_checkpoints(run_dir)))
    if not found:
        raise ConfigError(f"{run_dir} has no checkpoints/step_*.pt or pool/step_*.pt to rate: train the run first")
    return [Entrant(f"step_{step}", str(path), step) for step, path in sorted(found.items())]


def parse_baselines(baselines: str | Sequence[str], run_dir: str | Path | None = None) -> list[Entrant]:
    """Baselines from ``"random,mcts100"`` (the command line's list: spaces around names and empty
    items ignored, ``""`` for none) or a sequence of player names (:mod:`envs.player_names`);
    duplicates dropped, order kept.

    ``PATH@puctN`` (a checkpoint, or a run directory's latest, searched with PUCT) is a baseline
    too, fixed to the checkpoint it names now; one of ``run_dir``'s own is called after its
    snapshot (``step_51200@puct200``), so it sits beside that snapshot's greedy play in the table.
    """
    if isinstance(baselines, str):
        names = [name.strip() for name in baselines.split(",") if name.strip()]
    else:
        names = list(baselines)
    entrants: list[Entrant] = []
    for name in names:
        entrant = _search_entrant(name, run_dir) if search_name(name) else None
        if entrant is None:
            parse_player(name, what="baseline", also=(PUCT_FORM,))
            entrant = Entrant(name, name)
        if not any(e.name == entrant.name for e in entrants):
            entrants.append(entrant)
    return entrants


def _search_entrant(name: str, run_dir: str | Path | None) -> Entrant:
    """``PATH@puctN`` as a baseline: its spec names the checkpoint file itself."""
    search = search_name(name)
    assert search is not None, "called for a PATH@puctN name"
    path = Path(search.path)
    if not path.exists():
        raise ConfigError(f"baseline {name!r}: {path} does not exist; PATH@puctN searches a run directory's latest checkpoint or a checkpoint file")
    checkpoint = latest_checkpoint(path) if path.is_dir() else path
    if checkpoint is None:
        raise ConfigError(f"baseline {name!r}: {path} has no checkpoints/step_*.pt to search with")
    label = name
    if run_dir is not None and checkpoint.resolve().parent.parent == Path(run_dir).resolve():
        label = f"{checkpoint.stem}@puct{search.simulations}"
    return Entrant(label, f"{checkpoint}@puct{search.simulations}")


# ------------------------------------------------------------------------------------- planning


def _check_settings(games: object, workers: object, openings: object, seed: object) -> None:
    if isinstance(games, bool) or not isinstance(games, int) or games <= 0 or games % 2:
        raise ConfigError(f"games must be a positive even number (each pair plays both colours equally often), got {games!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"workers must be 0 (play here) or a number of processes, got {workers!r}")
    if openings not in OPENING_RULES:
        raise ConfigError(f"unknown openings {openings!r}: valid are {', '.join(OPENING_RULES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")


def _check_baselines_fit(entrants: Sequence[Entrant], probe: TurnBasedGame | SimultaneousGame, env: str) -> None:
    """A baseline the game has no player for (MCTS reads Hex boards only, the Arena's bots play
    only the Arena) would fail mid-league: refuse it up front."""
    for entrant in entrants:
        search = search_name(entrant.spec) if entrant.step is None else None
        if search is not None:
            _check_search_fits(entrant.name, search, probe, env)
            continue
        name = parse_player(entrant.name) if entrant.step is None else None
        if name is None or (name.kind == RANDOM and not isinstance(probe, SimultaneousGame)):  # boards play random themselves
            continue
        if probe.named_player(name) is None:
            raise ConfigError(f"baseline {entrant.name} does not play {probe.name}, the game of this run's env {env}: use --baselines random")


def _check_search_fits(label: str, search: PlayerName, probe: TurnBasedGame | SimultaneousGame, env: str) -> None:
    """A searched baseline (``PATH@puctN``) needs an agent of this league's game and board, whose
    game registers a search (:mod:`rlagent.games.extras`)."""
    stat = os.stat(search.path)
    agent = _load_agent(search.path, stat.st_mtime_ns, stat.st_size)
    if resolve_env_id(agent.config.env) != resolve_env_id(env):
        raise ConfigError(f"baseline {label} searches a {agent.config.env} agent, but this run's env {env} plays {probe.name}")
    if extras_for(env).search is None:
        raise ConfigError(f"baseline {label}: {probe.name} has no network-guided search; games with one: {games_with('search')}")
    board = _factory(agent.config.env, json.dumps(dict(agent.config.env_kwargs), sort_keys=True))(1)
    if not isinstance(probe, TurnBasedGame) or not isinstance(board, TurnBasedGame):
        raise ConfigError(f"baseline {label} is a search of a board game; this run's env {env} plays {probe.name}")
    shape = board.observation_shape
    if shape != probe.observation_shape:
        raise ConfigError(f"baseline {label} searches a network of {shape} observations, but this league's board gives {probe.observation_shape}")


def _first_moves(probe: TurnBasedGame | SimultaneousGame) -> np.ndarray:
    """What openings are drawn from: the legal first moves of a board game (every cell, for Hex),
    or the numbered spawn jitters of a simultaneous game (:data:`seat_matches.OPENINGS`)."""
    if isinstance(probe, SimultaneousGame):
        return OPENINGS
    probe.reset()
    return np.flatnonzero(probe.legal_mask(np.array([0]))[0])


def _plan(
    entrants: Sequence[Entrant],
    results: Sequence[GameResult],
    games: int,
    rule: str,
    first_moves: np.ndarray,
    seed: int,
    env: str,
    env_kwargs: str,
) -> list[_Pairing]:
    """The games every pair still lacks under ``rule``, as one pairing each (complete pairs left out).

    Only games played under the same opening rule count: a suite and random openings are
    different schedules, and switching rules is a request for the other one.
    """
    counts = Counter((r.first, r.second) for r in results if r.opening_rule == rule)
    covered = {(r.first, r.second, r.opening) for r in results if r.opening_rule == rule}
    pairings = []
    for i, a in enumerate(entrants):
        for b in entrants[i + 1 :]:
            a_openings = _missing_openings(a.name, b.name, counts, covered, games, rule, first_moves, seed)
            b_openings = _missing_openings(b.name, a.name, counts, covered, games, rule, first_moves, seed)
            if not a_openings and not b_openings:
                continue
            played = (counts[(a.name, b.name)], counts[(b.name, a.name)])
            pairings.append(
                _Pairing(
                    a,
                    b,
                    np.arange(len(a_openings) + len(b_openings)) < len(a_openings),
                    None if rule == "none" else np.asarray(a_openings + b_openings, dtype=np.int64),
                    rule,
                    _derive_seed(seed, "players", a.name, b.name, *played),
                    env,
                    env_kwargs,
                )
            )
    return pairings


def _missing_openings(
    first: str,
    second: str,
    counts: Counter[tuple[str, str]],
    covered: set[tuple[str, str, int | None]],
    games: int,
    rule: str,
    first_moves: np.ndarray,
    seed: int,
) -> list[Any]:
    """The openings of the games ``first`` (moving first) still has to play against ``second``.

    Random opening number ``k`` depends only on the seed, the unordered pair and ``k``: a league
    that grows draws the same openings as one played at full size at once, and both colour
    orders of a pair share them (a paired design: the opening's own bias cancels out).
    """
    if rule == "suite":
        return [int(move) for move in first_moves if (first, second, int(move)) not in covered]
    have = counts[(first, second)]
    if rule == "none":
        return [None] * max(games // 2 - have, 0)
    low, high = sorted((first, second))
    return [int(first_moves[np.random.default_rng(_seed_words(seed, "opening", low, high, k)).integers(first_moves.size)]) for k in range(have, games // 2)]


def _seed_words(*parts: int | str) -> list[int]:
    """Entropy for a numpy SeedSequence; names enter through CRC-32, which is stable across runs."""
    return [part if isinstance(part, int) else zlib.crc32(part.encode("utf-8")) for part in parts]


def _derive_seed(*parts: int | str) -> int:
    return int(np.random.SeedSequence(_seed_words(*parts)).generate_state(1)[0])


# -------------------------------------------------------------------------------------- playing


def _play_all(pairings: Sequence[_Pairing], matches_path: Path, workers: int, progress: bool | None, backend: str = "local") -> None:
    """Play the pairings and append each one's games to the table as soon as it is finished."""
    total = sum(len(p.a_first) for p in pairings)
    done = 0
    with Progress(total, desc="league games", enabled=progress, unit="games") as bar:
        bar.update(0)
        for results in _results(pairings, workers, backend):
            append_matches(matches_path, results)
            done += len(results)
            bar.update(done)


def _results(pairings: Sequence[_Pairing], workers: int, backend: str = "local") -> Iterator[list[GameResult]]:
    """Each pairing's games, in this process, in ``workers`` spawned ones or as Ray tasks (in
    completion order).

    Spawn, not fork: forking a process that holds torch and numba threads can deadlock.
    """
    if backend == "ray":
        for _, results in ray_map(_play_alone, [_absolute_paths(p) for p in pairings]):
            yield results
        return
    if workers == 0:
        for pairing in pairings:
            yield play_pairing(pairing)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, max(len(pairings), 1)), mp_context=context, initializer=_init_worker)
    try:
        futures = [pool.submit(play_pairing, pairing) for pairing in pairings]
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool as error:
        raise RlagentError(f"a league worker process died ({error}); rerun to play the games still missing") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _init_worker() -> None:
    """One torch thread per worker: K workers on K cores, not K times the cores in threads."""
    torch.set_num_threads(1)


def _play_alone(pairing: _Pairing) -> list[GameResult]:
    """:func:`play_pairing` as a Ray task: one core's worth of torch threads, as in a local worker."""
    _init_worker()
    return play_pairing(pairing)


def _absolute_paths(pairing: _Pairing) -> _Pairing:
    """The pairing with its checkpoint files named by absolute paths: a Ray worker need not share
    this process's working directory (on a cluster, the files must be at the same path on every
    node). Names, and so the results, are unchanged."""
    return replace(pairing, a=_absolute_entrant(pairing.a), b=_absolute_entrant(pairing.b))


def _absolute_entrant(entrant: Entrant) -> Entrant:
    if entrant.step is not None:
        return replace(entrant, spec=os.path.abspath(entrant.spec))
    search = search_name(entrant.spec)
    if search is None:
        return entrant
    return replace(entrant, spec=f"{os.path.abspath(search.path)}@puct{search.simulations}")


def play_pairing(pairing: _Pairing) -> list[GameResult]:
    """Play one pairing's games in one batch and return them as match-table rows.

    The players are built here, from their specs and the pairing's seed, so that the result is
    the same in any process and in any order of pairings.
    """
    game = _factory(pairing.env, pairing.env_kwargs)(len(pairing.a_first))
    seed_a, seed_b = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(pairing.seed).spawn(2))
    if isinstance(game, SimultaneousGame):
        a, b = _build_seat_player(pairing.a, game, seed_a), _build_seat_player(pairing.b, game, seed_b)
        scores = play_seated(game, a, b, pairing.a_first, pairing.openings)
    else:
        scores = play_boards(game, _build_player(pairing.a, seed_a, game), _build_player(pairing.b, seed_b, game), pairing.a_first, pairing.openings)
    results = []
    for i, a_opens in enumerate(pairing.a_first):
        first, second = (pairing.a.name, pairing.b.name) if a_opens else (pairing.b.name, pairing.a.name)
        opening = None if pairing.openings is None else int(pairing.openings[i])
        results.append(GameResult(first, second, float(scores[i]), opening, pairing.rule))
    return results


def _build_player(entrant: Entrant, seed: int, game: TurnBasedGame) -> Player | PositionPlayer:
    if entrant.step is not None:
        stat = os.stat(entrant.spec)
        return PolicyPlayer(_load_agent(entrant.spec, stat.st_mtime_ns, stat.st_size).policy, greedy=True, name=entrant.name)
    search = search_name(entrant.spec)
    if search is not None and search.kind == PUCT:
        stat = os.stat(search.path)
        agent = _load_agent(search.path, stat.st_mtime_ns, stat.st_size)
        return searched_agent(agent, search.simulations, seed=seed, name=entrant.name)
    return make_player(entrant.name, seed, game)  # parse_baselines admitted only random, mctsN and searches


def _build_seat_player(entrant: Entrant, game: SimultaneousGame, seed: int) -> SeatPlayer:
    """A snapshot as a greedy :class:`PolicySeatPlayer` (fresh recurrent state per body), or the
    game's own player for a baseline's name (the Arena's bots)."""
    if entrant.step is not None:
        stat = os.stat(entrant.spec)
        policy = _load_agent(entrant.spec, stat.st_mtime_ns, stat.st_size).policy
        return PolicySeatPlayer(policy, game.num_seats, greedy=True, seed=seed, name=entrant.name)
    return game.named_player(parse_player(entrant.name), seed)


@lru_cache(maxsize=64)
def _load_agent(path: str, mtime_ns: int, size: int) -> Agent:
    """Each snapshot is loaded once per process (greedy play and searches keep no state in the policy).

    The file's time and size are part of the key, so a file rewritten at the same path (a run
    restarted in the same directory) is loaded afresh.
    """
    return load_agent(path)


@lru_cache(maxsize=8)
def _factory(env: str, env_kwargs: str) -> Any:
    return game_factory(env, json.loads(env_kwargs))


# -------------------------------------------------------------------------------------- storing


def _names(results: Sequence[GameResult]) -> set[str]:
    return {r.first for r in results} | {r.second for r in results}


def _choose_anchor(anchor: str | None, results: Sequence[GameResult]) -> str:
    """The named anchor, else ``random``, else the oldest snapshot that has played."""
    names = _names(results)
    if anchor is not None:
        return anchor
    if "random" in names:
        return "random"
    snapshots = sorted((step, name) for name in names if (step := snapshot_step(name)) is not None)
    return snapshots[0][1] if snapshots else min(names)
