"""Image input layer: uploaded bytes -> display-ready :class:`ImageInput`.

Public API::

    from core.imaging import ImageError, ImageInput, Limits, load_image

    img = load_image(data, filename="chest.dcm")   # raises ImageError for bad input
    img.pixels      # float32 [0, 1], (H, W) or (H, W, 3)
    img.gray(), img.rgb(), img.to_uint8()

    img = load_upload(data, filename)   # the same in a worker process with a time and memory limit

Pages use :func:`load_upload` (see :mod:`core.imaging.worker`).
"""

from core.imaging.loader import DEFAULT_LIMITS, load_image
from core.imaging.sniff import SUPPORTED_FORMATS
from core.imaging.types import ImageError, ImageInput, Limits
from core.imaging.worker import load_upload

__all__ = ["DEFAULT_LIMITS", "SUPPORTED_FORMATS", "ImageError", "ImageInput", "Limits", "load_image", "load_upload"]
