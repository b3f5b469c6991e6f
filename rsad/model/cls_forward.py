"""A BERT classifier's logits with the last encoder layer computed for the [CLS] position only.

A BERT sequence classifier reads one position of its last layer: [CLS] goes to the pooler and the
classification head, and every other position of that layer is computed and thrown away. That
layer still needs keys and values from every position (the [CLS] query attends to them all), but
its queries, attention output and feed-forward block are needed for [CLS] alone. For a 6-layer
MiniLM that is ~14% of the matrix products of a forward pass, and the same share of the backward
pass Integrated Gradients runs 50 times per explanation: `bench/explain.py` measures the gain.
The logits are the model's own up to float rounding (~5e-7 on MiniLM).

Only models laid out like `transformers`' BertForSequenceClassification with absolute positions
get the short path (`for_model` returns None for anything else), and callers compare it with the
model's own forward before trusting it (``rsad.model.explain`` does on a model's first text, and falls
back to the whole model when the short path raises), so a variant that computes something this
module does not know about is caught rather than explained wrongly.
Rows must be unpadded texts of one length: there is no attention mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def for_model(model: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``f(word_embeddings) -> logits`` computing only [CLS] in the last layer, or None when the
    model is not a BERT classifier this module knows how to shorten."""
    config = getattr(model, "config", None)
    bert = getattr(model, "bert", None)
    if (getattr(config, "model_type", None) != "bert" or getattr(config, "is_decoder", False)
            or getattr(config, "position_embedding_type", "absolute") not in (None, "absolute")
            or bert is None or getattr(bert, "pooler", None) is None
            or not hasattr(model, "classifier") or not hasattr(model, "dropout")):
        return None
    layers = getattr(getattr(bert, "encoder", None), "layer", None)
    if not layers:
        return None
    last = layers[-1]
    attn = getattr(getattr(last, "attention", None), "self", None)
    if not all(hasattr(attn, a) for a in ("query", "key", "value", "num_attention_heads", "attention_head_size")):
        return None

    def logits(word_embeddings: torch.Tensor) -> torch.Tensor:
        h = bert.embeddings(inputs_embeds=word_embeddings)
        for layer in layers[:-1]:
            out = layer(h)  # no mask: every position is a real token
            h = out[0] if isinstance(out, tuple) else out  # transformers 4 returns a tuple
        rows = h.shape[0]
        heads, size = attn.num_attention_heads, attn.attention_head_size

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(rows, -1, heads, size).transpose(1, 2)

        cls = h[:, :1]
        context = torch.nn.functional.scaled_dot_product_attention(
            split(attn.query(cls)), split(attn.key(h)), split(attn.value(h)))
        context = context.transpose(1, 2).reshape(rows, 1, heads * size)
        attended = last.attention.output(context, cls)
        top = last.output(last.intermediate(attended), attended)
        return model.classifier(model.dropout(bert.pooler(top)))

    return logits
