"""Exceptions rsad raises at its boundary.

Every message is meant for the person at the keyboard: it says what is wrong and what to do
about it. Pages show them with ``st.error``; the CLI prints one line and exits with code 2.
"""

from __future__ import annotations

from rsad.i18n import _


class RsadError(Exception):
    """Base class: an error whose message a user can act on."""


class InputError(RsadError):
    """An uploaded file or table is unusable (format, encoding, columns, values)."""


class ConfigError(RsadError):
    """A setting (``RSAD_*`` variable) has a value rsad cannot use."""


class NotFoundError(RsadError):
    """A batch, case or model version that was asked for does not exist."""


class ModelError(RsadError):
    """A model folder cannot be loaded, trained or saved."""


class StateError(RsadError):
    """The store is not in a state that allows the operation (e.g. no active model)."""


class AccessError(RsadError):
    """A sign-in failed or is locked, or the signed-in user's role does not allow the operation."""


class Superseded(RsadError):
    """The caller no longer wants the result (e.g. the page moved on to another case)."""


class LabelValuesUnknown(InputError):
    """A label column holds values rsad does not know as labels (e.g. 'pos'/'neg'): the user says
    which of them means anomaly (``--anomaly-values``, or the choice on the Upload page)."""

    def __init__(self, column: str, values: tuple[str, ...], file_name: str | None = None) -> None:
        self.column, self.values = column, tuple(values)
        where = f"{file_name}: " if file_name else ""
        found = _(" and ").join(repr(v) for v in self.values)
        super().__init__(where + _(
            "the label column {column!r} holds {found}, which rsad does not know as label values. "
            "Say which value means anomaly: --anomaly-values VALUE[,VALUE] (e.g. --anomaly-values "
            "{example}), or the choice 'Which value means anomaly?' on the Upload page; the other "
            "value means normal. If the column is not a label, pick no label column (--label-col '').").format(
                column=column, found=found, example=self.values[0]))
