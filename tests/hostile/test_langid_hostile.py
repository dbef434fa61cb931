"""Language ID costs what reading the text costs, whatever the text (review of issue 21's LID change).

Before the fix, the code-token pattern of the Chinese-frame rule backtracked quadratically on a
long run without spaces: ``"中文" + "a" * 160_000`` took 173 s, one 80 KB record 42 s end to end.
"""

from __future__ import annotations

import time

import pytest

from corpus_kit.stages.langid import LanguageIdentifier

BUDGET_SECONDS = 3.0  # measured ~0.01 s per MB; the defect took minutes


@pytest.mark.parametrize(
    "text",
    [
        "中文" + "a" * 1_000_000,
        "见 " + "deadbeef" * 125_000,
        "中文 " + "x/" * 500_000,
        "中文 " + ('"' + "a" * 399) * 2_500,
        "中文 " + "-" * 1_000_000,
        "，".join(["中文 `" + "b" * 390 + "`"] * 2_500),
    ],
    ids=["letters", "hex", "slashes", "open-quotes", "dashes", "backticks"],
)
def test_adversarial_megabyte_is_identified_in_bounded_time(text: str) -> None:
    identifier = LanguageIdentifier()
    identifier.identify("warm up the model")
    started = time.perf_counter()
    identifier.identify(text)
    assert time.perf_counter() - started < BUDGET_SECONDS
