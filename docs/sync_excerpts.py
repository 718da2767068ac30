"""Keep the guides' source excerpts on the code they name: ``python docs/sync_excerpts.py``.

A guide includes code as a block titled ``FILE: NAME[, NAME...]`` around ``--8<-- "FILE:START:END"``.
The names (functions, classes, methods as ``Class.name``, assignments) decide the lines; this script
rewrites START:END to their span wherever the code moved, and ``tests/test_docs.py`` fails while any
excerpt is stale, so an edit of the code cannot leave a walkthrough showing the wrong lines.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXCERPT = re.compile(r'(```\w+ title="([^":]+): ([^"]+)"\n--8<-- ")([^":]+):(\d+):(\d+)("\n```)')


def spans(source: str) -> dict[str, tuple[int, int]]:
    """``name -> (first line, last line)`` of every top-level and class-level def, class and assignment."""
    found: dict[str, tuple[int, int]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            span = (first, node.end_lineno or node.lineno)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found[prefix + node.name] = span
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            found[prefix + name.id] = span

    visit(ast.parse(source).body, "")
    return found


def expected_span(title_path: str, names: str, path: str) -> tuple[int, int]:
    """The lines that ``names`` occupy in ``path``; ValueError if the title and the file disagree."""
    if title_path != path:
        raise ValueError(f"the title names {title_path} but the lines come from {path}")
    known = spans((ROOT / path).read_text())
    wanted = [name.strip() for name in names.split(",")]
    missing = [name for name in wanted if name not in known]
    if missing:
        raise ValueError(f"{path} has no {missing}")
    return min(known[n][0] for n in wanted), max(known[n][1] for n in wanted)


def stale(page: Path) -> list[str]:
    """What is wrong with ``page``'s excerpts, one line each (empty: all current)."""
    problems = []
    for match in EXCERPT.finditer(page.read_text()):
        _, title_path, names, path, start, end, _ = match.groups()
        try:
            expected = expected_span(title_path, names, path)
        except ValueError as error:
            problems.append(f"{page.name}: {error}")
            continue
        if expected != (int(start), int(end)):
            problems.append(f'{page.name}: {names} is now --8<-- "{path}:{expected[0]}:{expected[1]}", not {start}:{end}')
    return problems


def sync(page: Path) -> bool:
    """Rewrite ``page``'s excerpt line numbers to the code's; True if anything changed."""
    text = page.read_text()

    def fix(match: re.Match[str]) -> str:
        head, title_path, names, path, _, _, tail = match.groups()
        start, end = expected_span(title_path, names, path)
        return f"{head}{path}:{start}:{end}{tail}"

    new = EXCERPT.sub(fix, text)
    if new != text:
        page.write_text(new)
    return new != text


def main() -> int:
    changed = [page.name for page in sorted(DOCS.glob("*.md")) if sync(page)]
    print(f"updated {', '.join(changed)}" if changed else "every excerpt is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
