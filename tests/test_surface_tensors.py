"""tinygrad's op tests, ported (see tests/_surface.py for the harness): einsum and matrix
products, reductions, softmax and norms, broadcasting, slicing and fancy indexing, padding,
shapes, joins and repeats, clamping, gather and scatter, masks, casts. Each case names the
TestOps method it re-expresses."""

from __future__ import annotations

import numpy as np
from _surface import Cases, F, T, empty, inf, make_tests, nan

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S

C = Cases()


def distinct(shape, low=-2.0, high=2.0):
    """float64 tensors whose values are pairwise apart (no tie for max, min, argmax)."""
    return S.distinct_arrays(shape, low=low, high=high, gap=0.02).map(
        lambda a: tg.Tensor(a, requires_grad=True))


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# -- einsum ----------------------------------------------------------------------------------------

EINSUMS = [  # (equation, shapes, test)
    ("->", [()], "test_einsum"), ("ij->ji", [(3, 3)], "test_einsum"),
    ("ij -> ji", [(3, 3)], "test_einsum"), ("ji", [(3, 3)], "test_einsum"),
    ("jki", [(2, 3, 4)], "test_einsum"), ("dog", [(2, 3, 4)], "test_einsum"),
    ("ij,jk", [(2, 3), (3, 4)], "test_einsum"), ("ijk->", [(2, 3, 4)], "test_einsum"),
    ("ij->j", [(3, 3)], "test_einsum"), ("ij->i", [(3, 3)], "test_einsum"),
    ("ik,k->i", [(3, 4), (4,)], "test_einsum"), ("ik,kj->ij", [(3, 4), (4, 5)], "test_einsum"),
    ("jk,ki->ji", [(3, 4), (4, 5)], "test_einsum"), ("i,i->i", [(5,), (5,)], "test_einsum"),
    ("ij,ij->ij", [(2, 3), (2, 3)], "test_einsum"), ("i,j->ij", [(3,), (4,)], "test_einsum"),
    ("ijk,ikl->ijl", [(2, 3, 2), (2, 2, 3)], "test_einsum"),
    ("ijk,ikl->jil", [(2, 3, 2), (2, 2, 3)], "test_einsum"),
    ("jik,ikl->jil", [(3, 2, 2), (2, 2, 3)], "test_einsum"),
    ("ijk,ika->ija", [(2, 3, 2), (2, 2, 3)], "test_einsum"),
    ("pqrs,tuqvr->pstuv", [(2, 3, 2, 2), (2, 1, 3, 2, 2)], "test_einsum"),
    ("prsq,tquvr->pstuv", [(2, 2, 2, 3), (2, 3, 1, 2, 2)], "test_einsum"),
    ("zqrs,tuqvr->zstuv", [(2, 3, 2, 2), (2, 1, 3, 2, 2)], "test_einsum"),
    ("ik,jkl,il->ij", [(2, 3), (2, 3, 2), (2, 2)], "test_einsum"),
    ("...id, ...jd -> ...ij", [(2, 3, 2), (2, 3, 2)], "test_einsum_ellipsis"),
    ("...id, ...jd", [(2, 3, 2), (2, 3, 2)], "test_einsum_ellipsis"),
    ("i...j,ji...->...", [(2, 3, 2, 2), (2, 2, 2)], "test_einsum_ellipsis"),
    ("i,i", [(5,), (5,)], "test_einsum_trace"), ("ii->i", [(4, 4)], "test_einsum_trace"),
    ("ii->", [(4, 4)], "test_einsum_trace"), ("...ii->...i", [(3, 4, 4)], "test_einsum_trace"),
    ("...ii->...", [(3, 4, 4)], "test_einsum_trace"),
]
for equation, shapes, test in EINSUMS:
    C.grad(test, lambda *xs, eq=equation: T.einsum(eq, *xs), *shapes,
           ref=lambda *xs, eq=equation: np.einsum(eq.replace(" ", ""), *xs),
           may_alias=len(shapes) == 1)
C.grad("test_einsum", lambda a, b: T.einsum("i,i->i", [a, b]), (5,), (5,), ref=np.multiply)
# (numpy's einsum refuses ellipsis dims left out of an explicit output; PyTorch sums them)
C.grad("test_einsum_ellipsis", lambda a, b: T.einsum("ij...,ij...->ij", [a, b]), (2, 2, 2, 3),
       (2, 2, 2, 3), ref=lambda a, b: (a * b).sum(axis=(2, 3)))
C.raises("test_einsum_ellipsis", lambda: T.einsum("...ik..., ...jk ->", T.ones(2, 3, 4),
                                                  T.ones(2, 3, 4)), RuntimeError, ValueError)
C.raises("test_einsum_ellipsis", lambda: T.einsum("i...j,ji...->...", T.ones(2, 3, 4),
                                                  T.ones(2, 3, 4)), RuntimeError, ValueError)
C.raises("test_einsum_shape_check", lambda: T.einsum("pqrs,tuqvr->pstuv", [T.ones(3, 8, 10, 5),
                                                     T.ones(11, 5, 13, 16, 8)]), RuntimeError)
C.raises("test_einsum_arity_check1", lambda: T.einsum("ij,jk->ij", [T.ones(2, 3), T.ones(3, 2),
                                                      T.ones(2, 2)]), RuntimeError, ValueError)
C.raises("test_einsum_arity_check2", lambda: T.einsum("ij,jk->ij", T.ones(3, 3)), RuntimeError,
         ValueError)

# -- matrix products -------------------------------------------------------------------------------

for shapes in (((5,), (5,)), ((5,), (5, 3)), ((3, 5), (5,)), ((2, 3, 5), (5,)),
               ((5,), (2, 5, 3))):
    C.grad("test_dot_1d", lambda x, y: x.matmul(y), *shapes, ref=np.matmul)
C.raises("test_dot_1d", lambda: T.ones(4).matmul(T.ones(1, 2)), RuntimeError, ValueError)
C.raises("test_dot_1d", lambda: T.ones(2, 1).matmul(T.ones(4)), RuntimeError, ValueError)
C.raises("test_dot_1d", lambda: T.ones(1).matmul(T.ones(4)), RuntimeError, ValueError)
C.grad("test_dot", lambda x, y: x.matmul(y), (3, 4), (4, 5), ref=np.matmul)
C.grad("test_dot", lambda x, y: x.matmul(y), (2, 3, 4), (2, 4, 5), ref=np.matmul)
C.raises("test_dot", lambda: T.ones(2, 4).matmul(T.ones(1, 3)), RuntimeError, ValueError)
C.raises("test_dot", lambda: T.ones(2, 1).matmul(T.ones(4, 3)), RuntimeError, ValueError)
C.raises("test_dot", lambda: T.tensor(3.14).matmul(T.tensor(3.14)), RuntimeError, ValueError)
C.pin("test_mulacc_with_zero_strides", lambda: [
    T.tensor(1.0).reshape((1, 1, 1)).expand(2, 4, 3).mul(
        T.tensor(1.0).reshape((1, 1, 1)).expand(2, 4, 3)).sum(-1),
    T.tensor([[1.0] * 4] * 2).reshape((2, 4, 1)).expand(2, 4, 3).mul(
        T.tensor([1.0] * 4).reshape((1, 4, 1)).expand(2, 4, 3)).sum([0, 2]),
    T.ones((1, 2)).matmul(T.ones((2, 3)))], [('float32', [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0,
      3.0]]), ('float32', [6.0, 6.0, 6.0, 6.0]), ('float32', [[2.0, 2.0, 2.0]])])
C.grad("test_matmul_simple", lambda x, y: x.matmul(y), (4,), (4, 4), ref=np.matmul)
C.grad("test_matmul", lambda x, y: x.matmul(y), (6,), (6, 5), ref=np.matmul)
C.grad("test_matmul_batched", lambda x, y: x.matmul(y), (3,), (1, 2, 3, 4), ref=np.matmul)
C.grad("test_matmul_batched_vector", lambda x, y: x.matmul(y), (4, 3), (1, 2, 3, 4),
       ref=np.matmul)
C.grad("test_small_gemm", lambda x, y: x.matmul(y), (4, 4), (4, 4), ref=np.matmul)
C.grad("test_9_gemm", lambda x, y: x.matmul(y), (5, 5), (5, 5), ref=np.matmul)
C.grad("test_gemm", lambda x, y: x.matmul(y), (6, 6), (6, 6), ref=np.matmul)
C.grad("test_big_gemm", lambda x, y: x.matmul(y), (8, 8), (8, 8), ref=np.matmul)
C.grad("test_small_gemm_padded", lambda x, y: F.pad(x, (0, 2, 0, 2)).matmul(F.pad(y, (0, 2, 0, 2))),
       (3, 3), (3, 3), ref=lambda x, y: np.pad(x, ((0, 2), (0, 2))) @ np.pad(y, ((0, 2), (0, 2))))
C.pin("test_small_gemm_range", lambda: T.arange(0, 64, dtype=T.float32).reshape(8, 8).matmul(
    T.arange(64, 128, dtype=T.float32).reshape(8, 8))[::3, ::3], ('float32', [[2912.0, 2996.0,
      3080.0], [20576.0, 21236.0, 21896.0], [38240.0, 39476.0, 40712.0]]))
C.pin("test_small_gemm_eye", lambda: T.eye(4).matmul(T.eye(4)), ('float32', [[1.0, 0.0, 0.0, 0.0],
      [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
C.pin("test_gemm_with_zeros_shape", lambda: [T.ones(4, 4).matmul(T.ones(4, 0)),
                                             T.ones(0, 4).matmul(T.ones(4, 4)),
                                             T.ones(0, 4).matmul(T.ones(4, 0)),
                                             T.ones(4, 0).matmul(T.ones(0, 4)),
                                             T.ones(0, 0).matmul(T.ones(0, 0)),
                                             T.ones(0).matmul(T.ones(0, 4)),
                                             T.ones(0).matmul(T.ones(0))], [('float32', empty(4,
      0)), ('float32', empty(0, 4)), ('float32', empty(0, 0)), ('float32', [[0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]), ('float32', empty(0,
      0)), ('float32', [0.0, 0.0, 0.0, 0.0]), ('float32', 0.0)])
C.grad("test_broadcastdot", lambda x, y: x @ y, (2, 3, 4), (4, 3), ref=np.matmul)
C.raises("test_broadcastdot", lambda: T.tensor(3.14) @ T.ones(3, 3), RuntimeError, ValueError)
C.grad("test_multidot", lambda x, y: x @ y, (2, 3, 4), (2, 4, 3), ref=np.matmul)
C.grad("test_multidot", lambda x, y: x @ y, (2, 2, 3, 4), (2, 2, 4, 3), ref=np.matmul)
# (positive factors: x @ y stays away from relu's kink)
C.grad("test_matvecmat", lambda x, y, z: (x @ y).relu() @ z, (1, 5), (5, 5), (5, 5),
       ref=lambda x, y, z: np.maximum(x @ y, 0) @ z, positive=True)
C.grad("test_matvec", lambda x, y: (x @ y).relu(), (1, 5), (5, 5),
       ref=lambda x, y: np.maximum(x @ y, 0), positive=True)
# (x^16 half-precision kernels: tinygrad's test_gemm_fp16 checks them; numpy's float16 matmul
# runs the same product in half precision)
C.pin("test_gemm_fp16", lambda: (T.arange(16.0).reshape(4, 4) / 7).half().matmul(
    (T.arange(16.0).reshape(4, 4) / 5).half()), ('float16', [[1.59960938, 1.77050781, 1.94238281,
      2.11328125], [4.34375, 4.96875, 5.6015625, 6.2265625], [7.0859375, 8.171875, 9.2578125,
      10.34375], [9.828125, 11.3671875, 12.9140625, 14.453125]]), rtol=5e-3)

# -- reductions ------------------------------------------------------------------------------------

C.pin_grad("test_sum_simple", lambda x: x.sum(), [[1.0, 1.0]], ('float32', 2.0, [[1.0, 1.0]]))
C.pin("test_sum_full", lambda: T.ones(16384).sum(), ('float32', 16384.0))
C.grad("test_sum_relu", lambda x: x.relu().sum().relu(), (2, 3, 2), avoid=[0.0],
       ref=lambda x: np.maximum(np.maximum(x, 0).sum(), 0))
C.grad("test_sum_tiny", lambda x: x.sum(axis=(0, 2)), (4, 2, 2), ref=lambda x: x.sum((0, 2)))
for axis in (None, 3, (1, 3), (0, 2), (1, 2), 1):
    C.grad("test_sum", lambda x, a=axis: x.sum() if a is None else x.sum(axis=a), (2, 3, 2, 2),
           ref=lambda x, a=axis: np.asarray(x.sum(axis=a)))
C.grad("test_sum", lambda x: x.sum(axis=1, keepdim=True), (2, 3, 2),
       ref=lambda x: x.sum(axis=1, keepdims=True))
for d in (None, 0, -1, ()):
    C.grad("test_sum", lambda x, d=d: x.sum() if d is None else x.sum(d), (),
           ref=lambda x, d=d: x.copy())
C.raises("test_sum", lambda: T.ones(3, 4, 5, 6).sum(5), IndexError, ValueError)
C.raises("test_sum", lambda: T.tensor(1.0).sum(1), IndexError, ValueError)
C.raises("test_sum", lambda: T.tensor(1.0).sum((1,)), IndexError, ValueError)
C.pin("test_sum_dtype_arg", lambda: [T.tensor([1.5, 2.25]).sum(dtype=T.float64),
                                     T.tensor([1.5, 2.25]).sum()], [('float64', 3.75), ('float32',
      3.75)])
C.raises("test_sum_dtype_arg", lambda: T.tensor([1.0, 2.0]).sum(dtype=""), TypeError)
C.raises("test_prod_dtype_arg", lambda: T.tensor([1.0, 2.0]).prod(dtype=""), TypeError)
C.grad("test_sum_with_zeros_shape", lambda x: x.sum(axis=(0,)), (4, 0), ref=lambda x: x.sum(0))
C.grad("test_sum_with_zeros_shape", lambda x: x.sum(axis=(0, 1)), (4, 0),
       ref=lambda x: np.asarray(x.sum((0, 1))))
C.pin_grad("test_prod", lambda x: x.prod(), [[1.0, 2.0, 3.0]], ('float32', 6.0, [[6.0, 3.0, 2.0]]))
C.pin_grad("test_prod", lambda x: x.prod(), [[0.0, 2.0, 3.0]], ('float32', 0.0, [[6.0, 0.0, 0.0]]))
C.pin_grad("test_prod", lambda x: x.prod(), [[0.0, 0.0, 3.0]], ('float32', 0.0, [[0.0, 0.0, 0.0]]))
for dim in (3, 1):
    C.grad("test_prod", lambda x, d=dim: x.prod(dim=d), (2, 3, 2, 2),
           ref=lambda x, d=dim: x.prod(axis=d))
C.grad("test_prod", lambda x: x.prod(dim=1, keepdim=True), (2, 3, 2),
       ref=lambda x: x.prod(axis=1, keepdims=True))
for d in (None, 0, -1):
    C.grad("test_prod", lambda x, d=d: x.prod() if d is None else x.prod(d), (),
           ref=lambda x, d=d: x.copy())
for name in ("min", "max"):
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)(), distinct((3, 3)),
           ref=lambda x, n=name: np.asarray(getattr(x, n)()))
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)().mul(0.5), distinct((5, 3)),
           ref=lambda x, n=name: np.asarray(getattr(x, n)() * 0.5))
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)(), (), ref=lambda x: x.copy())
C.grad("test_max", lambda x: x.max(axis=1)[0], distinct((2, 3, 2)), ref=lambda x: x.max(axis=1))
C.pin("test_min", lambda: [T.tensor([0, -2**31]).min(), T.tensor([-2**31, 0]).min(),
                           T.tensor([False, True]).min(), T.tensor([True, False]).min()],
      [('int64', -2147483648), ('int64', -2147483648), ('bool', False), ('bool', False)])
C.pin("test_max", lambda: [T.tensor([0, -2**31]).max(), T.tensor([-2**31, 0]).max(),
                           T.tensor([False, True]).max(), T.tensor([True, False]).max()],
      [('int64', 0), ('int64', 0), ('bool', True), ('bool', True)])
# a tie: PyTorch's max() gives the gradient to one of the maxima, ours splits it evenly (a
# convention listed in docs/api.md); the value is the same
C.pin("test_max", lambda: T.tensor([[1.0, 1.0, 0.0, 1.0]]).max().mul(0.5), ('float32', 0.5))
C.pin("test_max_nan", lambda: T.tensor([1.0, nan]).max(), ('float32', nan))
C.pin("test_const_reduce", lambda: [T.full_like(T.ones(3, 3), 2).sum(),
                                    T.full_like(T.ones(3, 3), 2).prod(),
                                    T.full_like(T.ones(3, 3), 2).max()], [('float32', 18.0),
      ('float32', 512.0), ('float32', 2.0)])


def _truths(name):
    """tinygrad's any/all tests: floats, bools, a 0-d tensor."""
    return [getattr(t, name)() for t in (T.tensor([[0.5, 0.0], [-1.0, 0.0]]),
                                         T.tensor([True, True]), T.tensor([True, False]),
                                         T.tensor([False, False]), T.tensor(0.0))]


C.pin("test_any", lambda: _truths("any"), [('bool', True), ('bool', True), ('bool', True),
      ('bool', False), ('bool', False)])
C.pin("test_all", lambda: _truths("all"), [('bool', False), ('bool', True), ('bool', False),
      ('bool', False), ('bool', False)])
C.pin("test_any_axis", lambda: T.tensor([[[0.5, 0.0], [-1.0, 0.0]], [[0.0, 0.0], [2.0, 1.0]]]).any(
    axis=(1, 2)), ('bool', [True, True]))
C.pin("test_all_axis", lambda: T.tensor([[[0.5, 0.0], [-1.0, 0.0]], [[0.0, 0.0], [2.0, 1.0]]]).all(
    axis=(1, 2)), ('bool', [False, False]))
C.pin("test_any_zero_axis", lambda: T.ones(1, 0, 3, 0, 5).any(axis=(1, 3)), ('bool', [[[False,
      False, False, False, False], [False, False, False, False, False], [False, False, False,
      False, False]]]))
C.pin("test_all_zero_axis", lambda: T.ones(1, 0, 3, 0, 5).all(axis=(1, 3)), ('bool', [[[True,
      True, True, True, True], [True, True, True, True, True], [True, True, True, True, True]]]))
C.pin("test_all_large", lambda: T.ones(2**16).bool().all(), ('bool', True))
C.pin("test_isclose", lambda: [
    T.tensor([1.0, 2.0]).isclose(T.tensor([1.0, 2.0])),
    T.tensor([1.0, 2.0]).isclose(T.tensor([1.0, 2.0]) + 1e-6),
    T.tensor([1.0, 2.0]).isclose(T.tensor([1.0, 2.0]) + 1e-9),
    T.tensor([1.0, 2.0]).isclose(T.tensor([1.0, 2.0]) + 1e-6, atol=0.0),
    T.tensor([1.0, 2.0]).isclose(T.tensor([1.0, 2.0]) + 1e-6, rtol=0.01),
    T.tensor([1e-7, 1e-8, 1e-9]).isclose(T.tensor([0.0, 0.0, 0.0])),
    T.tensor([nan]).isclose(T.tensor([nan]), equal_nan=True)], [('bool', [True, True]), ('bool',
      [True, True]), ('bool', [True, True]), ('bool', [True, True]), ('bool', [True, True]),
      ('bool', [False, True, True]), ('bool', [True])])
C.pin("test_isclose_edge_cases", lambda: [
    T.tensor([a]).isclose(T.tensor([b]), equal_nan=e) for a in (inf, -inf, nan, 0.0)
    for b in (inf, -inf, nan, 0.0) for e in (False, True)], [('bool', [True]), ('bool', [True]),
      ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool',
      [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool', [True]),
      ('bool', [True]), ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool',
      [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]),
      ('bool', [False]), ('bool', [True]), ('bool', [False]), ('bool', [False]), ('bool',
      [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]), ('bool', [False]),
      ('bool', [False]), ('bool', [True]), ('bool', [True])])
C.pin("test_isclose_scalar", lambda: T.tensor([1.0, 1.0 + 1e-7, 2.0, inf, -inf, nan]).isclose(
    T.tensor(1.0)), ('bool', [True, True, False, False, False, False]))
C.grad("test_mean", lambda x: x.mean(), (2, 3, 2), ref=lambda x: np.asarray(x.mean()))
C.grad("test_mean", lambda x: x.mean(), (), ref=lambda x: x.copy())
C.grad("test_mean_axis", lambda x: x.mean(axis=(1, 2)), (2, 3, 2, 2), ref=lambda x: x.mean((1, 2)))
C.pin("test_mean_zero_axis", lambda: T.ones(1, 0, 3, 0, 5).mean(axis=(1, 3)), ('float32', [[[nan,
      nan, nan, nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]))
# (values drawn apart: std's gradient has a kink where all values are equal)
_SPREAD = S.distinct_arrays((2, 3, 4), gap=0.05).map(lambda a: tg.Tensor(a, requires_grad=True))
_SPREAD_1 = S.distinct_arrays((1, 2, 3, 1, 5), gap=0.05).map(
    lambda a: tg.Tensor(a, requires_grad=True))
_SPREAD_4 = S.distinct_arrays((2, 3, 2, 2), gap=0.05).map(
    lambda a: tg.Tensor(a, requires_grad=True))
for name, ref in (("var", np.var), ("std", np.std)):
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)(), _SPREAD,
           ref=lambda x, r=ref: np.asarray(r(x, ddof=1)))
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)(correction=0), _SPREAD,
           ref=lambda x, r=ref: np.asarray(r(x)))
    C.grad(f"test_{name}", lambda x, n=name: getattr(x, n)(correction=5), _SPREAD,
           ref=lambda x, r=ref: np.asarray(r(x, ddof=5)))
    for axis in (0, 2, [1, 2]):
        for c in (1, 0):
            C.grad(f"test_{name}_axis", lambda x, n=name, a=axis, c=c: getattr(x, n)(
                a, correction=c), _SPREAD, ref=lambda x, r=ref, a=axis, c=c: r(
                x, axis=tuple(a) if isinstance(a, list) else a, ddof=c))
    C.grad(f"test_{name}_keepdim", lambda x, n=name: getattr(x, n)(keepdim=True), _SPREAD,
           ref=lambda x, r=ref: r(x, ddof=1, keepdims=True))
    C.grad(f"test_{name}_keepdim", lambda x, n=name: getattr(x, n)(0, keepdim=True, correction=0),
           _SPREAD, ref=lambda x, r=ref: r(x, axis=0, keepdims=True))
    C.grad(f"test_{name}_one_in_axis", lambda x, n=name: getattr(x, n)(axis=(0, 4)),
           _SPREAD_1, ref=lambda x, r=ref: r(x, axis=(0, 4), ddof=1))
    C.grad(f"test_{name}_one_in_axis", lambda x, n=name: getattr(x, n)(axis=(0, 4), correction=0),
           _SPREAD_1, ref=lambda x, r=ref: r(x, axis=(0, 4)))
C.pin("test_var_zero_in_axis", lambda: [T.ones(1, 0, 3, 0, 5).var(axis=(1, 3), correction=c)
                                        for c in (1, 0, 5)], [('float32', [[[nan, nan, nan, nan,
      nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]), ('float32', [[[nan, nan, nan,
      nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]), ('float32', [[[nan, nan,
      nan, nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]])])
C.pin("test_std_zero_in_axis", lambda: [T.ones(1, 0, 3, 0, 5).std(axis=(1, 3), correction=c)
                                        for c in (1, 0, 5)], [('float32', [[[nan, nan, nan, nan,
      nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]), ('float32', [[[nan, nan, nan,
      nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]), ('float32', [[[nan, nan,
      nan, nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]])])
ONE = [[[[[0.5, -1.0, 2.0, 0.25, 1.5]]], [[[1.0, 0.0, -2.0, 3.0, 0.75]]]]]
C.pin("test_var_one_in_axis", lambda: [T.tensor(ONE).var(axis=(0, 3)),
                                       T.tensor(ONE).var(axis=(0, 3), correction=5),
                                       T.tensor(ONE).var(axis=(0, 4), correction=5),
                                       T.tensor([2.5]).var(axis=(0,), correction=0),
                                       T.tensor(ONE).var(axis=(0, 3), correction=0)], [('float32',
      [[[nan, nan, nan, nan, nan]], [[nan, nan, nan, nan, nan]]]), ('float32', [[[nan, nan, nan,
      nan, nan]], [[nan, nan, nan, nan, nan]]]), ('float32', [[[inf]], [[inf]]]), ('float32',
      0.0), ('float32', [[[0.0, 0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 0.0]]])])
C.pin_grad("test_std_one_in_axis", lambda x: x.std(axis=(0, 2), correction=0),
           [[[[0.5, -1.0]], [[1.0, 0.0]]]], ('float32', [0.73951], [[[[0.126773134,
      -0.380319417]], [[0.295803964, -0.0422577113]]]]))
C.pin_grad("test_std_one_in_axis", lambda x: x.std(axis=(0,), correction=0), [[2.5]], ('float32',
      0.0, [[0.0]]))
C.pin_grad("test_var_one_in_axis", lambda x: x.var(axis=(0, 2), correction=5),
           [[[[0.5, -1.0]], [[1.0, 0.0]]]], ('float32', [inf], [[[[-0.75, 2.25]], [[-1.75,
      0.25]]]]))
C.grad("test_std_mean", lambda x: T.stack(T.std_mean(x)), _SPREAD,
       ref=lambda x: np.stack([np.std(x, ddof=1), np.mean(x)]))
C.grad("test_std_mean", lambda x: T.stack(T.std_mean(x, correction=5)), _SPREAD,
       ref=lambda x: np.stack([np.std(x, ddof=5), np.mean(x)]))
C.grad("test_std_mean", lambda x: T.stack(T.std_mean(x, keepdim=True, correction=0)), _SPREAD,
       ref=lambda x: np.stack([np.std(x, keepdims=True), np.mean(x, keepdims=True)]))
C.grad("test_std_mean", lambda x: T.stack(T.std_mean(x, axis=(1, 2))), _SPREAD_4,
       ref=lambda x: np.stack([np.std(x, axis=(1, 2), ddof=1), np.mean(x, axis=(1, 2))]))
C.pin("test_std_mean_loaded_nan", lambda: T.stack(T.std_mean(T.ones(1, 0, 3, 0, 5),
                                                             axis=(1, 3))), ('float32', [[[[nan,
      nan, nan, nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]], [[[nan, nan,
      nan, nan, nan], [nan, nan, nan, nan, nan], [nan, nan, nan, nan, nan]]]]))

# -- softmax, norms --------------------------------------------------------------------------------

for dim, shape in ((1, (3, 4)), (0, (5,)), (0, ()), (-1, ())):
    C.grad("test_softmax", lambda x, d=dim: T.nn.Softmax(dim=d)(x), shape,
           ref=lambda x, d=dim: _softmax(x, d) if x.ndim else np.ones_like(x))
    C.grad("test_log_softmax", lambda x, d=dim: T.nn.LogSoftmax(dim=d)(x), shape,
           ref=lambda x, d=dim: np.log(_softmax(x, d)) if x.ndim else np.zeros_like(x))
for dim in (0, 1, 2):
    C.grad("test_softmax_other_axis", lambda x, d=dim: x.softmax(d), (2, 3, 2),
           ref=lambda x, d=dim: _softmax(x, d))
    C.grad("test_log_softmax_other_axis", lambda x, d=dim: x.log_softmax(d), (2, 3, 2),
           ref=lambda x, d=dim: np.log(_softmax(x, d)))
C.pin("test_softmax_argmax", lambda: [T.tensor([[0.5, 2.0], [1.0, -1.0]]).softmax(d).argmax()
                                      for d in (0, 1)], [('int64', 1), ('int64', 2)])
C.grad("test_softmin", lambda x: T.nn.Softmin(dim=1)(x), (3, 4),
       ref=lambda x: _softmax(-x, 1))
for p, dim in ((2, 1), (2, 0), (1, 1), (3, 0), (0, 1), (-1, 1)):
    C.grad("test_normalize", lambda x, p=p, d=dim: F.normalize(x, p=p, dim=d), (3, 4),
           avoid=[0.0], margin=0.3, ref=lambda x, p=p, d=dim: x / np.maximum(
               np.count_nonzero(x, axis=d, keepdims=True) if p == 0 else
               np.sum(np.abs(x) ** p, axis=d, keepdims=True) ** (1 / p), 1e-12))
C.grad("test_normalize", lambda x: F.normalize(x, dim=2), (2, 3, 3), avoid=[0.0], margin=0.3,
       ref=lambda x: x / np.sqrt((x * x).sum(2, keepdims=True)))
for dim, keep, shape in ((0, False, (3, 4)), (0, True, (3, 4)), (1, False, (3, 4)),
                         (1, True, (3, 4)), (2, False, (2, 2, 3)), (3, False, (2, 2, 2, 3)),
                         (0, False, (5,)), (0, False, ()), (-1, False, ())):
    C.grad("test_logsumexp", lambda x, d=dim, k=keep: T.logsumexp(x, dim=d, keepdim=k), shape,
           ref=lambda x, d=dim, k=keep: np.logaddexp.reduce(x, axis=d, keepdims=k)
           if x.ndim else x.copy())
C.grad("test_flip_eye_crash", lambda x: T.eye(3, dtype=x.dtype) @ T.eye(3,
      dtype=x.dtype).flip(0) @ x,
       (3, 2),
       ref=lambda x: np.eye(3)[::-1] @ x)

# -- broadcasting ----------------------------------------------------------------------------------

_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "pow": np.power}
for shapes, test in ((((2, 3, 4, 2), (2, 1, 4, 1)), "test_broadcast_full"),
                     (((1, 3, 1, 2, 1), (2, 1, 2, 1, 2)), "test_broadcast_full"),
                     (((1, 2, 3, 3), (1, 2, 1, 1)), "test_broadcast_partial"),
                     (((4, 1), (4, 5)), "test_broadcast_partial"),
                     (((1, 4), (5, 4)), "test_broadcast_partial")):
    for name, ufunc in _BINARY.items():
        options = {"positive": True} if name == "pow" else \
            {"avoid": [0.0], "margin": 0.5} if name == "div" else {}
        C.grad(test, lambda x, y, n=name: getattr(T, n)(x, y), *shapes, ref=ufunc, **options)
C.grad("test_broadcast_simple", lambda x, y: x / y, (3, 4), (3, 1), ref=np.divide, avoid=[0.0],
       margin=0.5)
C.grad("test_broadcast_simple", lambda x, y: x / y, (3, 4), (), ref=np.divide, avoid=[0.0],
       margin=0.5)

# -- slicing ---------------------------------------------------------------------------------------

SLICES = [  # (test, shape, index)
    ("test_slice_in_bounds_1dim", (3,), np.s_[1:3]), ("test_slice_in_bounds_1dim", (3,),
      np.s_[0:2]),
    ("test_slice_in_bounds_1dim", (3,), np.s_[-2:2]), ("test_slice_on_0dim_tensor", (),
      np.s_[None]),
    ("test_slice_int_indexing", (3,), np.s_[0]), ("test_slice_int_indexing", (3,), np.s_[-3]),
    ("test_slice_int_indexing", (4, 4), np.s_[1]), ("test_slice_int_indexing", (3, 3, 3), np.s_[1,
      1, 1]),
    ("test_slice_in_bounds_multidim", (3, 3, 3), np.s_[1:2, 2]),
    ("test_slice_in_bounds_multidim", (3, 3, 3), np.s_[1:2, 1:2, 0:-1]),
    ("test_slice_with_none", (3, 3, 3), np.s_[1:2, None, 1:2]),
    ("test_slice_with_none", (3, 3, 3), np.s_[1:2, 1:2, None, -1]),
    ("test_slice_with_none", (3, 3, 3), np.s_[None, None, 1, None, 2, 0:2]),
    ("test_slice_one_endpoint_out_of_bounds", (3, 3, 3), np.s_[0:4]),
    ("test_slice_one_endpoint_out_of_bounds", (3, 3, 3), np.s_[-6:4]),
    ("test_slice_one_endpoint_out_of_bounds", (3, 3, 3), np.s_[1:50, 1:2, -1]),
    ("test_slice_stride_gt_one", (5, 4, 6), np.s_[::2, ::3, ::4]),
    ("test_slice_stride_gt_one", (5, 4, 6), np.s_[1:5:2, 3, ::4]),
    ("test_slice_stride_gt_one", (5, 4, 6), np.s_[1:5:2, None, None, 3, None, ::4]),
    ("test_slice_both_endpoints_out_of_bounds", (3, 3, 3), np.s_[5:10]),
    ("test_slice_both_endpoints_out_of_bounds", (3, 3, 3), np.s_[-15:-7]),
    ("test_slice_start_gt_end", (3, 3, 3), np.s_[-2:2]),
    ("test_slice_start_gt_end", (3, 3, 3), np.s_[-2:-5]),
    ("test_slice_zero_in_shape", (4, 4), np.s_[1:1]),
    ("test_slice_ellipsis", (2, 3, 2, 3), np.s_[..., 0]),
    ("test_slice_ellipsis", (2, 3, 2, 3), np.s_[0, ..., 0]),
    ("test_slice_ellipsis", (2, 3, 2, 3), np.s_[None, 0:3, ..., 0, None]),
    # (PyTorch refuses negative steps; numpy's meaning here, tinygrad's too)
    ("test_slice_negative_strides", (4, 4, 4), np.s_[::-1]),
    ("test_slice_negative_strides", (4, 4, 4), np.s_[:, 2:0:-1, 3:1:-2]),
    ("test_slice_negative_strides", (4, 4, 4), np.s_[2:5:-1, :, :]),
]
for test, shape, index in SLICES:
    C.grad(test, lambda x, i=index: x[i], shape, ref=lambda x, i=index: x[i], may_alias=True)
C.grad("test_double_slice", lambda x: x[:, 1:2][1:2], (4, 4), ref=lambda x: x[:, 1:2][1:2],
       may_alias=True)
C.grad("test_double_slice", lambda x: x[1:3][1:2], (4, 4), ref=lambda x: x[1:3][1:2],
       may_alias=True)
C.grad("test_slice_with_const_tensor", lambda x: x[:, T.zeros(1, dtype=T.int64), :], (3, 3, 3),
       ref=lambda x: x[:, [0], :])
C.raises("test_slice_on_0dim_tensor", lambda: T.tensor(3.14)[0], IndexError)
C.raises("test_slice_errors", lambda: T.ones(4, 3)[1, 77, 77, 77], IndexError)
C.raises("test_slice_errors", lambda: T.ones(4, 3)[1, 3], IndexError)
C.raises("test_slice_errors", lambda: T.ones(4, 3)[1, -4], IndexError)
C.raises("test_slice_errors", lambda: T.ones(4, 3)[::0, 1], ValueError)
C.raises("test_slice_errors", lambda: T.tensor(2.0)[:], IndexError)
# (tinygrad refuses a tensor as a slice bound and a[..., ...]; PyTorch takes both)
C.pin("test_slice_errors", lambda: T.arange(12.0).reshape(4, 3)[:T.tensor([3]), 1], ('float32',
      [1.0, 4.0, 7.0]))

# -- padding ---------------------------------------------------------------------------------------

PADS = [  # (test, shape, pad, mode, value)
    ("test_pad", (2, 2, 3, 3), (1, 2, 3, 4), "constant", 0.0),
    ("test_pad", (2, 2, 3, 3), (-1, 2, -3, 4), "constant", 0.0),
    ("test_pad", (2, 2, 3, 3), (1, 2, 3, 4), "constant", 5.0),
    ("test_pad", (3, 3), (-1, 2, -3, 4), "constant", 5.0),
    ("test_pad", (3, 3), (0, 0, 3, 4), "constant", 1.0),
    ("test_pad", (3, 3), (0, 0, 0, 0), "constant", 1.0),
    ("test_pad_reflect_mode", (1, 1, 5, 5), (0, 2, 3, 2), "reflect", None),
    ("test_pad_reflect_mode", (2, 3, 5), (0, 2), "reflect", None),
    ("test_pad_reflect_mode", (1, 1, 3, 3, 3), (1, 2, 1, 2, 1, 2), "reflect", None),
    ("test_pad_reflect_mode", (2, 2, 3, 3), (-1, 2, 2, -1), "reflect", None),
    ("test_pad_reflect_mode", (1, 1, 5, 5), (3, -3, 0, -3), "reflect", None),
    ("test_pad_reflect_mode", (1, 1, 5, 5), (3, -5, 1, -5), "reflect", None),
    ("test_pad_reflect_mode", (1, 1, 5, 5), (0, 0, 0, -5), "reflect", None),
    ("test_pad_reflect_mode", (1, 1, 5, 5), (4, 4, 0, 4), "reflect", None),
    ("test_pad_replicate_mode", (1, 1, 5, 5), (0, 2, 3, 2), "replicate", None),
    ("test_pad_replicate_mode", (2, 2, 3, 3), (-1, 2, 2, -1), "replicate", None),
    ("test_pad_replicate_mode", (1, 1, 5, 5), (3, -3, 0, -3), "replicate", None),
    ("test_pad_replicate_mode", (1, 1, 5, 5), (3, -5, 1, -5), "replicate", None),
    ("test_pad_replicate_mode", (1, 1, 3, 3), (3, 7, 0, 9), "replicate", None),
    ("test_pad_circular_mode", (1, 1, 5, 5), (0, 2, 3, 2), "circular", None),
    ("test_pad_circular_mode", (2, 3, 5), (0, 2), "circular", None),
    ("test_pad_circular_mode", (1, 1, 2, 3, 3), (1, 1, 2, 3, 1, 2), "circular", None),
    ("test_pad_circular_mode", (1, 1, 5, 5), (1, -2, 2, -1), "circular", None),
]


def _np_pad(x, pad, mode, value):
    """numpy's pad with PyTorch's negative widths (crops: after padding, before for circular)."""
    grow, crop = [(0, 0)] * x.ndim, [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        lo, hi = pad[2 * k], pad[2 * k + 1]
        grow[-1 - k], crop[-1 - k] = (max(lo, 0), max(hi, 0)), (max(-lo, 0), max(-hi, 0))

    def cut(a):
        return a[tuple(slice(lo, n - hi) for (lo, hi), n in zip(crop, a.shape))]

    how = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
           "circular": "wrap"}[mode]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(cut(x), grow, mode=how) if mode == "circular" else cut(
        np.pad(x, grow, mode=how, **kw))


for test, shape, pad, mode, value in PADS:
    C.grad(test, lambda x, p=pad, m=mode, v=value: F.pad(x, p, mode=m, value=v), shape,
           ref=lambda x, p=pad, m=mode, v=value: _np_pad(x, p, m, v), may_alias=True,
           max_examples=1 if len(shape) == 5 else None)
C.pin("test_pad", lambda: [F.pad(T.ones(1, 2, 2), (1, 1), value=inf),
                           F.pad(T.ones(1, 2, 2), (-1, 1, 1, 0), value=-inf)], [('float32',
      [[[inf, 1.0, 1.0, inf], [inf, 1.0, 1.0, inf]]]), ('float32', [[[-inf, -inf], [1.0, -inf],
      [1.0, -inf]]])])
C.raises("test_pad", lambda: F.pad(T.ones(3, 3), (2, 0, 2)), RuntimeError, ValueError)
C.raises("test_pad", lambda: F.pad(T.ones(3, 3), (0, 0, 0, 0, 1, 0, 3, 0)), RuntimeError,
         ValueError)
C.raises("test_pad", lambda: F.pad(T.ones(3, 3, 3), (3, 0), mode="typo"), NotImplementedError)
C.raises("test_pad_reflect_mode", lambda: F.pad(T.ones(1, 1, 5, 5), (3, 5, 0, 0), mode="reflect"),
         RuntimeError, ValueError)
C.raises("test_pad_circular_mode",
         lambda: F.pad(T.ones(1, 1, 5, 5), (3, 6, 0, 0), mode="circular"), RuntimeError,
         ValueError)
C.grad("test_pad_reshape", lambda x: F.pad(x, (0, 1, 1, 0)).reshape((3, 2)), (1, 2),
       ref=lambda x: np.pad(x, ((1, 0), (0, 1))).reshape(3, 2), may_alias=True)
C.grad("test_pad_reshape", lambda x: F.pad(x, (0, 4, 2, 2, 1, 2, 0, 2)).reshape((4, 3, 6, 5)),
       (1, 1, 1, 2), ref=lambda x: np.pad(x, ((0, 2), (1, 2), (2, 2), (0, 4))).reshape(4, 3, 6, 5),
       may_alias=True)
for value in (0.0, 3.456):
    for shape, pad, index in (((1,), (1, 0), np.s_[0]), ((4,), (3, 0), np.s_[0:1]),
                              ((4,), (0, 3), np.s_[6]), ((4,), (0, 3), np.s_[4:6]),
                              ((2, 2), (0, 1, 0, 0), np.s_[0, 2]),
                              ((4, 4), (3, 4, 1, 2), np.s_[:, 1]),
                              ((3, 3), (0, 1, 3, 2), np.s_[0:2, :]),
                              ((3, 3, 3), (1, 1, 0, 1, 3, 2), np.s_[2:4, :, :])):
        C.grad("test_pad_slice", lambda x, p=pad, i=index, v=value: F.pad(x, p, value=v)[i],
               shape, ref=lambda x, p=pad, i=index, v=value: _np_pad(x, p, "constant", v)[i],
               may_alias=True)
C.grad("test_padding_add", lambda x, w: x + F.pad(w, (2, 2, 2, 2)), (6, 6), (2, 2),
       ref=lambda x, w: x + np.pad(w, 2))

# -- shapes ----------------------------------------------------------------------------------------

C.grad("test_stack_slice", lambda x: T.stack([x for _ in range(3)])[0, :], (4,),
       ref=lambda x: x.copy())
C.grad("test_stack_slice", lambda x: T.stack([x for _ in range(4)])[3], (3, 3),
       ref=lambda x: x.copy())
for shape, fn, ref in [
        ((3, 3), lambda x: x.T, lambda x: x.T),
        ((2, 3, 4), lambda x: x.transpose(1, 2), lambda x: x.swapaxes(1, 2)),
        ((2, 3, 4), lambda x: x.transpose(0, 2), lambda x: x.swapaxes(0, 2))]:
    C.grad("test_transpose", fn, shape, ref=ref, may_alias=True)
for shape, perm in (((1, 2, 3, 2), (3, 0, 2, 1)), ((3, 2, 2, 3), (3, 2, 1, 0)),
                    ((3, 2, 2, 3), (-2, -1, 1, 0)), ((), ())):
    C.grad("test_permute", lambda x, p=perm: x.permute(p), shape,
           ref=lambda x, p=perm: np.transpose(x, [a % max(x.ndim, 1) for a in p]),
           may_alias=True)
C.raises("test_permute", lambda: T.ones(3, 4, 5, 6).permute((0, 2)), RuntimeError, ValueError)
C.raises("test_permute", lambda: T.ones(3, 4, 5, 6).permute((0, 1, 2, 3, 3, 3)), RuntimeError)
C.raises("test_permute", lambda: T.ones(3, 4, 5, 6).permute((0, 0, 1, 2, 3)), RuntimeError)
for shape, new in (((4, 3, 2, 2), (12, 2, 2)), ((4, 3, 2, 2), (-1, 3, 2, 2)),
                   ((4, 3, 2, 2), (-1, 1, 2, 2)), ((), ()), ((1,), ()), ((), (1,)),
                   ((), (1, 1, 1))):
    C.grad("test_reshape", lambda x, n=new: x.reshape(n), shape,
           ref=lambda x, n=new: x.reshape(n), may_alias=True)
C.raises("test_reshape", lambda: T.ones(3, 4).reshape((-1, -1, 2)), RuntimeError, ValueError)
C.raises("test_reshape", lambda: T.ones(4, 3, 2, 2).reshape([]), RuntimeError, ValueError)
for shape, fn, new in (((4, 3, 2, 2), lambda x: x.view((12, 2, 2)), (12, 2, 2)),
                       ((6,), lambda x: x.view(2, 3), (2, 3)),
                       ((6, 1), lambda x: x.view([2, 3]), (2, 3)),
                       ((3, 2), lambda x: x.view(6), (6,))):
    C.grad("test_view", fn, shape, ref=lambda x, n=new: x.reshape(n), may_alias=True)
for dims in ((0,), (0, 1), (0, 1, 3), (3,), (-1,), ()):
    C.grad("test_flip", lambda x, d=dims: x.flip(d), (2, 3, 2, 2),
           ref=lambda x, d=dims: np.flip(x, d) if d else x.copy(), may_alias=not dims)
C.grad("test_flip", lambda x: x.flip((0, 1, 3)).flip(0), (2, 3, 2, 2),
       ref=lambda x: np.flip(x, (1, 3)))
C.grad("test_flip", lambda x: x.flip(()), (), ref=lambda x: x.copy(), may_alias=True)
for dims in ((0, 0), (1, 1), (1, -1)):
    C.raises("test_flip", lambda d=dims: T.ones(3, 4).flip(d), RuntimeError, ValueError)
for shape, dim in (((1, 3, 2, 2), 0), ((4, 3, 1, 6), 2), ((4, 3, 2, 2), 3), ((4, 3, 6, 1), -1),
                   ((4, 3, 2, 2), None), ((1, 3, 2, 2), None), ((2, 3, 1), None), ((), -1),
                   ((), 0), ((), None)):
    C.grad("test_squeeze", lambda x, d=dim: x.squeeze() if d is None else x.squeeze(d), shape,
           ref=lambda x, d=dim: np.squeeze(x) if d is None else (
               np.squeeze(x, d) if x.ndim and x.shape[d] == 1 else x), may_alias=True)
for shape, dim in (((4, 3, 2, 2), 50), ((), 10), ((), 1), ((), -2)):
    C.raises("test_squeeze", lambda s=shape, d=dim: T.ones(s).squeeze(d), IndexError, ValueError)
for shape, dim in (((4, 3, 2, 2), 0), ((4, 3, 2, 2), 4), ((4, 3, 2, 2), -1), ((4, 3, 2, 2), -3),
                   ((), 0)):
    C.grad("test_unsqueeze", lambda x, d=dim: x.unsqueeze(d), shape,
           ref=lambda x, d=dim: np.expand_dims(x, d), may_alias=True)
for kw in ({"start_dim": 0}, {"start_dim": 1}, {"start_dim": 2}, {"end_dim": 0}, {"end_dim": 1},
           {"end_dim": 2}, {"start_dim": 1, "end_dim": 3}):
    C.grad("test_flatten", lambda x, kw=kw: x.flatten(**kw), (2, 3, 2, 2),
           ref=lambda x, kw=kw: x.reshape(x.shape[:kw.get("start_dim", 0)] + (-1,) + x.shape[
               kw.get("end_dim", 3) + 1:]), may_alias=True)
C.grad("test_flatten", lambda x: x.flatten(), (), ref=lambda x: x.reshape(1), may_alias=True)
C.grad("test_flatten", lambda x: x.flatten(), (1,), ref=lambda x: x.copy(), may_alias=True)
for dim, sizes in ((0, (2, 2)), (3, (3, 2)), (-1, (3, 2, 1))):
    C.grad("test_unflatten", lambda x, d=dim, s=sizes: x.unflatten(d, s), (4, 3, 2, 6),
           ref=lambda x, d=dim, s=sizes: x.reshape(x.shape[:d % 4] + s + x.shape[d % 4 + 1:]),
           may_alias=True)
C.grad("test_diag", lambda x: x.diag(), (5,), ref=np.diag)
for shape, kw in (((5, 5), {}), ((3, 4), {}), ((4, 3), {}), ((3, 3, 3), {"dim1": -2, "dim2": -1}),
                  ((4, 5, 6), {"dim1": -2, "dim2": -1}), ((2, 3, 4, 5), {"dim1": -2, "dim2": -1}),
                  ((5, 5), {"offset": 1}), ((5, 5), {"offset": -1}), ((3, 5), {"offset": 2})):
    C.grad("test_diagonal", lambda x, kw=kw: x.diagonal(**kw), shape,
           ref=lambda x, kw=kw: np.diagonal(x, kw.get("offset", 0), kw.get("dim1", 0),
                                            kw.get("dim2", 1)))
C.raises("test_diagonal", lambda: T.ones(3, 3).diagonal(dim1=0, dim2=0), RuntimeError,
         ValueError)
for shape, args in (((2, 4), (1,)), ((2, 4), ((1,),)), ((0,), (1, 0)), ((2, 0, 3), (1, 0)),
                    ((2, 0, 3), (1, 1)), ((2, 0, 3), (1,)), ((2, 4), (1, 0)), ((2, 4), (-1, 0)),
                    ((2, 4), ((2, 1), (0, 1))), ((2, 4, 6), (1, 0)), ((2, 4), (1, -1)),
                    ((2, 4), (-1, -1)), ((2, 4), (5, 0)), ((2, 4), (-5, 0)),
                    ((2, 4, 6), ((2, -3), (0, 2))), ((2, 4, 6), ((1, 2, -1), (0, 1, 2))),
                    ((2, 4), (0, 0)), ((2, 4, 6), ((0, 0), (0, 1))),
                    ((2, 4, 6), ((0, 2), (0, 1)))):
    C.grad("test_roll", lambda x, a=args: x.roll(*a), shape,
           ref=lambda x, a=args: np.roll(x, a[0], a[1] if len(a) > 1 else None))
C.raises("test_roll", lambda: T.ones(2, 4).roll((1, 2)), RuntimeError, ValueError)
C.raises("test_roll", lambda: T.ones(3, 3).roll(shifts=1, dims=(0, 1)), RuntimeError, ValueError)
C.raises("test_roll", lambda: T.ones(10).roll(shifts=(1, 2), dims=0), RuntimeError, ValueError)
C.pin("test_detach", lambda: T.tensor([[1.5, 2.0]]).detach(), ('float32', [[1.5, 2.0]]))
for shape, new in (((4, 3, 1, 6), (4, 3, 2, 6)), ((1, 1, 1, 1), (4, 3, 2, 6)),
                   ((4, 3, 1, 6), (6, 1, 4, 3, 2, 6)), ((4, 3, 1, 6), (0, 1, 4, 3, 2, 6)),
                   ((4, 3, 1, 6), (4, 3, 0, 6)), ((), (4, 3, 2, 6)), ((), [])):
    C.grad("test_expand", lambda x, n=new: x.expand(n), shape,
           ref=lambda x, n=new: np.broadcast_to(x, n), may_alias=True)
for shape, new in (((4, 3, 1, 6), (4, 1, 1, 6)), ((4, 3, 1, 6), (4, 6, 1, 6)),
                   ((4, 3, 1, 6), (3, 1, 6)), ((4, 3, 2, 6), (4, 3, 0, 6))):
    C.raises("test_expand", lambda s=shape, n=new: T.ones(*s).expand(*n), RuntimeError,
             ValueError)

# -- joins, repeats, clamping ----------------------------------------------------------------------

for dim in range(-2, 3):
    C.grad("test_cat", lambda x, y, z, d=dim: T.cat((x, y, z), d), (2, 3, 2), (2, 3, 2), (2, 3, 2),
           ref=lambda x, y, z, d=dim: np.concatenate((x, y, z), d))
C.grad("test_cat", lambda x, y, z: T.cat((x, y, z), 0), (2, 0, 2), (2, 0, 2), (2, 0, 2),
       ref=lambda x, y, z: np.concatenate((x, y, z), 0))
C.grad("test_cat", lambda x, y, z: T.cat((x, y, z), 1), (2, 0, 2), (2, 1, 2), (2, 2, 2),
       ref=lambda x, y, z: np.concatenate((x, y, z), 1))
C.raises("test_cat", lambda: T.cat([T.tensor(3.14), T.tensor(3.14)]), RuntimeError)
for dim in range(-1, 2):
    C.grad("test_multicat", lambda x, y, z, d=dim: T.cat((x, y, z), d), (2, 3), (2, 3), (2, 3),
           ref=lambda x, y, z, d=dim: np.concatenate((x, y, z), d))
for dim in range(-1, 3):
    C.grad("test_stack", lambda x, y, z, d=dim: T.stack((x, y, z), d), (2, 3), (2, 3), (2, 3),
           ref=lambda x, y, z, d=dim: np.stack((x, y, z), d))
C.raises("test_stack", lambda: T.stack([T.ones(4, 6, 3)], dim=77), IndexError)
C.pin("test_stack", lambda: T.stack([T.tensor(3.14), T.tensor(3.14)]), ('float32', [3.1400001,
      3.1400001]))
C.pin_grad("test_stack_max", lambda x, y: T.stack((x, y)).max(axis=0)[0], [[1.0], [2.0]],
      ('float32', [2.0], [[0.0], [1.0]]))
for reps in ([], [4], [2, 1], [3, 2, 2]):
    C.grad("test_repeat", lambda x, r=reps: x.repeat(*([2, 3, 1] + r)), (2, 3, 2),
           ref=lambda x, r=reps: np.tile(x, [2, 3, 1] + r))
    C.grad("test_repeat", lambda x, r=reps: x.repeat([2, 3, 1] + r), (),
           ref=lambda x, r=reps: np.tile(x, [2, 3, 1] + r))
C.raises("test_repeat", lambda: T.ones(4, 6, 3).repeat((2, 4)), RuntimeError, ValueError)
C.pin("test_repeat", lambda: T.ones(4, 6, 3).repeat((2, 0, 4)), ('float32', empty(8, 0, 12)))
C.grad("test_simple_repeat", lambda x: x.repeat(3, 3, 4), (3, 3), ref=lambda x: np.tile(x, (3, 3,
      4)))
for args in ((6,), (2, 1), (2, 0), (2, -1), (2, -2)):
    C.grad("test_repeat_interleave", lambda x, a=args: x.repeat_interleave(*a), (3, 3),
           ref=lambda x, a=args: np.repeat(x, *a))
for lo, hi in ((-1.3, 1.2), (0, 0), (10, 100), (0, 0.1), (-0.3, -0.2), (3, 0), (None, 0),
               (0, None)):
    bounds = [b for b in (lo, hi) if b is not None]
    C.grad("test_clip", lambda x, lo=lo, hi=hi: x.clip(lo, hi), (3, 4), avoid=bounds, margin=0.05,
           ref=lambda x, lo=lo, hi=hi: np.minimum(np.maximum(x, -np.inf if lo is None else lo),
                                                  np.inf if hi is None else hi))
C.pin_grad("test_clip", lambda x: x.clip(-2.5, 1.5), [[-3.0, -2.5, 0.0, 1.5, 2.0]], ('float32',
      [-2.5, -2.5, 0.0, 1.5, 1.5], [[0.0, 1.0, 1.0, 1.0, 0.0]]))
C.pin_grad("test_clip", lambda x: x.clip(3, 0), [[-3.0, 0.0, 1.5, 3.0, 4.0]], ('float32', [0.0,
      0.0, 0.0, 0.0, 0.0], [[0.0, 0.0, 0.0, 0.0, 0.0]]))
C.raises("test_clip", lambda: T.ones(2, 2).clip(None, None), RuntimeError, ValueError)

# -- fancy indexing --------------------------------------------------------------------------------

# the index tensors of tinygrad's _get_index_randoms, with values drawn once
_A = np.array([-1, 0]).reshape(2, 1, 1, 1, 1, 1)
_B = np.zeros((1, 3, 1, 1, 1, 1), dtype=np.int64)
_C = np.array([-4, 1, 3, -2]).reshape(1, 1, 4, 1, 1, 1)
_D = np.array([[0, 3, 1, 2, 0], [2, 1, 3, 0, 3]]).reshape(2, 1, 1, 5, 1, 1)
_E = np.zeros((1, 1, 1, 1, 6, 1), dtype=np.int64)
def _fancy():
    """(test, index) of tinygrad's fancy-indexing tests, with index tensors made now."""
    a, b, c, d, e = (T.tensor(v) for v in (_A, _B, _C, _D, _E))
    return [
        ("test_slice_fancy_indexing_no_dim_collapse", (a, b, c, d, e)),
        ("test_slice_fancy_indexing_no_dim_collapse", np.s_[:, b, c, d, :]),
        ("test_slice_fancy_indexing_no_dim_collapse", np.s_[a, b, ...]),
        ("test_slice_fancy_indexing_no_dim_collapse", np.s_[a, ..., e]),
        ("test_slice_fancy_indexing_no_dim_collapse", np.s_[..., c, :, e]),
        ("test_slice_fancy_indexing_dim_collapse_int", np.s_[1, b, c, d, e]),
        ("test_slice_fancy_indexing_dim_collapse_int", np.s_[a, b, 3, d, e]),
        ("test_slice_fancy_indexing_dim_collapse_int", np.s_[1, b, 2, d, 2]),
        ("test_slice_fancy_indexing_dim_collapse_int", np.s_[a, 2, 2, 2, e]),
        ("test_slice_fancy_indexing_dim_collapse_int", np.s_[1, :, 3:11:2, d, 0:2]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, b, c, d, e]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[a, b, c, d, None]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[a, b, None, d, e]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, b, c, d, None]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[a, :, None, d, e]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, None, None, None, None]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, None, b, c, d, e]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, None, b, c, None, None]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[a, None, None, c, d, e]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[a, None, None, c, None, None]),
        ("test_slice_fancy_indexing_dim_inject_none", np.s_[None, None, b, None, d, e]),
        ("test_slice_fancy_indexing_dim_inject_and_collapse", np.s_[1, b, None, d, 1]),
        ("test_slice_fancy_indexing_dim_inject_and_collapse", np.s_[None, b, 2, d, None]),
        ("test_slice_fancy_indexing_dim_inject_and_collapse", np.s_[..., 1, d % 2, None]),
        ("test_slice_fancy_indexing_list_indices", np.s_[((0,),)]),
        ("test_slice_fancy_indexing_list_indices", np.s_[(0,), b, c, d, :]),
        ("test_slice_fancy_indexing_list_indices", np.s_[[[[0]]], b, c, d, [[1]]]),
        ("test_slice_fancy_indexing_list_indices", np.s_[(1, 0, -1), b, c, d, :]),
        ("test_slice_fancy_indexing_list_indices", np.s_[a, b, c, (1, 2, 3), ...]),
        ("test_slice_fancy_indexing_list_indices", np.s_[a, b, c, [[1], [2], [3]], ...]),
        ("test_slice_fancy_indexing_list_indices", np.s_[a, (2, 1, 0), c, (-2, 1, 0), e]),
        ("test_slice_fancy_indexing_tuple_indices", np.s_[(((0,),),)]),
        ("test_slice_fancy_indexing_tuple_indices", np.s_[(1, 0), b, c, d, :]),
        ("test_slice_fancy_indexing_tuple_indices", np.s_[a, ((2,), (1,), (0,)), c, (2, 1, 0)]),
        ("test_slice_fancy_indexing_tuple_indices", np.s_[1, (2, 1, 0), None, c, (2, 1, 0), e]),
        ("test_slice_fancy_indexing_list_with_tensors", np.s_[(a,)]),
        ("test_slice_fancy_indexing_list_with_tensors", np.s_[(a, 1)]),
        ("test_slice_fancy_indexing_list_with_tensors", np.s_[(a, (1, 1))]),
    ]


def _x():
    return T.arange(1440.0).reshape(2, 5, 6, 4, 3, 2)


# PyTorch 2.13's result of each on x = arange(1440) in shape (2, 5, 6, 4, 3, 2): the shapes,
# and every few of the picked values (which fixes where the elements went)
C.pin("test_slice_fancy_indexing", lambda: [T.tensor(list(_x()[i].shape)) for _, i in _fancy()],
      [('int64', [2, 3, 4, 5, 6, 1, 2]), ('int64', [2, 2, 3, 4, 5, 1, 1, 3, 2]), ('int64', [2, 3,
      1, 1, 1, 1, 6, 4, 3, 2]), ('int64', [2, 1, 1, 1, 6, 1, 5, 6, 4, 3]), ('int64', [1, 1, 4, 1,
      6, 1, 2, 5, 6, 3]), ('int64', [2, 3, 4, 5, 6, 1, 2]), ('int64', [2, 3, 1, 5, 6, 1, 2]),
      ('int64', [2, 3, 1, 5, 1, 1, 2]), ('int64', [2, 1, 1, 1, 6, 1, 2]), ('int64', [5, 2, 2, 1,
      1, 5, 1, 1, 2, 2]), ('int64', [1, 2, 3, 4, 5, 6, 1, 3, 2]), ('int64', [2, 3, 4, 5, 1, 1, 1,
      3, 2]), ('int64', [2, 3, 1, 5, 6, 1, 1, 3, 2]), ('int64', [1, 2, 3, 4, 5, 1, 1, 1, 4, 3,
      2]), ('int64', [2, 1, 1, 5, 6, 1, 5, 1, 3, 2]), ('int64', [1, 1, 1, 1, 1, 2, 5, 6, 4, 3,
      2]), ('int64', [1, 1, 2, 3, 4, 5, 6, 1, 3, 2]), ('int64', [1, 1, 1, 3, 4, 1, 1, 1, 1, 1, 6,
      4, 3, 2]), ('int64', [2, 1, 4, 5, 6, 1, 1, 1, 3, 2]), ('int64', [2, 1, 4, 1, 1, 1, 1, 1, 1,
      1, 6, 4, 3, 2]), ('int64', [2, 3, 1, 5, 6, 1, 1, 1, 1, 4, 3, 2]), ('int64', [2, 3, 1, 5, 1,
      1, 1, 3, 2]), ('int64', [1, 2, 3, 1, 5, 1, 1, 1, 4, 3, 2]), ('int64', [2, 5, 6, 4, 2, 1, 1,
      5, 1, 1, 1]), ('int64', [1, 5, 6, 4, 3, 2]), ('int64', [2, 3, 4, 5, 1, 1, 3, 2]), ('int64',
      [2, 3, 4, 5, 1, 1, 2]), ('int64', [2, 3, 4, 5, 1, 3, 3, 2]), ('int64', [2, 3, 4, 1, 1, 3, 3,
      2]), ('int64', [2, 3, 4, 1, 3, 1, 3, 2]), ('int64', [2, 1, 4, 1, 6, 3, 2]), ('int64', [1, 1,
      5, 6, 4, 3, 2]), ('int64', [2, 3, 4, 5, 1, 2, 3, 2]), ('int64', [2, 1, 4, 1, 3, 3, 3, 2]),
      ('int64', [1, 1, 4, 1, 6, 3, 1, 2]), ('int64', [2, 1, 1, 1, 1, 1, 5, 6, 4, 3, 2]), ('int64',
      [2, 1, 1, 1, 1, 1, 6, 4, 3, 2]), ('int64', [2, 1, 1, 1, 1, 2, 6, 4, 3, 2])])
C.pin("test_slice_fancy_indexing", lambda: [_x()[i].reshape(-1)[::max(1, _x()[i].numel() // 7)]
                                            for _, i in _fancy()], [('float32', [768.0, 823.0,
      792.0, 811.0, 24.0, 37.0, 66.0, 115.0]), ('float32', [48.0, 73.0, 26.0, 69.0, 838.0, 797.0,
      756.0, 835.0]), ('float32', [720.0, 843.0, 822.0, 801.0, 60.0, 39.0, 18.0, 141.0]),
      ('float32', [720.0, 1234.0, 1028.0, 822.0, 616.0, 410.0, 204.0, 718.0]), ('float32', [0.0,
      604.0, 1232.0, 414.0, 1030.0, 212.0, 828.0, 1432.0]), ('float32', [768.0, 823.0, 792.0,
      811.0, 744.0, 757.0, 786.0, 835.0]), ('float32', [792.0, 793.0, 804.0, 799.0, 90.0, 79.0,
      84.0, 91.0]), ('float32', [772.0, 772.0, 784.0, 778.0, 778.0, 784.0, 790.0, 772.0]),
      ('float32', [1068.0, 1069.0, 1068.0, 1069.0, 348.0, 349.0, 348.0, 349.0]), ('float32',
      [792.0, 841.0, 938.0, 1089.0, 1146.0, 1291.0, 1382.0, 1437.0]), ('float32', [144.0, 461.0,
      436.0, 507.0, 146.0, 193.0, 216.0, 509.0]), ('float32', [768.0, 822.0, 792.0, 810.0, 24.0,
      36.0, 66.0, 114.0]), ('float32', [720.0, 724.0, 770.0, 744.0, 76.0, 26.0, 48.0, 76.0]),
      ('float32', [144.0, 459.0, 438.0, 513.0, 156.0, 207.0, 234.0, 525.0]), ('float32', [720.0,
      1085.0, 748.0, 1155.0, 194.0, 649.0, 288.0, 653.0]), ('float32', [0.0, 205.0, 410.0, 615.0,
      820.0, 1025.0, 1230.0, 1435.0]), ('float32', [144.0, 461.0, 436.0, 507.0, 146.0, 193.0,
      216.0, 509.0]), ('float32', [144.0, 246.0, 492.0, 162.0, 552.0, 222.0, 468.0, 570.0]),
      ('float32', [864.0, 865.0, 1226.0, 1179.0, 220.0, 149.0, 504.0, 505.0]), ('float32', [864.0,
      884.0, 1192.0, 1212.0, 224.0, 244.0, 552.0, 572.0]), ('float32', [0.0, 17.0, 298.0, 147.0,
      452.0, 157.0, 294.0, 455.0]), ('float32', [726.0, 727.0, 776.0, 753.0, 754.0, 779.0, 774.0,
      799.0]), ('float32', [288.0, 294.0, 348.0, 330.0, 360.0, 318.0, 348.0, 378.0]), ('float32',
      [2.0, 207.0, 410.0, 615.0, 818.0, 1028.0, 1233.0, 1436.0]), ('float32', [0.0, 102.0, 204.0,
      306.0, 408.0, 510.0, 612.0, 714.0]), ('float32', [48.0, 102.0, 72.0, 90.0, 24.0, 36.0, 66.0,
      114.0]), ('float32', [50.0, 104.0, 74.0, 92.0, 26.0, 38.0, 68.0, 116.0]), ('float32',
      [768.0, 824.0, 796.0, 90.0, 26.0, 40.0, 786.0, 836.0]), ('float32', [774.0, 829.0, 812.0,
      801.0, 40.0, 71.0, 60.0, 115.0]), ('float32', [774.0, 829.0, 812.0, 801.0, 40.0, 71.0, 60.0,
      115.0]), ('float32', [1068.0, 745.0, 792.0, 967.0, 198.0, 325.0, 372.0, 97.0]), ('float32',
      [0.0, 102.0, 204.0, 306.0, 408.0, 510.0, 612.0, 714.0]), ('float32', [768.0, 823.0, 794.0,
      813.0, 748.0, 761.0, 66.0, 115.0]), ('float32', [1068.0, 1039.0, 1082.0, 975.0, 202.0,
      173.0, 78.0, 97.0]), ('float32', [1068.0, 918.0, 744.0, 1044.0, 942.0, 792.0, 1116.0,
      966.0]), ('float32', [720.0, 925.0, 1130.0, 1335.0, 100.0, 305.0, 510.0, 715.0]),
      ('float32', [864.0, 905.0, 946.0, 987.0, 164.0, 205.0, 246.0, 287.0]), ('float32', [864.0,
      946.0, 884.0, 966.0, 184.0, 266.0, 204.0, 286.0])])
for test, index in _fancy()[:5]:  # (gradients on a smaller x the same indices fit)
    C.grad(test, lambda x, i=index: x[i], (2, 2, 4, 4, 1, 1), ref=lambda x, i=index: x[
        tuple(v.numpy() if isinstance(v, tg.Tensor) else v for v in i)], max_examples=1)
C.grad("test_slice_fancy_indexing_with_tensors", lambda x: x[T.tensor([[0, 1, -1], [-1, -2, 0]]),
                                                             T.tensor([2, 1, -1])], (2, 3),
       ref=lambda x: x[np.array([[0, 1, -1], [-1, -2, 0]]), np.array([2, 1, -1])])
C.pin("test_slice_fancy_indexing_with_tensors", lambda: [
    T.arange(6.0).reshape(2, 3)[T.tensor([[0, 0, 0], [0, 0, 0]]), T.tensor(1)],
    T.arange(6.0).reshape(2, 3)[T.tensor([1]), T.tensor([[0, 0, 0], [0, 0, 0]])],
    T.arange(6.0).reshape(2, 3)[T.tensor([[0, 0, 0], [0, 0, 0]]), T.tensor([2, 1, 1])]],
      [('float32', [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]), ('float32', [[3.0, 3.0, 3.0], [3.0, 3.0,
      3.0]]), ('float32', [[2.0, 1.0, 1.0], [2.0, 1.0, 1.0]])])
C.pin("test_fancy_indexing_inf", lambda: T.tensor([inf, -inf, nan])[T.tensor([0, 1, 2])],
      ('float32', [inf, -inf, nan]))
C.raises("test_slice_fancy_indexing_errors", lambda: T.ones(10, 11, 12)[T.tensor(1.1)], IndexError)
C.raises("test_slice_fancy_indexing_errors", lambda: T.ones(10, 11, 12)[[1.1]], IndexError)
C.raises("test_slice_fancy_indexing_errors",
         lambda: T.ones(10, 11, 12)[T.tensor([True, False])], IndexError)
C.raises("test_slice_fancy_indexing_errors", lambda: T.ones(10, 11, 12)[[True, False]], IndexError)
C.raises("test_slice_fancy_indexing_errors", lambda: T.ones(10, 11, 12)[
    T.zeros(3, 1, 1, 1, dtype=T.int64), T.zeros(1, 4, 1, 1, dtype=T.int64),
    T.zeros(2, 4, 4, 1, dtype=T.int64)], IndexError)
C.pin("test_slice_fancy_indexing_errors", lambda: T.arange(30.0).reshape(5, 6)[[True, False, 2]],
      ('float32', [[6.0, 7.0, 8.0, 9.0, 10.0, 11.0], [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [12.0, 13.0,
      14.0, 15.0, 16.0, 17.0]]))

# -- gather, scatter -------------------------------------------------------------------------------

_IDX = np.random.default_rng(1).integers(0, 3, (3, 4, 5))
for dim, shape in ((0, (4, 5, 6)), (1, (4, 5, 6)), (2, (4, 5, 6)), (0, (3, 4, 5)), (-1, (4, 5, 6)),
                   (-2, (4, 5, 6)), (-3, (4, 5, 6))):
    C.grad("test_gather", lambda x, d=dim: x.gather(dim=d, index=T.tensor(_IDX)), shape,
           ref=lambda x, d=dim: np.take_along_axis(x[:3, :4, :5], _IDX, d), max_examples=2)
C.raises("test_gather", lambda: T.ones(4, 5, 6).gather(dim=0, index=T.tensor([1])), RuntimeError,
         ValueError)
C.raises("test_gather", lambda: T.ones(2, 1, 1).gather(dim=0, index=T.tensor(_IDX)),
         RuntimeError, ValueError)
C.pin_grad("test_gather", lambda x: x.gather(dim=0, index=T.tensor([2, 1, 0, 1, 2])),
           [[1.0, 2.0, 3.0]], ('float32', [3.0, 2.0, 1.0, 2.0, 3.0], [[1.0, 2.0, 2.0]]))
C.pin_grad("test_gather", lambda x: x.gather(dim=0, index=T.tensor([2, 1, 0, 1, 2])),
           [[-inf, 2.0, 3.0]], ('float32', [3.0, 2.0, -inf, 2.0, 3.0], [[1.0, 2.0, 2.0]]))


def _x456():
    return T.arange(120.0).reshape(4, 5, 6) / 10


def _s456():
    return -T.arange(120.0).reshape(4, 5, 6) / 10


C.pin("test_scatter", lambda: [_x456().scatter(dim=d, index=T.tensor(_IDX), src=_s456())
                               for d in (0, 1, 2, -1, -2, -3)], [('float32', [[[-6.0, 0.100000001,
      -6.19999981, -6.30000019, -0.400000006, 0.5], [-3.5999999, -6.69999981, 0.800000012,
      -3.9000001, -4.0, 1.10000002], [-7.19999981, 1.29999995, -7.4000001, -4.5, -1.60000002,
      1.70000005], [-7.80000019, 1.89999998, -8.0, -8.10000038, -5.19999981, 2.29999995],
      [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[-0.0, -0.100000001,
      3.20000005, -3.29999995, -6.4000001, 3.5], [-6.5999999, -3.70000005, 3.79999995, 3.9000001,
      4.0, 4.0999999], [4.19999981, -4.30000019, 4.4000001, -7.5, -4.5999999, 4.69999981],
      [-4.80000019, -1.89999998, -2.0, -5.0999999, 5.19999981, 5.30000019], [5.4000001, 5.5,
      5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[-3.0, -6.0999999, -3.20000005,
      -0.300000012, -3.4000001, 6.5], [6.5999999, -0.699999988, -6.80000019, -6.9000001, -7.0,
      7.0999999], [-1.20000005, -7.30000019, -4.4000001, -1.5, -7.5999999, 7.69999981],
      [7.80000019, -7.9000001, 8.0, 8.10000038, -8.19999981, 8.30000019], [8.39999962, 8.5,
      8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038, 9.19999981, 9.30000019,
      9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962, 10.0, 10.1000004],
      [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998], [10.8000002, 10.8999996,
      11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5, 11.6000004, 11.6999998,
      11.8000002, 11.8999996]]]), ('float32', [[[-0.600000024, 0.100000001, -1.39999998,
      -2.0999999, -2.20000005, 0.5], [-1.79999995, -1.89999998, -2.0, 0.899999976, 1.0,
      1.10000002], [-1.20000005, -0.699999988, -0.800000012, -1.5, 1.60000002, 1.70000005],
      [1.79999995, 1.89999998, 2.0, 2.0999999, 2.20000005, 2.29999995], [2.4000001, 2.5,
      2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[-4.19999981, 3.0999999, -5.0, -4.5,
      -5.19999981, 3.5], [-4.80000019, -4.30000019, 3.79999995, -5.0999999, -4.5999999,
      4.0999999], [-3.0, -4.9000001, -4.4000001, 4.5, -3.4000001, 4.69999981], [4.80000019,
      4.9000001, 5.0, 5.0999999, 5.19999981, 5.30000019], [5.4000001, 5.5, 5.5999999, 5.69999981,
      5.80000019, 5.9000001]], [[-7.80000019, -6.69999981, -8.0, -8.10000038, 6.4000001, 6.5],
      [-6.5999999, 6.69999981, 6.80000019, -7.5, -6.4000001, 7.0999999], [7.19999981, -7.9000001,
      -6.80000019, -6.9000001, -8.19999981, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038,
      8.19999981, 8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]],
      [[9.0, 9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981,
      9.80000019, 9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5,
      10.6000004, 10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002],
      [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32',
      [[[-0.400000006, -0.100000001, -0.300000012, 0.300000012, 0.400000006, 0.5], [-1.0,
      0.699999988, -0.800000012, 0.899999976, 1.0, 1.10000002], [-1.60000002, -1.29999995, -1.5,
      1.5, 1.60000002, 1.70000005], [-2.20000005, -2.0, 2.0, 2.0999999, 2.20000005, 2.29999995],
      [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[3.0, -3.29999995,
      -3.4000001, 3.29999995, 3.4000001, 3.5], [-4.0, -3.70000005, -3.79999995, 3.9000001, 4.0,
      4.0999999], [-4.5, -4.5999999, -4.4000001, 4.5, 4.5999999, 4.69999981], [-5.19999981,
      -5.0999999, -4.9000001, 5.0999999, 5.19999981, 5.30000019], [5.4000001, 5.5, 5.5999999,
      5.69999981, 5.80000019, 5.9000001]], [[-6.30000019, -6.4000001, -6.0999999, 6.30000019,
      6.4000001, 6.5], [-6.69999981, -6.5999999, -7.0, 6.9000001, 7.0, 7.0999999], [-7.4000001,
      -7.5, -7.5999999, 7.5, 7.5999999, 7.69999981], [-8.10000038, 7.9000001, -8.19999981,
      8.10000038, 8.19999981, 8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019,
      8.89999962]], [[9.0, 9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038,
      9.69999981, 9.80000019, 9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996,
      10.5, 10.6000004, 10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998,
      11.3000002], [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002, 11.8999996]]]),
      ('float32', [[[-0.400000006, -0.100000001, -0.300000012, 0.300000012, 0.400000006, 0.5],
      [-1.0, 0.699999988, -0.800000012, 0.899999976, 1.0, 1.10000002], [-1.60000002, -1.29999995,
      -1.5, 1.5, 1.60000002, 1.70000005], [-2.20000005, -2.0, 2.0, 2.0999999, 2.20000005,
      2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[3.0,
      -3.29999995, -3.4000001, 3.29999995, 3.4000001, 3.5], [-4.0, -3.70000005, -3.79999995,
      3.9000001, 4.0, 4.0999999], [-4.5, -4.5999999, -4.4000001, 4.5, 4.5999999, 4.69999981],
      [-5.19999981, -5.0999999, -4.9000001, 5.0999999, 5.19999981, 5.30000019], [5.4000001, 5.5,
      5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[-6.30000019, -6.4000001, -6.0999999,
      6.30000019, 6.4000001, 6.5], [-6.69999981, -6.5999999, -7.0, 6.9000001, 7.0, 7.0999999],
      [-7.4000001, -7.5, -7.5999999, 7.5, 7.5999999, 7.69999981], [-8.10000038, 7.9000001,
      -8.19999981, 8.10000038, 8.19999981, 8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981,
      8.80000019, 8.89999962]], [[9.0, 9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5],
      [9.60000038, 9.69999981, 9.80000019, 9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002,
      10.3999996, 10.5, 10.6000004, 10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004,
      11.1999998, 11.3000002], [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002,
      11.8999996]]]), ('float32', [[[-0.600000024, 0.100000001, -1.39999998, -2.0999999,
      -2.20000005, 0.5], [-1.79999995, -1.89999998, -2.0, 0.899999976, 1.0, 1.10000002],
      [-1.20000005, -0.699999988, -0.800000012, -1.5, 1.60000002, 1.70000005], [1.79999995,
      1.89999998, 2.0, 2.0999999, 2.20000005, 2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005,
      2.79999995, 2.9000001]], [[-4.19999981, 3.0999999, -5.0, -4.5, -5.19999981, 3.5],
      [-4.80000019, -4.30000019, 3.79999995, -5.0999999, -4.5999999, 4.0999999], [-3.0,
      -4.9000001, -4.4000001, 4.5, -3.4000001, 4.69999981], [4.80000019, 4.9000001, 5.0,
      5.0999999, 5.19999981, 5.30000019], [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019,
      5.9000001]], [[-7.80000019, -6.69999981, -8.0, -8.10000038, 6.4000001, 6.5], [-6.5999999,
      6.69999981, 6.80000019, -7.5, -6.4000001, 7.0999999], [7.19999981, -7.9000001, -6.80000019,
      -6.9000001, -8.19999981, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038, 8.19999981,
      8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0,
      9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019,
      9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004,
      10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002],
      [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32', [[[-6.0,
      0.100000001, -6.19999981, -6.30000019, -0.400000006, 0.5], [-3.5999999, -6.69999981,
      0.800000012, -3.9000001, -4.0, 1.10000002], [-7.19999981, 1.29999995, -7.4000001, -4.5,
      -1.60000002, 1.70000005], [-7.80000019, 1.89999998, -8.0, -8.10000038, -5.19999981,
      2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[-0.0,
      -0.100000001, 3.20000005, -3.29999995, -6.4000001, 3.5], [-6.5999999, -3.70000005,
      3.79999995, 3.9000001, 4.0, 4.0999999], [4.19999981, -4.30000019, 4.4000001, -7.5,
      -4.5999999, 4.69999981], [-4.80000019, -1.89999998, -2.0, -5.0999999, 5.19999981,
      5.30000019], [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[-3.0,
      -6.0999999, -3.20000005, -0.300000012, -3.4000001, 6.5], [6.5999999, -0.699999988,
      -6.80000019, -6.9000001, -7.0, 7.0999999], [-1.20000005, -7.30000019, -4.4000001, -1.5,
      -7.5999999, 7.69999981], [7.80000019, -7.9000001, 8.0, 8.10000038, -8.19999981, 8.30000019],
      [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038,
      9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962,
      10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998],
      [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5,
      11.6000004, 11.6999998, 11.8000002, 11.8999996]]])])
C.pin("test_scatter", lambda: [
    T.arange(60.0).reshape(3, 4, 5).scatter(dim=1, index=T.tensor(_IDX), src=_s456()[:3, :4, :5]),
    T.arange(300.0).reshape(10, 3, 10).scatter(dim=1, index=T.tensor(_IDX),
                                               src=T.arange(1000.0).reshape(10, 10, 10)),
    _x456().scatter(dim=1, index=T.tensor(_IDX), value=3),
    _x456().scatter(dim=1, index=T.tensor(_IDX), value=inf),
    T.tensor([1.0, 2, 3, 4]).scatter(0, T.tensor([0, 0]), T.tensor([1.0, 0.0]))], [('float32',
      [[[-0.600000024, 1.0, -1.39999998, -2.0999999, -2.20000005], [-1.79999995, -1.89999998,
      -2.0, 8.0, 9.0], [-1.20000005, -0.699999988, -0.800000012, -1.5, 14.0], [15.0, 16.0, 17.0,
      18.0, 19.0]], [[-4.19999981, 21.0, -5.0, -4.5, -5.19999981], [-4.80000019, -4.30000019,
      27.0, -5.0999999, -4.5999999], [-3.0, -4.9000001, -4.4000001, 33.0, -3.4000001], [35.0,
      36.0, 37.0, 38.0, 39.0]], [[-7.80000019, -6.69999981, -8.0, -8.10000038, 44.0], [-6.5999999,
      46.0, 47.0, -7.5, -6.4000001], [50.0, -7.9000001, -6.80000019, -6.9000001, -8.19999981],
      [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[10.0, 1.0, 22.0, 33.0, 34.0, 5.0, 6.0,
      7.0, 8.0, 9.0], [30.0, 31.0, 32.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0], [20.0, 11.0,
      12.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0]], [[120.0, 31.0, 132.0, 123.0, 134.0, 35.0,
      36.0, 37.0, 38.0, 39.0], [130.0, 121.0, 42.0, 133.0, 124.0, 45.0, 46.0, 47.0, 48.0, 49.0],
      [100.0, 131.0, 122.0, 53.0, 104.0, 55.0, 56.0, 57.0, 58.0, 59.0]], [[230.0, 211.0, 232.0,
      233.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0], [210.0, 71.0, 72.0, 223.0, 204.0, 75.0, 76.0,
      77.0, 78.0, 79.0], [80.0, 231.0, 212.0, 213.0, 234.0, 85.0, 86.0, 87.0, 88.0, 89.0]],
      [[90.0, 91.0, 92.0, 93.0, 94.0, 95.0, 96.0, 97.0, 98.0, 99.0], [100.0, 101.0, 102.0, 103.0,
      104.0, 105.0, 106.0, 107.0, 108.0, 109.0], [110.0, 111.0, 112.0, 113.0, 114.0, 115.0, 116.0,
      117.0, 118.0, 119.0]], [[120.0, 121.0, 122.0, 123.0, 124.0, 125.0, 126.0, 127.0, 128.0,
      129.0], [130.0, 131.0, 132.0, 133.0, 134.0, 135.0, 136.0, 137.0, 138.0, 139.0], [140.0,
      141.0, 142.0, 143.0, 144.0, 145.0, 146.0, 147.0, 148.0, 149.0]], [[150.0, 151.0, 152.0,
      153.0, 154.0, 155.0, 156.0, 157.0, 158.0, 159.0], [160.0, 161.0, 162.0, 163.0, 164.0, 165.0,
      166.0, 167.0, 168.0, 169.0], [170.0, 171.0, 172.0, 173.0, 174.0, 175.0, 176.0, 177.0, 178.0,
      179.0]], [[180.0, 181.0, 182.0, 183.0, 184.0, 185.0, 186.0, 187.0, 188.0, 189.0], [190.0,
      191.0, 192.0, 193.0, 194.0, 195.0, 196.0, 197.0, 198.0, 199.0], [200.0, 201.0, 202.0, 203.0,
      204.0, 205.0, 206.0, 207.0, 208.0, 209.0]], [[210.0, 211.0, 212.0, 213.0, 214.0, 215.0,
      216.0, 217.0, 218.0, 219.0], [220.0, 221.0, 222.0, 223.0, 224.0, 225.0, 226.0, 227.0, 228.0,
      229.0], [230.0, 231.0, 232.0, 233.0, 234.0, 235.0, 236.0, 237.0, 238.0, 239.0]], [[240.0,
      241.0, 242.0, 243.0, 244.0, 245.0, 246.0, 247.0, 248.0, 249.0], [250.0, 251.0, 252.0, 253.0,
      254.0, 255.0, 256.0, 257.0, 258.0, 259.0], [260.0, 261.0, 262.0, 263.0, 264.0, 265.0, 266.0,
      267.0, 268.0, 269.0]], [[270.0, 271.0, 272.0, 273.0, 274.0, 275.0, 276.0, 277.0, 278.0,
      279.0], [280.0, 281.0, 282.0, 283.0, 284.0, 285.0, 286.0, 287.0, 288.0, 289.0], [290.0,
      291.0, 292.0, 293.0, 294.0, 295.0, 296.0, 297.0, 298.0, 299.0]]]), ('float32', [[[3.0,
      0.100000001, 3.0, 3.0, 3.0, 0.5], [3.0, 3.0, 3.0, 0.899999976, 1.0, 1.10000002], [3.0, 3.0,
      3.0, 3.0, 1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0, 2.0999999, 2.20000005,
      2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[3.0,
      3.0999999, 3.0, 3.0, 3.0, 3.5], [3.0, 3.0, 3.79999995, 3.0, 3.0, 4.0999999], [3.0, 3.0, 3.0,
      4.5, 3.0, 4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999, 5.19999981, 5.30000019],
      [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[3.0, 3.0, 3.0, 3.0,
      6.4000001, 6.5], [3.0, 6.69999981, 6.80000019, 3.0, 3.0, 7.0999999], [7.19999981, 3.0, 3.0,
      3.0, 3.0, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038, 8.19999981, 8.30000019],
      [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038,
      9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962,
      10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998],
      [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5,
      11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32', [[[inf, 0.100000001, inf,
      inf, inf, 0.5], [inf, inf, inf, 0.899999976, 1.0, 1.10000002], [inf, inf, inf, inf,
      1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0, 2.0999999, 2.20000005, 2.29999995],
      [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[inf, 3.0999999, inf, inf,
      inf, 3.5], [inf, inf, 3.79999995, inf, inf, 4.0999999], [inf, inf, inf, 4.5, inf,
      4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999, 5.19999981, 5.30000019], [5.4000001,
      5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[inf, inf, inf, inf, 6.4000001, 6.5],
      [inf, 6.69999981, 6.80000019, inf, inf, 7.0999999], [7.19999981, inf, inf, inf, inf,
      7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038, 8.19999981, 8.30000019], [8.39999962,
      8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038, 9.19999981,
      9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962, 10.0,
      10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998],
      [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5,
      11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32', [0.0, 2.0, 3.0, 4.0])])
C.raises("test_scatter", lambda: T.ones(2, 3, 10).scatter(dim=1, index=T.tensor(_IDX),
                                                          src=T.ones(10, 10, 10)), RuntimeError)
C.raises("test_scatter", lambda: T.ones(3, 4, 5).scatter(dim=1, index=T.tensor(_IDX),
                                                         src=T.ones(3, 4, 5), mode="typo"),
         TypeError)
C.raises("test_scatter", lambda: T.ones(3, 4, 5).half().scatter(dim=1, index=T.tensor(_IDX),
                                                                src=T.ones(3, 4, 5)), RuntimeError)
C.grad("test_scatter", lambda x, s: x.scatter(1, T.tensor([[0, 2], [1, 0]]), s), (2, 3), (2, 2),
       ref=lambda x, s: _np_scatter(x, 1, np.array([[0, 2], [1, 0]]), s))
C.pin("test_scatter_add", lambda: [_x456().scatter(dim=1, index=T.tensor(_IDX), value=inf,
                                                 reduce="add"),
                                   _x456().scatter(1, T.tensor(_IDX), nan, reduce="add")],
      [('float32', [[[inf, 0.100000001, inf, inf, inf, 0.5], [inf, inf, inf, 0.899999976, 1.0,
      1.10000002], [inf, inf, inf, inf, 1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0,
      2.0999999, 2.20000005, 2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995,
      2.9000001]], [[inf, 3.0999999, inf, inf, inf, 3.5], [inf, inf, 3.79999995, inf, inf,
      4.0999999], [inf, inf, inf, 4.5, inf, 4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999,
      5.19999981, 5.30000019], [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]],
      [[inf, inf, inf, inf, 6.4000001, 6.5], [inf, 6.69999981, 6.80000019, inf, inf, 7.0999999],
      [7.19999981, inf, inf, inf, inf, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038,
      8.19999981, 8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]],
      [[9.0, 9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981,
      9.80000019, 9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5,
      10.6000004, 10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002],
      [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32', [[[nan,
      0.100000001, nan, nan, nan, 0.5], [nan, nan, nan, 0.899999976, 1.0, 1.10000002], [nan, nan,
      nan, nan, 1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0, 2.0999999, 2.20000005,
      2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[nan,
      3.0999999, nan, nan, nan, 3.5], [nan, nan, 3.79999995, nan, nan, 4.0999999], [nan, nan, nan,
      4.5, nan, 4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999, 5.19999981, 5.30000019],
      [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[nan, nan, nan, nan,
      6.4000001, 6.5], [nan, 6.69999981, 6.80000019, nan, nan, 7.0999999], [7.19999981, nan, nan,
      nan, nan, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038, 8.19999981, 8.30000019],
      [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038,
      9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962,
      10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998],
      [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5,
      11.6000004, 11.6999998, 11.8000002, 11.8999996]]])])
C.pin("test_scatter_mul", lambda: [_x456().scatter(dim=1, index=T.tensor(_IDX), value=inf,
                                                 reduce="multiply"),
                                   _x456().scatter(1, T.tensor(_IDX), nan, reduce="multiply")],
      [('float32', [[[nan, 0.100000001, inf, inf, inf, 0.5], [inf, inf, inf, 0.899999976, 1.0,
      1.10000002], [inf, inf, inf, inf, 1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0,
      2.0999999, 2.20000005, 2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995,
      2.9000001]], [[inf, 3.0999999, inf, inf, inf, 3.5], [inf, inf, 3.79999995, inf, inf,
      4.0999999], [inf, inf, inf, 4.5, inf, 4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999,
      5.19999981, 5.30000019], [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]],
      [[inf, inf, inf, inf, 6.4000001, 6.5], [inf, 6.69999981, 6.80000019, inf, inf, 7.0999999],
      [7.19999981, inf, inf, inf, inf, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038,
      8.19999981, 8.30000019], [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]],
      [[9.0, 9.10000038, 9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981,
      9.80000019, 9.89999962, 10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5,
      10.6000004, 10.6999998], [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002],
      [11.3999996, 11.5, 11.6000004, 11.6999998, 11.8000002, 11.8999996]]]), ('float32', [[[nan,
      0.100000001, nan, nan, nan, 0.5], [nan, nan, nan, 0.899999976, 1.0, 1.10000002], [nan, nan,
      nan, nan, 1.60000002, 1.70000005], [1.79999995, 1.89999998, 2.0, 2.0999999, 2.20000005,
      2.29999995], [2.4000001, 2.5, 2.5999999, 2.70000005, 2.79999995, 2.9000001]], [[nan,
      3.0999999, nan, nan, nan, 3.5], [nan, nan, 3.79999995, nan, nan, 4.0999999], [nan, nan, nan,
      4.5, nan, 4.69999981], [4.80000019, 4.9000001, 5.0, 5.0999999, 5.19999981, 5.30000019],
      [5.4000001, 5.5, 5.5999999, 5.69999981, 5.80000019, 5.9000001]], [[nan, nan, nan, nan,
      6.4000001, 6.5], [nan, 6.69999981, 6.80000019, nan, nan, 7.0999999], [7.19999981, nan, nan,
      nan, nan, 7.69999981], [7.80000019, 7.9000001, 8.0, 8.10000038, 8.19999981, 8.30000019],
      [8.39999962, 8.5, 8.60000038, 8.69999981, 8.80000019, 8.89999962]], [[9.0, 9.10000038,
      9.19999981, 9.30000019, 9.39999962, 9.5], [9.60000038, 9.69999981, 9.80000019, 9.89999962,
      10.0, 10.1000004], [10.1999998, 10.3000002, 10.3999996, 10.5, 10.6000004, 10.6999998],
      [10.8000002, 10.8999996, 11.0, 11.1000004, 11.1999998, 11.3000002], [11.3999996, 11.5,
      11.6000004, 11.6999998, 11.8000002, 11.8999996]]])])
C.grad("test_scatter_add", lambda x, s: x.scatter_add(1, T.tensor([[0, 0], [1, 0]]), s), (2, 3),
       (2, 2), ref=lambda x, s: _np_scatter(x, 1, np.array([[0, 0], [1, 0]]), s, np.add))
# (tinygrad's scatter(reduce=...) of a tensor src is a TypeError; PyTorch's combines)
C.pin("test_scatter_no_reduce_tensor_src", lambda: T.ones(4).scatter(
    dim=0, index=T.tensor([0]), src=T.ones(4), reduce="add"), ('float32', [2.0, 1.0, 1.0, 1.0]))
C.pin("test_scatter_reduce", lambda: [
    T.arange(60.0).reshape(3, 4, 5).scatter_reduce(dim=d, index=T.tensor(_IDX),
                                                   src=-T.arange(60.0).reshape(3, 4, 5) / 7,
                                                   reduce=r, include_self=s)
    for r in ("sum", "prod", "mean", "amax", "amin") for d in (-1, 1, -3)
    for s in (True, False)], [('float32', [[[-0.571428597, 0.857142866, 1.28571427, 3.0, 4.0],
      [1.85714281, 6.0, 5.14285707, 8.0, 9.0], [6.28571415, 9.4285717, 8.71428585, 13.0, 14.0],
      [9.71428585, 9.14285755, 17.0, 18.0, 19.0]], [[20.0, 17.7142849, 9.5714283, 23.0, 24.0],
      [13.2857151, 22.2857151, 23.1428566, 28.0, 29.0], [21.0, 21.7142849, 27.4285717, 33.0,
      34.0], [24.1428585, 25.5714283, 31.8571434, 38.0, 39.0]], [[22.1428566, 34.7142868,
      36.1428566, 43.0, 44.0], [38.4285698, 39.5714302, 26.4285698, 48.0, 49.0], [35.4285736,
      43.4285698, 37.0, 53.0, 54.0], [30.7142868, 56.0, 40.5714264, 58.0, 59.0]]]), ('float32',
      [[[-0.571428597, -0.142857149, -0.714285731, 3.0, 4.0], [-3.14285707, 6.0, -1.85714293, 8.0,
      9.0], [-3.71428585, -1.57142854, -3.28571415, 13.0, 14.0], [-5.28571415, -6.8571434, 17.0,
      18.0, 19.0]], [[20.0, -3.28571439, -12.4285717, 23.0, 24.0], [-11.7142849, -3.71428561,
      -3.85714293, 28.0, 29.0], [-9.0, -9.28571415, -4.57142878, 33.0, 34.0], [-10.8571434,
      -10.4285717, -5.14285707, 38.0, 39.0]], [[-17.8571434, -6.28571415, -5.85714293, 43.0,
      44.0], [-6.57142878, -6.42857122, -20.5714283, 48.0, 49.0], [-14.5714283, -7.57142878,
      -15.0, 53.0, 54.0], [-24.2857132, 56.0, -16.4285717, 58.0, 59.0]]]), ('float32',
      [[[-0.714285731, 1.0, 0.285714269, -0.714285731, -2.57142854], [2.85714293, 1.99999976,
      4.5714283, 8.0, 9.0], [8.5714283, 10.1428576, 10.7142859, 10.7142859, 14.0], [15.0, 16.0,
      17.0, 18.0, 19.0]], [[12.1428576, 21.0, 16.7142868, 14.2857141, 14.2857151], [20.0,
      17.8571434, 27.0, 19.2857132, 24.1428566], [27.1428566, 22.8571434, 20.4285717, 33.0,
      30.5714283], [35.0, 36.0, 37.0, 38.0, 39.0]], [[19.2857132, 34.4285698, 20.4285698,
      28.5714302, 44.0], [38.5714302, 46.0, 47.0, 40.4285698, 42.7142868], [50.0, 29.8571434,
      45.2857132, 46.1428566, 30.8571415], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32',
      [[[-0.714285731, 1.0, -1.71428573, -3.71428585, -6.5714283], [-2.14285707, -4.0,
      -2.42857146, 8.0, 9.0], [-1.42857146, -0.857142866, -1.28571427, -2.28571415, 14.0], [15.0,
      16.0, 17.0, 18.0, 19.0]], [[-7.85714245, 21.0, -5.28571415, -8.71428585, -9.71428585],
      [-5.0, -8.1428566, 27.0, -8.71428585, -4.85714293], [-2.85714293, -8.1428566, -11.5714283,
      33.0, -3.42857146], [35.0, 36.0, 37.0, 38.0, 39.0]], [[-20.7142868, -6.57142878,
      -21.5714302, -14.4285717, 44.0], [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0,
      -21.1428566, -6.71428585, -6.85714293, -23.1428566], [55.0, 56.0, 57.0, 58.0, 59.0]]]),
      ('float32', [[[-5.71428585, 1.0, -4.0, -3.14285707, 3.42857146], [0.714285612, -0.571428776,
      7.0, 2.85714293, 3.57142878], [-1.42857122, 11.0, 2.85714293, 8.28571415, 12.0],
      [7.14285707, 16.0, 3.5714283, 7.14285755, 10.7142868]], [[20.0, 20.8571434, 22.0,
      19.7142849, 17.7142868], [18.5714283, 22.2857151, 27.0, 28.0, 29.0], [30.0, 25.0, 32.0,
      25.4285717, 29.1428566], [27.8571434, 33.7142868, 34.5714302, 32.5714302, 39.0]],
      [[37.1428566, 32.1428566, 38.5714302, 42.5714302, 40.5714302], [45.0, 45.1428566,
      35.4285698, 41.1428566, 42.0], [48.5714302, 43.7142868, 47.4285698, 51.1428566, 46.2857132],
      [55.0, 42.8571434, 57.0, 58.0, 50.5714264]]]), ('float32', [[[-5.71428585, 1.0, -6.0,
      -6.14285707, -0.571428597], [-4.28571415, -6.57142878, 7.0, -5.14285707, -5.42857122],
      [-11.4285717, 11.0, -9.1428566, -4.71428585, -2.0], [-7.85714293, 16.0, -13.4285717,
      -10.8571424, -8.28571415]], [[0.0, -0.142857149, 22.0, -3.28571439, -6.28571415],
      [-6.42857122, -3.71428561, 27.0, 28.0, 29.0], [30.0, -6.0, 32.0, -7.57142878, -4.85714293],
      [-7.14285707, -2.28571439, -2.42857146, -5.42857122, 39.0]], [[-2.85714293, -8.8571434,
      -3.42857146, -0.428571433, -3.42857146], [45.0, -0.857142866, -11.5714283, -6.85714293,
      -7.0], [-1.42857146, -7.28571415, -4.57142878, -1.85714281, -7.71428585], [55.0,
      -13.1428566, 57.0, 58.0, -8.4285717]]]), ('float32', [[[-0.0, 0.0, 0.244897977, 3.0, 4.0],
      [-5.2478137, 6.0, 6.0, 8.0, 9.0], [34.2857132, -17.2857132, 31.8367329, 13.0, 14.0],
      [104.693871, -190.320709, 17.0, 18.0, 19.0]], [[20.0, -69.0, 2031.95325, 23.0, 24.0],
      [-1479.5918, -96.5714264, -104.14286, 28.0, 29.0], [606.122437, 666.816284, -146.285721,
      33.0, 34.0], [1030.71436, 977.142822, -190.285706, 38.0, 39.0]], [[-8424.49023, -257.714294,
      -246.0, 43.0, 44.0], [-295.714294, -295.714264, -15147.4297, 48.0, 49.0], [2653.06104,
      -386.142853, 2922.6123, 53.0, 54.0], [-29156.4141, 56.0, 3843.42871, 58.0, 59.0]]]),
      ('float32', [[[-0.571428597, 0.0, 0.122448988, 3.0, 4.0], [-1.04956269, 6.0, 0.857142866,
      8.0, 9.0], [3.42857146, -1.57142854, 2.65306115, 13.0, 14.0], [6.97959137, -11.8950443,
      17.0, 18.0, 19.0]], [[20.0, -3.28571439, 92.3615112, 23.0, 24.0], [-59.18367, -3.71428561,
      -3.85714293, 28.0, 29.0], [20.2040825, 21.5102043, -4.57142878, 33.0, 34.0], [29.4489803,
      27.1428566, -5.14285707, 38.0, 39.0]], [[-210.612228, -6.28571415, -5.85714293, 43.0, 44.0],
      [-6.57142878, -6.42857122, -322.285706, 48.0, 49.0], [53.0612221, -7.57142878, 56.2040825,
      53.0, 54.0], [-530.116638, 56.0, 67.4285736, 58.0, 59.0]]]), ('float32', [[[-0.0, 1.0,
      -3.42857146, 8.8163271, 15.953352], [0.0, -3.07871747, -17.0, 8.0, 9.0], [-14.2857151,
      -9.4285717, 3.4285717, 10.3469391, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]], [[306.122437,
      21.0, -116.285713, 433.714294, 553.959229], [-125.0, 427.673431, 27.0, 499.428558,
      -140.857147], [-85.7142868, 478.285706, -1773.34119, 33.0, -116.571426], [35.0, 36.0, 37.0,
      38.0, 39.0]], [[-12827.9893, -269.428589, -15243.4297, 2188.61206, 44.0], [-289.285706,
      46.0, 47.0, -363.428589, -308.0], [50.0, -17410.7754, -349.142853, -363.428589,
      -24577.7148], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-0.714285731, 1.0,
      -1.71428573, 2.93877554, 3.98833799], [0.0, -0.513119578, -2.42857146, 8.0, 9.0],
      [-1.42857146, -0.857142866, 0.285714298, 0.795918345, 14.0], [15.0, 16.0, 17.0, 18.0,
      19.0]], [[15.3061218, 21.0, -5.28571415, 18.8571434, 23.0816326], [-5.0, 16.4489784, 27.0,
      17.8367348, -4.85714293], [-2.85714293, 15.4285717, -55.4169121, 33.0, -3.42857146], [35.0,
      36.0, 37.0, 38.0, 39.0]], [[-320.699707, -6.57142878, -362.938782, 50.8979568, 44.0],
      [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0, -341.387756, -6.71428585,
      -6.85714293, -455.142883], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-0.0, 1.0,
      -12.0, -18.4285717, -2.28571439], [12.7551031, -39.4285736, 7.0, 36.5714302, 47.9387741],
      [306.122437, 11.0, 152.816315, -61.285717, -28.0], [-117.857147, 16.0, 731.693909,
      383.510193, 287.326538]], [[-0.0, -3.00000024, 22.0, -75.571434, -150.857147], [-160.714279,
      -96.5714264, 27.0, 28.0, 29.0], [30.0, 215.734665, 32.0, -249.857147, -165.142853], [375.0,
      -82.2857208, -89.8571472, -206.285706, 39.0]], [[-114.285721, 720.428589, 37.7142868,
      -18.4285717, -150.857147], [45.0, -39.4285736, -1217.2041, -329.142853, -343.0],
      [-71.4285736, -371.571411, -237.714294, -98.428566, -416.571442], [55.0, 2304.0, 57.0, 58.0,
      -497.285736]]]), ('float32', [[[-5.71428585, 1.0, -6.0, -6.14285707, -0.571428597],
      [2.55102038, -6.57142878, 7.0, 4.57142878, 5.32653046], [30.6122437, 11.0, 12.7346935,
      -4.71428585, -2.0], [-7.85714293, 16.0, 43.0408173, 21.3061218, 15.1224489]], [[-0.0,
      -0.142857149, 22.0, -3.28571439, -6.28571415], [-6.42857122, -3.71428561, 27.0, 28.0, 29.0],
      [30.0, 6.95918322, 32.0, -7.57142878, -4.85714293], [10.7142849, -2.28571439, -2.42857146,
      -5.42857122, 39.0]], [[-2.85714293, 17.5714283, 0.897959232, -0.428571433, -3.42857146],
      [45.0, -0.857142866, -25.8979607, -6.85714293, -7.0], [-1.42857146, -7.28571415,
      -4.57142878, -1.85714281, -7.71428585], [55.0, 41.1428566, 57.0, 58.0, -8.4285717]]]),
      ('float32', [[[-0.285714298, 0.285714298, 0.428571433, 3.0, 4.0], [0.464285702, 6.0,
      1.71428573, 8.0, 9.0], [2.09523797, 4.71428585, 2.90476203, 13.0, 14.0], [3.23809528,
      2.28571439, 17.0, 18.0, 19.0]], [[20.0, 8.85714245, 1.91428566, 23.0, 24.0], [3.32142878,
      11.1428576, 11.5714283, 28.0, 29.0], [7.0, 7.23809481, 13.7142859, 33.0, 34.0], [8.04761982,
      8.52380943, 15.9285717, 38.0, 39.0]], [[5.53571415, 17.3571434, 18.0714283, 43.0, 44.0],
      [19.2142849, 19.7857151, 6.60714245, 48.0, 49.0], [11.8095245, 21.7142849, 12.333333, 53.0,
      54.0], [7.6785717, 56.0, 13.5238085, 58.0, 59.0]]]), ('float32', [[[-0.571428597,
      -0.0714285746, -0.357142866, 3.0, 4.0], [-1.04761899, 6.0, -0.928571463, 8.0, 9.0],
      [-1.85714293, -1.57142854, -1.64285707, 13.0, 14.0], [-2.64285707, -2.28571439, 17.0, 18.0,
      19.0]], [[20.0, -3.28571439, -3.10714293, 23.0, 24.0], [-3.90476155, -3.71428561,
      -3.85714293, 28.0, 29.0], [-4.5, -4.64285707, -4.57142878, 33.0, 34.0], [-5.4285717,
      -5.21428585, -5.14285707, 38.0, 39.0]], [[-5.95238113, -6.28571415, -5.85714293, 43.0,
      44.0], [-6.57142878, -6.42857122, -6.85714293, 48.0, 49.0], [-7.28571415, -7.57142878, -7.5,
      53.0, 54.0], [-8.09523773, 56.0, -8.21428585, 58.0, 59.0]]]), ('float32', [[[-0.357142866,
      1.0, 0.142857134, -0.238095239, -0.514285684], [0.952380955, 0.49999994, 2.28571415, 8.0,
      9.0], [4.28571415, 5.07142878, 3.57142854, 3.57142854, 14.0], [15.0, 16.0, 17.0, 18.0,
      19.0]], [[4.04761934, 21.0, 8.3571434, 4.76190472, 4.76190519], [10.0, 5.95238113, 27.0,
      6.42857122, 12.0714283], [13.5714283, 7.61904764, 5.10714293, 33.0, 15.2857141], [35.0,
      36.0, 37.0, 38.0, 39.0]], [[4.8214283, 17.2142849, 5.10714245, 9.52381039, 44.0],
      [19.2857151, 46.0, 47.0, 20.2142849, 21.3571434], [50.0, 7.46428585, 22.6428566, 23.0714283,
      7.71428537], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-0.714285731, 1.0,
      -1.71428573, -1.85714293, -1.64285707], [-1.07142854, -1.33333337, -2.42857146, 8.0, 9.0],
      [-1.42857146, -0.857142866, -0.642857134, -1.14285707, 14.0], [15.0, 16.0, 17.0, 18.0,
      19.0]], [[-3.92857122, 21.0, -5.28571415, -4.35714293, -4.85714293], [-5.0, -4.0714283,
      27.0, -4.35714293, -4.85714293], [-2.85714293, -4.0714283, -3.85714269, 33.0, -3.42857146],
      [35.0, 36.0, 37.0, 38.0, 39.0]], [[-6.90476227, -6.57142878, -7.19047689, -7.21428585,
      44.0], [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0, -7.04761887, -6.71428585,
      -6.85714293, -7.71428537], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-2.85714293,
      1.0, -2.0, -1.57142854, 1.71428573], [0.238095209, -0.285714388, 7.0, 0.952380955,
      1.1904763], [-0.476190418, 11.0, 0.952380955, 4.14285707, 6.0], [3.57142854, 16.0,
      1.19047606, 2.3809526, 3.57142901]], [[10.0, 10.4285717, 22.0, 9.85714245, 8.8571434],
      [9.28571415, 11.1428576, 27.0, 28.0, 29.0], [30.0, 8.33333302, 32.0, 12.7142859,
      14.5714283], [9.28571415, 16.8571434, 17.2857151, 16.2857151, 39.0]], [[18.5714283,
      10.7142859, 12.8571434, 21.2857151, 20.2857151], [45.0, 22.5714283, 8.85714245, 20.5714283,
      21.0], [24.2857151, 21.8571434, 23.7142849, 25.5714283, 23.1428566], [55.0, 14.2857141,
      57.0, 58.0, 25.2857132]]]), ('float32', [[[-5.71428585, 1.0, -6.0, -6.14285707,
      -0.571428597], [-2.14285707, -6.57142878, 7.0, -2.57142854, -2.71428561], [-5.71428585,
      11.0, -4.5714283, -4.71428585, -2.0], [-7.85714293, 16.0, -6.71428585, -5.42857122,
      -4.14285707]], [[0.0, -0.142857149, 22.0, -3.28571439, -6.28571415], [-6.42857122,
      -3.71428561, 27.0, 28.0, 29.0], [30.0, -3.0, 32.0, -7.57142878, -4.85714293], [-3.57142854,
      -2.28571439, -2.42857146, -5.42857122, 39.0]], [[-2.85714293, -4.4285717, -1.71428573,
      -0.428571433, -3.42857146], [45.0, -0.857142866, -3.85714269, -6.85714293, -7.0],
      [-1.42857146, -7.28571415, -4.57142878, -1.85714281, -7.71428585], [55.0, -6.5714283, 57.0,
      58.0, -8.4285717]]]), ('float32', [[[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0],
      [10.0, 11.0, 12.0, 13.0, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]], [[20.0, 21.0, 22.0, 23.0,
      24.0], [25.0, 26.0, 27.0, 28.0, 29.0], [30.0, 31.0, 32.0, 33.0, 34.0], [35.0, 36.0, 37.0,
      38.0, 39.0]], [[40.0, 41.0, 42.0, 43.0, 44.0], [45.0, 46.0, 47.0, 48.0, 49.0], [50.0, 51.0,
      52.0, 53.0, 54.0], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-0.571428597, -0.0,
      -0.285714298, 3.0, 4.0], [-0.714285731, 6.0, -0.857142866, 8.0, 9.0], [-1.71428573,
      -1.57142854, -1.42857146, 13.0, 14.0], [-2.57142854, -2.14285707, 17.0, 18.0, 19.0]],
      [[20.0, -3.28571439, -2.85714293, 23.0, 24.0], [-3.57142854, -3.71428561, -3.85714293, 28.0,
      29.0], [-4.28571415, -4.42857122, -4.57142878, 33.0, 34.0], [-5.28571415, -5.0, -5.14285707,
      38.0, 39.0]], [[-5.71428585, -6.28571415, -5.85714293, 43.0, 44.0], [-6.57142878,
      -6.42857122, -6.71428585, 48.0, 49.0], [-7.14285707, -7.57142878, -7.28571415, 53.0, 54.0],
      [-7.85714293, 56.0, -8.0, 58.0, 59.0]]]), ('float32', [[[0.0, 1.0, 2.0, 3.0, 4.0], [5.0,
      6.0, 7.0, 8.0, 9.0], [10.0, 11.0, 12.0, 13.0, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]],
      [[20.0, 21.0, 22.0, 23.0, 24.0], [25.0, 26.0, 27.0, 28.0, 29.0], [30.0, 31.0, 32.0, 33.0,
      34.0], [35.0, 36.0, 37.0, 38.0, 39.0]], [[40.0, 41.0, 42.0, 43.0, 44.0], [45.0, 46.0, 47.0,
      48.0, 49.0], [50.0, 51.0, 52.0, 53.0, 54.0], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32',
      [[[-0.714285731, 1.0, -1.71428573, -1.14285719, -0.571428597], [-0.0, -0.142857149,
      -2.42857146, 8.0, 9.0], [-1.42857146, -0.857142866, -0.285714298, -0.428571433, 14.0],
      [15.0, 16.0, 17.0, 18.0, 19.0]], [[-3.57142854, 21.0, -5.28571415, -4.0, -4.14285707],
      [-5.0, -3.71428561, 27.0, -3.28571439, -4.85714293], [-2.85714293, -3.0, -3.14285707, 33.0,
      -3.42857146], [35.0, 36.0, 37.0, 38.0, 39.0]], [[-5.71428585, -6.57142878, -6.0,
      -6.14285707, 44.0], [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0, -5.85714293,
      -6.71428585, -6.85714293, -7.0], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[0.0, 1.0,
      2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0], [10.0, 11.0, 12.0, 13.0, 14.0], [15.0, 16.0,
      17.0, 18.0, 19.0]], [[20.0, 21.0, 22.0, 23.0, 24.0], [25.0, 26.0, 27.0, 28.0, 29.0], [30.0,
      31.0, 32.0, 33.0, 34.0], [35.0, 36.0, 37.0, 38.0, 39.0]], [[40.0, 41.0, 42.0, 43.0, 44.0],
      [45.0, 46.0, 47.0, 48.0, 49.0], [50.0, 51.0, 52.0, 53.0, 54.0], [55.0, 56.0, 57.0, 58.0,
      59.0]]]), ('float32', [[[-5.71428585, 1.0, -6.0, -6.14285707, -0.571428597], [-0.714285731,
      -6.57142878, 7.0, -1.14285719, -1.28571427], [-4.28571415, 11.0, -1.71428573, -4.71428585,
      -2.0], [-7.85714293, 16.0, -5.28571415, -2.57142854, -2.71428561]], [[-0.0, -0.142857149,
      22.0, -3.28571439, -6.28571415], [-6.42857122, -3.71428561, 27.0, 28.0, 29.0], [30.0,
      -1.57142854, 32.0, -7.57142878, -4.85714293], [-2.14285707, -2.28571439, -2.42857146,
      -5.42857122, 39.0]], [[-2.85714293, -3.0, -0.285714298, -0.428571433, -3.42857146], [45.0,
      -0.857142866, -1.0, -6.85714293, -7.0], [-1.42857146, -7.28571415, -4.57142878, -1.85714281,
      -7.71428585], [55.0, -5.14285707, 57.0, 58.0, -8.4285717]]]), ('float32', [[[-0.571428597,
      -0.142857149, -0.428571433, 3.0, 4.0], [-1.28571427, 6.0, -1.0, 8.0, 9.0], [-2.0,
      -1.57142854, -1.85714281, 13.0, 14.0], [-2.71428561, -2.42857146, 17.0, 18.0, 19.0]],
      [[20.0, -3.28571439, -3.42857146, 23.0, 24.0], [-4.14285707, -3.71428561, -3.85714293, 28.0,
      29.0], [-4.71428585, -4.85714293, -4.57142878, 33.0, 34.0], [-5.57142878, -5.42857122,
      -5.14285707, 38.0, 39.0]], [[-6.14285707, -6.28571415, -5.85714293, 43.0, 44.0],
      [-6.57142878, -6.42857122, -7.0, 48.0, 49.0], [-7.42857122, -7.57142878, -7.71428585, 53.0,
      54.0], [-8.28571415, 56.0, -8.4285717, 58.0, 59.0]]]), ('float32', [[[-0.571428597,
      -0.142857149, -0.428571433, 3.0, 4.0], [-1.28571427, 6.0, -1.0, 8.0, 9.0], [-2.0,
      -1.57142854, -1.85714281, 13.0, 14.0], [-2.71428561, -2.42857146, 17.0, 18.0, 19.0]],
      [[20.0, -3.28571439, -3.42857146, 23.0, 24.0], [-4.14285707, -3.71428561, -3.85714293, 28.0,
      29.0], [-4.71428585, -4.85714293, -4.57142878, 33.0, 34.0], [-5.57142878, -5.42857122,
      -5.14285707, 38.0, 39.0]], [[-6.14285707, -6.28571415, -5.85714293, 43.0, 44.0],
      [-6.57142878, -6.42857122, -7.0, 48.0, 49.0], [-7.42857122, -7.57142878, -7.71428585, 53.0,
      54.0], [-8.28571415, 56.0, -8.4285717, 58.0, 59.0]]]), ('float32', [[[-0.714285731, 1.0,
      -1.71428573, -2.57142854, -2.71428561], [-2.14285707, -2.28571439, -2.42857146, 8.0, 9.0],
      [-1.42857146, -0.857142866, -1.0, -1.85714281, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]],
      [[-4.28571415, 21.0, -5.28571415, -4.71428585, -5.57142878], [-5.0, -4.42857122, 27.0,
      -5.42857122, -4.85714293], [-2.85714293, -5.14285707, -4.57142878, 33.0, -3.42857146],
      [35.0, 36.0, 37.0, 38.0, 39.0]], [[-7.85714293, -6.57142878, -8.14285755, -8.28571415,
      44.0], [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0, -8.0, -6.71428585,
      -6.85714293, -8.4285717], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-0.714285731,
      1.0, -1.71428573, -2.57142854, -2.71428561], [-2.14285707, -2.28571439, -2.42857146, 8.0,
      9.0], [-1.42857146, -0.857142866, -1.0, -1.85714281, 14.0], [15.0, 16.0, 17.0, 18.0, 19.0]],
      [[-4.28571415, 21.0, -5.28571415, -4.71428585, -5.57142878], [-5.0, -4.42857122, 27.0,
      -5.42857122, -4.85714293], [-2.85714293, -5.14285707, -4.57142878, 33.0, -3.42857146],
      [35.0, 36.0, 37.0, 38.0, 39.0]], [[-7.85714293, -6.57142878, -8.14285755, -8.28571415,
      44.0], [-6.42857122, 46.0, 47.0, -7.57142878, -6.28571415], [50.0, -8.0, -6.71428585,
      -6.85714293, -8.4285717], [55.0, 56.0, 57.0, 58.0, 59.0]]]), ('float32', [[[-5.71428585,
      1.0, -6.0, -6.14285707, -0.571428597], [-3.57142854, -6.57142878, 7.0, -4.0, -4.14285707],
      [-7.14285707, 11.0, -7.42857122, -4.71428585, -2.0], [-7.85714293, 16.0, -8.14285755,
      -8.28571415, -5.57142878]], [[-0.0, -0.142857149, 22.0, -3.28571439, -6.28571415],
      [-6.42857122, -3.71428561, 27.0, 28.0, 29.0], [30.0, -4.42857122, 32.0, -7.57142878,
      -4.85714293], [-5.0, -2.28571439, -2.42857146, -5.42857122, 39.0]], [[-2.85714293,
      -5.85714293, -3.14285707, -0.428571433, -3.42857146], [45.0, -0.857142866, -6.71428585,
      -6.85714293, -7.0], [-1.42857146, -7.28571415, -4.57142878, -1.85714281, -7.71428585],
      [55.0, -8.0, 57.0, 58.0, -8.4285717]]]), ('float32', [[[-5.71428585, 1.0, -6.0, -6.14285707,
      -0.571428597], [-3.57142854, -6.57142878, 7.0, -4.0, -4.14285707], [-7.14285707, 11.0,
      -7.42857122, -4.71428585, -2.0], [-7.85714293, 16.0, -8.14285755, -8.28571415,
      -5.57142878]], [[-0.0, -0.142857149, 22.0, -3.28571439, -6.28571415], [-6.42857122,
      -3.71428561, 27.0, 28.0, 29.0], [30.0, -4.42857122, 32.0, -7.57142878, -4.85714293], [-5.0,
      -2.28571439, -2.42857146, -5.42857122, 39.0]], [[-2.85714293, -5.85714293, -3.14285707,
      -0.428571433, -3.42857146], [45.0, -0.857142866, -6.71428585, -6.85714293, -7.0],
      [-1.42857146, -7.28571415, -4.57142878, -1.85714281, -7.71428585], [55.0, -8.0, 57.0, 58.0,
      -8.4285717]]])], rtol=1e-5)
C.pin("test_scatter_reduce_prod_zeros", lambda: T.zeros([4, 5, 6]).scatter_reduce(
    dim=1, index=T.tensor(_IDX), src=T.arange(60.0).reshape(3, 4, 5) - 7, reduce="prod"),
      ('float32', [[[-0.0, 0.0, 0.0, 0.0, -0.0, 0.0], [-0.0, -0.0, 0.0, 0.0, 0.0, 0.0], [0.0,
      -0.0, -0.0, -0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0,
      0.0]], [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0,
      0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0,
      0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0,
      0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0,
      0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]))
C.raises("test_scatter_reduce_errors", lambda: T.ones(4, 5, 6).scatter_reduce(
    dim=0, index=T.tensor(_IDX), src=T.ones(4, 5, 6), reduce="INVALID"), RuntimeError)
C.raises("test_scatter_reduce_errors", lambda: T.ones(4, 5, 6).half().scatter_reduce(
    dim=0, index=T.tensor(_IDX), src=T.ones(4, 5, 6), reduce="sum"), RuntimeError)
for reduce in ("sum", "mean"):
    for include_self in (True, False):
        C.grad("test_scatter_reduce", lambda x, s, r=reduce, i=include_self: x.scatter_reduce(
            0, T.tensor([0, 0, 2]), s, r, include_self=i), (3,), (3,),
            ref=lambda x, s, r=reduce, i=include_self: _np_reduce(x, s, r, i))


def _np_scatter(x, dim, index, src, ufunc=None):
    full = list(np.indices(index.shape, sparse=True))
    full[dim] = index
    out = x.copy()
    if ufunc is None:
        out[tuple(full)] = src[tuple(slice(0, k) for k in index.shape)]
    else:
        ufunc.at(out, tuple(full), src[tuple(slice(0, k) for k in index.shape)])
    return out


def _np_reduce(x, s, reduce, include_self):
    """scatter_reduce of s into x at [0, 0, 2] (dim 0)."""
    out = x.copy()
    groups = {0: [s[0], s[1]], 2: [s[2]]}
    for k, vals in groups.items():
        items = ([x[k]] if include_self else []) + vals
        out[k] = sum(items) / (len(items) if reduce == "mean" else 1)
    return out


# -- masks, casts ----------------------------------------------------------------------------------

C.grad("test_masked_fill", lambda x: x.masked_fill((x > 0.1).detach(), -inf)[x <= 0.1], (4, 3),
       ref=lambda x: x[x <= 0.1], avoid=[0.1])
C.pin_grad("test_masked_fill", lambda x: x.masked_fill((x < 0.1).detach(), -inf),
           [[0.5, -1.0, 0.05, 2.0]], ('float32', [0.5, -inf, -inf, 2.0], [[1.0, 0.0, 0.0, 1.0]]))
C.grad("test_masked_select", lambda x: x.masked_select(x > 0.5), (4, 3), ref=lambda x: x[x > 0.5],
       avoid=[0.5])
C.pin("test_masked_select", lambda: T.tensor([[0.5, -1.0], [2.0, 0.0]]).masked_select(
    T.tensor(True)), ('float32', [0.5, -1.0, 2.0, 0.0]))
C.pin("test_nonzero", lambda: [(T.tensor([[0.3, 0.7], [0.9, 0.1]]) > 0.5).nonzero(),
                               (T.tensor([0.3, 0.7, 0.9]) > 0.5).nonzero(),
                               (T.arange(8.0).reshape(2, 2, 2) > 2.5).nonzero()]
      + [T.tensor(v).nonzero() for v in (0, 1, 0.0, 2.5, True, False)], [('int64', [[0, 1], [1,
      0]]), ('int64', [[1], [2]]), ('int64', [[0, 1, 1], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1,
      1]]), ('int64', empty(0, 0)), ('int64', empty(1, 0)), ('int64', empty(0, 0)), ('int64',
      empty(1, 0)), ('int64', empty(1, 0)), ('int64', empty(0, 0))])
C.pin_grad("test_cast", lambda x: x.double().float(), [[0.5, -1.25]], ('float32', [0.5, -1.25],
      [[1.0, 1.0]]))
C.pin("test_cast", lambda: [T.tensor([0, 1, 2, 3]).float(), T.tensor([True, False]).float(),
                            T.tensor([[1.5, -0.7], [0.0, 2.9]]).int(),
                            T.tensor([[1.5, -0.7], [0.0, 2.9]]).bool()], [('float32', [0.0, 1.0,
      2.0, 3.0]), ('float32', [1.0, 0.0]), ('int32', [[1, 0], [0, 2]]), ('bool', [[True, True],
      [False, True]])])
C.pin("test_bitcast", lambda: T.tensor([[1.5, -2.0], [0.0, 3.25]]).view(T.int32), ('int32',
      [[1069547520, -1073741824], [0, 1078984704]]))

test_gradients, test_pytorch_values, test_pytorch_errors = make_tests(C)
