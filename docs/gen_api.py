"""Writes docs/api.md from rlagent's public names (``rlagent._PUBLIC``), grouped as that table groups
them; tests/test_docs.py checks that the page on disk is what this writes, so the reference lists
every public name and nothing else. Run it after adding a public name: ``python docs/gen_api.py``."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import rlagent

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "api.md"
HEADER = [
    "# API reference",
    "",
    "The public names: import them from `rlagent` itself (`from rlagent import PolicyPlayer`); the",
    "modules named below are where they are defined today, and may move.",
    "",
]


def where(name: str, table_module: str) -> str:
    """Where ``name`` is written: a re-exported or renamed class or function is documented under its
    own module and name (``rlagent.hex_pettingzoo_env`` is ``envs.hex.pettingzoo_env``)."""
    value = getattr(rlagent, name)
    if inspect.isclass(value) or inspect.isfunction(value):
        return f"{value.__module__}.{value.__qualname__}"
    return f"{table_module}.{name}"


def api_page() -> str:
    source = (ROOT / "rlagent" / "__init__.py").read_text()
    table = source[source.index("_PUBLIC = {") :]
    table = table[: table.index("\n}")]
    lines = list(HEADER)
    for line in table.splitlines()[1:]:
        line = line.strip()
        heading = re.fullmatch(r"# (.+)", line)
        entry = re.match(r'"(\w+)": "([\w.]+)"', line)
        if heading:
            lines += [f"## {heading.group(1)[0].upper()}{heading.group(1)[1:]}", ""]
        elif entry:
            lines += [f"::: {where(entry.group(1), entry.group(2))}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    PAGE.write_text(api_page())
    print(f"wrote {PAGE}")
