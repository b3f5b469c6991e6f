"""Drawing an attribution: the text on its word colours (HTML), the colour legend, the top words.

Red leans toward anomaly, blue toward normal, the opacity follows |score| / max |score| of the text.
Every character of the text is HTML-escaped; a long text opens on excerpts around its strongest
words. Computing the attribution is :mod:`rsad.model.explain`'s part; this module needs no torch.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from rsad.i18n import _
from rsad.model.explanation import Explanation

if TYPE_CHECKING:
    import plotly.graph_objects as go

_RED = (220, 38, 38)  # toward anomaly
_BLUE = (37, 99, 235)  # toward normal
_MAX_ALPHA = 0.85  # the strongest word stays readable on its background


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def _background(score: float, max_abs: float) -> str:
    """Diverging colour: red toward anomaly, blue toward normal, alpha ~ |score| / max |score|."""
    r, g, b = _RED if score > 0 else _BLUE
    alpha = _MAX_ALPHA * abs(score) / max_abs if max_abs > 0 else 0.0
    return f"rgba({r},{g},{b},{alpha:.3f})"


LONG_TEXT_CHARS = 2_000  # longer texts open on excerpts around their strongest words
EXCERPT_WORDS = 5  # excerpts are centred on this many words with the largest |score|
EXCERPT_RADIUS = 160  # characters kept on each side of such a word


def _pieces(text: str, expl: Explanation) -> list[tuple[str, int, int, Any]]:
    """The text cut into plain runs, scored words and runs the model did not read, in order:
    ("plain" | "word" | "unseen", start, end, score or the reason it was not read)."""
    covered = min(expl.covered_chars, len(text)) if expl.truncated else len(text)
    limit = _("{n} tokens").format(n=expl.n_tokens) if expl.n_tokens else _("the token limit")
    gap = expl.skipped if expl.truncated and expl.skipped and 0 <= expl.skipped[0] <= expl.skipped[1] <= covered \
        else None
    middle = _("the middle; it read the start and the end, {limit} in all").format(limit=limit)
    pieces: list[tuple[str, int, int, Any]] = []
    cursor = 0
    for w in expl.words:
        if w.start < cursor or w.end > covered:
            continue  # a cached explanation of another text: never render out of order
        if gap and w.start < gap[1] and w.end > gap[0]:
            continue  # a blend's bag-of-words word in the middle the transformer skipped: drawn as unseen
        if gap and cursor <= gap[0] and w.start >= gap[1]:  # the first word after the skipped middle
            pieces += [("plain", cursor, gap[0], None), ("unseen", gap[0], gap[1], middle)]
            cursor = gap[1]
        pieces += [("plain", cursor, w.start, None), ("word", w.start, w.end, w.score)]
        cursor = w.end
    if gap and cursor <= gap[0]:  # nothing after the middle could be drawn (another text's cache)
        pieces += [("plain", cursor, gap[0], None), ("unseen", gap[0], gap[1], middle)]
        cursor = gap[1]
    pieces.append(("plain", cursor, covered, None))
    if covered < len(text):
        # a blend's bag of words reads every word; its share of the unseen ones is in the top words
        pieces.append(("unseen", covered, len(text), f"past {limit}" + ("; the bag of words read it" if expl.linear
                                                                          else "")))
    return pieces


def _render(text: str, pieces: list[tuple[str, int, int, Any]], max_abs: float, lo: int, hi: int) -> str:
    """HTML of the pieces within text[lo:hi]; a scored word is kept whole. Every character escaped."""
    out: list[str] = []
    for kind, start, end, extra in pieces:
        if end <= lo or start >= hi:
            continue
        if kind == "word":
            out.append(f'<span style="background:{_background(extra, max_abs)};border-radius:3px" '
                       f'title="{_esc(f"{extra:+.4f}")}">{_esc(text[start:end])}</span>')
        elif kind == "unseen":
            out.append(f'<span style="color:#9ca3af">{_esc(text[max(start, lo):min(end, hi)])}</span>'
                       '<span style="color:#6b7280;font-style:italic"> '
                       + _esc(_("(not seen by the model: {what})").format(what=extra)) + "</span>")
        else:
            out.append(_esc(text[max(start, lo):min(end, hi)]))  # spacing/newlines between words, as typed
    return "".join(out)


def _windows(text: str, expl: Explanation) -> list[tuple[int, int]]:
    """Character ranges around the strongest words, merged where they touch; the start without words."""
    strongest = sorted((w for w in expl.words if w.score), key=lambda w: abs(w.score), reverse=True)[:EXCERPT_WORDS]
    spans = sorted((max(0, w.start - EXCERPT_RADIUS), min(len(text), w.end + EXCERPT_RADIUS)) for w in strongest)
    merged: list[tuple[int, int]] = []
    for lo, hi in spans or [(0, 2 * EXCERPT_RADIUS)]:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _div(css_class: str, inner: str) -> str:
    return (f'<div class="{css_class}" style="white-space:pre-wrap;line-height:1.7;font-family:inherit">'
            + inner + "</div>")


def explanation_html(text: str, expl: Explanation, *, long_text: int = LONG_TEXT_CHARS) -> str:
    """The original text, each word on its attribution colour; every character HTML-escaped.

    A text longer than ``long_text`` characters opens on excerpts around its strongest words,
    with the whole text one click away ("Show all"): a 20,000-character text shown whole
    pushed the score and the verdict thousands of pixels down."""
    max_abs = max((abs(w.score) for w in expl.words), default=0.0)
    pieces = _pieces(text, expl)
    whole = _render(text, pieces, max_abs, 0, len(text))
    if len(text) <= long_text:
        return _div("rsad-explanation", whole)
    marks, cursor = [], 0
    for lo, hi in _windows(text, expl):
        if lo > cursor:
            marks.append(f'<span style="color:#6b7280;font-style:italic">{"" if not cursor else chr(10)}'
                         + _("[… {n:,} characters …]").format(n=lo - cursor) + f"{chr(10)}</span>")
        marks.append(_render(text, pieces, max_abs, lo, hi))
        cursor = hi
    if cursor < len(text):
        marks.append(f'<span style="color:#6b7280;font-style:italic">{chr(10)}'
                     + _("[… {n:,} characters …]").format(n=len(text) - cursor) + "</span>")
    return (_div("rsad-explanation", "".join(marks))
            + '<details class="rsad-show-all"><summary style="cursor:pointer;color:#2563eb">'
            + _("Show all {n:,} characters").format(n=len(text)) + "</summary>"
            + _div("rsad-explanation-all", whole) + "</details>")


def legend_html() -> str:
    """A small legend of the colour scale used by :func:`explanation_html`."""
    r1, g1, b1 = _BLUE
    r2, g2, b2 = _RED
    bar = (f"linear-gradient(to right, rgba({r1},{g1},{b1},{_MAX_ALPHA}), rgba({r1},{g1},{b1},0), "
           f"rgba({r2},{g2},{b2},0), rgba({r2},{g2},{b2},{_MAX_ALPHA}))")
    # Translated outside the f-string: the catalog's extractor does not look inside f-strings.
    normal, anomaly, hover = _("toward normal"), _("toward anomaly"), _("(hover a word for its score)")
    return ('<div class="rsad-legend" style="display:flex;align-items:center;gap:8px;font-size:0.85em">'
            f'<span>{normal}</span>'
            f'<span style="display:inline-block;width:160px;height:12px;border-radius:3px;'
            f'border:1px solid #d1d5db;background:{bar}"></span>'
            f'<span>{anomaly}</span>'
            f'<span style="color:#6b7280">{hover}</span></div>')


def top_words(expl: Explanation, k: int = 12) -> list[tuple[str, float, int, int]]:
    """The k words with the largest total |score|: (word as first written, summed score,
    occurrences, first character). A word repeated six times is one bar, not six."""
    groups: dict[str, list] = {}
    for w in expl.words:
        g = groups.setdefault(w.text.casefold(), [w.text, 0.0, 0, w.start])
        g[1] += w.score
        g[2] += 1
    ranked = sorted(groups.values(), key=lambda g: abs(g[1]), reverse=True)[:max(k, 0)]
    return [(text, float(score), n, start) for text, score, n, start in ranked]


def top_words_figure(expl: Explanation, k: int = 12) -> go.Figure:
    """Horizontal bars of the k words with the largest total |score|, the largest on top."""
    import plotly.graph_objects as go  # here, not at the top: plotly is slow to import and most callers never draw

    top = top_words(expl, k)
    labels = [_esc(word if n == 1 else f"{word} ×{n}") for word, _, n, _ in top]
    # The layout as nested dicts: parsing update_layout's "xaxis_title" paths is slower, and
    # this figure is built on every Review page run.
    layout = dict(
        title=dict(text=_("Top {n} words (+ toward anomaly, − toward normal)").format(n=len(top))),
        xaxis=dict(title=dict(text=_("attribution (anomaly log-odds, summed over occurrences)"))),
        yaxis=dict(tickvals=list(range(len(top))), ticktext=labels, autorange="reversed"),
        height=120 + 24 * len(top), margin=dict(l=10, r=10, t=40, b=40), showlegend=False)
    fig = go.Figure(go.Bar(
        # Positions on the axis, words as tick labels: two words that escape alike stay two bars.
        x=[score for _, score, _, _ in top], y=list(range(len(top))), orientation="h",
        marker_color=[f"rgb{_RED}" if score > 0 else f"rgb{_BLUE}" for _, score, _, _ in top],
        # Plotly reads tags in text and decodes entities: escaped, a word shows as typed.
        customdata=[[label, n, start] for label, (_, _, n, start) in zip(labels, top)],
        # Plotly's own %{...} placeholders: the catalog's {fields} are not involved, nothing to format.
        hovertemplate=_("%{customdata[0]}: %{x:+.4f} (%{customdata[1]} times, first at char "
                        "%{customdata[2]})<extra></extra>"),
    ), layout=layout)
    if not top:
        fig.add_annotation(text=_("No words to show"), showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig
