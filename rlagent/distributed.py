"""Backends for work that splits into independent tasks: league pairings, study cells, search trials.

Two backends, chosen by name (``--backend``): ``local`` runs on this machine, in this process or
in ``workers`` spawned processes (the default, and needs nothing more); ``ray`` runs each task as
a Ray task, on this machine's cores or on a Ray cluster (the optional extra ``rlagent[ray]``).
A task builds everything it needs from its own arguments and seeds, so a backend changes where
the work runs, never its result.

Ray is imported inside the functions here, never when this module is imported: rlagent works
without it, and asking for it without it installed is one clear line saying how to install it.

How Ray is started (:func:`init_ray`): with no address, a private Ray on this machine, started for
this process and stopped with it; ``address="auto"`` joins the cluster this machine belongs to
(``ray start``), ``"HOST:PORT"`` the cluster whose head is there; ``RAY_ADDRESS`` in the
environment counts as an address (that is how ``ray job submit`` hands one to a driver). Since
2.52, a private Ray turns on token authentication and writes a fresh token to
``~/.ray/auth_token``; unless the user configured authentication, we keep the token in the
environment instead (:func:`private_ray_environment`), so a private Ray stays authenticated and
leaves nothing in the user's home.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

from rlagent.errors import ConfigError, RlagentError

__all__ = [
    "BACKENDS",
    "INSTALL_RAY",
    "add_backend_arguments",
    "check_backend",
    "init_ray",
    "private_ray_environment",
    "ray_map",
    "require_ray",
    "start_backend",
]

BACKENDS = ("local", "ray")
INSTALL_RAY = 'pip install -e ".[ray]" in a checkout, or pip install "rlagent[ray]"'
# Ray's own switches (Ray >= 2.52): the authentication mode, and the token's two sources besides ~/.ray/auth_token.
_AUTH_MODE, _AUTH_TOKEN, _AUTH_TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"

Item = TypeVar("Item")
Result = TypeVar("Result")


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a one-line error listing them."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}: valid are {', '.join(BACKENDS)}")
    return backend


def require_ray() -> ModuleType:
    """The ``ray`` module, or a :class:`ConfigError` saying how to install it (one line)."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"Ray is not installed: {INSTALL_RAY}") from None
    return ray


def private_ray_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables to add to ``environ`` (default ``os.environ``) before starting a private Ray,
    so that it writes nothing into the user's home.

    Token authentication stays on (anyone who can reach a Ray port can run code as this user),
    with a random token kept in the environment, where Ray's own processes, started from this
    one, read it; Ray would otherwise write one to ``~/.ray/auth_token``. A user who set any of
    Ray's authentication variables chose for themselves, so nothing is added then. Usage
    statistics are off, as ``ray.init`` already sets them for a release build.
    """
    environ = os.environ if environ is None else environ
    added = {} if "RAY_USAGE_STATS_ENABLED" in environ else {"RAY_USAGE_STATS_ENABLED": "0"}
    if not any(name in environ for name in (_AUTH_MODE, _AUTH_TOKEN, _AUTH_TOKEN_PATH)):
        added.update({_AUTH_MODE: "token", _AUTH_TOKEN: secrets.token_hex(32)})
    return added


def init_ray(address: str | None = None, num_cpus: int | None = None, *, temp_dir: str | None = None) -> bool:
    """Start or join Ray for this process, once; later calls (and a Ray the caller started) are kept.
    Returns whether this call started or joined it, so that its caller (and only it) shuts it down.

    ``address`` None (and no ``RAY_ADDRESS``): a private Ray on this machine with ``num_cpus``
    cores (None: all), no dashboard, workers' output not copied to ours, its files in ``temp_dir``
    (None: Ray's default, ``/tmp/ray``). ``"auto"`` or ``"HOST:PORT"``: join that cluster, whose
    own size and files then apply (``num_cpus`` and ``temp_dir`` are ignored).
    """
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is None:
        os.environ.update(private_ray_environment())
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address is None:
        _refresh_ray_config()  # in case ray was imported before the variables above were set
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address is None:
        options.update(address="local", num_cpus=num_cpus, _temp_dir=temp_dir)
    else:
        options.update(address=address)
    try:
        ray.init(**options)
    except ConnectionError as error:
        raise ConfigError(f"cannot join the Ray cluster at {address!r} ({error}); start one with ray start --head, or leave out --address") from None
    return True


def _refresh_ray_config() -> None:
    """Ray reads the authentication mode once, when it is imported; after it was imported, a mode
    set in the environment reaches this process only through Ray's config being read again (what
    Ray does itself when it turns authentication on)."""
    from ray._raylet import Config  # type: ignore[attr-defined]  # a compiled module without stubs

    Config.initialize("")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend`` and ``--address``, worded the same in every command that has them; pass the
    parsed values to :func:`start_backend`."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="local",
        help="local: this machine, in --workers processes (default); ray: each task a Ray task, with the same results (needs rlagent[ray])",
    )
    parser.add_argument(
        "--address",
        help="with --backend ray: join this Ray cluster (auto: the one this machine belongs to; HOST:PORT: its head) instead of starting one",
    )


def start_backend(backend: str, address: str | None = None, num_cpus: int | None = None) -> str:
    """What a command does with ``--backend`` and ``--address``: check them, and start or join Ray
    for the ``ray`` backend (``num_cpus`` for a private Ray). Returns the backend."""
    check_backend(backend)
    if address is not None and backend != "ray":
        raise ConfigError(f"--address {address} joins a Ray cluster: add --backend ray")
    if backend == "ray":
        init_ray(address, num_cpus)
    return backend


def ray_map(function: Callable[..., Result], items: Sequence[Item], *args: Any) -> Iterator[tuple[int, Result]]:
    """``(i, function(items[i], *args))`` for every item, each call a Ray task on one core, in the
    order they finish (so a caller can store each result as it comes).

    ``function`` must be importable by name (a module's top-level function): Ray's workers import
    it rather than receive its code. Starts a private Ray if none is running (:func:`init_ray`).
    A task's :class:`RlagentError` is raised here as itself, a file a worker cannot find as one
    line about shared storage; pending tasks are cancelled when the caller stops early.
    """
    ray = require_ray()
    init_ray()
    task = ray.remote(num_cpus=1)(function)
    shared = [ray.put(arg) for arg in args]  # once, not once per task
    pending = {task.remote(item, *shared): i for i, item in enumerate(items)}
    try:
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                yield pending.pop(ref), _get(ray, ref)
    finally:
        for ref in pending:
            ray.cancel(ref)


def _get(ray: ModuleType, ref: Any) -> Any:
    """A task's result, its failure turned into what the caller would have seen running it here."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        cause = error.cause
        if isinstance(cause, RlagentError):
            raise cause from None
        if isinstance(cause, FileNotFoundError):
            raise RlagentError(
                f"a Ray worker cannot read {cause.filename}: on a cluster, runs and checkpoints must be on storage every node sees at the same path"
            ) from None
        raise
    except ray.exceptions.RayError as error:
        raise RlagentError(f"a Ray task failed ({type(error).__name__}: {error}); rerun to do the work still missing") from None
