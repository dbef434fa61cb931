"""``sign``: vouch for a dataset with a private key (``DATASET/manifest.sig``, checked offline)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import UsageError


@handle_errors
def sign(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json).", show_default=False)
    ],
    key: Annotated[
        Path,
        typer.Option(
            "--key",
            help="ECDSA P-256 private key (PEM, as openssl ecparam -name prime256v1 -genkey -noout "
            "writes it, or PKCS#8).",
            show_default=False,
        ),
    ],
    key_password_env: Annotated[
        str | None,
        typer.Option(
            "--key-password-env",
            metavar="VAR",
            help="Environment variable holding the password of an encrypted key.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Sign a dataset: write DATASET/manifest.sig, a DSSE envelope around an in-toto statement over
    manifest.json and every data file it lists (docs/signatures.md).

    The dataset must pass manifest verify first. Exit 0 when signed, 1 when the dataset does not
    match its manifest, 2 for a key, password or path problem.

    Example: corpus-kit sign datasets/intake-2026-11 --key keys/corpus-kit.pem
    """
    from corpus_kit.governance.signing import sign_dataset

    password = None
    if key_password_env is not None:
        password = os.environ.get(key_password_env)
        if password is None:
            raise UsageError(
                f"--key-password-env {key_password_env}: no such environment variable; set it to the "
                "key's password"
            )
    path = sign_dataset(dataset, key, password)
    stdout.print(
        f"{path}: signed {dataset}/manifest.json and every data file it lists; check it with "
        f"corpus-kit manifest verify {dataset} --signature --key PUB.pem",
        soft_wrap=True,
        highlight=False,
    )
