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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rsad.errors import ModelError, NotFoundError
from rsad.model import ID2LABEL
from rsad.train import TrainConfig, TrainResult
from rsad.trainset import TRAINING_SET_FILE

CARD_FILE = "rsad_model.json"
CARD_FORMAT = 1
_NAME_RE = re.compile(r"^v(\d+)$")
# A version name becomes a folder name: letters, digits, '.', '_', '-', not starting with '.'.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def version_folder(models_dir: Path, name: str) -> Path:
    """``models_dir / name``, refusing a name that could point anywhere else (``../x``, ``/x``)."""
    if not _SAFE_NAME.fullmatch(name or ""):
        raise ModelError(f"{name!r} is not a valid version name: use letters, digits, '.', '_' and '-' "
                         "(at most 100, not starting with '.'), e.g. v3.")
    return models_dir / name


@dataclass
class VersionCard:
    name: str
    base_model: str
    train_config: dict[str, Any]
    data_hash: str
    metrics: dict[str, float]
    threshold: float
    class_counts: dict[str, int]
    train_ids: list[str]
    val_ids: list[str]
    history: list[dict[str, float]] = field(default_factory=list)
    label_map: dict[str, str] = field(default_factory=lambda: {str(k): v for k, v in ID2LABEL.items()})
    train_seconds: float = 0.0
    device: str = "cpu"
    created_at: str = ""
    format: int = CARD_FORMAT
    # Store training only: counts, conflicts and hash of the set (rows in training_set.csv).
    training_set: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> TrainConfig:
        # Cards written before these settings existed trained every weight with the base
        # model's dropout (0.1 in the BERT family rsad shipped with).
        return TrainConfig(**{"freeze_word_embeddings": False, "dropout": 0.1, **self.train_config})


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
        raise ModelError(f"A model folder {final} already exists; refusing to overwrite it.")
    card = VersionCard(
        name=name, base_model=result.config.base_model, train_config=asdict(result.config),
        data_hash=result.data_hash, metrics=result.metrics, threshold=result.threshold,
        class_counts=result.class_counts, train_ids=result.train_ids, val_ids=result.val_ids,
        history=result.history, train_seconds=round(result.seconds, 1), device=result.device,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        training_set=dict(training_set or {}),
    )
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{tmp_tag + '-' if tmp_tag else ''}", dir=models_dir))
    try:
        result.model.save_pretrained(tmp, safe_serialization=True)
        result.tokenizer.save_pretrained(tmp)
        if rows is not None:
            rows.to_csv(tmp / TRAINING_SET_FILE, index=False)
        (tmp / CARD_FILE).write_text(json.dumps(asdict(card), indent=1, ensure_ascii=False))
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, card


def read_card(folder: str | Path) -> VersionCard:
    path = Path(folder) / CARD_FILE
    if not path.exists():
        raise NotFoundError(f"{folder} is not an rsad model version (no {CARD_FILE}).")
    data = json.loads(path.read_text())
    if data.get("format") != CARD_FORMAT:
        raise ModelError(f"{path} has format {data.get('format')}; this rsad reads format {CARD_FORMAT}.")
    return VersionCard(**data)


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
