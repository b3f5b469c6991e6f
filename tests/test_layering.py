"""The app's layers: only app.py and views/ import streamlit; views stay thin."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"torch", "sqlalchemy", "captum", "transformers"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_views_do_not_import_heavy_libraries():
    for path in [ROOT / "app.py", *sorted((ROOT / "views").glob("*.py"))]:
        assert not _imports(path) & HEAVY, path


def test_only_the_ui_imports_streamlit():
    for path in sorted((ROOT / "rsad").glob("*.py")):
        assert "streamlit" not in _imports(path), path


def test_no_pages_folder_that_streamlit_would_route_around_app_py():
    # A folder named pages/ beside app.py makes Streamlit serve /review etc. without app.py
    # (no sidebar, no analyst) when a URL is opened directly; the views live in views/.
    assert not (ROOT / "pages").exists()
