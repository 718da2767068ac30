"""The linter's and the type checker's verdicts are part of the test suite, so CI refuses what they refuse
(ruff's settings in pyproject.toml, mypy's in setup.cfg)."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_code_is_formatted() -> None:
    """``ruff format`` leaves every file as it is (run it before committing; pre-commit does)."""
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run([ruff, "format", "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"run ruff format .:\n{result.stdout[-3000:]}"


def test_mypy_finds_nothing() -> None:
    """The type checker over rlagent and envs (settings in setup.cfg). Its cache, .mypy_cache, makes
    a second run take about a second; a cold one takes 25-50 s on two cores."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]


def test_public_api_has_its_types() -> None:
    """Every public name is imported under ``TYPE_CHECKING`` in rlagent/__init__.py, from the module
    that defines it, so that type checkers see it typed (at run time it loads on first use)."""
    import rlagent

    tree = ast.parse((ROOT / "rlagent" / "__init__.py").read_text())
    typed = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom)
                for alias in statement.names:
                    typed[alias.asname or alias.name] = (statement.module, alias.name)
    expected = {name: (module, rlagent._RENAMED.get(name, name)) for name, module in rlagent._PUBLIC.items()}
    assert typed == expected
