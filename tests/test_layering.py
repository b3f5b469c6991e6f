"""The layers (docs/architecture.md): rsad's packages import one way, with no cycles; the pages and
the CLI go through rsad.service; only the UI imports streamlit; the views stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "sqlalchemy", "captum", "transformers"}
# Lowest first. A module may import its own layer and the ones below it, never one above.
LAYERS = [
    ("rsad.errors", "rsad.config", "rsad.progress", "rsad.i18n"),  # foundation: no rsad imports but these
    ("rsad.data",),
    ("rsad.auth",),
    ("rsad.model",),
    ("rsad.review",),
    ("rsad.evaluation",),
    ("rsad.training",),
    ("rsad.ops",),
    ("rsad.service",),
    ("rsad.cli",),
]
# What the pages and the CLI may import from rsad: the service layer and the foundation.
UI_ALLOWED = ("rsad.service", "rsad.errors", "rsad.config", "rsad.progress", "rsad.i18n")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60

pytestmark = pytest.mark.unit


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function (both tie modules together),
    resolved to the longest rsad module name that exists."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import"
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


def _package_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in (ROOT / "rsad").rglob("*.py") if "migrations" not in p.parts}


def _graph() -> nx.DiGraph:
    modules = _package_modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(path):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


def _layer(module: str) -> int:
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and to docs/architecture.md)")


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(_graph()))
    assert not cycles, f"import cycles: {cycles}"


def test_imports_point_down_the_layers():
    graph = _graph()
    upward = [(a, b) for a, b in graph.edges if _layer(b) > _layer(a)]
    assert not upward, f"imports from a lower layer to a higher one: {upward}"


def test_the_package_root_is_only_the_foundation_and_packages():
    # A flat module at rsad/ would be a layer nobody named; put it in its package.
    flat = sorted(p.name for p in (ROOT / "rsad").glob("*.py"))
    assert flat == ["__init__.py", "config.py", "errors.py", "progress.py"]


def _ui_files() -> list[Path]:
    return [ROOT / "app.py", ROOT / "serve.py", *sorted((ROOT / "views").glob("*.py"))]


def test_pages_and_cli_call_only_the_service_layer():
    def within(target: str, packages: tuple[str, ...]) -> bool:
        return any(target == p or target.startswith(p + ".") for p in packages)

    cli = sorted((ROOT / "rsad" / "cli").glob("*.py"))
    wrong = []
    for path in _ui_files() + cli:
        allowed = UI_ALLOWED + (("rsad.cli",) if path in cli else ())  # the pages never reach into the CLI
        for target in _imports(path):
            if within(target, ("rsad",)) and target != "rsad" and not within(target, allowed):
                wrong.append(f"{path.relative_to(ROOT)}: {target}")
    assert not wrong, "\n".join(wrong)


def test_views_do_not_import_heavy_libraries():
    for path in _ui_files():
        assert not {t.split(".")[0] for t in _imports(path)} & HEAVY, path


def test_only_the_ui_imports_streamlit():
    for path in sorted((ROOT / "rsad").rglob("*.py")):
        assert "streamlit" not in {t.split(".")[0] for t in _imports(path)}, path


def test_no_pages_folder_that_streamlit_would_route_around_app_py():
    # A folder named pages/ beside app.py makes Streamlit serve /review etc. without app.py
    # (no sidebar, no analyst) when a URL is opened directly; the views live in views/.
    assert not (ROOT / "pages").exists()


def test_small_units():
    """Modules stay readable in one sitting and functions fit on a screen (a page's top-level
    script counts as one function)."""
    too_big = []
    for path in [*sorted((ROOT / "rsad").rglob("*.py")), *_ui_files()]:
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        tree = ast.parse(text)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_big.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {n} lines")
        script = sum(s.end_lineno - s.lineno + 1 for s in tree.body
                     if isinstance(s, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.Expr))
                     and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)))
        if script > MAX_FUNCTION_LINES:
            too_big.append(f"{path.relative_to(ROOT)}: {script} lines of top-level script")
    assert not too_big, "\n".join(too_big)


def test_every_package_says_what_it_offers():
    for init in sorted((ROOT / "rsad").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.split()) >= 8, f"{init.relative_to(ROOT)}: a docstring naming the public functions"
