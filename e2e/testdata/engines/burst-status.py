#!/usr/bin/env python3
"""Snakemake --cluster-status for burst itself: print running, success or failed.

Usage: burst-status.py JOBID

The generic-cluster contract with burst's own CLI, no Slurm involved:
submit with `burst run -d ...` (it prints the job id and nothing else),
ask with this script (`burst show -o json JOBID`), cancel with
`burst cancel`. burst's states: queued and running are running; succeeded
is success; failed, cancelled, timeout and lost are failed.
"""
import json
import subprocess
import sys

if len(sys.argv) != 2:
    sys.exit("usage: burst-status.py JOBID")
out = subprocess.run(["burst", "show", "-o", "json", sys.argv[1]],
                     capture_output=True, text=True, timeout=60)
if out.returncode != 0:
    sys.exit("burst-status: burst show %s: %s" % (sys.argv[1], out.stderr.strip()))
state = json.loads(out.stdout)["state"]
if state == "succeeded":
    print("success")
elif state in ("queued", "running"):
    print("running")
else:
    print("failed")
