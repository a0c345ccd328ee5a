"""Masking secret values out of job logs, including logs that arrive in chunks.

Every character covered by an occurrence of any secret is hidden, and each run of
hidden characters becomes one `*****`. Overlapping secrets are handled: with secrets
`abcd` and `cdef`, `xabcdefx` becomes `x*****x`, not `x*****efx` (a plain
leftmost-longest regex substitution would leak `ef`, the tail of the second secret).

Streaming (`mask_stream_chunk`): a secret may be split across two log chunks, so the
end of each chunk is held back until the next one shows how it continues. What is held
back is the shortest suffix that could still grow into a secret:

- from the first position in the last `longest - 1` characters where the rest of the
  text is a proper prefix of some secret (`"…tok"` is held if a secret starts `"tok"`;
  a trailing newline usually is not, so lines are not delayed for nothing), and
- never in the middle of a complete occurrence: if an occurrence crosses that point,
  the hold-back starts at the beginning of it, because another secret overlapping its
  end may only be completed by the next chunk, and once the start is emitted it could
  no longer be recognised.

Characters before the hold-back point can no longer change status: any occurrence that
covers them starts at most `longest - 1` characters before the end, so it is complete in
the text we have. The hold-back is raw text; pass it back with the next chunk and, at the
end of the stream, emit `mask(tail)`.
"""

from __future__ import annotations

import base64
import bisect
import json

MASK = "*****"
MIN_SECRET_LENGTH = 4  # shorter values ("1", "true", "abc") would mask ordinary words


def printed_forms(value: str) -> list[str]:
    """`value` and the forms a script prints it in without meaning to unmask it: inside
    JSON (escaped quotes, backslashes, newlines, non-ASCII as \\uXXXX), and in base64
    (standard and URL-safe; at each of the three alignments it can have inside a longer
    encoded text, the characters that depend on the value alone).

    Not covered: a value printed in slices, reversed, or otherwise transformed by the
    script. Masking hides mistakes; it cannot stop a job that means to leak what it reads."""
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]]
    raw = value.encode()
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw).decode()
        core = encoded[(pad * 4 + 2) // 3: ((pad + len(raw)) * 8) // 6]
        forms += [core, core.replace("+", "-").replace("/", "_")]
    return [f for f in dict.fromkeys(forms) if len(f) >= MIN_SECRET_LENGTH]


class LogMasker:
    """The secrets of one job (or any log stream) and the masking of text with them."""

    def __init__(self, values: list[str] | None = None) -> None:
        # Immutable snapshots, replaced whole by `add`: a log-streaming thread may mask
        # while a request adds a secret the job just read.
        self._values: tuple[str, ...] = ()  # longest first
        self._sorted: tuple[str, ...] = ()  # lexicographic, for the prefix test
        self._longest = 0
        self._first_chars: frozenset[str] = frozenset()
        for value in values or ():
            self.add(value)

    @property
    def secrets(self) -> list[str]:
        """The masked values, longest first."""
        return list(self._values)

    def add(self, value: str) -> None:
        """Mask `value` from now on (ignored when shorter than 4 characters)."""
        if len(value) < MIN_SECRET_LENGTH or value in self._values:
            return
        self._values = tuple(sorted((*self._values, value), key=len, reverse=True))
        self._sorted = tuple(sorted(self._values))
        self._longest = max(self._longest, len(value))
        self._first_chars = self._first_chars | {value[0]}

    def mask(self, text: str) -> str:
        """`text` with every secret occurrence hidden."""
        spans = self._occurrences(text)
        return self._hide(text, spans, len(text)) if spans else text

    def mask_stream_chunk(self, previous_tail: str, chunk: str) -> tuple[str, str]:
        """Mask the next chunk of a stream: returns (text to emit now, tail to hold back).

        Pass the returned tail as `previous_tail` of the next call; at the end of the
        stream emit `mask(tail)`. See the module docstring for why this is safe.
        """
        text = previous_tail + chunk
        if not self._values:
            return text, ""
        hold = len(text)
        for i in range(max(0, len(text) - self._longest + 1), len(text)):
            if text[i] in self._first_chars and self._is_proper_prefix(text[i:]):
                hold = i
                break
        spans = self._occurrences(text)
        for start, end in spans:
            if start < hold < end:
                hold = start
                break
        return self._hide(text, spans, hold), text[hold:]

    def _is_proper_prefix(self, fragment: str) -> bool:
        """Whether some secret starts with `fragment` and is longer than it."""
        i = bisect.bisect_right(self._sorted, fragment)  # first secret > fragment
        return i < len(self._sorted) and self._sorted[i].startswith(fragment)

    def _occurrences(self, text: str) -> list[tuple[int, int]]:
        """Merged (start, end) spans covered by secrets, in order.

        One `str.find` scan per secret rather than one regex of all of them: CPython's
        substring search skips ahead in C, while an alternation of escaped literals tries
        every alternative at every position. Measured on a 1 MB log with 100 random
        tokens: 84 MB/s against 12 MB/s (5 tokens: 2.7 GB/s against 0.4 GB/s).
        """
        found: list[tuple[int, int]] = []
        for value in self._values:
            i = text.find(value)
            while i != -1:  # from i + 1, not i + len: occurrences may overlap
                found.append((i, i + len(value)))
                i = text.find(value, i + 1)
        if not found:
            return found
        found.sort()
        spans = [found[0]]
        for start, end in found[1:]:
            if start <= spans[-1][1]:  # overlaps or touches the previous span
                if end > spans[-1][1]:
                    spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    @staticmethod
    def _hide(text: str, spans: list[tuple[int, int]], upto: int) -> str:
        """text[:upto] with the spans that end by `upto` replaced by MASK."""
        out: list[str] = []
        pos = 0
        for start, end in spans:
            if end > upto:
                break
            out.append(text[pos:start])
            out.append(MASK)
            pos = end
        out.append(text[pos:upto])
        return "".join(out)
