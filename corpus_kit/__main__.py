"""``python -m corpus_kit`` runs the CLI."""

from corpus_kit.cli import main

main()
