"""The Python client against a real burst server.

Run by e2e/python_test.go (``make test``), which starts a server in a fresh
BURST_HOME, sets BURST_BIN to the burst binary under test and PYTHONPATH to
python/ and python/tests, and runs this file twice: as is (cloudpickle, when
installed, pickles functions) and with ``python3 -S`` (no site-packages: no
cloudpickle, pickle alone). BURST_TEST_PICKLE says which run this is:
``cloudpickle`` or ``pickle``.
"""

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import burst
import burst._client as bc
import pyfuncs

MODE = os.environ.get("BURST_TEST_PICKLE", "")


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if MODE == "cloudpickle" and bc._cloudpickle() is None:
            raise AssertionError("BURST_TEST_PICKLE=cloudpickle but cloudpickle does not import")
        if MODE == "pickle" and bc._cloudpickle() is not None:
            raise AssertionError("BURST_TEST_PICKLE=pickle but cloudpickle imports: run python3 -S")
        cls.b = burst.connect()

    @classmethod
    def tearDownClass(cls):
        cls.b.close()


class TestRun(Base):
    def test_run_wait_exit_stdout_stderr(self):
        job = self.b.run(["python3", "-c", "import sys; print('out', 6*7); print('err', file=sys.stderr); sys.exit(3)"], cpus=1, mem="64M")
        self.assertIsInstance(job.id, int)
        j = job.wait(timeout=60)
        self.assertEqual(j.state, "failed")
        self.assertEqual(j.exit_code, 3)
        self.assertEqual(job.stdout(), "out 42\n")
        self.assertEqual(job.stderr(), "err\n")
        ok = self.b.run(["true"]).wait(timeout=60)
        self.assertEqual((ok.state, ok.exit_code), ("succeeded", 0))

    def test_run_stages_inputs_and_fetches_outputs(self):
        here = os.getcwd()
        with tempfile.TemporaryDirectory(dir=here) as d:
            os.chdir(d)
            try:
                with open("x.txt", "w") as f:
                    f.write("hello\n")
                job = self.b.run(["sh", "-c", "mkdir out && tr a-z A-Z < x.txt > out/y.txt && chmod 0666 out/y.txt"], inputs=["x.txt"], outputs=["out/*.txt"])
                self.assertEqual(job.wait(timeout=60).state, "succeeded", job.stderr())
                got = job.fetch("fetched")
                self.assertEqual(got, [os.path.join("fetched", "out", "y.txt")])
                with open(got[0]) as f:
                    self.assertEqual(f.read(), "HELLO\n")
                mask = os.umask(0)
                os.umask(mask)
                # the task left it world-writable: fetched as cp copies it
                self.assertEqual(os.stat(got[0]).st_mode & 0o7777, 0o666 & ~mask)
            finally:
                os.chdir(here)

    def test_run_refuses_shell_text(self):
        with self.assertRaises(burst.BurstError) as c:
            self.b.run("python3 fit.py")
        self.assertIn("list of arguments", str(c.exception))

    def test_unknown_project_is_one_line(self):
        with self.assertRaises(burst.BurstError) as c:
            self.b.run(["true"], project="no-such-project")
        msg = str(c.exception)
        self.assertIn("no-such-project", msg)
        self.assertNotIn("\n", msg)
        self.assertNotIn("Traceback", msg)

    def test_budget_matches_cli(self):
        try:
            self.b.budget("pyb")
        except burst.HTTPError:  # run by hand: e2e/python_test.go made it
            subprocess.run([os.environ["BURST_BIN"], "project", "create", "pyb", "--budget", "10"], check=True, capture_output=True)
        got = self.b.budget("pyb")
        out = subprocess.run([os.environ["BURST_BIN"], "budget", "pyb", "-o", "json"], check=True, capture_output=True).stdout
        want = json.loads(out)
        self.assertEqual(got.budget, 10.0)
        self.assertEqual(got.remaining, want["remaining_usd"])
        self.assertEqual(got.spent, want["spent_usd"])
        with self.assertRaises(burst.HTTPError) as c:
            self.b.budget("no-such-project")
        self.assertEqual(c.exception.status, 404)

    def test_budget_none_without_budget(self):
        # A project without a budget has nothing remaining of one (None),
        # not 0.0, which would read as a budget spent.
        try:
            self.b.budget("pynobudget")
        except burst.HTTPError:
            subprocess.run([os.environ["BURST_BIN"], "project", "create", "pynobudget"], check=True, capture_output=True)
        got = self.b.budget("pynobudget")
        self.assertEqual(got.budget, 0.0)
        self.assertIsNone(got.remaining)
        self.assertIsNotNone(self.b.budget("pyb").remaining)  # a budget: what is left of it


class TestMap(Base):
    def test_map_importable_function_in_order(self):
        xs = list(range(25))
        self.assertEqual(self.b.map(pyfuncs.square, xs), [x * x for x in xs])

    def test_map_chunked(self):
        xs = list(range(23))
        self.assertEqual(self.b.map(pyfuncs.square, xs, chunksize=5), [x * x for x in xs])

    def test_map_groups_calls_by_default(self):
        # As multiprocessing.Pool.map: about four tasks per task the
        # cluster runs at once, each a Python of its own; a task per call
        # when asked (chunksize=1) or when a time limit applies to each.
        slots = self.b._slots(None, 1, 0)
        self.assertGreater(slots, 0, "the local cluster's size is known")
        n = 12 * slots  # three calls a task: one per call would be n tasks
        size = bc._auto_chunksize(n, slots)
        self.assertEqual(size, 3)
        self.assertEqual(len(set(self.b.map(pyfuncs.pid, range(n)))), -(-n // size))
        self.assertEqual(len(set(self.b.map(pyfuncs.pid, range(12), chunksize=1))), 12)
        self.assertEqual(len(set(self.b.map(pyfuncs.pid, range(12), time_limit=60))), 12)
        self.assertEqual(bc._auto_chunksize(1000, 2), 125)
        self.assertEqual(bc._auto_chunksize(1000, 500), 1)
        self.assertEqual(bc._auto_chunksize(7, 0), 1)

    def test_map_shared_cpus_run_more_than_the_cpus(self):
        # cpus=0: tasks that reserve no CPU, max_running=N of them at once
        # (burst map -j N): N calls that each wait for all N to have
        # started return, on a host of fewer CPUs.
        n = max(4, 2 * (os.cpu_count() or 1))
        with tempfile.TemporaryDirectory() as d:
            got = self.b.map(pyfuncs.barrier, [(d, n, i) for i in range(n)], cpus=0, max_running=n, chunksize=1)
        self.assertEqual(got, list(range(n)))

    def test_map_max_running_bounds_tasks_at_once(self):
        spans = self.b.map(pyfuncs.interval, range(6), max_running=1, chunksize=1)
        spans.sort()
        for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
            self.assertLessEqual(e0, s1, "max_running=1: two tasks ran at once: %r" % spans)

    def test_map_cpus_zero_names_max_running(self):
        for kw in ({"cpus": 0}, {"cpus": 1, "max_running": 0}, {"cpus": -1}):
            with self.assertRaises(burst.BurstError) as c:
                self.b.map(pyfuncs.square, range(3), **kw)
            self.assertIn("max_running" if kw.get("cpus") == 0 or "max_running" in kw else "cpus", str(c.exception))

    def test_map_several_iterables(self):
        self.assertEqual(self.b.map(pow, [2, 3, 4], [3, 2, 1]), [8, 9, 4])

    def test_map_lambda_and_closure(self):
        k = 7

        def add_k(x):
            return x + k

        if MODE == "pickle":
            for fn in (lambda x: x * x, add_k):
                with self.assertRaises(burst.BurstError) as c:
                    self.b.map(fn, range(3))
                self.assertIn("cloudpickle", str(c.exception))
            return
        xs = list(range(30))
        self.assertEqual(self.b.map(lambda x: x * x, xs), [x * x for x in xs])
        self.assertEqual(self.b.map(add_k, xs), [x + k for x in xs])

    def test_exception_in_call_3_with_remote_traceback(self):
        with self.assertRaises(ValueError) as c:
            self.b.map(pyfuncs.boom, range(6))
        e = c.exception
        self.assertEqual(str(e), "boom at 3")
        self.assertIsInstance(e.__cause__, burst.RemoteError)
        self.assertEqual(e.__cause__.index, 3)
        tb = e.__cause__.remote_traceback
        self.assertIn("pyfuncs.py", tb)
        self.assertIn("in boom", tb)
        self.assertNotIn("in main", tb, "the worker's own frames are left out")
        self.assertIn("ValueError: boom at 3", tb)
        got = self.b.map(pyfuncs.boom, range(6), return_exceptions=True)
        self.assertEqual([g for i, g in enumerate(got) if i != 3], [0, 1, 2, 4, 5])
        self.assertIsInstance(got[3], ValueError)

    def test_progress(self):
        # tqdm's bar where it imports (the cloudpickle run), else a plain line.
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.b.map(pyfuncs.square, [1, 2, 3], progress=True), [1, 4, 9])
        self.assertIn("3/3", err.getvalue())
        quiet = io.StringIO()
        with contextlib.redirect_stderr(quiet):
            self.b.map(pyfuncs.square, [1], progress=False)
        self.assertEqual(quiet.getvalue(), "")

    def test_unpicklable_function_is_refused(self):
        lock = threading.Lock()
        with self.assertRaises(burst.BurstError) as c:
            self.b.map(lambda x: lock, range(3))
        msg = str(c.exception)
        self.assertIn("cloudpickle" if MODE == "pickle" else "cannot be sent", msg)
        self.assertNotIn("\n", msg)

    def test_unpicklable_input_is_named(self):
        with self.assertRaises(burst.BurstError) as c:
            self.b.map(pyfuncs.square, [1, threading.Lock(), 3])
        msg = str(c.exception)
        self.assertIn("input 1", msg)
        self.assertIn("pickle", msg)
        self.assertNotIn("\n", msg)

    def test_large_payload_and_result(self):
        # An argument above the inline limit travels through the blob
        # store; a result above the listing's 1 MiB comes from the log.
        data = b"y" * (300 << 10)
        self.assertEqual(self.b.map(len, [data, b"ab"]), [300 << 10, 2])
        got = self.b.map(pyfuncs.big, [2 << 20])
        self.assertEqual(len(got[0]), 2 << 20)

    def test_task_without_result(self):
        with self.assertRaises(burst.TaskError) as c:
            self.b.map(time.sleep, [30], time_limit=1)
        self.assertEqual(c.exception.state, "timeout")


class TestMapCommand(Base):
    def test_map_command_stages_files(self):
        here = os.getcwd()
        with tempfile.TemporaryDirectory(dir=here) as d:
            os.chdir(d)
            try:
                for name, text in (("a.txt", "alpha\n"), ("b.txt", "beta gamma\n")):
                    with open(name, "w") as f:
                        f.write(text)
                rs = list(self.b.map_command(["sh", "-c", 'pwd; cat "$1"', "sh", "{}"], ["a.txt", "b.txt"], stage=True))
            finally:
                os.chdir(here)
        self.assertEqual([r.input for r in rs], [["a.txt"], ["b.txt"]])
        self.assertTrue(all(r.ok and r.exit_code == 0 for r in rs), rs)
        for r, text in zip(rs, ("alpha\n", "beta gamma\n")):
            wd, rest = r.stdout.split("\n", 1)
            self.assertEqual(rest, text)
            self.assertNotEqual(wd, d, "a staged task runs in its own directory")
        spec = self.b.job(rs[0].job_id).data["spec"]
        self.assertEqual(sorted((i["path"], i["task"]) for i in spec["inputs"]), [("a.txt", 0), ("b.txt", 1)])

    def test_map_command_stages_its_program(self):
        # docs/python.md's first staging example: ./score is staged for
        # every task without being named (the task's directory holds only
        # what is staged).
        here = os.getcwd()
        with tempfile.TemporaryDirectory(dir=here) as d:
            os.chdir(d)
            try:
                with open("score", "w") as f:
                    f.write('#!/bin/sh\nwc -c < "$1"\n')
                os.chmod("score", 0o755)
                with open("a.txt", "w") as f:
                    f.write("12345\n")
                rs = list(self.b.map_command(["./score", "{}"], ["a.txt"], stage=True))
                r = self.b.run(["./score", "a.txt"], inputs=["a.txt"]).wait()
            finally:
                os.chdir(here)
        self.assertEqual([(x.exit_code, x.stdout.strip()) for x in rs], [(0, "6")], rs)
        self.assertEqual((r.exit_code, r.stdout().strip()), (0, "6"))

    def test_map_command_failures_are_results(self):
        rs = list(self.b.map_command(["sh", "-c", 'exit "$1"', "sh"], [0, 4]))
        self.assertEqual([(r.state, r.exit_code) for r in rs], [("succeeded", 0), ("failed", 4)])


class TestInterrupt(Base):
    def test_ctrl_c_cancels_the_maps_job(self):
        p = subprocess.Popen(
            [sys.executable, "-c", "import burst, time; burst.connect().map(time.sleep, [30] * 4, progress=False)"],
            stderr=subprocess.PIPE,
        )
        try:
            job = None
            deadline = time.monotonic() + 60
            while job is None and time.monotonic() < deadline:
                for j in json.loads(self.b._conn.request("GET", "/v1/jobs?limit=5")[1]):
                    if j["name"] == "py:sleep" and j["tasks"].get("running", 0) > 0 and j["state"] == "running":
                        job = self.b.job(j["id"])
                time.sleep(0.05)
            self.assertIsNotNone(job, "the map's tasks never ran")
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"burst: job %d cancelled" % job.id, err)
        self.assertEqual(job.wait(timeout=60).state, "cancelled")


class TestRestart(Base):
    def test_server_killed_mid_map_loses_nothing(self):
        pid = json.loads(self.b._conn.request("GET", "/v1/health")[1])["pid"]
        xs = list(range(40))
        out = {}

        def run():
            try:
                out["r"] = self.b.map(pyfuncs.slow_square, xs)
            except BaseException as e:  # reported below
                out["e"] = e
            finally:
                self.b.close()  # this thread's connection

        t = threading.Thread(target=run)
        t.start()
        # Kill the server once the map's job has tasks done (the event that
        # proves the map is under way), then let the client start it anew.
        deadline = time.monotonic() + 60
        killed = False
        while time.monotonic() < deadline and t.is_alive():
            jobs = json.loads(self.b._conn.request("GET", "/v1/jobs?limit=1")[1])
            if jobs and jobs[0]["name"].startswith("py:slow_square") and jobs[0]["tasks"].get("succeeded", 0) >= 3:
                os.kill(pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.05)
        t.join(120)
        self.assertTrue(killed, "the map ended before the server could be killed")
        self.assertFalse(t.is_alive(), "map did not return within 120 s of the kill")
        self.assertNotIn("e", out, out.get("e"))
        self.assertEqual(out["r"], [x * x for x in xs])
        pid2 = json.loads(self.b._conn.request("GET", "/v1/health")[1])["pid"]
        self.assertNotEqual(pid, pid2, "a new server answers")


if __name__ == "__main__":
    unittest.main()
