"""The task side of ``Client.map``: this file's source is sent whole as
``python3 -c SOURCE NONCE FUNC WORKDIR CALLS``, so it must use the standard
library alone and need no ``burst`` package where it runs.

FUNC and CALLS are ``b64:DATA`` (the pickle inline, base64) or ``file:PATH``
(a blob staged into the task's directory). CALLS is the pickle of
``(first_index, [(args, kwargs), ...])``. When the task ran in a staged
directory, it reads its files and then moves to WORKDIR if that exists
here, so that the function sees the caller's working directory.

For each call it writes one frame on stdout, after whatever the function
printed: ``\\n\\x1eBURST-NONCE INDEX BASE64\\n``, the base64 of the pickle of
``(ok, value, traceback_text, summary)``. It exits 1 when a call raised.
"""

import base64
import os
import pickle
import sys
import traceback

PROTOCOL = 4  # read by any python3 from 3.4 on: a task's python may be older


def _load(ref):
    kind, _, data = ref.partition(":")
    if kind == "file":
        with open(data, "rb") as f:
            return f.read()
    return base64.b64decode(data)


def _dumps(obj):
    try:
        return pickle.dumps(obj, PROTOCOL)
    except Exception:
        try:
            import cloudpickle  # what pickle cannot send (a lambda returned)
        except ImportError:
            raise
        return cloudpickle.dumps(obj, PROTOCOL)


def _frame(out, nonce, index, ok, value, tb, summary):
    try:
        data = _dumps((ok, value, tb, summary))
    except Exception as e:
        what = "result" if ok else "exception"
        msg = "the %s of call %d cannot be pickled (%s: %s): return something picklable" % (what, index, type(e).__name__, e)
        data = pickle.dumps((False, None, tb, msg), PROTOCOL)
    sys.stdout.flush()
    out.write(b"\n\x1eBURST-" + nonce + b" %d " % index + base64.b64encode(data) + b"\n")
    out.flush()


def main(argv):
    nonce, fref, wd, cref = argv[:4]
    nonce = nonce.encode()
    out = sys.stdout.buffer
    try:
        fdata, cdata = _load(fref), _load(cref)
    except Exception as e:
        sys.stderr.write("burst: cannot read the call: %s\n" % e)
        return 2
    if wd and (fref.startswith("file:") or cref.startswith("file:")) and os.path.isdir(wd):
        os.chdir(wd)
    first, calls = pickle.loads(cdata)
    try:
        fn = pickle.loads(fdata)
    except Exception as e:
        tb = traceback.format_exc()
        hint = ""
        if isinstance(e, ImportError):
            hint = " (a function pickled by cloudpickle needs cloudpickle where it runs, and one pickled by name its module: install it there, or set PYTHONPATH)"
        summary = "cannot load the function on %s: %s: %s%s" % (os.uname()[1], type(e).__name__, e, hint)
        for i in range(len(calls)):
            _frame(out, nonce, first + i, False, None, tb, summary)
        return 1
    failed = False
    for i, (args, kwargs) in enumerate(calls):
        try:
            value = fn(*args, **kwargs)
        except BaseException as e:  # SystemExit and KeyboardInterrupt included: they end that call
            failed = True
            tb = traceback.format_exc()
            _frame(out, nonce, first + i, False, e, tb, "%s: %s" % (type(e).__name__, e))
            continue
        _frame(out, nonce, first + i, True, value, "", "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
