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


def barrier(args):
    """Marks call x started in directory d, then waits until n calls have
    started: it returns only when n run at once (raises after 60 s)."""
    import os

    d, n, x = args
    open(os.path.join(d, "started-%d" % x), "w").close()
    deadline = time.time() + 60
    while len(os.listdir(d)) < n:
        if time.time() > deadline:
            raise TimeoutError("only %d of %d calls ran at once" % (len(os.listdir(d)), n))
        time.sleep(0.02)
    return x


def interval(x):
    """Sleeps a moment and returns when it ran: (start, end), by the clock
    every task on this host shares."""
    start = time.time()
    time.sleep(0.3)
    return (start, time.time())
