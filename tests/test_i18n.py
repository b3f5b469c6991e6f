"""Every message in English and Chinese, one catalog (rsad/i18n), and no message the catalog
cannot see: a literal shown on a page, raised as an error or printed by the CLI without ``_``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rsad import i18n
from rsad.i18n import _, catalog, ngettext, pgettext, use_language

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]

# Streamlit calls whose first argument (and these keywords) a person reads.
SHOWN = {"title", "header", "subheader", "caption", "markdown", "write", "info", "warning", "error", "success",
         "toast", "button", "form_submit_button", "download_button", "link_button", "page_link", "selectbox",
         "radio", "checkbox", "toggle", "text_input", "text_area", "number_input", "slider", "select_slider",
         "multiselect", "file_uploader", "date_input", "metric", "expander", "popover", "progress", "spinner",
         "status", "Page", "TextColumn", "NumberColumn", "ProgressColumn", "LinkColumn", "CheckboxColumn",
         "DatetimeColumn", "ListColumn", "Column", "SelectboxColumn", "segmented_control", "pills", "dialog",
         "show_error", "md_note"}
SHOWN_KEYWORDS = {"label", "help", "placeholder", "text", "title", "caption", "body"}
CLI_SAYS = {"print", "err", "say", "warn", "exit", "fail"}
ICON = re.compile(r":material/[a-z_]+:|:[a-z_]+:")


def _has_words(text: str, sentence: bool = False) -> bool:
    text = ICON.sub("", text)
    return bool(re.search(r"[A-Za-z]{2}", text)) and (not sentence or " " in text.strip())


def _literal_words(node: ast.AST, sentence: bool = False) -> bool:
    """``node`` puts English words on screen without the catalog (a literal, an f-string, a sum)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _has_words(node.value, sentence)
    if isinstance(node, ast.JoinedStr):
        return any(_literal_words(v, sentence) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _literal_words(node.left, sentence) or _literal_words(node.right, sentence)
    if isinstance(node, ast.IfExp):
        return _literal_words(node.body, sentence) or _literal_words(node.orelse, sentence)
    if isinstance(node, ast.List | ast.Tuple):
        return any(_literal_words(e, sentence) for e in node.elts)
    return False


def _name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _untranslated(path: Path, ui: bool) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            if _literal_words(node.exc.args[0], sentence=True):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: raised message without _()")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if ui and name in SHOWN:
            first = [] if name in ("Page", "page_link") else node.args[:1]  # their first argument is a script
            args = first + [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
            if any(_literal_words(a) for a in args):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: st.{name} shows a literal without _()")
        if name == "tabs" and node.args and _literal_words(node.args[0]):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: st.tabs shows literals without _()")
        if "cli" in path.parts and name in CLI_SAYS and any(_literal_words(a, sentence=True) for a in node.args):
            out.append(f"{path.relative_to(ROOT)}:{node.lineno}: the CLI says a literal without _()")
    return sorted(out, key=lambda line: int(line.split(":")[1]))


def test_every_message_exists_in_every_language():
    for lang in i18n.LANGUAGES:
        if lang != i18n.SOURCE:
            found = catalog.problems(lang)
            assert not found, f"{len(found)} messages in one language only:\n" + "\n".join(found[:40])


def test_no_message_bypasses_the_catalog():
    found = []
    for path in catalog.source_files(ROOT):
        found += _untranslated(path, ui=path.parts[-2] == "views" or path.name in ("app.py", "serve.py"))
    assert not found, "shown without the catalog:\n" + "\n".join(found)


def test_the_checks_see_what_they_should():
    tree = ("import streamlit as st\nst.info('Scored the batch')\nst.caption(f'{n} rows left')\n"
            "st.metric(_('Cases'), 3)\nraise InputError('No such batch: upload it first')\n")
    probe = ROOT / "views" / "_probe_i18n.py"
    probe.write_text(tree)
    try:
        found = _untranslated(probe, ui=True)
    finally:
        probe.unlink()
    assert [f.split(": ", 1)[1] for f in found] == [
        "st.info shows a literal without _()", "st.caption shows a literal without _()",
        "raised message without _()"]


def test_translation_follows_the_chosen_language(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RSAD_LANG", raising=False)
    assert i18n.language() == "en" and _("Overview") == "Overview"
    with use_language("zh_CN"):
        assert i18n.language() == "zh"
        assert _("Overview") != "Overview" and re.search(r"[\u4e00-\u9fff]", _("Overview"))
        assert _("not a message of the desk") == "not a message of the desk"
        assert pgettext("button", "Score") != _("Score")  # the verb on Upload's button, the noun over a column
    monkeypatch.setenv("RSAD_LANG", "zh")
    assert i18n.language() == "zh"
    with use_language("en"):
        assert ngettext("{n} case", "{n} cases", 2) == "{n} cases"
    monkeypatch.setenv("RSAD_LANG", "klingon")
    assert i18n.language() == "en"


def test_the_catalog_check_reports_both_directions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "rsad").mkdir()
    (tmp_path / "rsad" / "m.py").write_text("from rsad.i18n import _\nA = _('Only in English {n}')\n"
                                              "B = _('Both {n}')\nC = _('Moved field {n}')\n")
    po = tmp_path / "zh.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: zh\\n"\n\nmsgid "Both {n}"\nmsgstr "两者 {n}"\n\n'
                  'msgid "Moved field {n}"\nmsgstr "字段 {m}"\n\nmsgid "Only in Chinese"\nmsgstr "只有中文"\n')
    monkeypatch.setattr(catalog, "po_path", lambda lang: po)
    found = catalog.problems("zh", tmp_path)
    assert len(found) == 3
    assert "no zh translation of 'Only in English {n}'" in found[0]
    assert "has fields ['{m}']" in found[1]
    assert "zh only (not in the source): 'Only in Chinese'" in found[2]
