"""Imported by the decode workers' fork server (:mod:`core.imaging.worker`): loads every decoder
once, so that a forked worker starts with Pillow's plugins and pydicom's pixel decoders (and the
pylibjpeg plugins they use) already imported instead of importing them for each upload."""

from __future__ import annotations

from PIL import Image
from pydicom.pixels import get_decoder
from pydicom.uid import AllTransferSyntaxes

import core.imaging  # noqa: F401 - the loader itself
from core.i18n import FALLBACK_LANG, catalog

catalog(FALLBACK_LANG)  # an ImageError's text: read here, not under a worker's memory limit

Image.init()
try:  # one thread per worker: no OpenCV thread pool (or its memory) inside a decode worker
    import cv2

    cv2.setNumThreads(1)
except ImportError:  # pragma: no cover - OpenCV is a runtime requirement
    pass
for _syntax in AllTransferSyntaxes:
    try:
        _decoder = get_decoder(_syntax)
        if _decoder.is_available:
            for _name in _decoder.available_plugins:
                _decoder._validate_plugins(_name)  # imports the plugin's module
    except Exception:  # noqa: BLE001, S112 - a syntax without a decoder
        continue
