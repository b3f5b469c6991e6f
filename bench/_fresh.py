"""A registered-version folder for benchmarks that need one but not a trained model: the
embedded MiniLM with a fresh (untrained) head, saved like any version (weights, tokenizer,
card). The app loads only real version folders, never a bare base model."""

from __future__ import annotations

from pathlib import Path


def fresh_version(models_dir: Path, name: str = "v1", max_length: int = 128) -> Path:
    from rsad.config import embedded_base_model
    from rsad.model.card import TrainConfig, TrainResult
    from rsad.model.classifier import load_pretrained
    from rsad.model.registry import save_version

    base = embedded_base_model()
    model, tokenizer = load_pretrained(base)
    result = TrainResult(model=model, tokenizer=tokenizer, config=TrainConfig(base_model=base, max_length=max_length),
                         metrics={}, threshold=0.5, data_hash="-", train_ids=[], val_ids=[], class_counts={})
    folder, _card = save_version(result, Path(models_dir), name)
    return folder
