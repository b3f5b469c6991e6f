"""GPU scoring throughput at 128 tokens: bert-base- and MiniLM-shaped classifiers, random weights.

The models are built from configs (no weights to download or carry); speed does not depend
on the weight values. Texts are tokenized in a producer thread into pinned CPU tensors while
the GPU runs the previous batch under bf16 autocast (fp16 where bf16 is missing), so the
number is the pipeline's, tokenizer included. It also prints the model-only rate (inputs
already on the GPU) and the fraction of the GPU's dense bf16 peak reached, from the FLOPs of
one 128-token text.

    python bench/gpu.py                                  # cuda, 50,000 texts per model
    python bench/gpu.py --device cpu --n 64 --batch-size 16   # a smoke test anywhere
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHAPES = {  # name: (layers, hidden, heads, intermediate)
    "bert-base": (12, 768, 12, 3072),
    "minilm": (6, 384, 12, 1536),
}
# Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, without sparsity.
PEAKS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0, "L40": 181.0}
WORDS = ("order placed item seller review five stars burst night device login cart refund link "
         "channel subscribe watched episode playlist rating account shipping price discount").split()


def make_texts(n: int, seed: int = 0) -> list[str]:
    import random

    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(150)) + f" #{i}" for i in range(n)]


def make_tokenizer(texts: list[str]):  # noqa: ANN201
    """The embedded MiniLM tokenizer when installed; else a WordPiece vocabulary trained here."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    try:
        from rsad.config import embedded_base_model

        return AutoTokenizer.from_pretrained(embedded_base_model()), "embedded MiniLM tokenizer"
    except Exception:  # noqa: BLE001 - the package is not on a bare GPU machine
        from tokenizers import BertWordPieceTokenizer

        wp = BertWordPieceTokenizer(lowercase=True)
        wp.train_from_iterator(texts[:2000], vocab_size=2000, show_progress=False)
        tok = PreTrainedTokenizerFast(tokenizer_object=wp._tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                      cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
        return tok, "WordPiece trained on the synthetic texts"


def flops_per_text(layers: int, hidden: int, inter: int, tokens: int) -> float:
    """Multiply-adds x 2 of one forward pass: the dense layers plus attention scores and mixing."""
    dense = layers * (4 * hidden * hidden + 2 * hidden * inter) * tokens
    attention = layers * 2 * tokens * tokens * hidden
    return 2.0 * (dense + attention)


def batches(tokenizer, texts: list[str], batch_size: int, max_length: int, pin: bool):  # noqa: ANN001, ANN201
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(texts[start:start + batch_size], padding="max_length", truncation=True,
                        max_length=max_length, return_tensors="pt", return_token_type_ids=False)
        ids, mask = enc["input_ids"], enc["attention_mask"]
        yield (ids.pin_memory(), mask.pin_memory()) if pin else (ids, mask)


def produced(gen, depth: int = 4):  # noqa: ANN001, ANN201
    """Run a generator in a producer thread, ``depth`` items ahead."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def work() -> None:
        for item in gen:
            q.put(item)
        q.put(done)

    threading.Thread(target=work, daemon=True).start()
    while (item := q.get()) is not done:
        yield item


def bench_model(name: str, args: argparse.Namespace, tokenizer, texts: list[str]) -> None:  # noqa: ANN001
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    layers, hidden, heads, inter = SHAPES[name]
    config = BertConfig(vocab_size=max(len(tokenizer), 1000), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=inter, num_labels=2,
                        max_position_embeddings=512)
    dev = torch.device(args.device)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).to(dev).eval()  # SDPA attention by default
    cuda = dev.type == "cuda"
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
    amp = torch.autocast("cuda", dtype=dtype) if cuda else torch.autocast("cpu", enabled=False)

    def run(source) -> tuple[float, int]:  # noqa: ANN001
        n = 0
        outs = []
        t0 = time.perf_counter()
        with torch.inference_mode(), amp:
            for ids, mask in source:
                ids, mask = ids.to(dev, non_blocking=True), mask.to(dev, non_blocking=True)
                outs.append(torch.softmax(model(input_ids=ids, attention_mask=mask).logits.float(), -1)[:, 1])
                n += ids.shape[0]
        torch.cat(outs).cpu()  # waits for the GPU
        return time.perf_counter() - t0, n

    warm = texts[: args.batch_size * 2]
    run(batches(tokenizer, warm, args.batch_size, args.max_length, cuda))
    t_pipe, n = run(produced(batches(tokenizer, texts, args.batch_size, args.max_length, cuda)))
    # Model only: the same batches, tokenized and on the device beforehand.
    ready = [(i.to(dev), m.to(dev)) for i, m in batches(tokenizer, texts[: args.batch_size * 8], args.batch_size,
                                                       args.max_length, False)]
    t_model, n_model = run(iter(ready))
    t0 = time.perf_counter()
    for _ in batches(tokenizer, texts, args.batch_size, args.max_length, False):
        pass
    t_tok = time.perf_counter() - t0
    f = flops_per_text(layers, hidden, inter, args.max_length)
    gpu = torch.cuda.get_device_name(dev) if cuda else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAKS.items() if k in gpu), 0.0)
    rate = n / t_pipe
    frac = f"{100 * rate * f / (peak * 1e12):.1f}% of {peak:.0f} TFLOP/s bf16 peak" if peak else "peak unknown"
    mem = f", peak GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB" if cuda else ""
    print(f"{name:9s} ({layers}x{hidden}, {f / 1e9:.1f} GFLOP/text) on {gpu}, {dtype or 'fp32'}, batch "
          f"{args.batch_size}: pipeline {rate:,.0f} texts/s ({frac}); model only {n_model / t_model:,.0f} "
          f"texts/s ({100 * n_model / t_model * f / (peak * 1e12) if peak else 0:.1f}%); tokenizer alone "
          f"{n / t_tok:,.0f} texts/s{mem}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--n", type=int, default=50_000, help="texts per model")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--models", default="bert-base,minilm")
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="the device's dense bf16 peak")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("No CUDA device visible to PyTorch: run on a GPU machine, or pass --device cpu for a smoke test.")
    texts = make_texts(args.n)
    tokenizer, source = make_tokenizer(texts)
    print(f"{args.n:,} synthetic texts, {args.max_length} tokens each (padded), {source}; torch {torch.__version__}")
    for name in args.models.split(","):
        bench_model(name.strip(), args, tokenizer, texts)


if __name__ == "__main__":
    main()
