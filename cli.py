"""Thin entry point: ``python cli.py ...`` is the same as ``corpus-kit ...``."""

from corpus_kit.cli import main

if __name__ == "__main__":
    main()
