"""Streamlit's magic writes the value of any expression statement at a page's top level onto the
page: `st.success(m) if ok else show_error(m)` there showed the DeltaGenerator's help on Escalated.
Page scripts keep their top-level expressions to plain calls (whose None magic skips)."""

import ast
from pathlib import Path

import pytest

VIEWS = Path(__file__).resolve().parents[1] / "views"


def _top_level_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements magic sees: the module's, and those inside its if/for/while/with/try blocks."""
    out = []
    for node in body:
        out.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # magic leaves function bodies alone
        for field in ("body", "orelse", "finalbody"):
            out += _top_level_statements(getattr(node, field, []) or [])
        for handler in getattr(node, "handlers", []) or []:
            out += _top_level_statements(handler.body)
    return out


def magic_written(source: str) -> list[int]:
    """Lines whose top-level expression is not a plain call, a docstring or an await: magic shows them."""
    return [node.lineno for node in _top_level_statements(ast.parse(source).body)
            if isinstance(node, ast.Expr) and not isinstance(node.value, (ast.Call, ast.Constant, ast.Await))]


@pytest.mark.unit
def test_the_check_finds_a_conditional_expression() -> None:
    assert magic_written('"""doc"""\nif x:\n    st.success(m) if ok else show_error(m)\nst.title("a")\n'
                         'def f():\n    a if b else c\n') == [3]


@pytest.mark.unit
@pytest.mark.parametrize("page", sorted(p.name for p in VIEWS.glob("*.py")))
def test_no_page_writes_a_stray_value(page: str) -> None:
    assert magic_written((VIEWS / page).read_text(encoding="utf-8")) == []
