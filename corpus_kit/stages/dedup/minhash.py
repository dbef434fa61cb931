"""Script-aware shingling and MinHash signatures, vectorised over batches of documents.

Why not datatrove's ``MinhashDedupSignature``: it shingles English word 5-grams (Chinese text, which
has no spaces, becomes a few giant "words"; on a mixed zh/en set it found ~86% of near duplicates)
and computes ``num_perm`` hash permutations per shingle in Python/NumPy per document. Here:

* **Normalisation** (shared with exact dedup): Unicode NFKC, case folding (a no-op for scripts
  without case), whitespace runs collapsed to one space.
* **Tokens** by script: every character of an unspaced script (Han, Kana, Hangul, Thai, Lao, Khmer,
  Myanmar, Yi, Bopomofo) is a token; runs of other letters, digits and marks are word tokens;
  punctuation, symbols and spaces separate tokens. A mixed document simply has both kinds.
* **Shingles**: ``ngram_unspaced`` consecutive tokens starting at an unspaced character,
  ``ngram_spaced`` consecutive tokens starting at a word, never across documents. A document with
  fewer tokens than that uses its tokens as shingles.
* **Signature**: one-permutation MinHash (Li, Owen & Zhang 2012) with rotation densification
  (Shrivastava & Li 2014): each shingle is hashed once to 64 bits; the top bits pick one of
  ``num_perm`` bins, the low 32 bits compete for that bin's minimum; empty bins borrow from the
  next non-empty bin. The probability that two signatures agree in a bin is the Jaccard similarity
  of the shingle sets, as with classic MinHash, at the cost of one hash per shingle instead of
  ``num_perm``. All of it runs as whole-batch NumPy operations: no Python loop per character or
  per shingle.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from itertools import compress, repeat
from typing import Literal

import numpy as np
import xxhash

from corpus_kit.stages.text import code_points, every_character

EMPTY_BIN = np.uint32(0xFFFFFFFF)
_TABLE_SIZE = 0x40000  # planes 0-3 hold every script we treat specially; beyond: word characters
_SEPARATOR, _UNSPACED, _SPACED = 0, 1, 2
_UNSPACED_SCRIPTS = (
    "Han",
    "Hiragana",
    "Katakana",
    "Hangul",
    "Thai",
    "Lao",
    "Khmer",
    "Myanmar",
    "Yi",
    "Bopomofo",
)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def normalize_text(text: str, fold_script: bool = False) -> str:
    """NFKC, case-folded, whitespace collapsed: what "the same text" means for exact and near dedup.

    ``fold_script``: Traditional Chinese characters are also mapped to Simplified ones (OpenCC's
    character-level ``t2s`` table), so a Traditional copy of a Simplified text is the same text.
    """
    if not unicodedata.is_normalized("NFKC", text):  # the quick check is ~80x faster than normalising
        text = _nfkc(text)
    text = " ".join(text.casefold().split())
    return fold_traditional(text) if fold_script else text


@lru_cache(maxsize=1)
def _fold_table() -> np.ndarray:
    """Per code point below ``_TABLE_SIZE``: its Simplified form (itself when it has none).

    From OpenCC's ``t2s`` table as the safety stage builds it (one character to one character; the
    few Traditional characters whose Simplified form is several characters keep their form).
    """
    from corpus_kit.stages.safety.normalise import _t2s

    table = np.arange(_TABLE_SIZE, dtype=np.uint32)
    pairs = [(ord(source), ord(target)) for source, target in _t2s().items() if ord(source) < _TABLE_SIZE]
    if pairs:
        sources, targets = np.asarray(pairs, dtype=np.uint32).T
        table[sources] = targets
    table.setflags(write=False)
    return table


_HAN_FIRST = 0x3400  # no Traditional character before CJK extension A


def fold_traditional(text: str) -> str:
    """Traditional Chinese characters of ``text`` as Simplified ones, character by character."""
    if not text or max(text) < chr(_HAN_FIRST):
        return text
    codes = code_points(text)
    inside = codes < _TABLE_SIZE
    folded = np.where(inside, _fold_table().take(np.minimum(codes, _TABLE_SIZE - 1)), codes)
    if np.array_equal(folded, codes):
        return text
    return folded.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass")


_ONE_TO_ONE, _EXPANDS, _COMPLEX = 0, 1, 2


@lru_cache(maxsize=1)
def _nfkc_table() -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Per code point: its NFKC form when that is one code point, how it normalises, and the
    characters that normalise to several (as a ``str.translate`` table).

    Mapping character by character equals NFKC of the whole text unless a character can combine
    with a neighbour (marks, conjoining jamo) or normalises to something that can: those are
    ``_COMPLEX`` and send the text down ``unicodedata.normalize``. Chinese full-width punctuation,
    the common case, maps one to one; ``…``, ``℃``, ``㎡``, ``①`` or ``Ⅲ`` expand (``_EXPANDS``)
    into characters that combine with nothing, so ``str.translate`` does them.
    """
    import regex

    codes = np.arange(_TABLE_SIZE, dtype=np.uint32)
    surrogate = (codes >= 0xD800) & (codes < 0xE000)  # spaces in every_character; reset below
    everything = every_character(_TABLE_SIZE)
    # map() over C functions: no Python frame per code point (~2x faster than a loop)
    form: Literal["NFKC"] = "NFKC"  # annotated: a bare "NFKC" would make repeat() an Iterator[str]
    normals = list(map(unicodedata.normalize, repeat(form), everything))
    lengths = np.fromiter(map(len, normals), dtype=np.int64, count=_TABLE_SIZE)
    combining = regex.compile(
        r"[\p{M}\p{Hangul_Syllable_Type=L}\p{Hangul_Syllable_Type=V}\p{Hangul_Syllable_Type=T}]"
    )
    combines = np.fromiter(map(unicodedata.combining, everything), dtype=np.int64, count=_TABLE_SIZE) != 0
    combines[np.asarray([match.start() for match in combining.finditer(everything)], dtype=np.int64)] = True
    kind = np.full(_TABLE_SIZE, _COMPLEX, dtype=np.uint8)
    kind[(lengths == 1) & ~combines] = _ONE_TO_ONE
    expansions: dict[int, str] = {}
    for code in np.flatnonzero((lengths > 1) & ~combines).tolist():
        normal = normals[code]
        if not any(map(unicodedata.combining, normal)) and combining.search(normal) is None:
            kind[code] = _EXPANDS
            expansions[code] = normal
    kind[surrogate] = _ONE_TO_ONE
    table = np.arange(_TABLE_SIZE, dtype=np.uint32)
    mapped = (kind == _ONE_TO_ONE) & ~surrogate
    table[mapped] = np.fromiter(map(ord, compress(normals, mapped.tolist())), dtype=np.uint32)
    kind[_TABLE_SIZE - 1] = _COMPLEX  # clamp target for code points beyond the table
    return table, kind, expansions


def warm_up(seed: int = 1, fold_script: bool = False) -> None:
    """Build the lookup tables now (workers forked afterwards inherit them)."""
    character_classes()
    _nfkc_packed()
    _code_point_hashes(seed)
    if fold_script:
        _fold_table()


_KIND_SHIFT = 24  # code points need 21 bits: a table entry holds its kind above them


@lru_cache(maxsize=1)
def _nfkc_packed() -> tuple[np.ndarray, dict[int, str]]:
    """:func:`_nfkc_table` as one lookup: ``normal | kind << _KIND_SHIFT`` per code point."""
    table, kind, expansions = _nfkc_table()
    return table | (kind.astype(np.uint32) << np.uint32(_KIND_SHIFT)), expansions


def _nfkc(text: str) -> str:
    codes = np.minimum(code_points(text), _TABLE_SIZE - 1)
    packed, expansions = _nfkc_packed()
    mapped = packed.take(codes)
    worst = int(mapped.max()) >> _KIND_SHIFT  # the kind bits dominate the maximum
    if worst == _COMPLEX:
        return unicodedata.normalize("NFKC", text)
    if worst == _EXPANDS:
        mapped &= np.uint32((1 << _KIND_SHIFT) - 1)
    normal = mapped.tobytes().decode("utf-32-le")
    # an expanding character is left as it is by the table: translate finds it there
    return normal.translate(expansions) if worst == _EXPANDS else normal


def exact_key(normalized: str) -> tuple[int, int]:
    """128-bit hash of the normalised text as two unsigned 64-bit halves (lo, hi)."""
    digest = xxhash.xxh3_128_intdigest(normalized.encode("utf-8"))
    return digest & 0xFFFFFFFFFFFFFFFF, digest >> 64


@lru_cache(maxsize=1)
def character_classes() -> np.ndarray:
    """Class of every code point below U+40000: separator, unspaced-script character, or word character."""
    import regex

    everything = every_character(_TABLE_SIZE)  # surrogates as spaces: separators
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    for pattern, value in (
        (r"[\p{L}\p{N}\p{M}]", _SPACED),
        ("[" + "".join(rf"\p{{Script={name}}}" for name in _UNSPACED_SCRIPTS) + "]", _UNSPACED),
    ):
        # runs of matching code points (a few thousand) rather than each match (~150,000)
        spans = np.array(
            [match.span() for match in regex.finditer(pattern + "+", everything)], dtype=np.int64
        )
        edges = np.zeros(_TABLE_SIZE + 1, dtype=np.int64)
        np.add.at(edges, spans[:, 0], 1)
        np.add.at(edges, spans[:, 1], -1)
        mask = np.cumsum(edges[:-1]) > 0
        if value == _UNSPACED:
            table[mask & (table == _SPACED)] = (
                _UNSPACED  # only letters/marks of those scripts, not punctuation
            )
        else:
            table[mask] = value
    table[_TABLE_SIZE - 1] = _SPACED  # clamp target for code points beyond the table (letters, mostly)
    return table


def mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash of 64-bit integers (array in, array out)."""
    x = values.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _odd_randoms(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, 2**63, size=count, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


@lru_cache(maxsize=8)
def _code_point_hashes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 64-bit values per code point: one for a character token, one for a character inside a word."""
    return _odd_randoms(_TABLE_SIZE, seed), _odd_randoms(_TABLE_SIZE, seed + 1)


_WORD_POSITIONS = 64  # characters beyond this offset in a word reuse the position multipliers cyclically


@lru_cache(maxsize=8)
def _position_multipliers(seed: int) -> np.ndarray:
    return _odd_randoms(_WORD_POSITIONS, seed + 2)


def shingle_hashes(
    texts: Sequence[str], ngram_unspaced: int, ngram_spaced: int, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of normalised ``texts``: (hashes uint64, owning document index int64), in text order."""
    if not texts:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    joined = "\n".join(texts)
    codes = np.minimum(code_points(joined), _TABLE_SIZE - 1)
    lengths = np.fromiter((len(text) for text in texts), dtype=np.int64, count=len(texts))
    doc_starts = np.concatenate(([0], np.cumsum(lengths[:-1] + 1)))
    classes = character_classes()[codes]
    char_token_hash, word_char_hash = _code_point_hashes(seed)

    # word tokens, computed on the word characters only (few in Chinese text): a position-aware sum
    word_chars = np.flatnonzero(classes == _SPACED)
    is_token = classes == _UNSPACED
    word_hash = None
    if word_chars.size:
        starts_here = np.ones(word_chars.size, dtype=bool)
        starts_here[1:] = word_chars[1:] != word_chars[:-1] + 1
        start_slots = np.flatnonzero(starts_here)
        end_slots = np.concatenate((start_slots[1:] - 1, [word_chars.size - 1]))
        # offset of each character in its word (mod _WORD_POSITIONS, a power of two)
        offset = np.arange(word_chars.size, dtype=np.int64)
        offset -= np.repeat(start_slots, end_slots - start_slots + 1)
        offset &= _WORD_POSITIONS - 1
        hashed = word_char_hash[codes[word_chars]]
        hashed *= _position_multipliers(seed)[offset]
        running = np.cumsum(hashed, dtype=np.uint64)  # wraps modulo 2**64, which is what we want
        before = np.where(start_slots > 0, running[np.maximum(start_slots - 1, 0)], np.uint64(0))
        word_hash = mix64(running[end_slots] - before)
        is_token[word_chars[start_slots]] = True

    token_positions = np.flatnonzero(is_token)
    if token_positions.size == 0:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    token_is_char = classes[token_positions] == _UNSPACED
    token_hash = char_token_hash[codes[token_positions]]
    if word_hash is not None:
        token_hash[~token_is_char] = word_hash  # the other tokens are the word starts, in word order
    # where each document's tokens begin (a lookup per document, not per token), then repeated
    first_token = np.searchsorted(token_positions, doc_starts)
    token_doc = np.repeat(
        np.arange(len(texts), dtype=np.int64), np.diff(first_token, append=token_positions.size)
    )

    tokens = token_hash.size
    multipliers = _odd_randoms(max(ngram_unspaced, ngram_spaced), seed + 3)
    widths = {ngram_unspaced, ngram_spaced}
    shingles = np.zeros(tokens, dtype=np.uint64)
    valid = np.zeros(tokens, dtype=bool)
    for width in sorted(widths):
        last = tokens - width + 1
        if last <= 0:
            continue
        combined = token_hash[:last] * multipliers[0]
        for k in range(1, width):
            combined += token_hash[k : k + last] * multipliers[k]
        inside = token_doc[width - 1 : width - 1 + last] == token_doc[:last]
        if len(widths) > 1:
            inside &= token_is_char[:last] if width == ngram_unspaced else ~token_is_char[:last]
        shingles[:last][inside] = combined[inside]
        valid[:last] |= inside
    shingle_doc = token_doc[valid]
    shingle_values = shingles[valid]
    shingle_values ^= shingle_values >> np.uint64(29)  # spread the high bits into the low 32

    # documents too short for one shingle: their tokens stand in
    has_shingle = np.zeros(len(texts), dtype=bool)
    has_shingle[shingle_doc] = True
    short = ~has_shingle[token_doc]
    if short.any():
        shingle_values = np.concatenate((shingle_values, mix64(token_hash[short])))
        shingle_doc = np.concatenate((shingle_doc, token_doc[short]))
    return shingle_values, shingle_doc.astype(np.int64)


def signatures(
    texts: Sequence[str], num_perm: int, ngram_unspaced: int, ngram_spaced: int, seed: int = 1
) -> np.ndarray:
    """One-permutation MinHash signatures, shape ``(len(texts), num_perm)`` uint32.

    A document without any token (empty or punctuation only) gets a row of ``EMPTY_BIN``.
    """
    values, owners = shingle_hashes(texts, ngram_unspaced, ngram_spaced, seed)
    return signatures_of(values, owners, len(texts), num_perm)


def shingle_sets(values: np.ndarray, owners: np.ndarray, documents: int) -> tuple[np.ndarray, np.ndarray]:
    """Each document's shingle hashes as a sorted set: (values, offsets) with document ``i``'s set at
    ``values[offsets[i]:offsets[i + 1]]`` (``offsets`` has ``documents + 1`` entries)."""
    order = np.lexsort((values, owners))
    sorted_values, sorted_owners = values[order], owners[order]
    keep = np.ones(sorted_values.size, dtype=bool)
    keep[1:] = (sorted_values[1:] != sorted_values[:-1]) | (sorted_owners[1:] != sorted_owners[:-1])
    counts = np.bincount(sorted_owners[keep], minlength=documents)
    offsets = np.zeros(documents + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return sorted_values[keep], offsets


def signatures_of(values: np.ndarray, owners: np.ndarray, documents: int, num_perm: int) -> np.ndarray:
    """:func:`signatures` from shingle hashes and their owning documents (:func:`shingle_hashes`)."""
    if num_perm & (num_perm - 1) or not 8 <= num_perm <= 1024:
        raise ValueError(f"num_perm must be a power of two between 8 and 1024, got {num_perm}")
    sig = np.full((documents, num_perm), EMPTY_BIN, dtype=np.uint32)
    if values.size == 0:
        return sig
    bits = num_perm.bit_length() - 1
    bins = (values >> np.uint64(64 - bits)).astype(np.uint64)
    low = values & np.uint64(0xFFFFFFFF)
    # min of `low` per (document, bin): one sort of (group << 32 | low), first of each group wins
    group = owners.astype(np.uint64) * np.uint64(num_perm) + bins
    if documents * num_perm >= 2**32:
        raise ValueError("batch too large for one signature pass")
    ordered = np.sort((group << np.uint64(32)) | low)
    groups = ordered >> np.uint64(32)
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = groups[1:] != groups[:-1]
    sig.reshape(-1)[groups[first].astype(np.int64)] = (ordered[first] & np.uint64(0xFFFFFFFF)).astype(
        np.uint32
    )
    _densify(sig)
    return sig


def _densify(sig: np.ndarray) -> None:
    """Fill empty bins from the next non-empty bin to the right (circular), offset by the distance."""
    empty = sig == EMPTY_BIN
    partial = empty.any(axis=1) & ~empty.all(axis=1)
    if not partial.any():
        return
    rows = sig[partial]
    holes = empty[partial]
    width = rows.shape[1]
    columns = np.arange(width)
    marker = np.where(holes, 2 * width, columns)
    doubled = np.concatenate((marker, marker + width), axis=1)  # circular: look into a second copy
    nearest = np.minimum.accumulate(doubled[:, ::-1], axis=1)[:, ::-1][:, :width]
    distance = (nearest - columns).astype(np.uint32)
    borrowed = np.take_along_axis(rows, nearest % width, axis=1)
    filled = borrowed + distance * np.uint32(0x9E3779B1)  # rotation offset keeps borrowed bins distinct
    filled[filled == EMPTY_BIN] -= np.uint32(1)
    rows[holes] = filled[holes]
    sig[partial] = rows


def band_hashes(sig: np.ndarray, bands: int, rows: int, seed: int = 1) -> np.ndarray:
    """One 64-bit key per (band, document), shape ``(bands, documents)``, from ``bands * rows`` bins."""
    documents = sig.shape[0]
    used = sig[:, : bands * rows].reshape(documents, bands, rows).astype(np.uint64)
    multipliers = _odd_randoms(rows, seed + 101)
    combined = np.zeros((documents, bands), dtype=np.uint64)
    for k in range(rows):
        combined += used[:, :, k] * multipliers[k]
    combined += np.arange(bands, dtype=np.uint64) * _GOLDEN
    return np.ascontiguousarray(mix64(combined).T)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Estimated Jaccard similarity of signature rows ``a[i]`` and ``b[i]``: the share of equal bins."""
    return (a == b).mean(axis=1)


def exact_jaccard(left: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> np.ndarray:
    """Jaccard similarity of pairs of sorted shingle sets (``left[i]`` with ``right[i]``), exactly.

    All pairs at once: the two sets of a pair are unique, so a value seen twice within a pair is in
    both; one sort of (pair, value) over every pair counts them.
    """
    pairs = len(left)
    if pairs == 0:
        return np.empty(0, np.float64)
    sizes_left = np.fromiter((part.size for part in left), dtype=np.int64, count=pairs)
    sizes_right = np.fromiter((part.size for part in right), dtype=np.int64, count=pairs)
    values = np.concatenate([*left, *right])
    owner = np.concatenate(
        (
            np.repeat(np.arange(pairs, dtype=np.int64), sizes_left),
            np.repeat(np.arange(pairs, dtype=np.int64), sizes_right),
        )
    )
    order = np.lexsort((values, owner))
    values, owner = values[order], owner[order]
    twice = (values[1:] == values[:-1]) & (owner[1:] == owner[:-1])
    common = np.bincount(owner[1:][twice], minlength=pairs)
    union = sizes_left + sizes_right - common
    return np.where(union > 0, common / np.maximum(union, 1), 0.0)
