"""burst for Python: run commands and map Python functions on burst.

    import burst
    b = burst.connect()                  # BURST_SERVER/BURST_TOKEN, else the local server
    job = b.run(["python3", "fit.py", "a.csv"], cpus=2, mem="4G", project="mars")
    print(job.wait().exit_code, job.stdout())
    results = b.map(simulate, range(1000), cpus=1)
    for r in b.map_command(["./score", "{}"], inputs):
        print(r.input, r.exit_code, r.stdout)
    b.budget("mars").remaining

The core uses the standard library alone; cloudpickle (lambdas, closures)
and tqdm (progress bars) are used when installed. See docs/python.md.
"""

from ._client import Budget, Client, CommandResult, Job, RemoteError, TaskError, connect, parse_mem
from ._http import BurstError, HTTPError, SetupError

__all__ = [
    "connect",
    "Client",
    "Job",
    "CommandResult",
    "Budget",
    "BurstError",
    "SetupError",
    "HTTPError",
    "RemoteError",
    "TaskError",
    "parse_mem",
]
__version__ = "0.1.0"
