"""Importable functions for the tests: what plain pickle can send by name."""

import time


def square(x):
    return x * x


def boom(x):
    """Raises for 3: the test of an exception's way back."""
    if x == 3:
        raise ValueError("boom at %d" % x)
    return x


def slow_square(x):
    time.sleep(0.2)
    return x * x


def big(n):
    """A result larger than the results listing's inline stdout (1 MiB)."""
    return b"x" * n


def pid(x):
    """The process that ran the call: tells the calls of one task apart."""
    import os

    return os.getpid()
