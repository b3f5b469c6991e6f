"""Model version folders: an HF folder plus ``rsad_model.json``, written atomically.

The card beside the weights holds everything needed to reload and judge the version
without the database: its training config, label map, data hash, metrics, threshold and
the ids it was trained and validated on (so later evaluation can leave them out).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rsad.errors import ModelError
from rsad.i18n import _
from rsad.model.card import CARD_FILE, TRAINING_SET_FILE, TrainResult, VersionCard

_NAME_RE = re.compile(r"^v(\d+)$")
# A version name becomes a folder name: letters, digits, '.', '_', '-', not starting with '.'.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def version_folder(models_dir: Path, name: str) -> Path:
    """``models_dir / name``, refusing a name that could point anywhere else (``../x``, ``/x``)."""
    if not _SAFE_NAME.fullmatch(name or ""):
        raise ModelError(_("{name!r} is not a valid version name: use letters, digits, '.', '_' and '-' (at most "
                           "100, not starting with '.'), e.g. v3.").format(name=name))
    return models_dir / name


def next_version_name(existing: list[str], models_dir: Path) -> str:
    """``v1``, ``v2``, ...: one more than any version in the store or on disk."""
    numbers = [int(m.group(1)) for n in existing if (m := _NAME_RE.match(n))]
    if models_dir.exists():
        numbers += [int(m.group(1)) for p in models_dir.iterdir() if (m := _NAME_RE.match(p.name))]
    return f"v{max(numbers, default=0) + 1}"


def save_version(result: TrainResult, models_dir: Path, name: str, *,
                 training_set: dict[str, Any] | None = None, rows: Any = None,
                 tmp_tag: str = "") -> tuple[Path, VersionCard]:
    """Write weights, tokenizer and card to a temporary folder, then rename it into place.

    A crash at any point leaves either no folder under ``name`` or a complete one (and
    perhaps a ``.vN-TAG-*`` temporary folder, which :func:`clean_partial` removes).
    ``rows`` (a DataFrame in the batch schema) is saved as the version's training set.
    """
    final = version_folder(models_dir, name)
    models_dir.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise ModelError(_("A model folder {final} already exists; refusing to overwrite it.").format(final=final))
    card = VersionCard(
        name=name, base_model=result.config.base_model, train_config=asdict(result.config),
        data_hash=result.data_hash, metrics=result.metrics, threshold=result.threshold,
        class_counts=result.class_counts, train_ids=result.train_ids, val_ids=result.val_ids,
        history=result.history, train_seconds=round(result.seconds, 1), device=result.device,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        training_set=dict(training_set or {}),
    )
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{tmp_tag + '-' if tmp_tag else ''}", dir=models_dir))
    try:
        result.model.save_pretrained(tmp, safe_serialization=True)
        result.tokenizer.save_pretrained(tmp)
        if result.lexical is not None:  # a blended version: its bag of words travels with the weights
            result.lexical.save(tmp)
        if rows is not None:
            rows.to_csv(tmp / TRAINING_SET_FILE, index=False)
        (tmp / CARD_FILE).write_text(json.dumps(asdict(card), indent=1, ensure_ascii=False))
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, card


def clean_partial(models_dir: Path, tag: str | None = None) -> list[Path]:
    """Remove temporary folders left by an interrupted save; return what was removed.

    With ``tag``, only those of the save that was given that ``tmp_tag`` (a dead job's), so
    a save still running in another process is left alone.
    """
    if not models_dir.exists():
        return []
    # Temporary names are ".vN-XXXX" or ".vN-TAG-XXXX" (mkdtemp's XXXX has no "-").
    removed = [p for p in models_dir.iterdir() if p.is_dir() and p.name.startswith(".v")
               and (tag is None or p.name.split("-")[1:2] == [tag])]
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed
