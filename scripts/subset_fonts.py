"""Make the font subsets under tests/data/fonts/ that the picture tests and the OCR benchmark draw with.

No CJK font can be assumed on a test machine, so small subsets ship with the tests. The sources are
Debian packages, all Apache-2.0 (no Reserved Font Name, so a subset may keep the name; the NOTICE
says they were modified):

* ``fonts-wqy-microhei`` (``wqy-microhei.ttc``, face 0: WenQuanYi Micro Hei, Apache-2.0 or
  GPL-3+ with font exception; used under Apache-2.0);
* ``fonts-droid-fallback`` (``DroidSansFallbackFull.ttf``, Apache-2.0; CJK only);
* ``fonts-roboto-unhinted`` (Roboto Regular, Bold, Condensed Regular, Apache-2.0; Latin).

The subsets hold printable ASCII, a few symbols, and every other character that appears in
``benchmarks/make_ocr_set.py`` and ``tests/test_pii_images.py``. Regenerate after changing the
text of either (needs ``apt-get`` and ``dpkg-deb``, or ``--source`` with the fonts)::

    python scripts/subset_fonts.py                  # apt-get download the three packages
    python scripts/subset_fonts.py --source DIR     # fonts already extracted under DIR
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "fonts"
PACKAGES = ("fonts-wqy-microhei", "fonts-droid-fallback", "fonts-roboto-unhinted")
#: (file name in the package, face index, subset name)
FONTS = (
    ("wqy-microhei.ttc", 0, "WenQuanYiMicroHei-subset.ttf"),
    ("DroidSansFallbackFull.ttf", 0, "DroidSansFallbackFull-subset.ttf"),
    ("Roboto-Regular.ttf", 0, "Roboto-Regular-subset.ttf"),
    ("Roboto-Bold.ttf", 0, "Roboto-Bold-subset.ttf"),
    ("RobotoCondensed-Regular.ttf", 0, "RobotoCondensed-Regular-subset.ttf"),
)
TEXT_SOURCES = (ROOT / "benchmarks" / "make_ocr_set.py", ROOT / "tests" / "test_pii_images.py")
EXTRA = "¥€£©®°±×÷·—–‘’“”…，。：；、！？（）《》【】￥"


def characters() -> str:
    chars = {chr(code) for code in range(0x20, 0x7F)} | set(EXTRA)
    for path in TEXT_SOURCES:
        chars |= {char for char in path.read_text(encoding="utf-8") if ord(char) > 0x7E}
    return "".join(sorted(chars))


def download(folder: Path) -> Path:
    for package in PACKAGES:
        subprocess.run(["apt-get", "download", package], cwd=folder, check=True)
    for deb in sorted(folder.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(folder / "x")], check=True)
    return folder / "x"


def subset(source: Path, index: int, target: Path, text: str) -> None:
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    options = ft_subset.Options()
    options.font_number = index
    options.name_IDs = ["*"]  # keep copyright, licence and names
    options.notdef_outline = True
    options.layout_features = ["*"]
    font = TTFont(str(source), fontNumber=index, lazy=False)
    subsetter = ft_subset.Subsetter(options=options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="folder holding the source fonts (searched recursively)")
    args = parser.parse_args()
    text = characters()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.source or download(Path(scratch))
        OUT.mkdir(parents=True, exist_ok=True)
        lines = []
        for name, index, target in FONTS:
            found = sorted(root.rglob(name))
            if not found:
                raise SystemExit(f"{name} not found under {root}")
            subset(found[0], index, OUT / target, text)
            digest = hashlib.sha256(found[0].read_bytes()).hexdigest()
            lines.append(f"{target}: from {name} (face {index}), source sha256 {digest}")
    (OUT / "SOURCES.txt").write_text("\n".join([*lines, f"characters: {len(text)}", ""]), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
