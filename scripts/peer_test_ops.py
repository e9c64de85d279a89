"""Run a peer's PyTorch-comparison op suite against tinygrad_reg, as a new user would.

tinygrad's ``test/backend/test_ops.py`` compares its ops with PyTorch through
``helper_test_op(shapes, torch_fxn, tinygrad_fxn)`` and ``helper_test_exception``. This
script runs each test method twice with the PyTorch lambdas only: once with ``torch`` being
PyTorch (the reference) and once with ``torch`` being a namespace that maps ``torch.X``,
``torch.nn.functional.X`` and the dtypes onto tinygrad_reg. A test passes when every call
agrees: forward values (shape, dtype, values within the test's tolerances), the gradients of
``out.sum()``, and the exception class where one is expected. The peer's own tensor class
is replaced by an object that absorbs every operation, so checks written only against it are
skipped rather than failed; a test whose reference run fails is reported as such.

Needs torch and the peer file (not part of this repository)::

    python scripts/peer_test_ops.py /path/to/test_ops.py [-k substring] [-v]

This is a measuring tool for the PyTorch surface; the suite's own port of these tests
(tests/test_surface_*.py, harness tests/_surface.py) runs without torch.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import sys
import time
import types
import unittest

import numpy as np

# -- an object that absorbs everything: the peer's own Tensor, dtypes and devices -------------


class _State:
    touched = False


class Absorb:
    """Every attribute, call, item and operator gives the absorber again."""

    def _hit(self):
        _State.touched = True
        return ABSORB

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._hit()

    def __call__(self, *a, **k):
        return self._hit()

    def __getitem__(self, k):
        return self._hit()

    def __iter__(self):  # (unpacking: `values, indices = t.topk(3)`; zip() is rewritten)
        _State.touched = True
        return iter([ABSORB] * 2)

    def __len__(self):  # (not a sequence: torch.tensor(absorber) must fail, not recurse)
        _State.touched = True
        raise TypeError("the peer's tensor has no length here")

    def __bool__(self):
        _State.touched = True
        return True

    def __float__(self):
        _State.touched = True
        return 0.0

    def __int__(self):
        _State.touched = True
        return 0

    __index__ = __int__

    def __mro_entries__(self, bases):
        return (object,)

    def __enter__(self):
        return self._hit()

    def __exit__(self, *exc):
        return False


def _binary(name):
    def op(self, *args):
        return self._hit()
    op.__name__ = name
    return op


for _n in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow "
           "matmul rmatmul and rand or ror xor rxor lshift rlshift rshift rrshift lt le gt ge "
           "eq ne neg pos invert abs").split():
    setattr(Absorb, f"__{_n}__", _binary(_n))
Absorb.__hash__ = object.__hash__
ABSORB = Absorb()


def _zip(*seqs):
    """zip() in which the absorber pairs with every item of the other sequences."""
    import itertools

    return zip(*[itertools.repeat(ABSORB) if s is ABSORB else s for s in seqs])


def _lenient(fn):
    """Run a check; a check that involved the absorber is skipped (it is about the peer's own
    tensor class)."""
    _State.touched = False
    try:
        fn()
    except Exception:
        if _State.touched:
            return
        raise
    finally:
        _State.touched = False


class _LenientChecks(ast.NodeTransformer):
    """Wrap each ``assert`` and each ``self.assert*(...)``/``np.testing.assert_*(...)``
    statement in ``_lenient(lambda: ...)``."""

    def visit_Assert(self, node):
        test = node.test
        call = ast.Assert(test=test, msg=node.msg)
        fn = ast.FunctionDef(name="_chk", args=ast.arguments(
            posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=[call], decorator_list=[], returns=None)
        check = ast.Call(ast.Name("_lenient", ast.Load()), [ast.Name("_chk", ast.Load())], [])
        return [fn, ast.Expr(check)]

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "zip":
            node.func = ast.Name("_zip", ast.Load())
        return node

    def visit_Expr(self, node):
        self.generic_visit(node)
        v = node.value
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and \
                v.func.attr.startswith("assert") and not v.func.attr.startswith("assertRaises"):
            lam = ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[],
                                                kw_defaults=[], defaults=[]), body=v)
            return ast.Expr(ast.Call(ast.Name("_lenient", ast.Load()), [lam], []))
        return node


class _Raises:
    """``assertRaises`` that accepts a block which only touched the absorber."""

    def __init__(self, expected):
        self.expected = expected

    def __enter__(self):
        _State.touched = False
        self.exception = None
        return self

    def __exit__(self, tp, value, tb):
        touched, _State.touched = _State.touched, False
        if tp is not None and issubclass(tp, self.expected):
            self.exception = value
            return True
        if touched:
            return True
        if tp is None:
            raise AssertionError(f"{self.expected} not raised")
        return False


# -- the two torch namespaces ---------------------------------------------------------------

class _Draws:
    """Random draws from one seeded numpy stream, so both runs see the same values."""

    rng = np.random.RandomState(0)


def _np_randint(*args, low=0, high=None, size=None):
    """torch.randint's argument forms: (high, size), (low, high, size), keywords."""
    args = list(args)
    if args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if len(args) == 1:
        high = args[0]
    elif len(args) == 2:
        low, high = args
    return _Draws.rng.randint(low, high, size=tuple(size or ()), dtype=np.int64)


def _torch_ns():
    import torch

    ns = types.SimpleNamespace(**{k: getattr(torch, k) for k in dir(torch)
                                  if not k.startswith("__")})

    def randint(*args, dtype=None, requires_grad=False, **kw):
        return torch.tensor(_np_randint(*args, **kw), dtype=dtype or torch.int64)

    def randn(*size, dtype=None, requires_grad=False, **kw):
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return torch.tensor(_Draws.rng.randn(*size).astype(np.float32),
                            requires_grad=requires_grad)

    ns.randint, ns.randn = randint, randn
    return ns


_TORCH_DTYPES = ["float32", "float", "float64", "double", "float16", "half", "int8", "int16",
                 "short", "int32", "int", "int64", "long", "uint8", "bool"]


def _ours_ns():
    import tinygrad_reg as tg

    class Namespace(types.SimpleNamespace):
        def __getattr__(self, name):
            return getattr(tg, name)

    ns = Namespace()
    ns.nn = tg.nn
    ns.autograd = types.SimpleNamespace(grad=tg.grad)
    for name in _TORCH_DTYPES:
        if hasattr(tg, name):
            setattr(ns, name, getattr(tg, name))

    def randint(*args, dtype=None, requires_grad=False, **kw):
        return tg.tensor(_np_randint(*args, **kw), dtype=dtype or tg.int64)

    def randn(*size, dtype=None, requires_grad=False, **kw):
        size = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        return tg.tensor(_Draws.rng.randn(*size).astype(np.float32), requires_grad=requires_grad)

    ns.randint, ns.randn = randint, randn
    return ns


# -- the two helpers, recording what each call gives ------------------------------------------

class Run:
    def __init__(self, kind):
        self.kind = kind  # "torch" or "ours"
        self.events: list = []


RUN: Run | None = None


def _to_numpy(kind, out):
    if kind == "torch":
        return out.detach().cpu().numpy()
    if hasattr(out, "numpy"):
        return np.asarray(out.numpy())
    raise TypeError(f"the result is a {type(out).__name__}, not a tensor")


def _prepare(kind, low, high, shps, vals, forward_only):
    if kind == "torch":
        import torch

        make = lambda x: torch.tensor(x, requires_grad=not forward_only)  # noqa: E731
        is_i64 = lambda t: t.dtype == torch.int64  # noqa: E731
        to_i32 = lambda t: t.type(torch.int32)  # noqa: E731
    else:
        import tinygrad_reg as tg

        make = lambda x: tg.tensor(x, requires_grad=not forward_only)  # noqa: E731
        is_i64 = lambda t: t.dtype == np.int64  # noqa: E731
        to_i32 = lambda t: t.int()  # noqa: E731
    if shps is None:
        ts = [make(x) for x in vals]
    else:
        np.random.seed(0)
        data = [np.random.uniform(low=low, high=high, size=size).astype(np.float32)
                for size in shps]
        ts = [make(d) for d in data]
    return [to_i32(t) if is_i64(t) else t for t in ts]


def _grads(kind, fxn, ts):
    if kind == "torch":
        import torch

        return [g.detach().cpu().numpy() for g in torch.autograd.grad(fxn(*ts).sum(), ts)]
    import tinygrad_reg as tg

    return [np.asarray(g.numpy()) for g in tg.grad(fxn(*ts).sum(), ts)]


def helper_test_op(shps, torch_fxn, tinygrad_fxn=None, atol=1e-6, rtol=1e-3, grad_atol=1e-4,
                   grad_rtol=1e-3, forward_only=False, vals=None, low=-2, high=2):
    run = RUN
    tol = (atol, rtol, grad_atol, grad_rtol)
    try:
        ts = _prepare(run.kind, low, high, shps, vals, forward_only)
        out = _to_numpy(run.kind, torch_fxn(*ts))
        grads = None
        if not forward_only and ts:
            grads = _grads(run.kind, torch_fxn, ts)
        run.events.append(("op", out, grads, tol))
    except Exception as err:  # noqa: BLE001
        run.events.append(("error", type(err).__name__, str(err)[:300]))


def helper_test_exception(self, shps, torch_fxn, tinygrad_fxn=None, expected=None,
                          forward_only=False, exact=False, vals=None, low=-1.5, high=1.5):
    run = RUN
    try:
        ts = _prepare(run.kind, low, high, shps, vals, forward_only)
        torch_fxn(*ts)
    except Exception as err:  # noqa: BLE001
        ok = isinstance(err, expected)
        run.events.append(("raises", ok, type(err).__name__, str(err)[:300]))
        return
    run.events.append(("raises", False, "nothing raised", ""))


# -- comparing the runs ------------------------------------------------------------------------

def _same(ref, got, atol, rtol, what):
    if ref.shape != got.shape:
        return f"{what}: shape {got.shape}, PyTorch {ref.shape}"
    if ref.dtype != got.dtype:
        return f"{what}: dtype {got.dtype}, PyTorch {ref.dtype}"
    try:
        if np.issubdtype(ref.dtype, np.floating):
            np.testing.assert_allclose(got, ref, atol=atol, rtol=rtol)
        else:
            np.testing.assert_equal(got, ref)
    except AssertionError as err:
        return f"{what}: values differ: {str(err).strip().splitlines()[-1][:200]}"
    return None


def compare(ref: list, got: list) -> str | None:
    if len(ref) != len(got):
        return f"{len(got)} calls, PyTorch {len(ref)} (the test stopped early?)"
    for i, (r, g) in enumerate(zip(ref, got)):
        if r[0] == "error":
            if g[0] != "error":
                return f"call {i}: PyTorch raised {r[1]} ({r[2]}) but ours did not"
            continue
        if r[0] == "raises":
            if not r[1]:
                continue  # the reference itself did not raise what the test expects
            if not g[1]:
                return f"call {i}: expected the exception, ours raised {g[2]} {g[3]}"
            continue
        if g[0] != "op":
            return f"call {i}: ours raised {g[1]}: {g[2]}"
        atol, rtol, gatol, grtol = r[3]
        msg = _same(r[1], g[1], atol, rtol, f"call {i} forward")
        if msg:
            return msg
        if r[2] is not None:
            for j, (rg, gg) in enumerate(zip(r[2], g[2])):
                msg = _same(rg, gg, gatol, grtol, f"call {i} grad {j}")
                if msg:
                    return msg
    return None


# -- loading and running the peer file ---------------------------------------------------------

def _fake_peer_modules():
    helpers = types.ModuleType("tinygrad.helpers")
    helpers.getenv = lambda name, default=0: default
    helpers.DEBUG = 0
    helpers.DEV = types.SimpleNamespace(interface="", renderer="", device="CPU")
    helpers.IMAGE = 0
    helpers.Context = lambda **kw: contextlib.nullcontext()
    top = types.ModuleType("tinygrad")
    top.Tensor = ABSORB
    device = type("Device", (types.SimpleNamespace,), {"__getitem__": lambda self, k: ABSORB})
    top.Device = device(DEFAULT="CPU")
    top.dtypes = ABSORB
    tensor = types.ModuleType("tinygrad.tensor")
    tensor._to_np_dtype = lambda dt: np.float32
    nir = types.ModuleType("tinygrad.renderer.nir")
    nir.NIRRenderer = type("NIRRenderer", (), {})
    renderer = types.ModuleType("tinygrad.renderer")
    renderer.nir = nir
    for name, mod in (("tinygrad", top), ("tinygrad.helpers", helpers),
                      ("tinygrad.tensor", tensor), ("tinygrad.renderer", renderer),
                      ("tinygrad.renderer.nir", nir)):
        sys.modules[name] = mod


def load(path):
    _fake_peer_modules()
    source = open(path).read()
    tree = _LenientChecks().visit(ast.parse(source))
    ast.fix_missing_locations(tree)
    mod = types.ModuleType("peer_test_ops")
    mod.__file__ = path
    mod._lenient = _lenient
    mod._zip = _zip
    exec(compile(tree, path, "exec"), mod.__dict__)
    mod.helper_test_op = helper_test_op
    for cls in [v for v in vars(mod).values() if isinstance(v, type) and
                issubclass(v, unittest.TestCase)]:
        cls.helper_test_exception = helper_test_exception
        cls.assertRaises = lambda self, exc, *a, **k: _Raises(exc)
        cls.assertRaisesRegex = lambda self, exc, *a, **k: _Raises(exc)
    return mod


def run_method(mod, cls, name, torch_ns, ours_ns):
    global RUN
    results = {}
    for kind, ns in (("torch", torch_ns), ("ours", ours_ns)):
        RUN = Run(kind)
        mod.torch = ns
        np.random.seed(1337)
        _Draws.rng = np.random.RandomState(0)
        case = cls(name)
        err = None
        try:
            getattr(case, name)()
        except unittest.SkipTest as skip:
            return "skip", str(skip)
        except Exception as e:  # noqa: BLE001
            err = f"{type(e).__name__}: {str(e)[:300]}"
        results[kind] = (RUN.events, err)
    (ref, ref_err), (got, got_err) = results["torch"], results["ours"]
    if ref_err:
        return "reference-fails", ref_err
    if not ref:
        return "no-pytorch-calls", ""
    msg = compare(ref, got)
    if msg:
        return "fail", msg
    if got_err:
        return "fail", got_err
    return "pass", ""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("-k", default="")
    parser.add_argument("-v", action="store_true")
    parser.add_argument("--assume-type", action="store_true",
                        help="give Tensor a type(dtype) method if it has none (what "
                             "x.type(torch.int32) needs), to measure the rest without it")
    args = parser.parse_args(argv)
    if args.assume_type:
        import tinygrad_reg as tg

        if not hasattr(tg.Tensor, "type"):
            tg.Tensor.type = lambda self, dtype=None: self.to(dtype)
    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore")
    mod = load(args.path)
    real_torch = mod.torch
    torch_ns, ours_ns = _torch_ns(), _ours_ns()
    torch_ns.nn = real_torch.nn
    torch_ns.autograd = real_torch.autograd
    counts: dict = {}
    start = time.time()
    for cls in [v for v in vars(mod).values() if isinstance(v, type) and
                issubclass(v, unittest.TestCase) and v is not unittest.TestCase]:
        for name in sorted(n for n in dir(cls) if n.startswith("test")):
            if args.k not in f"{cls.__name__}.{name}":
                continue
            t0 = time.time()
            status, why = run_method(mod, cls, name, torch_ns, ours_ns)
            counts.setdefault(status, []).append(f"{cls.__name__}.{name}")
            if args.v or status in ("fail", "reference-fails"):
                print(f"{status:16} {cls.__name__}.{name}  {why}"
                      + (f"  [{time.time() - t0:.1f} s]" if args.v else ""), flush=True)
    applicable = len(counts.get("pass", [])) + len(counts.get("fail", []))
    print()
    for status, names in sorted(counts.items()):
        print(f"{status:16} {len(names)}")
    if applicable:
        print(f"passing: {len(counts.get('pass', []))}/{applicable} = "
              f"{len(counts.get('pass', [])) / applicable:.1%} of the methods whose PyTorch "
              f"run works ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
