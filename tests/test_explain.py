"""Token attributions: offsets into the original text, completeness, truncation, safe HTML, caching."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import plotly.graph_objects as go
import pytest
import torch

from rsad.errors import InputError, ModelError
from rsad.model.classifier import Classifier, anomaly_index
from rsad.model.explain import Explanation, WordAttribution, explain
from rsad.model.explain_render import explanation_html, legend_html, top_words_figure

STEPS = 8  # enough for the properties tested here; the app uses 50
MIXED = "Unbelievably  CHEAP reviews,\tvisit www.Fake.com 刷单 now 😀 Café\nthen  Unbelievably again"
XSS = "<script>alert(1)</script> and <img src=x onerror=alert(1)> or javascript:alert('x') & \"quoted\""


@pytest.fixture(scope="module")
def clf(tiny_model_dir) -> Classifier:
    return Classifier.load(tiny_model_dir, device="cpu", max_length=48)


@pytest.fixture(scope="module")
def mixed(clf) -> Explanation:
    return explain(clf, MIXED, n_steps=STEPS, internal_batch_size=4)


class _Collect(HTMLParser):
    """Every tag, attribute and piece of text of an HTML fragment, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> _Collect:
    p = _Collect()
    p.feed(fragment)
    p.close()
    return p


def synthetic(text: str, scores: dict[str, float]) -> Explanation:
    """An explanation built by hand: one word per whitespace-separated token of ``text``."""
    words, pos = [], 0
    for token in text.split():
        start = text.index(token, pos)
        pos = start + len(token)
        words.append(WordAttribution(start, pos, token, scores.get(token, 0.0)))
    return Explanation(words=words, delta=0.001, n_steps=STEPS, method="lig", score=0.7,
                       covered_chars=len(text), truncated=False, seconds=0.1, n_tokens=len(words) + 2)


# --- offsets and words -------------------------------------------------------------------

def test_words_point_into_the_original_text(clf, mixed):
    words = mixed.words
    assert all(MIXED[w.start:w.end] == w.text for w in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:])), "words are in order, never overlap"
    texts = [w.text for w in words]
    # several sub-word pieces make one word, with the analyst's casing
    assert len(clf.tokenizer.tokenize("Unbelievably")) > 1
    assert texts.count("Unbelievably") == 2 and "CHEAP" in texts and "Café" in texts
    assert "刷单" in texts, "Han characters are merged into jieba words (rsad.model.words)"
    assert "😀" in texts and "," in texts
    assert not mixed.truncated and mixed.covered_chars == len(MIXED)
    assert 0.0 <= mixed.score <= 1.0 and mixed.method == "lig" and mixed.n_steps == STEPS


def test_html_keeps_the_text_exactly(mixed):
    out = explanation_html(MIXED, mixed)
    assert "".join(parse(out).text) == MIXED, "double spaces, tab, newline and Unicode survive"
    assert "white-space:pre-wrap" in out
    assert out.count("<span") == len(mixed.words)


# --- completeness ------------------------------------------------------------------------

def log_odds(clf: Classifier, ids: torch.Tensor) -> float:
    with torch.no_grad():
        logits = clf.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0]
    a = anomaly_index(clf.model)
    return float(logits[a] - logits[1 - a])


def test_word_scores_add_up_to_the_explained_change(clf, mixed):
    enc = clf.tokenizer(MIXED, truncation=True, max_length=clf.max_length, return_special_tokens_mask=True,
                        return_tensors="pt")
    ids = enc["input_ids"]
    special = enc["special_tokens_mask"].bool()
    base = torch.where(special, ids, torch.full_like(ids, clf.tokenizer.pad_token_id))
    change = log_odds(clf, ids) - log_odds(clf, base)
    total = sum(w.score for w in mixed.words)
    # Captum's delta is exactly the completeness gap of what is explained: the anomaly log-odds
    assert abs(total - change) == pytest.approx(mixed.delta, abs=1e-4)
    assert mixed.total == pytest.approx(total)
    assert mixed.score == pytest.approx(float(clf.score([MIXED])[0]), abs=1e-5)


def test_the_shared_model_is_left_unhooked(clf, mixed):
    emb = clf.model.get_input_embeddings()
    assert not emb._forward_hooks and not emb._forward_pre_hooks
    assert not clf.model.training


# --- truncation --------------------------------------------------------------------------

def test_long_text_is_truncated_and_the_tail_shown_plain(clf):
    text = " ".join(f"Word{i} <b>" for i in range(80))
    expl = explain(clf, text, n_steps=4, internal_batch_size=4)
    assert expl.truncated and expl.n_tokens == clf.max_length
    assert expl.covered_chars == expl.words[-1].end < len(text)
    out = explanation_html(text, expl)
    p = parse(out)
    assert "".join(p.text).startswith(text), "every character is still shown, tail included"
    assert f"(not seen by the model: past {clf.max_length} tokens)" in "".join(p.text)
    tail = html.escape(text[expl.covered_chars:], quote=True)
    assert tail in out, "the tail is one plain run of text, no word in it is highlighted"
    assert out.index(tail) > out.rindex("title="), "no highlighted word after the covered part"
    assert "<b>" not in out


def test_head_tail_version_explains_what_it_reads_and_greys_the_middle(clf):
    from dataclasses import replace

    ht = replace(clf, truncation="head_tail")  # same model, reads the start and the end
    text = " ".join(f"Word{i} <b>" for i in range(80))
    expl = explain(ht, text, n_steps=4, internal_batch_size=4)
    assert expl.truncated and expl.n_tokens == clf.max_length and expl.covered_chars == len(text)
    a, b = expl.skipped
    assert 0 < a < b < len(text)
    assert expl.words[0].text == "Word0" and text.endswith(expl.words[-1].text)
    assert all(w.end <= a or w.start >= b for w in expl.words), "no word from the unseen middle"
    # Same input as scoring: the explained score is the head+tail score, not the head's.
    assert expl.score == pytest.approx(float(ht.score([text])[0]), abs=1e-5)
    assert abs(expl.score - float(clf.score([text])[0])) > 1e-6
    out = explanation_html(text, expl)
    p = parse(out)
    shown = "".join(p.text).replace(" (not seen by the model: the middle; it read the start and the end, "
                                    f"{clf.max_length} tokens in all)", "")
    assert shown == text, "every character shown, once, in order"
    middle = html.escape(text[a:b], quote=True)
    assert middle in out and out.index(middle) < out.rindex("title="), "words after the middle are highlighted"
    assert Explanation.from_dict(json.loads(json.dumps(expl.to_dict()))).skipped == [a, b]


@pytest.mark.parametrize("n_words", [3, 46])  # 46 words + [CLS]/[SEP] fill max_length exactly
def test_trailing_spaces_are_not_truncation(clf, n_words):
    text = " ".join(["kettle"] * n_words) + "   \n\n  "
    assert len(clf.tokenizer(text)["input_ids"]) == n_words + 2
    expl = explain(clf, text, n_steps=2, internal_batch_size=2)
    assert not expl.truncated and expl.covered_chars == len(text)
    assert "not seen" not in explanation_html(text, expl)


# --- HTML safety -------------------------------------------------------------------------

def test_html_escapes_everything(clf):
    expl = explain(clf, XSS, n_steps=2, internal_batch_size=2)
    out = explanation_html(XSS, expl)
    assert "<script" not in out and "<img" not in out
    assert "&lt;" in out and "&gt;" in out and "&quot;" in out and "&#x27;" in out and "&amp;" in out
    p = parse(out)
    assert {tag for tag, _ in p.tags} <= {"div", "span"}
    assert all(set(attrs) <= {"class", "style", "title"} for _, attrs in p.tags)
    assert "".join(p.text) == XSS, "the review reads as typed, as text"


def test_whole_tags_and_titles_are_escaped_too():
    # one "word" that is a whole tag (another tokenizer might keep it together)
    text = '<img src=x onerror=alert(1)> "x"'
    expl = synthetic(text, {"<img": 1.0, "onerror=alert(1)>": -0.5})
    out = explanation_html(text, expl)
    assert "<img" not in out and "&lt;img" in out
    assert "".join(parse(out).text) == text


def test_colours_follow_the_sign_and_size():
    expl = synthetic("spam link here ok", {"spam": 2.0, "link": 1.0, "ok": -2.0})
    out = explanation_html("spam link here ok", expl)
    styles = {a["title"]: a["style"] for tag, a in parse(out).tags if tag == "span"}
    assert "rgba(220,38,38,0.850)" in styles["+2.0000"]  # strongest anomaly word: full red
    assert "rgba(220,38,38,0.425)" in styles["+1.0000"]
    assert "rgba(37,99,235,0.850)" in styles["-2.0000"]  # strongest normal word: full blue
    legend = legend_html()
    assert "toward anomaly" in legend and "toward normal" in legend and "<script" not in legend


# --- caching, chart, errors ----------------------------------------------------------------

def test_dict_round_trip_through_json(mixed):
    back = Explanation.from_dict(json.loads(json.dumps(mixed.to_dict())))
    assert back == mixed
    assert back.large_delta == mixed.large_delta


def test_large_delta_tolerance():
    expl = synthetic("a b", {"a": 2.0, "b": 0.0})  # explained change 2.0 log-odds
    expl.delta = 0.09
    assert not expl.large_delta  # 4.5% of the change
    expl.delta = 0.11
    assert expl.large_delta  # 5.5%
    small = synthetic("a b", {"a": 0.02})
    small.delta = 0.008  # big relative to 0.02, but under the 0.01 floor
    assert not small.large_delta
    small.delta = 0.012
    assert small.large_delta


def test_top_words_figure(mixed):
    fig = top_words_figure(mixed, k=5)
    assert isinstance(fig, go.Figure) and len(fig.data) == 1
    x = list(fig.data[0].x)
    assert len(x) == 5
    assert [abs(v) for v in x] == sorted((abs(v) for v in x), reverse=True)
    totals: dict[str, float] = {}
    for w in mixed.words:
        totals[w.text.casefold()] = totals.get(w.text.casefold(), 0.0) + w.score
    assert abs(x[0]) == pytest.approx(max(abs(v) for v in totals.values()))
    colours = list(fig.data[0].marker.color)
    assert all((c == "rgb(220, 38, 38)") == (v > 0) for c, v in zip(colours, x))
    assert len(top_words_figure(mixed, k=100).data[0].x) == len(totals)


def test_a_repeated_word_is_one_bar_with_its_count_and_total():
    expl = synthetic("same same Same ok same", {"same": 0.25, "Same": 0.25, "ok": -0.5})
    fig = top_words_figure(expl, k=5)
    assert list(fig.layout.yaxis.ticktext) == ["same ×4", "ok"]
    assert list(fig.data[0].x) == pytest.approx([1.0, -0.5])
    assert fig.data[0].customdata[0][1] == 4  # the hover says how many times


def test_a_long_text_opens_on_excerpts_around_its_strongest_words():
    filler = "quiet browsing of garden tools " * 200  # ~6,200 characters
    text = filler + "bought 40 identical vouchers in one minute " + filler
    expl = synthetic(text, {"vouchers": 3.0})
    out = explanation_html(text, expl)
    excerpt, _, rest = out.partition('<details class="rsad-show-all">')
    shown = html.unescape(re.sub(r"<[^>]+>", "", excerpt))
    assert "vouchers" in shown and len(shown) < 600  # a few hundred characters around the word
    assert "characters …]" in excerpt and f"Show all {len(text):,} characters" in rest
    assert rest.count("garden") == text.count("garden")  # the whole text is one click away
    short = explanation_html("ok then", synthetic("ok then", {"ok": 1.0}))
    assert "<details" not in short


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_an_input_error(clf, text):
    with pytest.raises(InputError, match="empty"):
        explain(clf, text)


def test_captum_failures_become_model_errors(clf, monkeypatch):
    from captum.attr import LayerIntegratedGradients

    def boom(*args, **kwargs):
        raise RuntimeError("CPU out of memory\nlong traceback detail")

    monkeypatch.setattr(LayerIntegratedGradients, "attribute", boom)
    with pytest.raises(ModelError) as err:
        explain(clf, "check out my channel", n_steps=2)
    assert "out of memory" in str(err.value) and "\n" not in str(err.value)


def test_passes_run_on_one_thread_and_memory_goes_back_when_idle(clf, monkeypatch):
    import threading
    import time

    import rsad.model.explain
    import rsad.model.pass_thread as module

    threads, released, errors = set(), [], []
    real_log_odds = rsad.model.explain._log_odds

    def recording_log_odds(*args, **kwargs):  # every forward pass of a pass ends here
        threads.add(threading.current_thread().name)
        return real_log_odds(*args, **kwargs)

    def caller(text):
        try:
            explain(clf, text, n_steps=2)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    monkeypatch.setattr(rsad.model.explain, "_log_odds", recording_log_odds)
    monkeypatch.setattr(module, "IDLE_RELEASE_SECONDS", 1.0)
    monkeypatch.setattr(module, "release_freed_memory", lambda: released.append(threading.current_thread().name))
    callers = [threading.Thread(target=caller, args=(MIXED,)) for _ in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    caller("check out my channel")
    assert errors == [] and threads == {"rsad-attributions"}
    assert released == []  # passes back to back keep their memory
    deadline = time.monotonic() + 10
    while not released and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # idle longer than IDLE_RELEASE_SECONDS again: nothing more to release
    assert released == ["rsad-attributions"]


def test_a_failing_pass_reaches_its_caller_and_the_next_pass_runs(clf, monkeypatch):
    import rsad.model.explain

    def boom(*args, **kwargs):
        raise ValueError("bad shape")

    with monkeypatch.context() as m:
        m.setattr(rsad.model.explain, "_log_odds", boom)
        with pytest.raises(ModelError, match="bad shape"):
            explain(clf, "check out my channel", n_steps=2)
    assert explain(clf, "check out my channel", n_steps=2).words
