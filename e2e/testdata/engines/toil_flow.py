#!/usr/bin/env python3
"""A small Toil workflow for burst's e2e tests (e2e/engines_test.go).

    python3 toil_flow.py JOBSTORE --batchSystem slurm --retryCount 1 --out DIR

make(i) for i in 1..N writes DIR/data/i.txt; square(i) follows each and
writes DIR/squares/i.txt; total follows them all and writes DIR/total.txt,
but fails on its first attempt (a marker file in DIR decides) so that
Toil must retry it (--retryCount 1). Every attempt of total appends a line
to DIR/attempts/total.log.
"""
import os

from toil.common import Toil
from toil.job import Job


def make(job, out, i):
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    with open(os.path.join(out, "data", "%d.txt" % i), "w") as f:
        f.write("%d\n" % i)
    return i


def square(job, out, i):
    os.makedirs(os.path.join(out, "squares"), exist_ok=True)
    with open(os.path.join(out, "data", "%d.txt" % i)) as f:
        n = int(f.read())
    with open(os.path.join(out, "squares", "%d.txt" % i), "w") as f:
        f.write("%d\n" % (n * n))
    return n * n


def total(job, out, squares):
    attempts = os.path.join(out, "attempts")
    os.makedirs(attempts, exist_ok=True)
    with open(os.path.join(attempts, "total.log"), "a") as f:
        f.write("attempt\n")
    marker = os.path.join(attempts, "total.failed-once")
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("total: failing on purpose (first attempt)")
    with open(os.path.join(out, "total.txt"), "w") as f:
        f.write("%d\n" % sum(squares))


def root(job, out, n):
    squares = []
    for i in range(1, n + 1):
        m = job.addChildJobFn(make, out, i, cores=1, memory="256M", disk="1M")
        s = m.addFollowOnJobFn(square, out, i, cores=1, memory="256M", disk="1M")
        squares.append(s.rv())
    job.addFollowOnJobFn(total, out, squares, cores=1, memory="256M", disk="1M")


def main():
    parser = Job.Runner.getDefaultArgumentParser()
    parser.add_argument("--out", required=True, help="directory for the outputs")
    parser.add_argument("--n", type=int, default=3, help="how many samples")
    options = parser.parse_args()
    out = os.path.abspath(options.out)
    with Toil(options) as toil:
        toil.start(Job.wrapJobFn(root, out, options.n, cores=1, memory="256M", disk="1M"))


if __name__ == "__main__":
    main()
