"""``corpus-kit sign`` and ``manifest verify --signature``: who vouches for a dataset, checked offline.

The manifest's seal detects an edit; it cannot say who wrote the manifest, since anyone who edits
it can seal it again. A signature can: ``DATASET/manifest.sig`` is a DSSE envelope
(securesystemslib) around an in-toto Statement v1 whose subjects are ``manifest.json`` and every
data file it lists, each with its sha256, signed with an ECDSA P-256 private key. Whoever holds
the public key checks it without any network.

Restricted folders (``rejects/``, ``removed/``) are not subjects: they are never published, so a
published copy lacks them and would otherwise never verify. They are covered all the same: the
signed ``manifest.json`` records each of their files' sha256, which ``manifest verify`` checks
whenever the folder is present.

The predicate holds the dataset's name and version, the manifest's seal, the corpus-kit version
and the signing time: never a supply block's ids, buyers or partners (``manifest.json``, which may
name them, is a subject by its digest only).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpus_kit import __version__
from corpus_kit.errors import CheckFailed, UsageError
from corpus_kit.governance.manifest import MANIFEST_NAME, Manifest, seal_problem, utc_now
from corpus_kit.paths import relative_path_problem
from corpus_kit.utils import atomic_write_bytes, sha256_file

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from securesystemslib.signer import SSlibKey

    from corpus_kit.governance.verify import Problem, VerifyReport

SIGNATURE_NAME = "manifest.sig"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://corpus-kit.dev/signature/v1"
#: A signature of a dataset with a million files is ~150 MB of JSON; anything larger is not ours.
MAX_SIGNATURE_BYTES = 256 * 1024 * 1024
_MAKE_KEY = "openssl ecparam -name prime256v1 -genkey -noout -out KEY.pem"
_MAKE_PUBLIC = "openssl ec -in KEY.pem -pubout -out PUB.pem"


def _require_library(what: str) -> None:
    """securesystemslib with pyca/cryptography (the ``sign`` extra), else one line with the pip command."""
    try:
        import cryptography  # noqa: F401
        import securesystemslib.dsse
        import securesystemslib.signer  # noqa: F401
    except ModuleNotFoundError as error:
        module = (error.name or "securesystemslib").split(".")[0]
        raise UsageError(f'{what} needs {module!r}: pip install "corpus-kit[sign]"') from None


def _key_kind(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA-{key.key_size}"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"elliptic-curve {key.curve.name}"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "Ed25519"
    if isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return "Ed448"
    return type(key).__name__


def _is_p256(key: Any) -> bool:
    from cryptography.hazmat.primitives.asymmetric import ec

    return isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(
        key.curve, ec.SECP256R1
    )


def _read_key_file(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise UsageError(f"{path}: no such file; give the {what} (PEM) with --key")
    if path.stat().st_size > 1024 * 1024:
        raise UsageError(f"{path}: over 1 MiB, not a PEM key; give the {what} with --key")
    return path.read_bytes()


def load_private_key(path: str | Path, password: str | None = None) -> EllipticCurvePrivateKey:
    """An ECDSA P-256 private key from a PEM file (SEC1 as openssl ecparam writes it, or PKCS#8),
    else ``UsageError`` naming the file and the fix."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = Path(path)
    data = _read_key_file(path, "private key")
    try:
        key = load_pem_private_key(data, password.encode() if password is not None else None)
    except TypeError:  # encrypted without a password, or a password for a key that has none
        if password is None:
            raise UsageError(
                f"{path}: the private key is encrypted; put its password in an environment variable "
                "and give --key-password-env VAR"
            ) from None
        raise UsageError(f"{path}: the private key is not encrypted; drop --key-password-env") from None
    except (ValueError, UnsupportedAlgorithm):
        if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
            raise UsageError(f"{path}: a public key; corpus-kit sign needs the private key") from None
        if password is not None:
            raise UsageError(
                f"{path}: cannot be read with the password given (wrong password, or not a PEM private key)"
            ) from None
        raise UsageError(f"{path}: not a PEM private key; make one with {_MAKE_KEY}") from None
    if not _is_p256(key):
        raise UsageError(
            f"{path}: an {_key_kind(key)} key; corpus-kit signs with ECDSA P-256 keys only "
            f"(make one with {_MAKE_KEY})"
        )
    return key  # type: ignore[return-value]


def load_public_key(path: str | Path) -> SSlibKey:
    """The ECDSA P-256 public key of a PEM file (SubjectPublicKeyInfo, as ``openssl ec -pubout``
    writes it) as securesystemslib's key, else ``UsageError`` naming the file and the fix."""
    _require_library("manifest verify --signature")
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.signer import SSlibKey

    path = Path(path)
    data = _read_key_file(path, "signer's public key")
    if b"PRIVATE KEY" in data:
        raise UsageError(
            f"{path}: a private key; verify with the public key ({_MAKE_PUBLIC}) and keep the private "
            "key where only the signer can read it"
        )
    try:
        key = load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{path}: not a PEM public key; write it with {_MAKE_PUBLIC}") from None
    if not _is_p256(key):
        raise UsageError(f"{path}: an {_key_kind(key)} key; corpus-kit signatures use ECDSA P-256 keys only")
    return SSlibKey.from_crypto(key)


def _statement(manifest_raw: bytes, manifest: Manifest) -> dict[str, Any]:
    subjects = [{"name": MANIFEST_NAME, "digest": {"sha256": hashlib.sha256(manifest_raw).hexdigest()}}]
    subjects += [{"name": item.path, "digest": {"sha256": item.sha256}} for item in manifest.files]
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "dataset": {"name": manifest.dataset.name, "version": manifest.dataset.version},
            "manifest_seal_sha256": manifest.seal_sha256,
            "corpus_kit_version": __version__,
            "signed_at": utc_now().isoformat(),
        },
    }


def sign_dataset(folder: str | Path, key_path: str | Path, password: str | None = None) -> Path:
    """Write ``FOLDER/manifest.sig`` (atomically, under the folder's lock) and return its path.

    The dataset must pass :func:`~corpus_kit.governance.verify.verify_dataset` (seal included):
    a signature vouches for what is on disk, so a dataset that does not match its manifest is
    refused (``CheckFailed``). Key problems are ``UsageError``.
    """
    _require_library("corpus-kit sign")
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    from corpus_kit.governance.verify import verify_dataset
    from corpus_kit.io.folder_lock import folder_lock

    root = Path(folder)
    private_key = load_private_key(key_path, password)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder; give the dataset folder that holds {MANIFEST_NAME}")
    if not (root / MANIFEST_NAME).is_file():
        raise CheckFailed(f"{root}: no {MANIFEST_NAME}; build the dataset with corpus-kit first")
    with folder_lock(root, activity="signing"):
        raw = (root / MANIFEST_NAME).read_bytes()
        sealing = seal_problem(raw)
        if sealing:
            raise CheckFailed(f"{root / MANIFEST_NAME}: {sealing}; not signed: rebuild the dataset or "
                              "restore its manifest")  # fmt: skip
        report = verify_dataset(root)
        if report.problems:
            first, more = report.problems[0], len(report.problems) - 1
            also = f" (and {more} more problem(s))" if more else ""
            raise CheckFailed(
                f"{root / first.path}: {first.message}{also}; not signed: the dataset must pass "
                f"corpus-kit manifest verify {root}"
            )
        # the subjects are the manifest's sha256 values: verify_dataset has just hashed every file
        # against them, under the lock no corpus-kit run can write the folder through
        manifest = Manifest.model_validate_json(raw)
        payload = json.dumps(_statement(raw, manifest), sort_keys=True, separators=(",", ":"))
        envelope = Envelope(payload=payload.encode(), payload_type=PAYLOAD_TYPE, signatures={})
        envelope.sign(CryptoSigner(private_key))
        path = root / SIGNATURE_NAME
        atomic_write_bytes(path, (json.dumps(envelope.to_dict(), indent=2) + "\n").encode())
    return path


def _signed_digests(payload: bytes) -> dict[str, str] | str:
    """``{subject name: sha256}`` of a corpus-kit statement, or why the payload is not one."""
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return "the signed payload is not JSON"
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        return f"the signed payload is not an in-toto Statement v1 ({STATEMENT_TYPE})"
    if statement.get("predicateType") != PREDICATE_TYPE:
        return f"the signed statement's predicateType is not {PREDICATE_TYPE}"
    subjects = statement.get("subject")
    if not isinstance(subjects, list):
        return "the signed statement has no subject list"
    digests: dict[str, str] = {}
    for subject in subjects:
        name = subject.get("name") if isinstance(subject, dict) else None
        digest = subject.get("digest") if isinstance(subject, dict) else None
        sha256 = digest.get("sha256") if isinstance(digest, dict) else None
        if not isinstance(name, str) or not isinstance(sha256, str) or name in digests:
            return "the signed statement has a malformed or repeated subject"
        if name != MANIFEST_NAME and relative_path_problem(name, ("data",)):
            return f"the signed statement names {name!r}, which is not a data file of a dataset"
        digests[name] = sha256
    if MANIFEST_NAME not in digests:
        return f"the signed statement does not cover {MANIFEST_NAME}"
    return digests


def verify_signature(
    folder: str | Path, public_key_path: str | Path, dataset_report: VerifyReport | None = None
) -> list[Problem]:
    """What is wrong with ``FOLDER/manifest.sig`` checked with the public key (``[]`` when it holds).

    It holds when the envelope's signature verifies with the key, ``manifest.json`` and every
    signed file have the signed sha256, and every data file the manifest lists is signed.
    ``dataset_report``: the :func:`verify_dataset` report of the same folder, when the caller has
    one; files it found matching the manifest (which is then the signed one) are not hashed again.
    An unreadable or wrong kind of key is a ``UsageError``. Reads only local files.
    """
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import FormatError, VerificationError

    from corpus_kit.governance.verify import Problem

    key = load_public_key(public_key_path)
    root = Path(folder)
    signature_path = root / SIGNATURE_NAME
    if not signature_path.is_file():
        return [
            Problem(SIGNATURE_NAME, f"missing; sign the dataset with corpus-kit sign {root} --key KEY.pem")
        ]
    if signature_path.stat().st_size > MAX_SIGNATURE_BYTES:
        return [Problem(SIGNATURE_NAME, "not a DSSE envelope (larger than any corpus-kit signature)")]
    try:
        envelope = Envelope.from_dict(json.loads(signature_path.read_bytes()))
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError, FormatError):
        return [Problem(SIGNATURE_NAME, "not a DSSE envelope (payload, payloadType, signatures)")]
    if envelope.payload_type != PAYLOAD_TYPE:
        return [Problem(SIGNATURE_NAME, f"not an in-toto envelope (payloadType is not {PAYLOAD_TYPE})")]
    if not envelope.signatures:
        return [Problem(SIGNATURE_NAME, "holds no signature")]
    try:
        envelope.verify([key], 1)
    except (VerificationError, ValueError):
        because = "signed with another key, or its payload or signature was changed"
        return [Problem(SIGNATURE_NAME, f"signature does not verify with {public_key_path} ({because})")]
    signed = _signed_digests(envelope.payload)
    if isinstance(signed, str):  # signed with the key, yet not ours: say so rather than trust it
        return [Problem(SIGNATURE_NAME, signed)]

    problems: list[Problem] = []
    manifest_path = root / MANIFEST_NAME
    raw = manifest_path.read_bytes() if manifest_path.is_file() else None
    if raw is None:
        return [Problem(MANIFEST_NAME, "missing; the signature covers it")]
    manifest_intact = hashlib.sha256(raw).hexdigest() == signed[MANIFEST_NAME]
    if not manifest_intact:
        problems.append(Problem(MANIFEST_NAME, "differs from the signed one; restore it, or check the "
                                "dataset and sign it again"))  # fmt: skip
    try:
        manifest: Manifest | None = Manifest.model_validate_json(raw)
    except ValueError:
        manifest = None
        problems.append(Problem(MANIFEST_NAME, "not a valid manifest; its files cannot be checked"))
    recorded = {item.path: item.sha256 for item in manifest.files} if manifest else {}
    already_checked: set[str] = set()
    if dataset_report is not None and manifest_intact:
        reported = {problem.path for problem in dataset_report.problems}
        already_checked = {path for path, digest in recorded.items() if path not in reported}
    for name, digest in signed.items():
        if name == MANIFEST_NAME:
            continue
        path = root / name
        if name in already_checked and recorded[name] == digest:
            continue  # verify_dataset hashed it against the signed manifest's sha256, equal to this
        if not path.is_file():
            problems.append(Problem(name, "signed but missing"))
        elif sha256_file(path) != digest:
            problems.append(Problem(name, "sha256 differs from the signed one"))
    for name in recorded:
        if name not in signed:
            problems.append(Problem(name, "listed in the manifest but not signed; sign the dataset again"))
    return problems


def stale_signature_problem(folder: str | Path) -> str | None:
    """Why ``FOLDER/manifest.sig`` cannot be published beside ``manifest.json`` (it is unreadable,
    or it signs another manifest: the dataset changed after signing), else ``None``.

    Reads the envelope without checking its signature (``publish`` has no public key; the
    receiver checks that with ``manifest verify --signature``) and without securesystemslib.
    """
    import base64
    import binascii

    root = Path(folder)
    path = root / SIGNATURE_NAME
    if path.stat().st_size > MAX_SIGNATURE_BYTES:
        return "not a DSSE envelope (larger than any corpus-kit signature)"
    try:
        envelope = json.loads(path.read_bytes())
        signed = _signed_digests(base64.b64decode(envelope["payload"], validate=True))
    except (ValueError, UnicodeDecodeError, KeyError, TypeError, binascii.Error):
        return "not a DSSE envelope (payload, payloadType, signatures)"
    if isinstance(signed, str):
        return signed
    if hashlib.sha256((root / MANIFEST_NAME).read_bytes()).hexdigest() != signed[MANIFEST_NAME]:
        return f"signs another {MANIFEST_NAME} (the dataset changed after it was signed)"
    return None
