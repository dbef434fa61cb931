"""Signatures: ``corpus-kit sign`` and ``manifest verify --signature`` (DSSE + in-toto, offline)."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from typer.testing import CliRunner, Result

from corpus_kit.cli import app
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.signing import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    SIGNATURE_NAME,
    STATEMENT_TYPE,
    sign_dataset,
    verify_signature,
)
from corpus_kit.io.folder_lock import folder_lock
from tests.conftest import rewrite_manifest, write_jsonl

REPO = Path(__file__).resolve().parents[1]
#: In the demo's supply block (cooperation): never in a signature or in what sign/verify print.
DEMO_SECRETS = ("DEMO-COOP-2026-001", "Shenzhen Municipal Data Agency", "Example AI Lab")
PASSWORD_ENV = "CORPUS_KIT_TEST_KEY_PASSWORD"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def _private_pem(key: object, pkcs8: bool = False, password: bytes | None = None) -> bytes:
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)  # type: ignore[attr-defined]


def _public_pem(key: object) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files: the signer's P-256 key as openssl ecparam writes it (SEC1) and its public key, a
    PKCS#8 one (plain and encrypted), another P-256 public key, and keys of refused kinds."""
    folder = tmp_path_factory.mktemp("keys")
    signer, other, pkcs8 = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    files = {
        "private": _private_pem(signer),
        "public": _public_pem(signer),
        "other_public": _public_pem(other),
        "pkcs8": _private_pem(pkcs8, pkcs8=True),
        "pkcs8_public": _public_pem(pkcs8),
        "encrypted": _private_pem(pkcs8, pkcs8=True, password=b"correct horse"),
        "rsa": _private_pem(rsa.generate_private_key(65537, 2048), pkcs8=True),
        "p384": _private_pem(ec.generate_private_key(ec.SECP384R1()), pkcs8=True),
        "ed25519": _private_pem(ed25519.Ed25519PrivateKey.generate(), pkcs8=True),
        "rsa_public": _public_pem(rsa.generate_private_key(65537, 2048)),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / f"{name}.pem"
        paths[name].write_bytes(data)
    assert files["private"].startswith(b"-----BEGIN EC PRIVATE KEY-----")  # openssl ecparam's form
    return paths


@pytest.fixture(scope="module")
def signed_demo(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Path:
    """The demo dataset, built once and signed with the SEC1 key."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    assert invoke("demo", "-o", out, "-q").exit_code == 0
    result = invoke("sign", out, "--key", keys["private"])
    assert result.exit_code == 0, result.output
    assert (out / SIGNATURE_NAME).is_file()
    return out


@pytest.fixture
def dataset(signed_demo: Path, tmp_path: Path) -> Path:
    """A copy of the signed demo this test may tamper with."""
    copy = tmp_path / "demo"
    shutil.copytree(signed_demo, copy)
    return copy


def _verify(folder: Path, key: Path, *extra: str) -> Result:
    return invoke("manifest", "verify", folder, "--signature", "--key", key, *extra)


def _envelope(folder: Path) -> dict:
    return json.loads((folder / SIGNATURE_NAME).read_text())


def _statement(folder: Path) -> dict:
    return json.loads(base64.b64decode(_envelope(folder)["payload"]))


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


# --- sign then verify -----------------------------------------------------------------------------
def test_sign_then_verify_passes_and_the_statement_covers_the_manifest_and_every_data_file(
    signed_demo: Path, keys: dict[str, Path]
) -> None:
    result = _verify(signed_demo, keys["public"])
    assert result.exit_code == 0, result.output
    assert "verified 4 data file(s)" in result.output and "signature verifies with" in result.output
    as_json = json.loads(_verify(signed_demo, keys["public"], "--format", "json").output)
    assert as_json["ok"] is True and as_json["problems"] == []
    assert as_json["signature"] == {"key": str(keys["public"]), "ok": True}

    envelope = _envelope(signed_demo)
    assert envelope["payloadType"] == PAYLOAD_TYPE and len(envelope["signatures"]) == 1
    statement = _statement(signed_demo)
    assert statement["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    manifest = json.loads((signed_demo / "manifest.json").read_text())
    manifest_digest = __import__("hashlib").sha256((signed_demo / "manifest.json").read_bytes()).hexdigest()
    assert statement["subject"] == [
        {"name": "manifest.json", "digest": {"sha256": manifest_digest}},
        *({"name": f["path"], "digest": {"sha256": f["sha256"]}} for f in manifest["files"]),
    ]
    # restricted folders are never published: covered through the manifest's sha256, not as subjects
    assert manifest["restricted"] and not any(s["name"].startswith("rejects/") for s in statement["subject"])
    predicate = statement["predicate"]
    assert set(predicate) == {"dataset", "manifest_seal_sha256", "corpus_kit_version", "signed_at"}
    assert predicate["dataset"] == {
        "name": manifest["dataset"]["name"],
        "version": manifest["dataset"]["version"],
    }
    assert predicate["manifest_seal_sha256"] == manifest["seal_sha256"]
    # the plain manifest verify is untouched by the extra file at the dataset's top level
    assert invoke("manifest", "verify", signed_demo).exit_code == 0


def test_python_api_signs_and_verifies(dataset: Path, keys: dict[str, Path]) -> None:
    (dataset / SIGNATURE_NAME).unlink()
    path = sign_dataset(dataset, keys["private"])
    assert path == dataset / SIGNATURE_NAME
    assert verify_signature(dataset, keys["public"]) == []
    assert not (dataset / ".corpus-kit.lock").exists()  # the lock is released with the signing


@pytest.mark.parametrize("which", ["pkcs8", "encrypted"])
def test_pkcs8_and_encrypted_keys_sign(
    which: str, dataset: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    extra: tuple[str, ...] = ()
    if which == "encrypted":
        monkeypatch.setenv(PASSWORD_ENV, "correct horse")
        extra = ("--key-password-env", PASSWORD_ENV)
    result = invoke("sign", dataset, "--key", keys[which], *extra)
    assert result.exit_code == 0, result.output
    assert _verify(dataset, keys["pkcs8_public"]).exit_code == 0
    assert _verify(dataset, keys["public"]).exit_code == 1  # the demo's first signer no longer


def test_key_problems_are_usage_errors_in_one_line(
    dataset: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    not_a_key = tmp_path / "notes.pem"
    not_a_key.write_text("hello\n")
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    cases = {
        ("--key", keys["rsa"]): "an RSA-2048 key; corpus-kit signs with ECDSA P-256 keys only",
        ("--key", keys["p384"]): "elliptic-curve secp384r1 key; corpus-kit signs with ECDSA P-256",
        ("--key", keys["ed25519"]): "an Ed25519 key; corpus-kit signs with ECDSA P-256",
        ("--key", keys["encrypted"]): "encrypted; put its password in an environment variable",
        ("--key", keys["encrypted"], "--key-password-env", PASSWORD_ENV): "with the password given",
        (
            "--key",
            keys["encrypted"],
            "--key-password-env",
            "NO_SUCH_VAR_HERE",
        ): "no such environment variable",
        (
            "--key",
            keys["private"],
            "--key-password-env",
            PASSWORD_ENV,
        ): "not encrypted; drop --key-password-env",
        ("--key", keys["public"]): "a public key; corpus-kit sign needs the private key",
        ("--key", not_a_key): "not a PEM private key; make one with openssl ecparam",
        ("--key", tmp_path / "missing.pem"): "no such file",
    }
    before = (dataset / SIGNATURE_NAME).read_bytes()
    for args, expected in cases.items():
        result = invoke("sign", dataset, *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "Traceback" not in result.output
    assert (dataset / SIGNATURE_NAME).read_bytes() == before
    with pytest.raises(UsageError):
        sign_dataset(dataset, keys["rsa"])


def test_verify_usage_errors(dataset: Path, keys: dict[str, Path], tmp_path: Path) -> None:
    without_signature = invoke("manifest", "verify", dataset, "--key", keys["public"])
    assert without_signature.exit_code == 2 and "add --signature or drop --key" in without_signature.output
    without_key = invoke("manifest", "verify", dataset, "--signature")
    assert without_key.exit_code == 2 and "--signature needs --key" in without_key.output
    private = _verify(dataset, keys["private"])
    assert private.exit_code == 2 and "a private key; verify with the public key" in private.output
    rsa_public = _verify(dataset, keys["rsa_public"])
    assert rsa_public.exit_code == 2 and "ECDSA P-256 keys only" in rsa_public.output
    garbage = tmp_path / "pub.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    unreadable = _verify(dataset, garbage)
    assert unreadable.exit_code == 2 and "not a PEM public key; write it with openssl ec" in unreadable.output


def test_sign_refuses_a_dataset_that_fails_verify(dataset: Path, keys: dict[str, Path]) -> None:
    (dataset / SIGNATURE_NAME).unlink()
    victim = sorted((dataset / "data").glob("*.parquet"))[0]
    victim.write_bytes(_flip(victim.read_bytes(), 100))
    result = invoke("sign", dataset, "--key", keys["private"])
    assert result.exit_code == 1
    assert victim.name in result.output and "not signed: the dataset must pass" in result.output
    assert not (dataset / SIGNATURE_NAME).exists()

    manifest = dataset / "manifest.json"
    victim.unlink()
    shutil.copy(sorted((dataset / "data").glob("*.parquet"))[0], victim)  # any bytes: reseal below
    document = json.loads(manifest.read_text())
    document["dataset"]["description"] = "edited by hand"
    manifest.write_text(json.dumps(document))  # the seal no longer holds
    unsealed = invoke("sign", dataset, "--key", keys["private"])
    assert unsealed.exit_code == 1 and "seal_sha256" in unsealed.output and "not signed" in unsealed.output
    with pytest.raises(CheckFailed):
        sign_dataset(dataset, keys["private"])
    assert not (dataset / SIGNATURE_NAME).exists()


def test_sign_waits_for_no_one_holding_the_dataset(dataset: Path, keys: dict[str, Path]) -> None:
    with folder_lock(dataset, activity="run"):
        result = invoke("sign", dataset, "--key", keys["private"])
    assert result.exit_code == 2 and "is writing to this folder" in result.output


# --- tampering is caught and named ----------------------------------------------------------------
def _tamper_data(folder: Path) -> str:
    victim = sorted((folder / "data").glob("*.parquet"))[1]
    victim.write_bytes(_flip(victim.read_bytes(), victim.stat().st_size // 2))
    return f"data/{victim.name}: sha256 differs from the signed one"


def _tamper_manifest(folder: Path) -> str:
    path = folder / "manifest.json"
    raw = path.read_bytes()
    at = raw.index(b'"version": "') + len(b'"version": "')  # one byte of a value: still valid JSON
    path.write_bytes(_flip(raw, at))
    return "manifest.json: differs from the signed one"


def _tamper_signature(folder: Path) -> str:
    envelope = _envelope(folder)
    sig = base64.b64decode(envelope["signatures"][0]["sig"])
    envelope["signatures"][0]["sig"] = base64.b64encode(_flip(sig, len(sig) // 2)).decode()
    (folder / SIGNATURE_NAME).write_text(json.dumps(envelope))
    return f"{SIGNATURE_NAME}: signature does not verify with"


def _tamper_payload(folder: Path) -> str:
    envelope = _envelope(folder)
    payload = base64.b64decode(envelope["payload"])
    at = payload.index(b'"sha256":"') + len(b'"sha256":"')  # a digest's hex digit: '0'<->'1', 'a'<->'`'
    envelope["payload"] = base64.b64encode(_flip(payload, at)).decode()
    (folder / SIGNATURE_NAME).write_text(json.dumps(envelope))
    return f"{SIGNATURE_NAME}: signature does not verify with"


def _tamper_envelope_bytes(folder: Path) -> str:
    path = folder / SIGNATURE_NAME
    path.write_bytes(_flip(path.read_bytes(), 0))  # '{' -> 'z'
    return f"{SIGNATURE_NAME}: not a DSSE envelope"


@pytest.mark.parametrize(
    "tamper",
    [_tamper_data, _tamper_manifest, _tamper_signature, _tamper_payload, _tamper_envelope_bytes],
    ids=["data-file", "manifest", "envelope-signature", "envelope-payload", "envelope-bytes"],
)
def test_one_flipped_byte_fails_naming_what(
    tamper: Callable[[Path], str], dataset: Path, keys: dict[str, Path]
) -> None:
    expected = tamper(dataset)
    result = _verify(dataset, keys["public"])
    assert result.exit_code == 1, result.output
    assert expected in result.output.replace(f"{dataset}/", ""), result.output
    as_json = json.loads(_verify(dataset, keys["public"], "--format", "json").output)
    assert as_json["ok"] is False and as_json["signature"]["ok"] is False
    problems = [f"{p['path']}: {p['message']}" for p in as_json["problems"]]
    assert any(problem.startswith(expected) for problem in problems), problems


def test_wrong_key_and_missing_signature_fail(dataset: Path, keys: dict[str, Path]) -> None:
    wrong = _verify(dataset, keys["other_public"])
    assert wrong.exit_code == 1
    assert f"{SIGNATURE_NAME}: signature does not verify with {keys['other_public']}" in wrong.output
    (dataset / SIGNATURE_NAME).unlink()
    missing = _verify(dataset, keys["public"])
    assert missing.exit_code == 1 and f"{SIGNATURE_NAME}: missing; sign the dataset" in missing.output
    assert invoke("manifest", "verify", dataset).exit_code == 0  # without --signature nothing is required


def test_a_file_listed_after_signing_is_named_as_not_signed(dataset: Path, keys: dict[str, Path]) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    first = manifest["files"][0]
    extra = "data/train-extra.parquet"
    shutil.copy(dataset / first["path"], dataset / extra)
    manifest["files"].append({**first, "path": extra})
    rewrite_manifest(dataset / "manifest.json", manifest)  # sealed again: verify alone passes
    assert invoke("manifest", "verify", dataset).exit_code == 0
    result = _verify(dataset, keys["public"])
    assert result.exit_code == 1
    assert f"{extra}: listed in the manifest but not signed" in result.output
    assert "manifest.json: differs from the signed one" in result.output
    problems = {(p.path, p.message.split(";")[0]) for p in verify_signature(dataset, keys["public"])}
    assert (extra, "listed in the manifest but not signed") in problems


def test_a_signed_file_removed_from_disk_is_named(dataset: Path, keys: dict[str, Path]) -> None:
    victim = sorted((dataset / "data").glob("*.parquet"))[0]
    victim.unlink()
    problems = {(p.path, p.message) for p in verify_signature(dataset, keys["public"])}
    assert (f"data/{victim.name}", "signed but missing") in problems


# --- offline, no secrets --------------------------------------------------------------------------
def test_sign_and_verify_need_no_network(
    dataset: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args)[:80])
        raise OSError("network access attempted under the socket guard")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    signed = invoke("sign", dataset, "--key", keys["private"])
    assert signed.exit_code == 0, signed.output
    verified = _verify(dataset, keys["public"])
    assert verified.exit_code == 0, verified.output
    assert _tamper_data(dataset) and _verify(dataset, keys["public"]).exit_code == 1
    assert attempts == []


def test_no_secret_or_private_key_material_in_the_signature_or_the_output(
    dataset: Path, keys: dict[str, Path]
) -> None:
    manifest_text = (dataset / "manifest.json").read_text()
    assert all(secret in manifest_text for secret in DEMO_SECRETS)  # the test greps for real values
    (dataset / SIGNATURE_NAME).unlink()
    outputs = [invoke("sign", dataset, "--key", keys["private"]).output]
    outputs += [_verify(dataset, keys["public"], *fmt).output for fmt in ((), ("--format", "json"))]
    _tamper_manifest(dataset)
    outputs += [_verify(dataset, keys["public"], *fmt).output for fmt in ((), ("--format", "json"))]
    signature = (dataset / SIGNATURE_NAME).read_text()
    payload = base64.b64decode(json.loads(signature)["payload"]).decode()
    private = serialization.load_pem_private_key(keys["private"].read_bytes(), None)
    scalar = format(private.private_numbers().private_value, "x")  # type: ignore[union-attr]
    pem_body = "".join(keys["private"].read_text().splitlines()[1:-1])
    for text in (signature, payload, *outputs):
        for secret in (*DEMO_SECRETS, "PRIVATE KEY", scalar, pem_body[:40]):
            assert secret not in text


def test_missing_optional_dependency_names_the_extra(
    dataset: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "securesystemslib" or m.startswith("securesystemslib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "securesystemslib", None)  # import securesystemslib: ModuleNotFoundError
    for result in (invoke("sign", dataset, "--key", keys["private"]), _verify(dataset, keys["public"])):
        assert result.exit_code == 2
        assert result.output.strip().endswith('pip install "corpus-kit[sign]"')
        assert len(result.output.strip().splitlines()) == 1


# --- publish, pre-commit, CI ----------------------------------------------------------------------
def _authorised_dataset(base: Path) -> Path:
    """A small dataset that may go to a private catalog (authorised, for research)."""
    base.mkdir(parents=True, exist_ok=True)
    write_jsonl(
        base / "in.jsonl", [{"id": f"r{i}", "text": f"第{i}条开放数据记录，用于研究。"} for i in range(12)]
    )
    (base / "supply.yaml").write_text(
        "mode: authorised\nauthoriser: Municipal Data Agency\noperator: City Data Ops\n"
        "authorisation_id: AUTH-SECRET-77\nvalid_until: 2099-12-31\npermitted_uses: [research]\n"
    )
    (base / "p.yaml").write_text(
        "name: t\ndataset: {name: ds-signed, version: '1.0.0'}\nsteps:\n  - license: {default: CC-BY-4.0}\n"
    )
    out = base / "dataset"
    args = (
        "run",
        base / "p.yaml",
        "-i",
        base / "in.jsonl",
        "-o",
        out,
        "-q",
        "--supply",
        base / "supply.yaml",
    )
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return out


def test_publish_copies_the_signature_and_refuses_a_stale_one(tmp_path: Path, keys: dict[str, Path]) -> None:
    dataset = _authorised_dataset(tmp_path / "build")
    assert invoke("sign", dataset, "--key", keys["private"]).exit_code == 0
    catalog = tmp_path / "catalog"
    published = invoke("publish", dataset, "--to", catalog, "--visibility", "private")
    assert published.exit_code == 0, published.output
    copy = catalog / "ds-signed"
    assert (copy / SIGNATURE_NAME).read_bytes() == (dataset / SIGNATURE_NAME).read_bytes()
    assert not (copy / "rejects").exists()
    assert _verify(copy, keys["public"]).exit_code == 0  # a published copy verifies without rejects/
    index = json.loads((catalog / "catalog.json").read_text())
    assert SIGNATURE_NAME in index["datasets"][0]["files"]
    # the card alone never carries the manifest, nor its signature
    card_only = invoke(
        "publish", dataset, "--to", tmp_path / "public", "--visibility", "public", "--card-only"
    )
    assert card_only.exit_code == 0, card_only.output
    assert not (tmp_path / "public" / "ds-signed" / SIGNATURE_NAME).exists()

    manifest = json.loads((dataset / "manifest.json").read_text())
    manifest["dataset"]["description"] = "described after signing"
    rewrite_manifest(dataset / "manifest.json", manifest)
    stale = invoke("publish", dataset, "--to", catalog, "--visibility", "private", "--dry-run")
    assert stale.exit_code == 1
    assert f"refused: {SIGNATURE_NAME} signs another manifest.json" in stale.output
    assert "sign the dataset again" in stale.output
    assert invoke("sign", dataset, "--key", keys["private"]).exit_code == 0
    again = invoke("publish", dataset, "--to", catalog, "--visibility", "private")
    assert again.exit_code == 0, again.output  # replaces the earlier publication, signature included
    assert _verify(copy, keys["public"]).exit_code == 0


def _launcher(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "corpus-kit"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m corpus_kit "$@"\n')
    launcher.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CI": "1"}


def _data_repo(signed_demo: Path, keys: dict[str, Path], tmp_path: Path) -> Path:
    repo = tmp_path / "data-repo"
    shutil.copytree(signed_demo, repo / "datasets" / "good")
    shutil.copytree(signed_demo, repo / "datasets" / "tampered")
    victim = sorted((repo / "datasets" / "tampered" / "data").glob("*.parquet"))[0]
    victim.write_bytes(_flip(victim.read_bytes(), 200))
    (repo / "keys").mkdir()
    shutil.copy(keys["public"], repo / "keys" / "corpus-kit.pub.pem")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    return repo


def test_pre_commit_signature_hook_runs_on_a_fixture_repository(
    signed_demo: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "corpus-kit-signature")
    assert hook["pass_filenames"] is True and "securesystemslib" in hook["additional_dependencies"][0]
    env = _launcher(tmp_path)
    repo = _data_repo(signed_demo, keys, tmp_path)
    tracked = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True)
    selected = [name for name in tracked.stdout.split() if re.search(hook["files"], name)]
    assert selected == [
        "datasets/good/manifest.json",
        "datasets/good/manifest.sig",
        "datasets/tampered/manifest.json",
        "datasets/tampered/manifest.sig",
    ]
    entry = shlex.split(hook["entry"])  # as pre-commit runs it: entry + args + file names
    args = ["--key", "keys/corpus-kit.pub.pem"]

    def run(*names: str, with_args: list[str] = args) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*entry, *with_args, *names], cwd=repo, env=env, capture_output=True, text=True)

    clean = run(*selected[:2])
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.count("signature verifies with keys/corpus-kit.pub.pem") == 1  # once per folder
    failed = run(*selected)
    assert failed.returncode == 1
    assert "datasets/tampered/data/" in failed.stdout and "differs from the signed one" in failed.stdout
    no_key = run(*selected[:1], with_args=[])
    assert no_key.returncode == 2 and "args: [--key, PATH/TO/PUB.pem]" in no_key.stderr


def test_github_actions_signature_step_passes_and_fails_as_documented(
    signed_demo: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    text = (REPO / "docs" / "github-actions-manifest.yml").read_text()
    commented = [line for line in text.splitlines() if re.match(r"\s+# +(- name|  run):", line)]
    steps = yaml.safe_load("\n".join(line.replace("# ", "", 1) for line in commented))
    assert [step["name"] for step in steps] == ["verify every dataset's signature"]
    command = steps[0]["run"]
    assert "--signature --key keys/corpus-kit.pub.pem" in command
    env = _launcher(tmp_path)
    repo = _data_repo(signed_demo, keys, tmp_path)
    failed = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True)
    assert failed.returncode == 1 and "differs from the signed one" in failed.stdout
    shutil.rmtree(repo / "datasets" / "tampered")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    passed = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_overwrite_of_a_signed_dataset_removes_the_stale_signature(tmp_path: Path) -> None:
    """A rebuild with --overwrite replaces the manifest: the old signature signed another one."""
    from tests.conftest import record, write_jsonl

    write_jsonl(tmp_path / "in.jsonl", [record(i) for i in range(4)])
    out = tmp_path / "out"
    args = ["convert", str(tmp_path / "in.jsonl"), "-o", str(out), "-q"]
    assert CliRunner().invoke(app, args).exit_code == 0
    (out / "manifest.sig").write_text("{}")  # any signature of the previous build
    rebuilt = CliRunner().invoke(app, [*args, "--overwrite"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert not (out / "manifest.sig").exists() and (out / "manifest.json").is_file()
