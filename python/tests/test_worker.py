"""The task side of map (burst/_worker.py) alone, with no server: it runs
the worker as a task would, ``python3 -S -c SOURCE ...`` (no site-packages,
so no cloudpickle where it runs), and reads its frames back."""

import base64
import os
import pickle
import re
import subprocess
import sys
import unittest

import burst._client as bc

PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run_worker(fn_bytes, calls, first=0):
    nonce = "abc123"
    argv = [PY, "-S", "-c", bc._worker_source(), nonce, "b64:" + base64.b64encode(fn_bytes).decode(), "",
            "b64:" + base64.b64encode(pickle.dumps((first, calls), 4)).decode()]
    p = subprocess.run(argv, capture_output=True, timeout=60)
    frames = {}
    for m in re.finditer(rb"\n\x1eBURST-abc123 (\d+) ([A-Za-z0-9+/=]*)\n", p.stdout):
        frames[int(m.group(1))] = bc._unframe(int(m.group(1)), m.group(2))
    return p, frames


class TestWorker(unittest.TestCase):
    def test_source_holds_no_replacement_string(self):
        # The source is an argument of map's template, where {} {.} {/} {1}
        # ... would be replaced by the task's input.
        self.assertIsNone(re.search(r"\{[0-9./#%]*\}", bc._worker_source()))

    def test_importable_function_and_order(self):
        p, frames = run_worker(pickle.dumps(divmod, 4), [((7, 2), {}), ((9, 4), {})], first=5)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(frames, {5: ((3, 1), None), 6: ((2, 1), None)})

    def test_exception_frame_and_exit_status(self):
        p, frames = run_worker(pickle.dumps(int, 4), [(("12",), {}), (("x",), {})])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(frames[0], (12, None))
        _, err = frames[1]
        self.assertIsInstance(err, ValueError)
        self.assertIsInstance(err.__cause__, bc.RemoteError)
        self.assertIn("invalid literal", err.__cause__.remote_traceback)

    def test_printing_function_keeps_frames_apart(self):
        p, frames = run_worker(pickle.dumps(print, 4), [(("no newline",), {"end": ""}), (("\x1eBURST-abc123 9 zz",), {})])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(frames), [0, 1])
        self.assertTrue(p.stdout.startswith(b"no newline\n\x1eBURST-abc123 0 "))

    def test_lambda_without_cloudpickle_names_the_fix(self):
        # PyPI's "burst" is another project: the fix names cloudpickle's
        # own packages, and this client as the README installs it.
        real = bc._cloudpickle
        bc._cloudpickle = lambda: None
        try:
            with self.assertRaises(bc.BurstError) as c:
                bc._pickle_function(lambda x: x * x)
        finally:
            bc._cloudpickle = real
        msg = str(c.exception)
        for fix in ("apt install python3-cloudpickle", "pip install cloudpickle", "pip install './python[fast]'"):
            self.assertIn(fix, msg)
        self.assertNotIn("burst[fast]", msg)

    @unittest.skipUnless(bc._cloudpickle(), "needs cloudpickle here (the e2e test's cloudpickle run has it)")
    def test_lambda_and_closure_without_cloudpickle_where_it_runs(self):
        cp = bc._cloudpickle()
        k = 10

        def add(x, y=1):
            return x + y + k

        for fn, want in ((lambda x: x * x, 49), (add, 18)):
            p, frames = run_worker(cp.dumps(fn, protocol=4), [((7,), {})])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(frames[0], (want, None))

    def test_exception_that_does_not_unpickle_here_keeps_its_traceback(self):
        # A frame whose exception pickles by reference to a module that
        # exists where the task ran but not here.
        inner = pickle.dumps(ValueError("x"), 4).replace(b"builtins", b"nomodule")
        frame = base64.b64encode(pickle.dumps((False, inner, "Traceback: the remote one\n", "Weird: x"), 4))
        val, err = bc._unframe(4, frame)
        self.assertIsNone(val)
        self.assertIsInstance(err, bc.RemoteError)
        self.assertIn("call 4 raised Weird: x", str(err))
        self.assertEqual(err.remote_traceback, "Traceback: the remote one\n")

    def test_function_that_cannot_load_says_why(self):
        fake = pickle.dumps(divmod, 4).replace(b"builtins", b"nomodule")  # a module missing where it runs
        p, frames = run_worker(fake, [((1, 1), {}), ((2, 1), {})])
        self.assertEqual(p.returncode, 1)
        for i in (0, 1):
            _, err = frames[i]
            self.assertIsInstance(err, bc.RemoteError)
            self.assertIn("cannot load the function", str(err))
            self.assertIn("nomodule", str(err))


if __name__ == "__main__":
    unittest.main()
