"""transformers, imported safely from several threads, and quiet about what analysts need not see."""

from __future__ import annotations

import threading
from typing import Any

_HF_IMPORT = threading.Lock()


def hf(*names: str) -> tuple[Any, ...]:
    """Names from ``transformers``, imported under one process-wide lock. transformers 5 imports
    its classes lazily, and two threads doing that at once (a page loading a model while a
    background job loads one) can meet a half-initialised module: "cannot import name
    'AutoModelForSequenceClassification' from 'transformers'"."""
    with _HF_IMPORT:
        import transformers

        return tuple(getattr(transformers, name) for name in names)


def quiet_transformers() -> None:
    """Hide transformers' load report and progress bars.

    Loading the base model reports ``classifier.*`` as missing: that is the fresh head we are
    about to train, not an error, and analysts should not see it.
    """
    with _HF_IMPORT:
        from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
