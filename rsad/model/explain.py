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

Token scores are summed into words by :func:`rsad.model.words.merge_words` (English sub-words,
Chinese characters into jieba words).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

import torch

from rsad.errors import InputError, ModelError
from rsad.i18n import _
from rsad.model import cls_forward, explain_blend, pass_thread
from rsad.model.classifier import anomaly_index
from rsad.model.explanation import Explanation, WordAttribution
from rsad.model.words import merge_words

__all__ = ["Explanation", "WordAttribution", "explain"]  # the words' types are re-exported here

log = logging.getLogger(__name__)

METHOD = "lig"
MAX_STEPS_PER_PASS = 64
# Steps x tokens per forward/backward pass: the activations kept for the backward pass are
# ~150 KB per position for MiniLM, so 4,096 positions peak near 0.6 GB. A 60-token text still
# runs its 50 steps in one pass; a 128-token one takes two.
MAX_POSITIONS_PER_PASS = 4096


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


def explain(clf: Any, text: str, *, n_steps: int = 50, internal_batch_size: int | None = None,
            early_stop: bool = False) -> Explanation:
    """Word attributions of ``text`` toward the anomaly class (see the module docstring).

    ``early_stop``: try fewer steps first (:data:`EARLY_STEPS`, then ``n_steps``) and keep the first
    whose convergence delta is within :data:`CONVERGED` of F(x) - F(baseline); the explanation
    records the steps it used. Computed on the attribution thread, without the caller's thread
    state (grad mode, autocast, current CUDA device): the model's own device decides.
    """
    return pass_thread.run(_explain, clf, text, n_steps, internal_batch_size, early_stop)


# Early stopping: the rungs tried before the full count, and the completeness gap that ends the
# climb, relative to the change explained. 1 % is five times stricter than the 5 % at which the
# page warns that scores may not add up (rsad.model.explanation), so a stopped explanation reads
# as a full one (docs/decisions/0028-first-minute.md). No rung of 8: on the demo no case converged
# there (bench/first_minute.py), so it only added 8 steps to every explanation.
EARLY_STEPS = (16, 32)
CONVERGED = 0.01


def step_ladder(n_steps: int, early_stop: bool) -> list[int]:
    """The step counts to try in order: ``n_steps`` alone, or the early rungs below it first."""
    return [s for s in EARLY_STEPS if s < n_steps] + [n_steps] if early_stop else [n_steps]


def converged(delta: float, change: float) -> bool:
    """The completeness gap is within :data:`CONVERGED` of the explained change |F(x) - F(baseline)|."""
    return abs(delta) <= CONVERGED * abs(change)


# Each model's [CLS]-only path once checked against its own forward, or None where it was refused.
# Checked once per model (a few small forward passes): the path computes the same products
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


class _Passes:
    """The forward passes of one attribution: ids -> anomaly log-odds through the model's own
    forward (``whole``) or its checked [CLS]-only path (``short``), keeping F(x) and F(baseline)
    from Captum's own evaluations in ``seen``."""

    def __init__(self, clf: Any, enc: dict[str, list]) -> None:
        model = self.model = clf.model
        model.eval()  # dropout off: attributions must be deterministic
        self.target = anomaly_index(model)
        pad_id = clf.tokenizer.pad_token_id if clf.tokenizer.pad_token_id is not None else 0
        self.ids = torch.tensor([enc["input_ids"]], device=clf.device)
        self.base = torch.tensor([_baseline_ids(enc["input_ids"], enc["special_tokens_mask"], pad_id)],
                                 device=clf.device)
        self.embed = _WordEmbeddings(model.get_input_embeddings())
        self.seen: dict[str, float] = {}
        self.short: Callable[[torch.Tensor], torch.Tensor] | None = None

    def whole(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=self.embed(input_ids), attention_mask=torch.ones_like(input_ids)).logits

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        short = self.short
        out = _log_odds((short(self.embed(input_ids)) if short is not None else self.whole(input_ids)).float(),
                        self.target)
        # Captum evaluates the input and the baseline without gradients to capture the layer;
        # the interpolated steps always run with gradients. Keeping F from those calls spares
        # the two forward passes of Captum's own convergence delta.
        if not torch.is_grad_enabled() and input_ids.shape == self.ids.shape:
            for name, ref in (("x", self.ids), ("baseline", self.base)):
                if torch.equal(input_ids, ref):
                    self.seen[name] = float(out[0])
        return out


def _check_arguments(text: str, n_steps: int, internal_batch_size: int | None) -> None:
    if not isinstance(text, str) or not text.strip():
        raise InputError(_("The text to explain is empty: there is nothing to attribute."))
    if n_steps < 1 or (internal_batch_size is not None and internal_batch_size < 1):
        raise InputError(_("n_steps and internal_batch_size must both be at least 1."))


def _steps_per_pass(n_steps: int, n_tokens: int) -> int:
    """All steps in one forward/backward by default: one big matrix product per layer keeps
    2 CPU cores busier than four small ones (64 steps x 128 tokens of MiniLM is ~200 MB)."""
    return max(1, min(n_steps, MAX_STEPS_PER_PASS, MAX_POSITIONS_PER_PASS // max(1, n_tokens)))


def _attribute(lig_class: type, passes: _Passes, n_steps: int, internal_batch_size: int) -> torch.Tensor:
    """Captum's attributions per token and embedding dimension, with F(x) and F(baseline) in
    ``passes.seen``; any failure becomes a one-line ModelError."""
    try:
        passes.short = _short_path(passes.model, passes.embed, passes.whole, torch.cat([passes.ids, passes.base]))
        with torch.enable_grad():  # Captum needs gradients whatever the thread's grad mode
            lig = lig_class(passes.forward, passes.embed)
            try:
                attrs = lig.attribute(passes.ids, baselines=passes.base, n_steps=n_steps,
                                      internal_batch_size=internal_batch_size)
            except Exception:
                if passes.short is None:
                    raise
                passes.short = None  # once more with the whole model; if that fails too (out of memory,
                passes.seen.clear()  # say), the short path was not the cause and stays for the next case
                attrs = lig.attribute(passes.ids, baselines=passes.base, n_steps=n_steps,
                                      internal_batch_size=internal_batch_size)
                _refuse_short_path(passes.model, "failed on")  # e.g. an operation this device lacks
        with torch.no_grad():
            for name, ref in (("x", passes.ids), ("baseline", passes.base)):
                if name not in passes.seen:  # a Captum that evaluates differently: one forward pass each
                    passes.forward(ref)
    except RuntimeError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(_("Computing attributions failed ({first}); try a smaller internal_batch_size or fewer "
                           "steps.").format(first=first)) from exc
    except Exception as exc:  # Captum raises plain exceptions of many kinds: report them in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelError(_("Computing attributions failed: {kind}: {first}").format(
                             kind=type(exc).__name__, first=first)) from exc
    return attrs


def _explanation(text: str, enc: dict[str, list], truncated: bool, skipped: list[int] | None,
                 attrs: torch.Tensor, seen: dict[str, float], n_steps: int, t0: float) -> Explanation:
    """Token attributions summed into the words of ``text``, with the completeness gap."""
    token_scores = attrs.sum(dim=-1)[0].detach().float().cpu().tolist()
    # Captum's convergence delta, computed here: completeness gap sum(attr) - (F(x) - F(baseline)).
    delta = sum(token_scores) - (seen["x"] - seen["baseline"])
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    special = enc["special_tokens_mask"]
    words = merge_words(text, offsets, special, enc["word_ids"], token_scores)
    covered = max((e for (s, e), sp in zip(offsets, special) if not sp), default=0)
    return Explanation(
        words=words, delta=abs(delta), n_steps=n_steps, method=METHOD,
        score=float(torch.sigmoid(torch.tensor(seen["x"]))),
        covered_chars=covered if truncated and not skipped else len(text), change=seen["x"] - seen["baseline"],
        truncated=truncated, seconds=time.perf_counter() - t0, n_tokens=len(enc["input_ids"]), skipped=skipped,
    )


def _explain(clf: Any, text: str, n_steps: int, internal_batch_size: int | None,
             early_stop: bool = False) -> Explanation:
    _check_arguments(text, n_steps, internal_batch_size)
    from captum.attr import LayerIntegratedGradients

    t0 = time.perf_counter()
    enc, truncated, skipped = _encode(clf, text)
    internal_batch_size = internal_batch_size or _steps_per_pass(n_steps, len(enc["input_ids"]))
    if all(enc["special_tokens_mask"]):
        raise InputError(_("The text has no characters the model can read (only spaces or control characters)."))
    passes = _Passes(clf, enc)
    computed = 0
    for steps in step_ladder(n_steps, early_stop):
        passes.seen.clear()
        attrs = _attribute(LayerIntegratedGradients, passes, steps,
                           min(internal_batch_size, _steps_per_pass(steps, len(enc["input_ids"]))))
        computed += steps
        expl = _explanation(text, enc, truncated, skipped, attrs, passes.seen, steps, t0)
        if converged(expl.delta, passes.seen["x"] - passes.seen["baseline"]):
            break
    expl.steps_computed = computed
    if getattr(clf, "lexical", None) is not None:  # a blended version: add the bag of words' exact share
        expl = explain_blend.blended(expl, clf.lexical, text, passes.seen["x"])
    return expl
