"""Work around PySide6 6.12 on Python 3.11: every call of a Qt method returning void
releases one reference to None that it never took (measured: 1000 calls of
QLabel.setText lower sys.getrefcount(None) by 1000). Painting calls such methods
thousands of times a second, and the interpreter aborts with "none_dealloc: deallocating
None" once the count reaches zero. Python 3.12+ makes None immortal, so the wheels built
for it never notice; here None is given a reference count no session can use up, which is
what 3.12 does."""

from __future__ import annotations

import ctypes
import sys

_PINNED = 1 << 60


def pin_none() -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return  # None is immortal there
    # True and False too: a session that opens the first-run window and then drives a
    # daemon ended in "bool_dealloc: deallocating True or False" at exit (3.12+ makes
    # all three immortal).
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))
        if count.value < _PINNED:
            count.value += _PINNED
