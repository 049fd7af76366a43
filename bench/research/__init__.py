"""Settled experiments: runnable, not run by `make bench`. Results and commands: docs/research.md."""
