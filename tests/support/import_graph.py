"""The import graph of desktop_app's subpackages, read from the source with `ast`: every
`import`/`from … import` counts, at module level or inside a function (import-linter's
graph misses the latter unless told, and a function-level import is a dependency too).

    python3 tests/support/import_graph.py          # subpackage → what it imports
    python3 tests/support/import_graph.py --cycles # the cycles between subpackages, if any
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "desktop_app"


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "desktop_app" else None


def _module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every desktop_app module `path` imports, wherever the statement stands."""
    tree = ast.parse(path.read_text(), str(path))
    me = _module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith("desktop_app.")}


def edges(package: Path = PACKAGE) -> dict[str, dict[str, list[str]]]:
    """subpackage → {imported subpackage → [importing module, …]} (self-imports left out)."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(package.rglob("*.py")):
        me = _module_name(path, package.parent)
        src = _subpackage(me)
        if src is None:
            continue
        for mod in sorted(imports_of(path, package.parent)):
            dst = _subpackage(mod)
            if dst and dst != src and me not in out[src][dst]:
                out[src][dst].append(me)
    return out


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected groups of more than one subpackage (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def main(argv: list[str]) -> int:
    graph = edges()
    if "--cycles" in argv:
        for group in cycles(graph):
            print(" ↔ ".join(group))
            for a in group:
                for b in group:
                    if b in graph.get(a, {}):
                        print(f"    {a} → {b}: {', '.join(graph[a][b])}")
        return 0
    for src in sorted(graph):
        print(f"{src:10} → {', '.join(sorted(graph[src]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
