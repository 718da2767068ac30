from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from rlagent.distributed import INSTALL_RAY, init_ray, private_ray_environment

# One torch thread makes the learning tests ~4x faster on the 2-core CI (no oversubscription).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def ray_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One local Ray with 2 CPUs for the whole session (starting one takes seconds), shut down at
    its end; tests that use it are marked ``ray`` and skipped when Ray is not installed.

    Nothing is left in the user's home: the token of Ray's authentication lives in the environment
    (Ray would write ``~/.ray/auth_token``), and Ray's files go under pytest's temporary directory,
    not ``/tmp/ray``. Yields that directory; its file ``started`` was written just before Ray started.
    """
    if importlib.util.find_spec("ray") is None:
        pytest.skip(f"Ray is not installed: {INSTALL_RAY}")
    saved = dict(os.environ)
    os.environ.update(private_ray_environment())  # before ray is imported, which reads the mode once
    temp_dir = tmp_path_factory.mktemp("ray")
    (temp_dir / "started").touch()
    import ray

    try:
        init_ray(num_cpus=2, temp_dir=str(temp_dir))
        yield temp_dir
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(saved)
