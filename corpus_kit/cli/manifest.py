"""``manifest validate`` and ``manifest verify``: the checks a data repository's CI runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from corpus_kit.cli.common import handle_errors, stdout
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME
from corpus_kit.governance.policy import Finding, manifest_path_for, validate_manifest_data
from corpus_kit.governance.verify import verify_dataset
from corpus_kit.utils import format_size

manifest_app = typer.Typer(
    name="manifest",
    help="Check manifests: schema and supply-mode policy (validate), files on disk (verify).",
    no_args_is_help=True,
)

FormatChoice = Annotated[
    Literal["text", "json"], typer.Option("--format", help="text for people, json for machines.")
]


def _fails(findings: list[Finding], strict: bool) -> bool:
    return any(f.severity == "error" or (strict and f.severity == "warning") for f in findings)


@manifest_app.command("validate")
@handle_errors
def validate(
    paths: Annotated[
        list[Path], typer.Argument(help="manifest.json files or dataset folders.", show_default=False)
    ],
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    output_format: FormatChoice = "text",
) -> None:
    """Check manifests against the schema and the supply-mode policy (rules CK1xx); reads only the manifest.

    Exit 0 when valid, 1 when a rule fails (warnings only with --strict), 2 when a path is missing.

    Example: corpus-kit manifest validate datasets/*/manifest.json --strict
    """
    reports = []
    for path in paths:
        manifest_path = manifest_path_for(path)
        if not manifest_path.is_file():
            raise UsageError(f"{manifest_path}: not found; give a manifest.json or a dataset folder")
        findings = validate_manifest_data(manifest_path.read_bytes())
        reports.append((manifest_path, findings))
    failed = any(_fails(findings, strict) for _, findings in reports)
    if output_format == "json":
        payload = {
            "ok": not failed,
            "strict": strict,
            "manifests": [
                {
                    "path": str(path),
                    "ok": not _fails(findings, strict),
                    "errors": sum(f.severity == "error" for f in findings),
                    "warnings": sum(f.severity == "warning" for f in findings),
                    "findings": [f.to_dict() for f in findings],
                }
                for path, findings in reports
            ],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for path, findings in reports:
            for finding in findings:
                colour = "red" if finding.severity == "error" else "yellow"
                stdout.print(
                    f"{path}: [{colour}]{finding.severity}[/] {finding.rule} "
                    f"{finding.field}: {finding.message}",
                    soft_wrap=True,
                    highlight=False,
                )
            errors = sum(f.severity == "error" for f in findings)
            warnings = len(findings) - errors
            verdict = "[red]invalid[/]" if _fails(findings, strict) else "[green]valid[/]"
            stdout.print(f"{path}: {verdict} ({errors} errors, {warnings} warnings)", soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@manifest_app.command("verify")
@handle_errors
def verify(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder (holding manifest.json).", show_default=False)
    ],
    signature: Annotated[
        bool,
        typer.Option(
            "--signature",
            help="Also check DATASET/manifest.sig (corpus-kit sign) with the public key given by --key.",
        ),
    ] = False,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="The signer's public key (PEM, as openssl ec -pubout writes it); with --signature.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatChoice = "text",
) -> None:
    """Check every listed file's size, sha256 and row count, and that data/ holds no unlisted file;
    with --signature, also that manifest.sig verifies with --key and covers the manifest and every
    listed file as they are now (offline).

    Exit 0 when everything holds, 1 when a check fails, 2 on a usage error.

    Example: corpus-kit manifest verify datasets/intake-2026-11 --signature --key keys/corpus-kit.pub.pem
    """
    if key is not None and not signature:
        raise UsageError("--key is the public key for --signature; add --signature or drop --key")
    if signature and key is None:
        raise UsageError("--signature needs --key PUB.pem, the public key of whoever signed the dataset")
    if not dataset.is_dir():
        raise UsageError(f"{dataset}: not a folder; give the dataset folder that holds {MANIFEST_NAME}")
    if not (dataset / MANIFEST_NAME).is_file():
        raise CheckFailed(
            f"{dataset}: no {MANIFEST_NAME}; the dataset is incomplete or was copied without it"
        )
    if key is not None:
        from corpus_kit.governance.signing import load_public_key, verify_signature

        load_public_key(key)  # a wrong key file is a usage error before any file is hashed
    report = verify_dataset(dataset)
    problems = list(report.problems)
    signature_problems = verify_signature(dataset, key, report) if key is not None else []
    problems += signature_problems
    if output_format == "json":
        payload: dict[str, object] = {
            "ok": not problems,
            "files": report.files,
            "bytes": report.bytes,
            "problems": [{"path": p.path, "message": p.message} for p in problems],
        }
        if key is not None:
            payload["signature"] = {"key": str(key), "ok": not signature_problems}
        print(json.dumps(payload, indent=2))
    else:
        for problem in problems:
            stdout.print(f"{dataset / problem.path}: {problem.message}", soft_wrap=True, highlight=False)
        if not problems:
            signed = f"; signature verifies with {escape(str(key))}" if key is not None else ""
            stdout.print(
                f"{dataset}: [green]verified[/] {report.files} data file(s), {format_size(report.bytes)}"
                f"{signed}",
                soft_wrap=True,
            )
    if problems:
        raise typer.Exit(1)
