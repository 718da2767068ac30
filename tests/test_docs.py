"""The documentation site builds strictly, lists every public name, and its examples still work.

The guides include the README's sections by name, so these checks cover the README too:

- every Python snippet runs;
- every command of the guides' ``bash`` blocks runs: ``python -m rlagent.<command>`` (and
  ``python -m envs.hex``) in this process, through the command's own ``main(argv)``, made cheap by
  the one table :data:`CAPS` and nothing else; ``logs/<run>`` is the run the block's last training
  command wrote, or, in a block that trains none, :data:`DEFAULT_RUN` trained once; every
  ``python benchmarks/<name>.py`` exists and answers ``--help``; a command that cannot run here is
  in :data:`NOT_RUN` with the reason, and any other command fails the test;
- every excerpt of the source that a guide includes by line numbers is still exactly the
  function, class or assignment its title names, so a walkthrough cannot drift from the code.
"""

from __future__ import annotations

import importlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPET = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)
RUN = "<run>"

# How each command is made cheap, and nothing else changes: each flag is set to the value given
# (replaced where the guide sets it, appended where it does not: argparse and --set keep the last
# value); a flag ending in "?" is only replaced, never added (evaluate --positions changes what
# evaluate does). Searches in player names are shrunk by SHRINK.
CAPS: dict[str, dict[str, str]] = {
    "rlagent.train": {"--total-steps": "1", "--set": "run.progress=false"},  # one update of the preset
    "rlagent.evaluate": {"--games": "2", "--positions?": "20"},
    "rlagent.league": {"--games": "2", "--positions": "0"},
    "rlagent.play": {},  # stdin is "quit"
    "rlagent.analyze": {},
    "rlagent.watch": {"--every": "50"},  # a frame every 50 steps of the match
    "rlagent.diagnose": {"--no-plots": ""},
    "rlagent.tune": {"--samples": "2", "--total-steps": "256", "--scheduler": "none"},  # two tiny trials
    "envs.hex": {"--games": "64", "--num-envs": "16"},
}
SHRINK = ((re.compile(r"\bmcts\d+"), "mcts8"), (re.compile(r"@puct\d+"), "@puct4"))
# The files a command writes into the run, as the guides say it does (selfplay.md's table).
WRITES = {"rlagent.league": ("league/matches.csv", "league/ratings.csv", "league/elo.png")}
# Commands the guides show that cannot run inside a test, by how they start.
NOT_RUN = {
    "python3 -m venv": "makes a virtual environment and installs into it: CI's own set-up does exactly this",
    ". .venv/bin/activate": "part of the set-up above",
    "pip install": "needs the network; CI installs the package the same way before the tests",
    "python -m pytest": "the test suite itself (this test is part of it)",
    "tensorboard": "a server that runs until stopped",
    "mkdocs serve": "a server that runs until stopped (test_the_site_builds_strictly builds the same site)",
    "ray start": "starts Ray's daemons on a machine of a cluster, until ray stop; the commands after it run on the session's local Ray",
    "ray stop": "stops the daemons of ray start",
}
# A block with this runs on the session's local Ray (conftest's ray_session: --address is then the Ray
# already joined), is marked ray, and is skipped where Ray is not installed.
RAY_BACKEND = ("--backend ray", "run.backend=ray", "rlagent.tune")
# What logs/<run> is in a block that trains nothing: the 5x5 self-play run the Hex pages speak of.
DEFAULT_RUN = ["ppo", "--env", "hex", "--set", "env.size=5", "--set", "selfplay.enabled=true"]


def uses_ray(block: str) -> bool:
    return any(marker in block for marker in RAY_BACKEND)


def readme_section(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    start, end = f"<!-- --8<-- [start:{name}] -->", f"<!-- --8<-- [end:{name}] -->"
    assert start in text and end in text, f"README.md has no section {name!r}"
    return text.split(start, 1)[1].split(end, 1)[0]


def pages() -> dict[str, str]:
    """Each guide page with its README sections filled in, as the site shows it."""
    return {path.name: SNIPPET.sub(lambda m: readme_section(m.group(1)), path.read_text()) for path in sorted(DOCS.glob("*.md"))}


def blocks(language: str) -> list[tuple[str, str]]:
    """``(page, code)`` of every ``language`` block, each distinct block once (pages share README sections)."""
    found: dict[str, str] = {}
    for name, text in pages().items():
        for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL):
            found.setdefault(block, name)
    return [(name, block) for block, name in found.items()]


def block_commands(block: str) -> list[list[str]]:
    """A bash block's commands: continuations joined, comments dropped, ``&&`` chains split."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split("  #", 1)[0].strip()
        for part in filter(None, (p.strip() for p in line.split("&&"))):
            commands.append(shlex.split(part))
    return commands


def commands() -> list[tuple[str, list[str]]]:
    return [(page, argv) for page, block in blocks("bash") for argv in block_commands(block)]


def capped(module: str, args: list[str]) -> list[str]:
    """``args`` with :data:`CAPS` and :data:`SHRINK` applied."""
    args = list(args)
    for flag, value in CAPS[module].items():
        only_replace = flag.endswith("?")
        flag = flag.rstrip("?")
        if flag in args and value and flag != "--set":
            args[args.index(flag) + 1] = value
        elif not only_replace and (flag not in args or flag == "--set"):
            args += [flag, value] if value else [flag]
    for pattern, small in SHRINK:
        args = [pattern.sub(small, arg) for arg in args]
    return args


def not_run_reason(argv: list[str]) -> str | None:
    line = " ".join(argv)
    return next((reason for start, reason in NOT_RUN.items() if line.startswith(start)), None)


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
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
    from rlagent.algos import LEARNERS

    monkeypatch.chdir(tmp_path)
    registered = dict(LEARNERS)
    try:
        exec(compile(code, f"<{page}>", "exec", dont_inherit=True), {"__name__": "__docs__"})  # as a reader runs it: no future flags of this file
    finally:  # a snippet may register a learner (add-a-learner.md): the registry is the same after it
        LEARNERS.clear()
        LEARNERS.update(registered)


# --- the source excerpts ------------------------------------------------------------------------
def _sync_excerpts():  # noqa: ANN202 - the docs/sync_excerpts.py module
    sys.path.insert(0, str(DOCS))
    try:
        return importlib.import_module("sync_excerpts")
    finally:
        sys.path.remove(str(DOCS))


def test_source_excerpts_show_what_their_titles_name() -> None:
    """A guide includes code as ```` ```python title="FILE: NAME[, NAME...]" ```` around
    ``--8<-- "FILE:START:END"``: the lines must be exactly those names (consecutive, decorators
    and all), so that an edit of the code that moves them fails here; ``python docs/sync_excerpts.py``
    rewrites the line numbers."""
    sync = _sync_excerpts()
    pages = sorted(DOCS.glob("*.md"))
    assert sum(len(sync.EXCERPT.findall(page.read_text())) for page in pages) >= 10, "the walkthroughs include their code by line numbers"
    problems = [problem for page in pages for problem in sync.stale(page)]
    assert not problems, "stale excerpts (run python docs/sync_excerpts.py):\n" + "\n".join(problems)


# --- the commands ---------------------------------------------------------------------------------
def test_every_command_parses_with_its_own_parser() -> None:
    """Fast, for the quick loop: every command's flags exist (the slow test below runs them)."""
    checked = 0
    for page, argv in commands():
        if argv[:2] == ["python", "-m"] and argv[2].startswith("rlagent."):
            args = [a.replace(RUN, "some-run") for a in argv[3:]]
            importlib.import_module(argv[2]).build_parser().parse_args(args)  # a stale flag exits with status 2 here
            checked += 1
        elif argv[0] == "python" and argv[1].startswith("benchmarks/"):
            assert (ROOT / argv[1]).is_file(), f"{page} names {argv[1]}, which does not exist"
    assert checked >= 10


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """:data:`DEFAULT_RUN`, trained on first use only."""
    return []


def _train(args: list[str], logdir: Path) -> Path:
    from rlagent.train import main

    logdir.mkdir(parents=True, exist_ok=True)
    before = set(logdir.iterdir())
    code = main(capped("rlagent.train", args) + ["--logdir", str(logdir)])
    assert code == 0, f"python -m rlagent.train {' '.join(args)} exited with {code}"
    if "--resume" in args:
        return Path(args[args.index("--resume") + 1])
    (run,) = set(logdir.iterdir()) - before
    return run


def _run_module(module: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO("quit\n"))  # play: the human types quit
    target = importlib.import_module(module)
    main = getattr(target, "main", None) or importlib.import_module(f"{module}.__main__").main
    code = main(capped(module, args))
    return 0 if code is None else code


def _run_benchmark(script: str) -> None:
    path = ROOT / script
    assert path.is_file(), f"{script} does not exist"
    source = path.read_text()
    compile(source, script, "exec")
    if "parse_args" in source:  # the benchmarks take minutes: their --help shows they start
        result = subprocess.run([sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{script} --help failed: {result.stderr[-1000:]}"


BASH_BLOCKS = [
    pytest.param(page, block, id=f"{page}-{i}", marks=[pytest.mark.ray] if uses_ray(block) else []) for i, (page, block) in enumerate(blocks("bash"))
]


@pytest.mark.slow
@pytest.mark.parametrize("page, block", BASH_BLOCKS)
def test_every_command_runs(
    page: str,
    block: str,
    default_run: list[Path],
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    """The block's commands in order, as a reader would type them, in a fresh folder."""
    if uses_ray(block):
        request.getfixturevalue("ray_session")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")  # a reader types them in the project's root
    run: Path | None = None
    for argv in block_commands(block):
        line = " ".join(argv)
        if not_run_reason(argv):
            continue
        if argv[:3] == ["python", "-m", "rlagent.train"]:
            run = _train([arg.replace(f"logs/{RUN}", str(run)) for arg in argv[3:]], tmp_path / "logs")
            continue
        if argv[0] == "python" and argv[1].startswith("benchmarks/"):
            _run_benchmark(argv[1])
            continue
        assert argv[:2] == ["python", "-m"], f"{page}: cannot run `{line}`: add it to CAPS, or to NOT_RUN with the reason"
        assert argv[2] in CAPS, f"{page}: no CAPS entry for {argv[2]} (`{line}`)"
        if any(RUN in arg for arg in argv) and run is None:
            if not default_run:
                default_run.append(_train(DEFAULT_RUN, tmp_path_factory.mktemp("default") / "logs"))
            run = default_run[0]
        args = [arg.replace(f"logs/{RUN}", str(run)).replace(RUN, str(run)) for arg in argv[3:]]
        code = _run_module(argv[2], args, monkeypatch)
        assert code == 0, f"{page}: `{line}` exited with {code}: {capsys.readouterr().err[-800:]}"
        for name in WRITES.get(argv[2], ()):
            assert (run / name).is_file(), f"{page}: `{line}` wrote no {name}"


def test_the_guides_run_every_command() -> None:
    """Every command the guides show runs in test_every_command_runs or is listed with its reason."""
    shown = {argv[2] for _, argv in commands() if argv[:2] == ["python", "-m"] and not not_run_reason(argv)}
    assert shown <= set(CAPS), f"commands with no CAPS entry: {shown - set(CAPS)}"
    wanted = {"rlagent.train", "rlagent.evaluate", "rlagent.league", "rlagent.play", "rlagent.analyze", "rlagent.watch", "rlagent.diagnose"}
    assert wanted <= shown, f"the guides show no example of {wanted - shown}"
