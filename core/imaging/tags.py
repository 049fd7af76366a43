"""The only DICOM tag values the app ever shows or saves: short, enumerated technical terms.

A technical tag can hold anything a person typed (a name in Body Part Examined, a phone number in
View Position). The loader therefore keeps a value only when it is one of the terms below (DICOM
defined terms, plus a few common vendor spellings), and otherwise stores :data:`OTHER`. A value
made of several words keeps its first listed term ("PORTABLE CHEST" -> "CHEST"), so nothing typed
around a term is ever echoed to the page, a JSON or PDF export, the audit trail or the board.

Sources: PS3.3 C.7.3.1.1.1 (Modality), PS3.16 Annex L / CID 4031 (Body Part Examined defined terms),
PS3.3 C.8.11.5.1.1 and C.8.19.6.9 (View Position), PS3.3 C.7.6.1.1.1 (Burned In Annotation).
"""

from __future__ import annotations

import re
from typing import Any

#: What a present but unlisted value becomes.
OTHER = "OTHER"

MODALITIES = frozenset({
    "AR", "AS", "ASMT", "AU", "BDUS", "BI", "BMD", "CD", "CF", "CP", "CR", "CS", "CT", "DD", "DF", "DG", "DM", "DOC",
    "DR", "DS", "DX", "EC", "ECG", "EPS", "ES", "FA", "FID", "FS", "GM", "HC", "HD", "IO", "IOL", "IVOCT", "IVUS",
    "KER", "KO", "LEN", "LP", "LS", "MA", "MG", "MR", "MS", "NM", "OAM", "OCT", "OP", "OPM", "OPT", "OPV", "OSS",
    "OT", "PLAN", "PR", "PT", "PX", "REG", "RESP", "RF", "RG", "RTDOSE", "RTIMAGE", "RTPLAN", "RTRECORD",
    "RTSTRUCT", "RWV", "SEG", "SM", "SMR", "SR", "SRF", "ST", "STAIN", "TG", "US", "VA", "VF", "XA", "XC",
})

BODY_PARTS = frozenset({
    "ABDOMEN", "ABDOMENPELVIS", "ACJOINT", "ADRENAL", "AMNIOTICFLUID", "ANKLE", "ANUS", "AORTA", "APPENDIX", "ARM",
    "AXILLA", "BACK", "BILEDUCT", "BLADDER", "BRAIN", "BREAST", "BRONCHUS", "BUTTOCK", "CALCANEUS", "CALF",
    "CAROTID", "CEREBELLUM", "CERVIX", "CHEEK", "CHEST", "CHESTABDOMEN", "CHESTABDPELVIS", "CIRCLEOFWILLIS",
    "CLAVICLE", "COCCYX", "COLON", "CORNEA", "CORONARYARTERY", "CSPINE", "CTSPINE", "DUODENUM", "EAR", "ELBOW",
    "ESOPHAGUS", "EXTREMITY", "EYE", "EYELID", "FACE", "FEMUR", "FINGER", "FOOT", "FOREARM", "GALLBLADDER",
    "HAND", "HEAD", "HEADNECK", "HEART", "HIP", "HUMERUS", "IAC", "ILEUM", "ILIUM", "JAW", "JEJUNUM", "KIDNEY",
    "KNEE", "LARYNX", "LEG", "LIVER", "LSPINE", "LSSPINE", "LUNG", "MAXILLA", "MEDIASTINUM", "MOUTH", "NECK",
    "NECKCHEST", "NECKCHESTABDOMEN", "NECKCHESTABDPELV", "NOSE", "ORBIT", "OVARY", "PANCREAS", "PAROTID",
    "PATELLA", "PELVIS", "PENIS", "PHARYNX", "PROSTATE", "RADIUS", "RADIUSULNA", "RECTUM", "RIB", "SACRUM",
    "SCALP", "SCAPULA", "SCLERA", "SCROTUM", "SHOULDER", "SKULL", "SPINE", "SPLEEN", "SSPINE", "STERNUM",
    "STOMACH", "SUBMANDIBULAR", "TESTIS", "THIGH", "THORAX", "THUMB", "THYMUS", "THYROID", "TIBIA",
    "TIBIAFIBULA", "TLSPINE", "TOE", "TONGUE", "TRACHEA", "TSPINE", "ULNA", "URETER", "URETHRA", "UTERUS",
    "VAGINA", "VULVA", "WHOLEBODY", "WRIST", "ZYGOMA",
})

VIEW_POSITIONS = frozenset({
    "AP", "PA", "LL", "RL", "RLD", "LLD", "RLO", "LLO",  # defined terms
    "LAT", "LATERAL", "DECUBITUS", "OBLIQUE", "AXIAL",  # common vendor spellings
    # mammography view codes (PS3.3 C.8.19.6.9 / CID 4014)
    "CC", "MLO", "ML", "LM", "LMO", "FB", "SIO", "XCC", "XCCL", "XCCM",
})

#: Photometric Interpretation defined terms (PS3.3 C.7.6.3.1.2, retired ones included).
PHOTOMETRICS = frozenset({
    "MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422",
    "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK", "XYB",
})

_WORD = re.compile(r"[A-Z0-9]+")
_MAX_TEXT = 64  # longer values are not even split into words


def _words(value: Any) -> list[str] | None:
    """The upper-case words of a tag value (first value of a multi-valued one), or None when absent."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        if len(value) == 0:
            return None
        value = value[0]
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    text = str(value).strip().upper()
    if not text:
        return None
    if len(text) > _MAX_TEXT:
        return []
    return _WORD.findall(text)


def _enumerated(value: Any, allowed: frozenset[str]) -> str | None:
    words = _words(value)
    if words is None:
        return None
    joined = "".join(words)
    if joined in allowed:  # "CHEST", or a defined term written with spaces ("CHEST ABDOMEN")
        return joined
    return next((w for w in words if w in allowed), OTHER)


def modality(value: Any) -> str | None:
    """Modality as a DICOM defined term, :data:`OTHER`, or None when absent."""
    return _enumerated(value, MODALITIES)


def body_part(value: Any) -> str | None:
    """Body Part Examined as a defined term, :data:`OTHER`, or None when absent."""
    return _enumerated(value, BODY_PARTS)


def view_position(value: Any) -> str | None:
    """View Position as a defined term (or a common spelling), :data:`OTHER`, or None when absent."""
    return _enumerated(value, VIEW_POSITIONS)


def photometric(value: Any) -> str:
    """Photometric Interpretation as a defined term, else :data:`OTHER` (decoders still get the
    stored value; only what is shown or saved is replaced)."""
    text = str(value or "").strip().upper()
    return text if text in PHOTOMETRICS else OTHER


def yes_no(value: Any) -> bool | None:
    """A YES/NO Code String (Burned In Annotation): True, False, or None when absent or neither."""
    words = _words(value)
    if not words:
        return None
    return {"YES": True, "NO": False}.get(words[0])
