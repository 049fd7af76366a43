"""Process-wide state that decoders need changed for a moment (warning filters, pydicom's
reading validation), changed under one lock so concurrent loads cannot interleave the
save/restore of that state."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from pydicom import config as pydicom_config

_LOCK = threading.RLock()


@contextmanager
def ignored_warnings(*categories: type[Warning]) -> Iterator[None]:
    """Silence ``categories`` (all warnings when none given) inside the block."""
    with _LOCK, warnings.catch_warnings():
        for category in categories or (Warning,):
            warnings.simplefilter("ignore", category)
        yield


@contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom inside the block: no warnings and no value validation. pydicom's
    validation messages quote element values, which may be patient data; nothing the loader
    reads from a DICOM file may reach a log."""
    settings = pydicom_config.settings
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        saved = getattr(settings, "_reading_validation_mode", None)
        settings.reading_validation_mode = pydicom_config.IGNORE
        try:
            yield
        finally:
            if hasattr(settings, "_reading_validation_mode"):
                settings._reading_validation_mode = saved
            else:  # pragma: no cover - other pydicom layouts
                settings.reading_validation_mode = pydicom_config.WARN
