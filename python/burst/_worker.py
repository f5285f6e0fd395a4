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
``(ok, pickle of the value, traceback_text, summary)``. It exits 1 when a call
raised.
"""

import base64
import io
import os
import pickle
import sys
import types

MYPY = False
if MYPY:  # types for mypy alone, as comments: no typing import in every task
    from typing import Any, BinaryIO, Callable, Dict, List, Tuple

PROTOCOL = 4  # read by any python3 from 3.5 on: a task's python may be older


# What a function pickled by value by cloudpickle (a lambda, a closure, a
# function of __main__) is rebuilt with: these few helpers, the same in
# cloudpickle 1.x to 3.x, stand in for importing cloudpickle, which would
# cost each task more than starting the interpreter. Anything else that
# names cloudpickle (a class pickled by value, ...) imports the real one.
def _make_function(code, globals, name, argdefs, closure):
    # type: (types.CodeType, Dict[str, Any], str, Any, Any) -> types.FunctionType
    globals["__builtins__"] = __builtins__
    return types.FunctionType(code, globals, name, argdefs, closure)


def _function_setstate(obj, state):
    # type: (Any, Tuple[Dict[str, Any], Dict[str, Any]]) -> None
    attrs, slotstate = state
    obj.__dict__.update(attrs)
    obj_globals = slotstate.pop("__globals__")
    obj_closure = slotstate.pop("__closure__")
    slotstate.pop("_cloudpickle_submodules", None)
    obj.__globals__.update(obj_globals)
    obj.__globals__["__builtins__"] = __builtins__
    if obj_closure is not None:
        for i, cell in enumerate(obj_closure):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            obj.__closure__[i].cell_contents = value
    for k, v in slotstate.items():
        setattr(obj, k, v)


def _make_empty_cell():
    # type: () -> Any
    if False:
        cell = None  # noqa: makes cell a cell of the lambda below
    return (lambda: cell).__closure__[0]  # type: ignore  # noqa: F821


def _make_cell(*value):
    # type: (*Any) -> Any
    cell = _make_empty_cell()
    if value:
        cell.cell_contents = value[0]
    return cell


def _builtin_type(name):
    # type: (str) -> Any
    return type if name == "ClassType" else getattr(types, name)


def subimport(name):
    # type: (str) -> types.ModuleType
    __import__(name)
    return sys.modules[name]


_STANDINS = {
    "_make_function": _make_function,
    "_function_setstate": _function_setstate,
    "_make_empty_cell": _make_empty_cell,
    "_make_cell": _make_cell,
    "_builtin_type": _builtin_type,
    "subimport": subimport,
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        # type: (str, str) -> Any
        if module in ("cloudpickle.cloudpickle", "cloudpickle.cloudpickle_fast") and name in _STANDINS:
            return _STANDINS[name]
        return super().find_class(module, name)


def _loads(data):
    # type: (bytes) -> Any
    return _Unpickler(io.BytesIO(data)).load()


def _format_exc(skip=0):
    # type: (int) -> str
    """The traceback of the exception being handled, less its first skip
    frames (this worker's own)."""
    import traceback  # only when a call fails: it costs every task otherwise

    typ, value, tb = sys.exc_info()
    for _ in range(skip):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(typ, value, tb))


def _load(ref):
    # type: (str) -> bytes
    kind, _, data = ref.partition(":")
    if kind == "file":
        with open(data, "rb") as f:
            return f.read()
    return base64.b64decode(data)


def _dumps(obj):
    # type: (Any) -> bytes
    try:
        return pickle.dumps(obj, PROTOCOL)
    except Exception:
        try:
            import cloudpickle  # type: ignore  # what pickle cannot send (a lambda returned)
        except ImportError:
            raise
        return cloudpickle.dumps(obj, PROTOCOL)  # type: ignore[no-any-return]


def _frame(out, nonce, index, ok, value, tb, summary):
    # type: (BinaryIO, bytes, int, bool, Any, str, str) -> None
    # The value is pickled apart, inside a frame of plain types: the caller
    # reads the traceback even when the value does not unpickle there.
    try:
        data = pickle.dumps((ok, _dumps(value), tb, summary), PROTOCOL)
    except Exception as e:
        what = "result" if ok else "exception"
        msg = "the %s of call %d cannot be pickled (%s: %s): return something picklable" % (what, index, type(e).__name__, e)
        data = pickle.dumps((False, None, tb, msg), PROTOCOL)
    sys.stdout.flush()
    out.write(b"\n\x1eBURST-" + nonce + b" %d " % index + base64.b64encode(data) + b"\n")
    out.flush()


def main(argv):
    # type: (List[str]) -> int
    tag, fref, wd, cref = argv[:4]
    nonce = tag.encode()
    out = sys.stdout.buffer
    try:
        fdata, cdata = _load(fref), _load(cref)
    except Exception as e:
        sys.stderr.write("burst: cannot read the call: %s\n" % e)
        return 2
    wd = os.fsdecode(_load(wd)) if wd else ""
    if wd and (fref.startswith("file:") or cref.startswith("file:")) and os.path.isdir(wd):
        os.chdir(wd)
    first, calls = _loads(cdata)
    try:
        fn = _loads(fdata)
    except Exception as e:
        tb = _format_exc()
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
            tb = _format_exc(skip=1)  # from the function's own frame
            _frame(out, nonce, first + i, False, e, tb, "%s: %s" % (type(e).__name__, e))
            continue
        _frame(out, nonce, first + i, True, value, "", "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
