#!/usr/bin/env python3
"""Snakemake --cluster-status for Slurm: print running, success or failed.

Usage: slurm-status.py JOBID

It asks what Snakemake's Slurm profiles ask: `sacct -P -n -X
--format=JobIdRaw,State -j JOBID` first and, when sacct fails or knows
nothing of the job (a Slurm without an accounting database),
`scontrol show job JOBID` for JobState=. The same script serves real
Slurm and burst's Slurm personality (burst slurm link DIR on PATH).
"""
import re
import subprocess
import sys

RUNNING = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED",
           "REQUEUED", "RESIZING", "SIGNALING", "STAGE_OUT", "REQUEUE_HOLD",
           "REQUEUE_FED", "RESV_DEL_HOLD", "STOPPED"}


def state(jobid):
    try:
        out = subprocess.run(
            ["sacct", "-P", "-n", "-X", "--format=JobIdRaw,State", "-j", jobid],
            capture_output=True, text=True, check=True, timeout=30).stdout
        for line in out.splitlines():
            f = line.strip().split("|")
            if len(f) >= 2 and f[0] == jobid:
                return f[1].split()[0]  # "CANCELLED by 0" -> CANCELLED
    except (subprocess.CalledProcessError, OSError, subprocess.TimeoutExpired):
        pass
    out = subprocess.run(["scontrol", "show", "job", jobid],
                         capture_output=True, text=True, timeout=30)
    m = re.search(r"JobState=(\w+)", out.stdout)
    if out.returncode != 0 or not m:
        sys.stderr.write("slurm-status: no state for job %s: %s\n" % (jobid, out.stderr.strip()))
        return "UNKNOWN"
    return m.group(1)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: slurm-status.py JOBID")
    s = state(sys.argv[1])
    if s == "COMPLETED":
        print("success")
    elif s in RUNNING:
        print("running")
    else:
        print("failed")


main()
