"""The documentation site builds strictly, lists every public name, and its examples still work.

The guides include the README's sections by name, so these checks cover the README too: every
Python snippet runs; every ``python -m rlagent.<command>`` line parses with that command's own
parser, and every training command trains one update with its preset; every benchmark named exists.
"""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPET = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)


def readme_section(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    start, end = f"<!-- --8<-- [start:{name}] -->", f"<!-- --8<-- [end:{name}] -->"
    assert start in text and end in text, f"README.md has no section {name!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def pages() -> dict[str, str]:
    """Each guide page with its README sections filled in, as the site shows it."""
    return {path.name: SNIPPET.sub(lambda m: readme_section(m.group(1)), path.read_text()) for path in sorted(DOCS.glob("*.md"))}


def blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for name, text in pages().items():
        found += [(name, block) for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)]
    return found


def commands() -> list[tuple[str, list[str]]]:
    """Every command line of the guides' bash blocks (continuations joined, comments dropped)."""
    lines = []
    for page, block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #", 1)[0].strip()
            if line:
                lines.append((page, shlex.split(line)))
    return lines


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").is_file()


def test_the_api_page_lists_every_public_name() -> None:
    sys.path.insert(0, str(DOCS))
    try:
        gen_api = importlib.import_module("gen_api")
    finally:
        sys.path.remove(str(DOCS))
    assert (DOCS / "api.md").read_text() == gen_api.api_page(), "docs/api.md is stale: run python docs/gen_api.py"
    import rlagent

    assert (DOCS / "api.md").read_text().count("\n::: ") == len(rlagent.__all__)


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    for path in DOCS.glob("*.md"):
        assert f": {path.name}" in config, f"{path.name} is not in mkdocs.yml's nav"


@pytest.mark.parametrize("page, code", blocks("python"), ids=lambda value: value if isinstance(value, str) and value.endswith(".md") else "")
def test_python_snippets_run(page: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"<{page}>", "exec"), {"__name__": "__docs__"})


def _parser(module: str):  # noqa: ANN202 - an argparse parser
    return importlib.import_module(module).build_parser()


def test_every_command_parses_with_its_own_parser() -> None:
    checked = 0
    for page, argv in commands():
        if argv[:2] == ["python", "-m"] and argv[2].startswith("rlagent."):
            args = [a.replace("<run>", "some-run") for a in argv[3:]]
            _parser(argv[2]).parse_args(args)  # a stale flag exits with status 2 here
            checked += 1
        elif argv[0] == "python" and argv[1].startswith("benchmarks/"):
            assert (ROOT / argv[1]).is_file(), f"{page} names {argv[1]}, which does not exist"
    assert checked >= 10


@pytest.mark.slow
def test_every_training_command_trains_one_update(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rlagent.train import main as train_main

    trained = 0
    for page, argv in commands():
        if argv[:3] == ["python", "-m", "rlagent.train"]:
            code = train_main([*argv[3:], "--total-steps", "1", "--logdir", str(tmp_path), "--set", "run.progress=false"])
            assert code == 0, f"{page}: {' '.join(argv)} failed: {capsys.readouterr().err[-500:]}"
            trained += 1
    assert trained >= 5
