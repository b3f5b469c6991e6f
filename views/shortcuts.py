"""Keyboard shortcuts for Streamlit buttons: a small component of our own.

Maintained packages (streamlit-shortcuts) fire on any key press, so typing "a" in a note
would record an "anomaly" verdict. This one ignores keys typed into inputs, text areas and
select boxes, and never acts on a key with Ctrl, Alt or Meta held.
"""

from __future__ import annotations

import json

import streamlit as st

_JS = """<script>
const doc = window.parent.document;
const win = window.parent;
win.__rsadShortcuts = %s;
if (!win.__rsadShortcutsInstalled) {
  win.__rsadShortcutsInstalled = true;
  doc.addEventListener("keydown", (e) => {
    win.__rsadShortcutAt = 0;
    if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) return;
    const t = e.target;
    const tag = (t && t.tagName || "").toLowerCase();
    if (["input", "textarea", "select"].includes(tag) || (t && t.isContentEditable)) return;
    const key = win.__rsadShortcuts[e.key.toLowerCase()];
    if (!key) return;
    const button = doc.querySelector(`.st-key-${key} button`);
    if (!button || button.disabled) return;
    e.preventDefault();
    win.__rsadShortcutAt = win.performance.now();
    button.click();
  });
  // A verdict by shortcut re-renders the form, and Streamlit then put the focus back in its
  // Reason box (Chromium, Streamlit 1.67): the next key was typed there, not taken as a
  // shortcut. Focus that lands in a form by itself after a shortcut is let go (after React
  // has seen it arrive); the analyst's own click or key first (Tab into a field) ends that.
  doc.addEventListener("focusin", (e) => {
    const since = win.performance.now() - (win.__rsadShortcutAt || -1e9);
    const field = e.target;
    if (since < 10000 && field && field.closest && field.closest('[data-testid="stForm"]')) {
      win.setTimeout(() => { if (doc.activeElement === field) field.blur(); }, 0);
    }
  }, true);
  doc.addEventListener("pointerdown", () => { win.__rsadShortcutAt = 0; }, true);
}
</script>"""


def add_shortcuts(mapping: dict[str, str]) -> None:
    """Bind keys to buttons by their widget key, e.g. {"a": "verdict_anomaly", "j": "next_case"}."""
    # Only our own constant script and widget keys go in: never user content (st.iframe runs it).
    st.iframe(_JS % json.dumps({k.lower(): v for k, v in mapping.items()}), height=1)
