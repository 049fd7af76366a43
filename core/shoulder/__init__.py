"""Shoulder bone health: measurements a clinician can check on an AP shoulder radiograph
(deltoid tuberosity index, combined cortical thickness) and the learned path.

Public API (no torch or Streamlit imported here):

* :class:`Line`, :func:`sample_profile` - profiles along a user line (bilinear, band-averaged).
* :func:`find_edges` - four cortical edges, sub-pixel (projected hollow-cylinder fit or gradient).
* :func:`measure_level` - edges + shaft-tilt correction + DTI and cortical thickness at one level.
* :func:`screen` - screening category from DTI and mean CCT against published thresholds.
* :mod:`core.shoulder.phantom` - synthetic radiograph phantoms with known dimensions.
* :mod:`core.shoulder.model` / :mod:`core.shoulder.inference` - the learned model at run time.
* :mod:`core.shoulder.train` - ``python -m core.shoulder.train pretrain|finetune|evaluate`` (never imported by the app).
"""

from core.shoulder.edges import CorticalEdges, find_edges, gradient_edges, manual_edges, model_fit_edges
from core.shoulder.measure import (
    LevelMeasurement,
    TiltEstimate,
    distal_line,
    estimate_tilt,
    measure_level,
    mm_per_px_along,
    remeasure_with_edges,
    spacing_from_calibration,
)
from core.shoulder.profile import Line, MeasurementError, Profile, sample_profile
from core.shoulder.screening import (
    CCT_HIGH_MM,
    CCT_LOW_MM,
    DTI_CXR_CUTOFF,
    DTI_THRESHOLD,
    REFERENCES,
    Finding,
    Screening,
    classify_cct,
    classify_dti,
    mean_cct,
    screen,
)

__all__ = [
    "CCT_HIGH_MM", "CCT_LOW_MM", "DTI_CXR_CUTOFF", "DTI_THRESHOLD", "REFERENCES",
    "CorticalEdges", "Finding", "LevelMeasurement", "Line", "MeasurementError", "Profile", "Screening",
    "TiltEstimate", "classify_cct", "classify_dti", "distal_line", "estimate_tilt", "find_edges",
    "gradient_edges", "manual_edges", "mean_cct", "measure_level", "mm_per_px_along", "model_fit_edges",
    "remeasure_with_edges", "sample_profile", "screen", "spacing_from_calibration",
]
