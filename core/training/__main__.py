"""Command line: ``python -m core.training chest|evaluate|compare ...`` (``--help`` on each)."""

from __future__ import annotations

import sys

from core.training.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
