"""LogMasker: whole texts, and streams whose chunks split secrets anywhere."""

from __future__ import annotations

import random
import re

import pytest

from desktop_app.secrets.masking import MASK, LogMasker


def stream(masker: LogMasker, chunks: list[str]) -> str:
    out, tail = [], ""
    for chunk in chunks:
        emitted, tail = masker.mask_stream_chunk(tail, chunk)
        out.append(emitted)
    return "".join(out) + masker.mask(tail)


def squash(text: str) -> str:
    """Adjacent masks as one: a stream may emit two where the whole text shows one."""
    return re.sub(f"(?:{re.escape(MASK)})+", MASK, text)


def test_masks_every_occurrence() -> None:
    m = LogMasker(["hunter22"])
    assert m.mask("pw=hunter22, again hunter22!") == f"pw={MASK}, again {MASK}!"


def test_text_without_secrets_is_unchanged() -> None:
    assert LogMasker().mask("nothing here") == "nothing here"
    assert LogMasker(["s3cret"]).mask("nothing here") == "nothing here"


def test_short_values_are_ignored() -> None:
    m = LogMasker(["", "a", "ab", "abc", "true"])
    assert m.secrets == ["true"]
    assert m.mask("a ab abc true") == f"a ab abc {MASK}"


def test_longest_first_and_contained_secrets() -> None:
    m = LogMasker(["pass", "password123"])
    assert m.secrets == ["password123", "pass"]
    assert m.mask("x password123 y pass z") == f"x {MASK} y {MASK} z"


def test_overlapping_secrets_hide_their_union() -> None:
    m = LogMasker(["abcd", "cdef"])
    assert m.mask("xabcdefx") == f"x{MASK}x"  # not x*****efx: "ef" ends a secret
    assert m.mask("xcdefabcdx") == f"x{MASK}x"  # touching occurrences: one mask


@pytest.mark.parametrize("secret", [
    "a.b*c+d?", "(group)|alt", "[chars]^$", "back\\slash\\d+", "{1,2}.*", "new\nline\ttab",
])
def test_regex_special_characters_are_literal(secret: str) -> None:
    m = LogMasker([secret])
    assert m.mask(f"<{secret}>") == f"<{MASK}>"
    # Read as a regex, these would match other text; read literally, they must not.
    assert m.mask("abbbcd? xgroup alt chars 1 back\\slash\\ddd") == \
        "abbbcd? xgroup alt chars 1 back\\slash\\ddd"


def test_secret_split_across_two_chunks_at_every_point() -> None:
    secret = "tok-3f9a7c"
    m = LogMasker([secret])
    text = f"before {secret} after\n"
    for cut in range(len(text) + 1):
        assert stream(m, [text[:cut], text[cut:]]) == f"before {MASK} after\n", cut


def test_secret_split_across_many_chunks() -> None:
    m = LogMasker(["0123456789abcdef"])
    text = "log: 0123456789abcdef; 0123456789abcdef\n"
    assert stream(m, list(text)) == f"log: {MASK}; {MASK}\n"


def test_stream_holds_back_only_a_possible_secret_start() -> None:
    m = LogMasker(["secretvalue"])
    assert m.mask_stream_chunk("", "line one\n") == ("line one\n", "")
    assert m.mask_stream_chunk("", "value is sec") == ("value is ", "sec")
    assert m.mask_stream_chunk("sec", "ond line\n") == ("second line\n", "")
    assert m.mask_stream_chunk("", "whole secretvalue") == (f"whole {MASK}", "")


def test_stream_overlapping_secret_completed_by_next_chunk() -> None:
    # "abcd" is complete in the first chunk, but "cdefgh" overlapping it is not: emitting
    # "*****" for "abcd" now would leave "efgh" unrecognisable in the next chunk.
    m = LogMasker(["abcd", "cdefgh"])
    first, tail = m.mask_stream_chunk("", "x abcdef")
    assert (first, tail) == ("x ", "abcdef")
    second, tail = m.mask_stream_chunk(tail, "gh y")
    assert first + second + m.mask(tail) == f"x {MASK} y"


def test_no_secrets_stream_passes_through() -> None:
    assert LogMasker().mask_stream_chunk("", "abc") == ("abc", "")


def test_stream_equals_whole_text_masking_on_random_cases() -> None:
    rng = random.Random(20240607)
    for _ in range(3000):
        secrets = ["".join(rng.choice("abc") for _ in range(rng.randint(4, 7)))
                   for _ in range(rng.randint(1, 3))]
        m = LogMasker(secrets)
        text = "".join(rng.choice("abcx") for _ in range(rng.randint(0, 40)))
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(0, 6))))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        whole = m.mask(text)
        streamed = stream(m, chunks)
        assert squash(streamed) == squash(whole), (secrets, text, chunks)
        for s in secrets:
            assert s not in whole and s not in streamed, (s, text)
