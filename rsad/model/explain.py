"""Token attributions for the anomaly class: Layer Integrated Gradients on the word embeddings.

What is explained is the anomaly *log-odds*, ``F(x) = logit_anomaly - logsumexp(other logits)``
(for two labels simply ``logit_anomaly - logit_normal``), so that ``sigmoid(F(x)) = P(anomaly)``.
Why not the raw anomaly logit: a word that pushes both logits up moves the raw logit but not the
probability the analyst sees; the log-odds only move when the decision moves, and their sign
reads directly as "toward anomaly" (+) or "toward normal" (-). Why not the probability itself:
it saturates near 0 and 1, where almost every flagged case lives, and its gradients vanish.

The baseline is the same token sequence with every real token replaced by [PAD] while [CLS] and
[SEP] stay, under the same attention mask: the special tokens then get exactly zero attribution,
and the word scores add up to ``F(x) - F(baseline)`` up to the convergence delta Captum reports.

Captum hooks the layer it attributes to. The classifier is shared between Streamlit sessions
(``st.cache_resource``), so hooking the model's own embedding module would corrupt a scoring
call running in another thread at the same moment. The hook goes instead on a private wrapper
around the model's word-embedding lookup (same weights, same computation), and the model is
fed ``inputs_embeds``: the attribution is identical and the shared model is never touched.

The passes run the last encoder layer for [CLS] only (``rsad.model.cls_forward``: 14% less work for
MiniLM, the same logits), once it has agreed with the model's own forward on a model's first text
and its baseline; where it disagrees or fails, the model's own forward is used.
"""

from __future__ import annotations

import html
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from rsad.model import cls_forward
from rsad.model import pass_thread
from rsad.errors import InputError, ModelError
from rsad.model.classifier import anomaly_index

log = logging.getLogger(__name__)

METHOD = "lig"
# large_delta: the completeness gap may be 5% of the explained change (the usual IG rule of
# thumb), with a floor of 0.01 log-odds (a quarter of a point of probability near 0.5) so that
# texts the model barely tells apart from the all-[PAD] baseline are not flagged for noise.
# 50 steps leave gaps of ~1e-4 or less; 8 steps already break the 5% rule on small models.
DELTA_RELATIVE_TOLERANCE = 0.05
DELTA_ABSOLUTE_FLOOR = 0.01

MAX_STEPS_PER_PASS = 64
# Steps x tokens per forward/backward pass: the activations kept for the backward pass are
# ~150 KB per position for MiniLM, so 4,096 positions peak near 0.6 GB. A 60-token text still
# runs its 50 steps in one pass; a 128-token one takes two.
MAX_POSITIONS_PER_PASS = 4096
_RED = (220, 38, 38)  # toward anomaly
_BLUE = (37, 99, 235)  # toward normal
_MAX_ALPHA = 0.85  # the strongest word stays readable on its background


@dataclass
class WordAttribution:
    """One word of the original text and its attribution."""

    start: int  # character offsets into the ORIGINAL text
    end: int
    text: str  # text[start:end]
    score: float  # summed attribution of the word's sub-word pieces (positive = toward anomaly)


@dataclass
class Explanation:
    """Word attributions of one text, with what is needed to judge and cache them."""

    words: list[WordAttribution]
    delta: float  # |Captum convergence delta|, in log-odds
    n_steps: int
    method: str  # "lig"
    score: float  # model P(anomaly) for the text
    covered_chars: int  # text[:covered_chars] was seen by the model; the rest was truncated
    truncated: bool
    seconds: float
    n_tokens: int = 0  # tokens the model saw, [CLS]/[SEP] included (0: unknown)
    skipped: list[int] | None = None  # head+tail truncation: text[start:end] in the middle was not seen

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, for the attribution cache."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        d = dict(d)
        words = [WordAttribution(**w) for w in d.pop("words")]
        return cls(words=words, **d)

    @property
    def total(self) -> float:
        """Sum of the word scores: F(x) - F(baseline) in anomaly log-odds, up to the delta."""
        return float(sum(w.score for w in self.words))

    @property
    def large_delta(self) -> bool:
        """True when the completeness gap is too big to trust the scores (see the constants)."""
        tolerance = max(DELTA_RELATIVE_TOLERANCE * abs(self.total), DELTA_ABSOLUTE_FLOOR)
        return self.delta > tolerance


class _WordEmbeddings(torch.nn.Module):
    """A private handle on the model's word-embedding lookup, for Captum to hook (see above)."""

    def __init__(self, embeddings: torch.nn.Module) -> None:
        super().__init__()
        self.embeddings = embeddings

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.embeddings(input_ids)


def _log_odds(logits: torch.Tensor, target: int) -> torch.Tensor:
    """Anomaly log-odds per row: logit_target - logsumexp(other logits)."""
    others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
    return logits[:, target] - torch.logsumexp(others, dim=1)


def _encode(clf: Any, text: str) -> tuple[dict[str, list], bool, list[int] | None]:
    """The encoding the model reads (ids, offsets, special mask, word ids), whether truncation
    dropped tokens, and for head+tail truncation the [start, end) characters it skipped."""
    from rsad.model.classifier import kept_positions

    tok = clf.tokenizer
    head_tail = getattr(clf, "truncation", "head") == "head_tail"
    enc = tok(text, truncation=not head_tail, max_length=clf.max_length if not head_tail else None,
              return_offsets_mapping=True, return_special_tokens_mask=True, return_token_type_ids=False,
              verbose=False)
    fields = {k: list(enc[k]) for k in ("input_ids", "offset_mapping", "special_tokens_mask")}
    fields["word_ids"] = enc.word_ids()
    if head_tail:
        keep = kept_positions(len(fields["input_ids"]), clf.max_length, "head_tail")
        if keep is None:
            return fields, False, None
        cut = next(i for i in range(1, len(keep)) if keep[i] != keep[i - 1] + 1)  # first tail position
        skipped = [fields["offset_mapping"][keep[cut - 1]][1], fields["offset_mapping"][keep[cut]][0]]
        return {k: [v[i] for i in keep] for k, v in fields.items()}, True, skipped
    if len(fields["input_ids"]) < clf.max_length:
        return fields, False, None
    # Full: truncated only if the rest holds a token. Trailing characters the tokenizer ignores
    # (spaces, control characters) are not "unseen"; max_length=1 because one token decides it
    # (and a long tail tokenized whole would log a length warning).
    seen_end = max((e for (_s, e), sp in zip(fields["offset_mapping"], fields["special_tokens_mask"]) if not sp),
                   default=0)
    rest = tok(text[seen_end:], add_special_tokens=False, truncation=True, max_length=1,
               return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    return fields, bool(rest), None


def _baseline_ids(input_ids: list[int], special: list[int], pad_id: int) -> list[int]:
    """Every real token replaced by [PAD]; [CLS]/[SEP] kept."""
    return [tid if is_special else pad_id for tid, is_special in zip(input_ids, special)]


def _merge_words(text: str, offsets: list[tuple[int, int]], special: list[int],
                 word_ids: list[int | None], scores: list[float]) -> list[WordAttribution]:
    """Sub-word pieces -> words with character offsets into the original text.

    Pieces join the current word when they touch it (start == previous end) and the tokenizer
    put them in the same pre-token word: "un ##bel ##ie ##va ##bly" become one word, while
    punctuation and each CJK character (their own pre-tokens in BERT) stay separate words.
    """
    words: list[WordAttribution] = []
    last_word_id: int | None = None
    for (start, end), is_special, wid, score in zip(offsets, special, word_ids, scores):
        if is_special:
            continue  # [CLS]/[SEP] are the same in the baseline: their attribution is exactly 0
        if end <= start:  # an empty piece: keep its score so the words still add up
            if words:
                words[-1].score += score
            continue
        if words and words[-1].end == start and (wid is None or wid == last_word_id):
            words[-1].end = end
            words[-1].score += score
        else:
            words.append(WordAttribution(start=start, end=end, text="", score=score))
        last_word_id = wid
    for w in words:
        w.text = text[w.start:w.end]
    return words


def explain(clf: Any, text: str, *, n_steps: int = 50, internal_batch_size: int | None = None) -> Explanation:
    """Word attributions of ``text`` toward the anomaly class (see the module docstring).

    Computed on the attribution thread, without the caller's thread state (grad mode, autocast,
    current CUDA device): the model's own device decides.
    """
    return pass_thread.run(_explain, clf, text, n_steps, internal_batch_size)


# Each model's [CLS]-only path once checked against its own forward, or None where it was refused.
# Checked once per model (~40 ms of small forward passes): the path computes the same products
# for every input, so a variant that computes something else shows on the first text.
_short_paths: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _short_path(model: Any, embed: torch.nn.Module, whole: Callable[[torch.Tensor], torch.Tensor],
                pair: torch.Tensor) -> Any:
    """The model's checked [CLS]-only path, or None: None also where it disagrees with the model's
    own forward (``whole``: ids -> logits) on ``pair`` (a text and its baseline) or cannot run."""
    if model not in _short_paths:
        short = cls_forward.for_model(model)
        if short is not None:
            try:
                with torch.no_grad():
                    agrees = bool(torch.allclose(short(embed(pair)), whole(pair), rtol=1e-3, atol=1e-3))
            except Exception:  # noqa: BLE001 - a short path that cannot run is one that disagrees
                agrees = False
            if not agrees:
                _refuse_short_path(model, "disagrees with")
                short = None
        _short_paths[model] = short
    return _short_paths[model]


def _refuse_short_path(model: Any, what: str) -> None:
    _short_paths[model] = None
    log.warning("The [CLS]-only last layer %s %s: attributions use the full model.", what, type(model).__name__)


def _explain(clf: Any, text: str, n_steps: int, internal_batch_size: int | None) -> Explanation:
    if not isinstance(text, str) or not text.strip():
        raise InputError("The text to explain is empty: there is nothing to attribute.")
    # All steps in one forward/backward by default: one big matrix product per layer keeps
    # 2 CPU cores busier than four small ones (64 steps x 128 tokens of MiniLM is ~200 MB).
    if n_steps < 1 or (internal_batch_size is not None and internal_batch_size < 1):
        raise InputError("n_steps and internal_batch_size must both be at least 1.")
    from captum.attr import LayerIntegratedGradients

    t0 = time.perf_counter()
    enc, truncated, skipped = _encode(clf, text)
    internal_batch_size = internal_batch_size or max(1, min(
        n_steps, MAX_STEPS_PER_PASS, MAX_POSITIONS_PER_PASS // max(1, len(enc["input_ids"]))))
    special = enc["special_tokens_mask"]
    if all(special):
        raise InputError("The text has no characters the model can read (only spaces or control characters).")
    model = clf.model
    model.eval()  # dropout off: attributions must be deterministic
    target = anomaly_index(model)
    pad_id = clf.tokenizer.pad_token_id if clf.tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([enc["input_ids"]], device=clf.device)
    base = torch.tensor([_baseline_ids(enc["input_ids"], special, pad_id)], device=clf.device)

    embed = _WordEmbeddings(model.get_input_embeddings())
    seen: dict[str, float] = {}  # F(x) and F(baseline) from Captum's own evaluations
    short = None

    def whole(input_ids: torch.Tensor) -> torch.Tensor:
        return model(inputs_embeds=embed(input_ids), attention_mask=torch.ones_like(input_ids)).logits

    def forward(input_ids: torch.Tensor) -> torch.Tensor:
        out = _log_odds((short(embed(input_ids)) if short is not None else whole(input_ids)).float(), target)
        # Captum evaluates the input and the baseline without gradients to capture the layer;
        # the interpolated steps always run with gradients. Keeping F from those calls spares
        # the two forward passes of Captum's own convergence delta.
        if not torch.is_grad_enabled() and input_ids.shape == ids.shape:
            for name, ref in (("x", ids), ("baseline", base)):
                if torch.equal(input_ids, ref):
                    seen[name] = float(out[0])
        return out

    try:
        short = _short_path(model, embed, whole, torch.cat([ids, base]))
        with torch.enable_grad():  # Captum needs gradients whatever the thread's grad mode
            lig = LayerIntegratedGradients(forward, embed)
            try:
                attrs = lig.attribute(ids, baselines=base, n_steps=n_steps, internal_batch_size=internal_batch_size)
            except Exception:
                if short is None:
                    raise
                short = None  # once more with the whole model; if that fails too (out of memory,
                seen.clear()  # say), the short path was not the cause and stays for the next case
                attrs = lig.attribute(ids, baselines=base, n_steps=n_steps, internal_batch_size=internal_batch_size)
                _refuse_short_path(model, "failed on")  # e.g. an operation this device lacks
        with torch.no_grad():
            for name, ref in (("x", ids), ("baseline", base)):
                if name not in seen:  # a Captum that evaluates differently: one forward pass each
                    forward(ref)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"Computing attributions failed ({first}); try a smaller internal_batch_size "
                         "or fewer steps.") from exc
    except Exception as exc:  # Captum raises plain exceptions of many kinds: report them in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(f"Computing attributions failed: {type(exc).__name__}: {first}") from exc

    token_scores = attrs.sum(dim=-1)[0].detach().float().cpu().tolist()
    # Captum's convergence delta, computed here: completeness gap sum(attr) - (F(x) - F(baseline)).
    delta = sum(token_scores) - (seen["x"] - seen["baseline"])
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    words = _merge_words(text, offsets, special, enc["word_ids"], token_scores)
    covered = max((e for (s, e), sp in zip(offsets, special) if not sp), default=0)
    return Explanation(
        words=words, delta=abs(delta), n_steps=n_steps, method=METHOD,
        score=float(torch.sigmoid(torch.tensor(seen["x"]))),
        covered_chars=covered if truncated and not skipped else len(text),
        truncated=truncated, seconds=time.perf_counter() - t0, n_tokens=len(enc["input_ids"]), skipped=skipped,
    )


# --- rendering ---------------------------------------------------------------------------

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
    limit = f"{expl.n_tokens} tokens" if expl.n_tokens else "the token limit"
    gap = expl.skipped if expl.truncated and expl.skipped and 0 <= expl.skipped[0] <= expl.skipped[1] <= covered \
        else None
    middle = f"the middle; it read the start and the end, {limit} in all"
    pieces: list[tuple[str, int, int, Any]] = []
    cursor = 0
    for w in expl.words:
        if w.start < cursor or w.end > covered:
            continue  # a cached explanation of another text: never render out of order
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
        pieces.append(("unseen", covered, len(text), f"past {limit}"))
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
                       f'<span style="color:#6b7280;font-style:italic"> {_esc(f"(not seen by the model: {extra})")}'
                       "</span>")
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
                         f"[… {lo - cursor:,} characters …]{chr(10)}</span>")
        marks.append(_render(text, pieces, max_abs, lo, hi))
        cursor = hi
    if cursor < len(text):
        marks.append(f'<span style="color:#6b7280;font-style:italic">{chr(10)}[… {len(text) - cursor:,} '
                     "characters …]</span>")
    return (_div("rsad-explanation", "".join(marks))
            + f'<details class="rsad-show-all"><summary style="cursor:pointer;color:#2563eb">Show all '
            f"{len(text):,} characters</summary>" + _div("rsad-explanation-all", whole) + "</details>")


def legend_html() -> str:
    """A small legend of the colour scale used by :func:`explanation_html`."""
    r1, g1, b1 = _BLUE
    r2, g2, b2 = _RED
    bar = (f"linear-gradient(to right, rgba({r1},{g1},{b1},{_MAX_ALPHA}), rgba({r1},{g1},{b1},0), "
           f"rgba({r2},{g2},{b2},0), rgba({r2},{g2},{b2},{_MAX_ALPHA}))")
    return ('<div class="rsad-legend" style="display:flex;align-items:center;gap:8px;font-size:0.85em">'
            '<span>toward normal</span>'
            f'<span style="display:inline-block;width:160px;height:12px;border-radius:3px;'
            f'border:1px solid #d1d5db;background:{bar}"></span>'
            '<span>toward anomaly</span>'
            '<span style="color:#6b7280">(hover a word for its score)</span></div>')


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


def top_words_figure(expl: Explanation, k: int = 12):  # noqa: ANN201 - plotly is imported lazily
    """Horizontal bars of the k words with the largest total |score|, the largest on top."""
    import plotly.graph_objects as go

    top = top_words(expl, k)
    labels = [_esc(word if n == 1 else f"{word} ×{n}") for word, _, n, _ in top]
    # The layout as nested dicts: parsing update_layout's "xaxis_title" paths is slower, and
    # this figure is built on every Review page run.
    layout = dict(
        title=dict(text=f"Top {len(top)} words (+ toward anomaly, − toward normal)"),
        xaxis=dict(title=dict(text="attribution (anomaly log-odds, summed over occurrences)")),
        yaxis=dict(tickvals=list(range(len(top))), ticktext=labels, autorange="reversed"),
        height=120 + 24 * len(top), margin=dict(l=10, r=10, t=40, b=40), showlegend=False)
    fig = go.Figure(go.Bar(
        # Positions on the axis, words as tick labels: two words that escape alike stay two bars.
        x=[score for _, score, _, _ in top], y=list(range(len(top))), orientation="h",
        marker_color=[f"rgb{_RED}" if score > 0 else f"rgb{_BLUE}" for _, score, _, _ in top],
        # Plotly reads tags in text and decodes entities: escaped, a word shows as typed.
        customdata=[[label, n, start] for label, (_, _, n, start) in zip(labels, top)],
        hovertemplate="%{customdata[0]}: %{x:+.4f} (%{customdata[1]} times, first at char "
                      "%{customdata[2]})<extra></extra>",
    ), layout=layout)
    if not top:
        fig.add_annotation(text="No words to show", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    return fig
