"""Architecture numbers of this tree, beside a baseline checkout's: import cycles, import levels,
imports of rsad modules inside functions, the longest function, the largest module, and how many
rsad modules the pages import. Imports inside functions count as edges (they tie modules together).

    mkdir -p DIR/base && git archive 10ed5e0 | tar -x -C DIR/base
    python bench/architecture.py --baseline DIR/base
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for p in (root / "rsad").rglob("*.py"):
        if "migrations" in p.parts:
            continue
        parts = p.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return []


def numbers(root: Path) -> dict[str, object]:
    mods = _modules(root)
    graph = nx.DiGraph()
    graph.add_nodes_from(mods)
    in_functions = 0
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        nested = {id(s) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for s in ast.walk(f) if isinstance(s, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            hits = [t for t in _targets(node) if t in mods and t != name]
            graph.add_edges_from((name, t) for t in hits)
            in_functions += bool(hits) and id(node) in nested
    levels: dict[object, int] = {}
    dag = nx.condensation(graph)
    for n in reversed(list(nx.topological_sort(dag))):
        levels[n] = 1 + max((levels[s] for s in dag.successors(n)), default=0)
    ui = [*sorted((root / "views").glob("*.py")), root / "app.py"]
    files = [*mods.values(), *ui]
    functions = [(f.end_lineno - f.lineno + 1, f"{p.relative_to(root)}:{f.name}") for p in files
                 for f in ast.walk(ast.parse(p.read_text())) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
    used = set()
    for p in ui:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rsad"):
                used |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else node.module
                         for a in node.names}
    return {
        "files directly in rsad/": len(list((root / "rsad").glob("*.py"))),
        "rsad modules": len(mods),
        "import cycles (groups)": sum(1 for c in nx.strongly_connected_components(graph) if len(c) > 1),
        "import levels": max(levels.values()),
        "rsad imports inside functions": in_functions,
        "longest function": max(functions),
        "largest module": max((len(p.read_text().splitlines()), str(p.relative_to(root))) for p in files),
        "rsad modules the pages import": len(used),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="an older checkout to compare with")
    args = ap.parse_args()
    now = numbers(ROOT)
    before = numbers(args.baseline) if args.baseline else {}
    for key, value in now.items():
        print(f"{key:32} {str(before.get(key, '')):45} {value}")


if __name__ == "__main__":
    main()
