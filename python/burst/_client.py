"""The client: run commands, map Python functions and commands, read budgets."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import pickle
import re
import secrets
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _progress
from ._http import BurstError, Conn, HTTPError, find

__all__ = ["Client", "Job", "CommandResult", "Budget", "RemoteError", "TaskError", "connect"]

#: Pickle protocol of what travels to tasks: read by any python3 from 3.5
#: on, since a task's interpreter may be another than the caller's.
PROTOCOL = 4
#: Largest payload (base64) sent inline as an argument; above it a payload
#: is uploaded to the blob store and staged into the task's directory. One
#: argument may hold 128 KiB (MAX_ARG_STRLEN).
INLINE_MAX = 96 << 10
#: Tasks asked for per request of a listing (results, outputs). Results
#: come from the listing's inline stdout (up to 1 MiB a task); a task whose
#: frames are cut there is read whole from its log.
PAGE = 1000
FINAL = frozenset({"succeeded", "failed", "cancelled", "timeout", "lost"})

_WORKER_SOURCE: Optional[str] = None


def _worker_source() -> str:
    global _WORKER_SOURCE
    if _WORKER_SOURCE is None:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_worker.py"), encoding="utf-8") as f:
            _WORKER_SOURCE = f.read()
    return _WORKER_SOURCE


# The task's argv[0] falls back on python3 where the caller's interpreter
# path does not exist (another host).
_FALLBACK = 'if [ -x "$0" ]; then exec "$0" "$@"; fi; exec python3 "$@"'


def _umask():
    """The process's umask, read without a window in which it is changed
    where Linux says it (/proc/self/status); 0o022 where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022

class RemoteError(BurstError):
    """A call of ``map`` raised in its task. ``remote_traceback`` is the
    task's traceback text; when the original exception could be brought
    back it is raised instead, with this error as its ``__cause__``."""

    def __init__(self, message: str, index: int = -1, remote_traceback: str = "") -> None:
        super().__init__(message)
        self.index = index
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        s = super().__str__()
        if self.remote_traceback:
            s += "\n\nRemote traceback (call %d):\n%s" % (self.index, self.remote_traceback.rstrip())
        return s


class TaskError(BurstError):
    """A task ended with no result: timed out, lost, cancelled, or killed
    before it could answer. ``state`` and ``reason`` say how."""

    def __init__(self, message: str, index: int, state: str, reason: str = "", stderr: str = "") -> None:
        super().__init__(message)
        self.index, self.state, self.reason, self.stderr = index, state, reason, stderr


@dataclass
class Budget:
    """A project's money at a glance (``burst budget``): in US dollars.

    ``remaining`` is None for a project without a budget (``budget`` is
    0.0 then): nothing is left to spend from, and nothing is spent out.
    """

    project: str
    budget: float
    spent: float
    remaining: Optional[float]
    forecast: float
    burn_per_hour: float
    level: str
    raw: Dict[str, Any]


@dataclass
class CommandResult:
    """One task of ``map_command``: its input, how it ended, its stdout."""

    job_id: int
    index: int
    input: List[str]
    state: str
    exit_code: Optional[int]
    reason: str
    stdout: str

    @property
    def ok(self) -> bool:
        return self.state == "succeeded"


class Job:
    """A submitted job. ``state``, ``exit_code`` and ``reason`` are as last
    read; ``wait`` and ``refresh`` read them again."""

    def __init__(self, client: "Client", data: Dict[str, Any]) -> None:
        self._client = client
        self._set(data)

    def _set(self, data: Dict[str, Any]) -> None:
        self.data = data
        self.id: int = int(data["id"])
        self.state: str = data.get("state", "")
        self.exit_code: Optional[int] = data.get("exit_code")
        self.reason: str = data.get("reason", "") or ""
        self.tasks: Dict[str, int] = data.get("tasks") or {}

    def __repr__(self) -> str:
        return f"<burst.Job {self.id} {self.state}>"

    @property
    def done(self) -> bool:
        return self.state in FINAL

    def refresh(self) -> "Job":
        self._set(self._client._conn.get_json(f"/v1/jobs/{self.id}"))
        return self

    def wait(self, timeout: Optional[float] = None, _tick: Optional[Callable[["Job"], None]] = None, _step: float = 25.0) -> "Job":
        """Wait until the job has ended (at most ``timeout`` seconds) and
        return it; it raises no error for a job that failed: read
        ``state`` and ``exit_code``."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            step = _step if end is None else max(0.0, min(_step, end - time.monotonic()))
            self._set(self._client._conn.get_json(f"/v1/jobs/{self.id}/wait?timeout_ms={int(step * 1000)}"))
            if _tick is not None:
                _tick(self)
            if self.done or (end is not None and time.monotonic() >= end):
                return self

    def _log(self, stream: str, task: int) -> bytes:
        return self._client._conn.request("GET", f"/v1/jobs/{self.id}/logs?task={task}&stream={stream}&offset=0")[1]

    def stdout(self, task: int = 0) -> str:
        """The task's standard output so far (UTF-8; undecodable bytes replaced)."""
        return self._log("stdout", task).decode("utf-8", "replace")

    def stderr(self, task: int = 0) -> str:
        """The task's standard error so far."""
        return self._log("stderr", task).decode("utf-8", "replace")

    def cancel(self) -> None:
        """Cancel the job: running tasks are stopped, queued ones never start."""
        self._client._conn.post_json(f"/v1/jobs/{self.id}/cancel")

    def outputs(self) -> List[Dict[str, Any]]:
        """The files its tasks kept (``outputs=`` globs): one entry per task
        that kept any, ``{"task", "attempt", "files": [{"path", "digest",
        "size", "mode"}]}``."""
        out: List[Dict[str, Any]] = []
        total = int(self.tasks.get("total", 1) or 1)
        for start in range(0, total, PAGE):
            out += self._client._conn.get_json(f"/v1/jobs/{self.id}/outputs?from={start}&limit={PAGE}") or []
        return out

    def fetch(self, directory: str = ".") -> List[str]:
        """Download the files its tasks kept into ``directory`` at their
        relative paths (under ``directory/TASK/`` when two tasks kept the
        same path), each checked by its hash, as ``burst results --fetch``
        does; returns the paths written."""
        outs = self.outputs()
        paths = [f["path"] for o in outs for f in o["files"]]
        per_task = len(paths) != len(set(paths))
        written = []
        for o in outs:
            for f in o["files"]:
                rel = os.path.join(str(o["task"]), f["path"]) if per_task else f["path"]
                dest = os.path.join(directory, rel)
                if os.path.isabs(f["path"]) or os.path.normpath(rel).startswith(".."):
                    raise BurstError(f"job {self.id}: output path {f['path']!r} leaves the directory: not fetched")
                os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
                self._client._conn.download(f["digest"], dest)
                os.chmod(dest, (f.get("mode") or 0o644) & 0o777 & ~_umask())
                written.append(dest)
        return written


Resource = Union[int, float, str, None]


class Client:
    """A connection to one burst server; see ``connect``."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- jobs ---------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        cpus: float = 1,
        mem: Resource = None,
        gpus: int = 0,
        time_limit: Union[float, datetime.timedelta, None] = None,
        project: Optional[str] = None,
        cluster: Optional[str] = None,
        name: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        workdir: Optional[str] = None,
        retries: int = 0,
        inputs: Sequence[str] = (),
        outputs: Sequence[str] = (),
    ) -> Job:
        """Submit ``argv`` as a job of one task and return it at once (call
        ``wait``). The command runs directly, never through a shell, in
        ``workdir`` (default: this directory) with this process's
        environment updated by ``env``. ``mem`` is bytes or a size as
        ``"4G"``; ``time_limit`` seconds. ``inputs`` are files (relative
        paths) staged into the task's directory, ``outputs`` globs of files
        kept after it (``burst run --in/--out``)."""
        if isinstance(argv, (str, bytes)) or not argv:
            raise BurstError("run: give the command as a list of arguments, e.g. ['python3', 'fit.py', 'a.csv']")
        spec = self._spec(cpus, mem, gpus, time_limit, project, cluster, name, env, workdir, retries)
        spec["argv"] = [str(a) for a in argv]
        if inputs or outputs:
            spec["inputs"] = self._stage_files(_with_program(spec["argv"][0], list(inputs)), spec, None)
            spec["outputs"] = list(outputs)
        return self._submit(spec)

    def job(self, job_id: int) -> Job:
        """The job with this id."""
        return Job(self, self._conn.get_json(f"/v1/jobs/{int(job_id)}"))

    def map_command(
        self,
        template: Sequence[str],
        inputs: Iterable[Any],
        *,
        stage: bool = False,
        progress: Optional[bool] = None,
        cpus: float = 1,
        mem: Resource = None,
        gpus: int = 0,
        time_limit: Union[float, datetime.timedelta, None] = None,
        project: Optional[str] = None,
        cluster: Optional[str] = None,
        name: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        retries: int = 0,
        max_failures: Optional[int] = None,
        max_running: Optional[int] = None,
    ) -> Iterator[CommandResult]:
        """Run ``template`` once per input as one map job (``burst map``) and
        yield each task's ``CommandResult`` in input order once the job has
        ended. ``{}`` in the template is the input (also ``{.}`` ``{/}``
        ``{//}`` ``{/.}`` ``{#}``); without one the input is appended. Each
        input is one argument, never shell text. With ``stage=True`` each
        input that names a file here (a relative path) is uploaded and
        staged into its own task's directory, for machines that do not
        share this filesystem.

        ``max_running=N`` runs at most N tasks at once (``burst map -j N``).
        ``cpus=0`` makes tasks that reserve no CPU, for work that waits
        (downloads, API calls, sleeps): N of them run at once however many
        CPUs there are, as GNU parallel's ``-j N`` (then give
        ``max_running``)."""
        if isinstance(template, (str, bytes)) or not template:
            raise BurstError("map_command: give the command as a list, e.g. ['./score', '{}']")
        values = [os.fspath(x) if isinstance(x, os.PathLike) else str(x) for x in inputs]
        if not values:
            raise BurstError("map_command: no inputs: give at least one")
        spec = self._spec(cpus, mem, gpus, time_limit, project, cluster, name, env, None, retries)
        _running(spec, "map_command", cpus, max_running)
        spec["map"] = {"template": [str(a) for a in template], "sources": [values]}
        if max_failures is not None:
            spec["map"]["max_failures"] = max_failures
        if stage:
            # As burst map --in: the inputs that name files here by a
            # relative path below this directory; others stay arguments.
            files = [(i, v) for i, v in enumerate(values) if os.path.isfile(v) and not os.path.isabs(v) and not os.path.normpath(v).startswith("..")]
            spec["inputs"] = self._stage_files([v for _, v in files], spec, [i for i, _ in files])
            # The program itself too, for every task, when it is a file
            # here (['./score', '{}']): the task's directory holds only
            # what is staged.
            prog = _with_program(spec["map"]["template"][0], [])
            if prog:
                spec["inputs"] += self._stage_files(prog, spec, None)
        job = self._submit(spec)
        self._follow(job, len(values), progress)
        for r in self._results(job):
            yield CommandResult(
                job_id=job.id,
                index=r["index"],
                input=list(r.get("input") or []),
                state=r.get("state", ""),
                exit_code=r.get("exit_code"),
                reason=r.get("reason", "") or "",
                stdout=_stdout_of(r).decode("utf-8", "replace"),
            )

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        chunksize: Optional[int] = None,
        python: Optional[str] = None,
        progress: Optional[bool] = None,
        return_exceptions: bool = False,
        cpus: float = 1,
        mem: Resource = None,
        gpus: int = 0,
        time_limit: Union[float, datetime.timedelta, None] = None,
        project: Optional[str] = None,
        cluster: Optional[str] = None,
        name: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
        retries: int = 0,
        max_running: Optional[int] = None,
    ) -> List[Any]:
        """Call ``fn`` on each input (``fn(x)``; with several iterables
        ``fn(x, y, ...)``, as the builtin ``map``) as tasks of one map job,
        and return the results in input order.

        ``fn`` and its arguments travel pickled: by cloudpickle when it is
        installed (lambdas, closures, functions of ``__main__``), else by
        pickle, which sends a function by its module and name (it must be
        importable where the task runs). Each task runs ``python`` (default:
        this interpreter, ``sys.executable``, or ``python3`` on a machine
        that lacks that path) with ``chunksize`` calls, one after another.

        By default (``chunksize=None``) the calls are grouped as
        ``multiprocessing.Pool.map`` groups them: about four tasks for each
        task the cluster can run at once (its most machines times the tasks
        of ``cpus`` one holds), so that a thousand quick calls on a laptop
        start a few Pythons, not a thousand, and a large cluster still gets
        a task per call. With ``time_limit`` or ``retries``, which apply to
        a task, the default is a task per call; so it is when the cluster's
        size is not known (a native Slurm cluster). A task of several calls
        fails, and is retried, as a whole when one of its calls raised.

        ``max_running=N`` runs at most N tasks at once (``burst map -j N``);
        ``cpus=0`` makes tasks that reserve no CPU, for calls that mostly
        wait (downloads, API calls): N of them run at once however many
        CPUs there are, as GNU parallel's ``-j N`` (then give
        ``max_running``; the default grouping then makes about four tasks
        per N).

        A call that raised re-raises here, the first in input order: its
        own exception when it unpickles, with a ``RemoteError`` holding the
        task's traceback as its ``__cause__``; else the ``RemoteError``. A
        task that ended with no result (timeout, lost, cancelled) raises a
        ``TaskError``. With ``return_exceptions=True`` these errors are
        returned in the list in place of results instead."""
        if not iterables:
            raise BurstError("map: give the inputs, e.g. b.map(fn, range(10))")
        calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [(tuple(a), {}) for a in zip(*iterables)]
        if not calls:
            return []
        if chunksize is not None and chunksize < 1:
            raise BurstError(f"map: chunksize {chunksize}: give 1 or more calls per task")
        spec = self._spec(cpus, mem, gpus, time_limit, project, cluster, name, env, None, retries)
        _running(spec, "map", cpus, max_running)
        if chunksize is None:
            chunksize = 1
            if time_limit is None and not retries:
                slots = max_running or 0
                if cpus > 0:
                    slots = self._slots(cluster, cpus, gpus)
                    if max_running and slots > 0:
                        slots = min(slots, max_running)
                chunksize = _auto_chunksize(len(calls), slots)
        proj = spec.get("project") or "default"
        fbytes = _pickle_function(fn)
        nonce = secrets.token_hex(8)
        staged: List[Dict[str, Any]] = []
        fref = self._payload(fbytes, "burst-fn.pkl", None, proj, staged)
        sources = []
        for t, start in enumerate(range(0, len(calls), chunksize)):
            chunk = calls[start : start + chunksize]
            sources.append(self._payload(_pickle_calls(start, chunk), "burst-calls.pkl", t, proj, staged))
        py = python or sys.executable or "python3"
        # Every argument but "{}" is free of map's replacement strings: the
        # directory travels base64 (a "{1}" in its name stays a name).
        wd = "b64:" + base64.b64encode(os.fsencode(os.getcwd())).decode()
        argv = [py, "-c", _worker_source(), nonce, fref, wd, "{}"]
        if python is None and py != "python3":
            argv = ["/bin/sh", "-c", _FALLBACK] + argv
        spec["map"] = {"template": argv, "sources": [sources]}
        if not name:
            spec["name"] = "py:" + getattr(fn, "__qualname__", getattr(fn, "__name__", "fn"))[:200]
        if staged:
            spec["inputs"] = staged
        job = self._submit(spec)
        self._follow(job, len(sources), progress)
        out: List[Any] = [None] * len(calls)
        pat = re.compile(rb"\n\x1eBURST-" + nonce.encode() + rb" (\d+) ([A-Za-z0-9+/=]*)\n")
        for r in self._results(job):
            t = r["index"]
            lo, hi = t * chunksize, min(len(calls), (t + 1) * chunksize)
            stdout = _stdout_of(r)
            frames = {int(m.group(1)): m.group(2) for m in pat.finditer(stdout)}
            if len(frames) < hi - lo and len(stdout) >= (1 << 20) - 1:
                stdout = job._log("stdout", t)  # cut in the listing: read it whole
                frames = {int(m.group(1)): m.group(2) for m in pat.finditer(stdout)}
            for i in range(lo, hi):
                if i in frames:
                    val, err = _unframe(i, frames[i])
                else:
                    val, err = None, _task_error(job, r, i)
                if err is not None:
                    if not return_exceptions:
                        raise err  # the first in input order: results come in order
                    val = err
                out[i] = val
        return out

    # --- money --------------------------------------------------------------

    def budget(self, project: str = "default") -> Budget:
        """The project's budget: spent, remaining, forecast (``burst budget``)."""
        d = self._conn.get_json("/v1/projects/" + urllib.parse.quote(project, safe="") + "/budget")
        return Budget(
            project=d.get("project", project),
            budget=float(d.get("budget_usd", 0)),
            spent=float(d.get("spent_usd", 0)),
            # No budget: nothing remains of it, rather than 0.0 (spent).
            remaining=float(d.get("remaining_usd", 0)) if float(d.get("budget_usd", 0)) > 0 else None,
            forecast=float(d.get("forecast_usd", 0)),
            burn_per_hour=float(d.get("burn_usd_per_hour", 0)),
            level=d.get("level", ""),
            raw=d,
        )

    # --- helpers ------------------------------------------------------------

    def _spec(self, cpus: float, mem: Resource, gpus: int, time_limit: Any, project: Optional[str], cluster: Optional[str],
              name: Optional[str], env: Optional[Dict[str, str]], workdir: Optional[str], retries: int) -> Dict[str, Any]:
        e = {k: v for k, v in os.environ.items() if not k.startswith("BURST_")}
        if env:
            e.update({str(k): str(v) for k, v in env.items()})
        res: Dict[str, Any] = {"cpus": cpus}
        if mem is not None:
            res["mem_bytes"] = parse_mem(mem)
        if gpus:
            res["gpus"] = int(gpus)
        if time_limit is not None:
            s = time_limit.total_seconds() if isinstance(time_limit, datetime.timedelta) else float(time_limit)
            res["time_limit_s"] = max(1, int(round(s)))
        spec: Dict[str, Any] = {"workdir": os.path.abspath(workdir or os.getcwd()), "env": e, "resources": res}
        for k, v in (("project", project), ("cluster", cluster), ("name", name)):
            if v:
                spec[k] = v
        if retries:
            spec["retries"] = int(retries)
        return spec

    def _slots(self, cluster: Optional[str], cpus: float, gpus: int) -> int:
        """How many tasks of cpus (and gpus) the cluster can run at once:
        its most machines times the tasks one holds, or what its running
        machines hold if more (hosts joined to it by hand); 0 when not
        known."""
        name = cluster or "local"

        def fits(c: Dict[str, Any]) -> int:
            per = int(float(c.get("cpus") or 0) // cpus) if cpus > 0 else 0
            if gpus:
                g = c.get("gpus") or 0  # a cluster's count, a machine's list of GPUs
                per = min(per, (len(g) if isinstance(g, list) else int(g)) // int(gpus))
            return max(0, per)

        try:
            cs = self._conn.get_json("/v1/clusters") or []
            ms = self._conn.get_json("/v1/machines") or []
        except BurstError:
            return 0
        most = 0
        for c in cs:
            if c.get("name") == name:
                most = max(0, int(c.get("max") or 0)) * fits(c)
        live = sum(fits(m) for m in ms if m.get("cluster") == name and m.get("state") == "running")
        return max(most, live)

    def _submit(self, spec: Dict[str, Any]) -> Job:
        return Job(self, self._conn.post_json("/v1/jobs", spec))

    def _follow(self, job: Job, total: int, progress: Optional[bool]) -> None:
        p = _progress.Progress(job.id, total, _progress.wanted(progress))
        try:
            if not p.enabled:
                job.wait()
            else:
                job.wait(_tick=lambda j: p.update(j.tasks, j.done), _step=0.5)
        except KeyboardInterrupt:
            # Interrupted here, the job goes too (as `burst map` attached).
            job.cancel()
            sys.stderr.write(f"burst: job {job.id} cancelled\n")
            raise

    def _results(self, job: Job) -> Iterator[Dict[str, Any]]:
        start = 0
        while True:
            page = self._conn.get_json(f"/v1/jobs/{job.id}/results?from={start}&limit={PAGE}&inline=true")
            yield from page
            if len(page) < PAGE:
                return
            start = page[-1]["index"] + 1

    def _payload(self, data: bytes, path: str, task: Optional[int], project: str, staged: List[Dict[str, Any]]) -> str:
        """A payload as a task's argument: inline, or staged from the blob store."""
        b = base64.b64encode(data)
        if len(b) <= INLINE_MAX:
            return "b64:" + b.decode()
        ref = self._upload(data, project)
        inp: Dict[str, Any] = {"path": path, "digest": ref[0], "size": ref[1]}
        if task is not None:
            inp["task"] = task
        staged.append(inp)
        return "file:" + path

    def _upload(self, data: bytes, project: str) -> Tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        ask = {"project": project, "kind": "input", "blobs": [{"digest": digest, "size": len(data)}]}
        offer = self._conn.post_json("/v1/blobs/uploads", ask)["blobs"][0]
        if offer.get("have"):
            return digest, len(data)
        q = urllib.parse.urlencode({"project": project, "kind": "input"})
        if offer.get("url"):
            req = urllib.request.Request(offer["url"], data=data, method="PUT", headers=dict(offer.get("header") or {}))
            try:
                urllib.request.urlopen(req, timeout=300).read()
            except OSError as e:
                raise BurstError(f"the blob store refused the upload: {e}") from None
            self._conn.post_json(f"/v1/blobs/{digest}/done?{q}&size={len(data)}")
        else:
            self._conn.request("PUT", f"/v1/blobs/{digest}?{q}", raw=data, content_type="application/octet-stream")
        return digest, len(data)

    def _stage_files(self, paths: List[str], spec: Dict[str, Any], tasks: Optional[List[int]]) -> List[Dict[str, Any]]:
        proj = spec.get("project") or "default"
        out = []
        for n, p in enumerate(paths):
            if os.path.isabs(p) or p.split(os.sep)[0] == "..":
                raise BurstError(f"input {p}: staged paths are relative to this directory and stay below it: cd above it and give it relative")
            with open(p, "rb") as f:
                data = f.read()
            digest, size = self._upload(data, proj)
            inp: Dict[str, Any] = {"path": os.path.normpath(p), "digest": digest, "size": size, "mode": os.stat(p).st_mode & 0o777}
            if tasks is not None:
                inp["task"] = tasks[n]
            out.append(inp)
        return out


def _with_program(argv0: str, inputs: List[str]) -> List[str]:
    """``inputs`` and, when it is a file here named by a relative path
    (``./fit.sh``, ``bin/tool``) none of them stages, the program a staged
    task runs, as ``burst run --in`` stages it."""
    norm = os.path.normpath(argv0)
    if ("/" not in argv0 or os.path.isabs(argv0) or "{" in argv0 or norm.startswith("..")
            or not os.path.isfile(argv0) or norm in (os.path.normpath(p) for p in inputs)):
        return inputs
    return inputs + [argv0]


def _stdout_of(r: Dict[str, Any]) -> bytes:
    s = r.get("stdout")
    if s is None:
        return b""
    if isinstance(s, dict):  # not valid UTF-8: {"b64": ...}
        return base64.b64decode(s.get("b64", ""))
    return str(s).encode("utf-8", "surrogateescape")


def _cloudpickle() -> Any:
    try:
        import cloudpickle  # type: ignore

        return cloudpickle
    except ImportError:
        return None


def _pickle_function(fn: Callable[..., Any]) -> bytes:
    if not callable(fn):
        raise BurstError(f"map: {fn!r} is not callable: give a function, e.g. b.map(simulate, inputs)")
    cp = _cloudpickle()
    if cp is not None:
        try:
            return bytes(cp.dumps(fn, protocol=PROTOCOL))
        except Exception as e:
            raise BurstError(f"map: the function cannot be sent to tasks ({type(e).__name__}: {e}): what it uses must pickle") from None
    qual = getattr(fn, "__qualname__", "")
    if getattr(fn, "__module__", None) == "__main__" or "<lambda>" in qual or "<locals>" in qual:
        raise BurstError(
            f"map: {qual or fn!r} is a lambda, a closure or defined in __main__: without cloudpickle tasks can only import "
            "functions of a module: install cloudpickle (apt install python3-cloudpickle, or pip install cloudpickle; "
            "pip install './python[fast]' in burst's source installs this client with it) or move the function into a module"
        )
    try:
        return pickle.dumps(fn, protocol=PROTOCOL)
    except Exception as e:
        raise BurstError(f"map: the function cannot be sent to tasks ({type(e).__name__}: {e}): install cloudpickle or use a module's function") from None


def _running(spec: Dict[str, Any], what: str, cpus: float, max_running: Optional[int]) -> None:
    """Sets spec's bound on tasks at once (max_running) and, for cpus=0,
    tasks that reserve no CPU (shared_cpus), refusing what cannot be."""
    if max_running is not None and (isinstance(max_running, bool) or not isinstance(max_running, int) or max_running < 1):
        raise BurstError(f"{what}: max_running={max_running!r}: give how many tasks may run at once, 1 or more")
    if cpus < 0:
        raise BurstError(f"{what}: cpus={cpus!r}: give 1 or more, or 0 for tasks that reserve no CPU")
    if cpus == 0:
        if not max_running:
            raise BurstError(f"{what}: cpus=0 makes tasks that reserve no CPU; give max_running=N too, how many run at once (as burst map -j N)")
        spec["shared_cpus"] = True
    if max_running:
        spec["max_running"] = int(max_running)


def _auto_chunksize(n: int, slots: int) -> int:
    """Calls per task for n calls on a cluster running slots tasks at
    once: multiprocessing.Pool.map's rule (four chunks per worker, rounded
    up); a task per call when slots is not known."""
    if slots <= 0:
        return 1
    size, extra = divmod(n, slots * 4)
    return max(1, size + (1 if extra else 0))


def _pickle_calls(start: int, chunk: List[Tuple[Tuple[Any, ...], Dict[str, Any]]]) -> bytes:
    cp = _cloudpickle()
    try:
        return bytes((cp or pickle).dumps((start, chunk), protocol=PROTOCOL))
    except Exception as e:
        # Say which input, pickling each alone.
        for i, c in enumerate(chunk):
            try:
                (cp or pickle).dumps(c, protocol=PROTOCOL)
            except Exception:
                raise BurstError(
                    f"map: input {start + i} cannot be sent to a task ({type(e).__name__}: {e}): "
                    "pass data that pickles (numbers, strings, paths, arrays), and open files or connections inside the function"
                ) from None
        raise BurstError(f"map: inputs {start}..{start + len(chunk) - 1} cannot be sent to a task ({type(e).__name__}: {e})") from None


def _unframe(index: int, b64: bytes) -> Tuple[Any, Optional[BaseException]]:
    try:
        ok, vdata, tb, summary = pickle.loads(base64.b64decode(b64))
    except Exception as e:
        return None, RemoteError(f"call {index}: its frame cannot be read ({type(e).__name__}: {e})", index)
    what = "result" if ok else "exception"
    try:
        value = pickle.loads(vdata) if vdata is not None else None
    except Exception as e:
        # A type that exists only where the task ran, or a newer pickle.
        msg = f"call {index}: its {what} cannot be read here ({type(e).__name__}: {e}): install here what it is made of"
        if not ok:
            msg = f"call {index} raised {summary}; the exception itself cannot be read here ({type(e).__name__}: {e})"
        return None, RemoteError(msg, index, tb)
    if ok:
        return value, None
    remote = RemoteError(f"call {index} raised {summary}", index, tb)
    if isinstance(value, BaseException):
        value.__cause__ = remote
        try:
            value.remote_traceback = tb  # type: ignore[attr-defined]
            if hasattr(value, "add_note"):
                value.add_note(f"(raised in burst task, call {index}; remote traceback in __cause__)")
        except Exception:
            pass
        return None, value
    return None, remote


def _task_error(job: Job, r: Dict[str, Any], index: int) -> TaskError:
    state, reason = r.get("state", ""), r.get("reason", "") or ""
    t = r["index"]
    err = ""
    try:
        err = job.stderr(t)[-2000:]
    except BurstError:
        pass
    msg = f"call {index} (job {job.id} task {t}) ended {state} with no result"
    if reason:
        msg += f": {reason}"
    elif r.get("exit_code") is not None:
        msg += f" (exit status {r['exit_code']})"
    if err.strip():
        msg += "; its stderr ends: " + err.strip().splitlines()[-1]
    return TaskError(msg, index, state, reason, err)


_MEM = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(I?B)?\s*$", re.I)


def parse_mem(mem: Union[int, float, str]) -> int:
    """A memory size in bytes: an int is bytes; a string is as ``burst run
    --mem`` reads it (K, M, G, T in powers of 1024; a bare number is MiB)."""
    if isinstance(mem, bool):
        raise BurstError(f"mem={mem!r}: give bytes or a size as '4G'")
    if isinstance(mem, (int, float)):
        return int(mem)
    m = _MEM.match(str(mem))
    if not m:
        raise BurstError(f"mem={mem!r}: write a number with a unit K, M, G or T, e.g. '512M' or '4G'")
    mult = {"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def connect(server: Optional[str] = None, token: Optional[str] = None, *, burst_exe: Optional[str] = None, patience: float = 30.0) -> Client:
    """Connect to the burst server as the CLI finds it: ``server`` and
    ``token`` if given, else BURST_SERVER and BURST_TOKEN (or the
    credential ``burst login`` kept), else the server of the last ``burst
    login``, else the local server of $BURST_HOME (default ~/.burst), which
    is started with the ``burst`` command (``burst_exe``, else BURST_BIN,
    else ``burst`` on PATH) when none runs. ``patience`` is how many seconds
    a call rides out a server that does not answer (one restarting)."""
    return Client(Conn(find(burst_exe, server=server, token=token), patience=patience, burst_exe=burst_exe))
