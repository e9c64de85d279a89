"""PyTorch's everyday names that are other ops renamed or a few ops together
(tinygrad_reg/ops/compose.py): comparisons by name, view_as and the other shape helpers,
addcmul/addmm and the products, nansum/nanmean, aminmax, kthvalue, median, quantile.

Gradients (first and second, float64, Hypothesis) through ``tg.testing.check_op``; the
conventions where PyTorch's choice matters (ties, nan, the clamp's edge, interpolation) as
values and gradients that PyTorch 2.13 gave for the same expressions; bad input as the
exception classes PyTorch raises (with our messages)."""

from __future__ import annotations

import numpy as np
import pytest
from _surface import Cases, T, inf, make_tests, nan
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S

C = Cases()


def distinct(shape, low=-2.0, high=2.0):
    """float64 tensors whose values are pairwise apart (no tie: median, kthvalue, quantile)."""
    return S.distinct_arrays(shape, low=low, high=high, gap=0.02).map(
        lambda a: tg.Tensor(a, requires_grad=True))


# -- gradients ---------------------------------------------------------------------------------

C.grad("addcmul", lambda x, a, b: x.addcmul(a, b, value=0.5), (2, 3), (2, 3), (3,),
       ref=lambda x, a, b: x + 0.5 * a * b)
C.grad("addcdiv", lambda x, a, b: T.addcdiv(x, a, b, value=2), (2, 3), (2, 3), (3,),
       positive=True, ref=lambda x, a, b: x + 2 * a / b)
C.grad("logit", lambda x: x.logit(), (4,), low=0.05, high=0.95,
       ref=lambda x: np.log(x / (1 - x)))
C.grad("logit_eps", lambda x: x.logit(eps=0.2), (4,), low=0.05, high=0.95, avoid=[0.2, 0.8],
       margin=0.02, ref=lambda x: np.log(np.clip(x, 0.2, 0.8) / (1 - np.clip(x, 0.2, 0.8))))
C.grad("nan_to_num", lambda x: x.nan_to_num(), (2, 3), ref=lambda x: x, may_alias=True)
C.grad("deg2rad", lambda x: x.deg2rad(), (3,), ref=lambda x: x * np.pi / 180)
C.grad("rad2deg", lambda x: T.rad2deg(x), (3,), ref=lambda x: x * 180 / np.pi)
C.grad("subtract", lambda a, b: a.subtract(b, alpha=3), (2, 3), (3,), ref=lambda a, b: a - 3 * b)
C.grad("clamp_min", lambda x: x.clamp_min(0.5), (5,), avoid=[0.5],
       ref=lambda x: np.maximum(x, 0.5))
C.grad("clamp_max", lambda x: T.clamp_max(x, -0.5), (5,), avoid=[-0.5],
       ref=lambda x: np.minimum(x, -0.5))
C.grad("view_as", lambda x: x.view_as(tg.zeros(3, 2)), (2, 3), ref=lambda x: x.reshape(3, 2),
       may_alias=True)
C.grad("reshape_as", lambda x: x.t().reshape_as(tg.zeros(6)), (2, 3), ref=lambda x: x.T.ravel(),
       may_alias=True)
C.grad("ravel", lambda x: x.ravel(), (2, 3, 2), ref=lambda x: x.ravel(),
       may_alias=True)
C.grad("swapaxes", lambda x: x.swapaxes(0, 2), (2, 3, 4), ref=lambda x: x.swapaxes(0, 2),
       may_alias=True)
C.grad("movedim", lambda x: x.movedim((0, 1), (2, 0)), (2, 3, 4),
       ref=lambda x: np.moveaxis(x, (0, 1), (2, 0)), may_alias=True)
C.grad("moveaxis", lambda x: T.moveaxis(x, -1, 0), (2, 3, 4),
       ref=lambda x: np.moveaxis(x, -1, 0), may_alias=True)
C.grad("narrow", lambda x: x.narrow(1, -3, 2), (2, 4), ref=lambda x: x[:, 1:3], may_alias=True)
C.grad("select", lambda x: x.select(1, -1), (2, 3, 4), ref=lambda x: x[:, -1], may_alias=True)
C.grad("tile", lambda x: x.tile(2), (2, 3), ref=lambda x: np.tile(x, 2))
C.grad("tile", lambda x: T.tile(x, (2, 1, 3)), (2, 3), ref=lambda x: np.tile(x, (2, 1, 3)))
C.grad("flipud", lambda x: x.flipud(), (3, 2), ref=lambda x: x[::-1], may_alias=True)
C.grad("fliplr", lambda x: T.fliplr(x), (3, 2), ref=lambda x: x[:, ::-1], may_alias=True)
C.grad("take_along_dim", lambda x: x.take_along_dim(tg.tensor([[0], [2], [1]]), 1), (3, 3),
       ref=lambda x: np.take_along_axis(x, np.array([[0], [2], [1]]), 1))
C.grad("take_along_dim", lambda x: T.take_along_dim(x, tg.tensor([[2, 0, 0]]), 0), (3, 3),
       ref=lambda x: np.take_along_axis(x, np.array([[2, 0, 0]]), 0))
C.grad("take_along_dim", lambda x: x.take_along_dim(tg.tensor([5, 0, 5])), (2, 3),
       ref=lambda x: x.ravel()[[5, 0, 5]])
C.grad("dot", lambda a, b: a.dot(b), (4,), (4,), ref=lambda a, b: np.dot(a, b))
C.grad("inner", lambda a, b: a.inner(b), (2, 3), (4, 3), ref=lambda a, b: np.inner(a, b))
C.grad("outer", lambda a, b: T.outer(a, b), (3,), (2,), ref=lambda a, b: np.outer(a, b))
C.grad("mv", lambda m, v: m.mv(v), (2, 3), (3,), ref=lambda m, v: m @ v)
C.grad("addmm", lambda x, a, b: x.addmm(a, b, beta=0.5, alpha=2), (3,), (2, 4), (4, 3),
       ref=lambda x, a, b: 0.5 * x + 2 * (a @ b))
C.grad("baddbmm", lambda x, a, b: T.baddbmm(x, a, b, alpha=-1), (2, 2, 3), (2, 2, 4), (2, 4, 3),
       ref=lambda x, a, b: x - a @ b)
C.grad("trace", lambda x: x.trace(), (3, 4), ref=lambda x: np.trace(x))
C.grad("nansum", lambda x: x.nansum(1, keepdim=True), (2, 3),
       ref=lambda x: x.sum(1, keepdims=True))
C.grad("nanmean", lambda x: T.nanmean(x, 0), (2, 3), ref=lambda x: x.mean(0))
C.grad("aminmax", lambda x: x.aminmax(dim=1).max, distinct((2, 3)), ref=lambda x: x.max(1))
C.grad("aminmax", lambda x: T.aminmax(x).min, distinct((2, 3)), ref=lambda x: x.min())
C.grad("kthvalue", lambda x: x.kthvalue(2, 0).values, distinct((3, 2)),
       ref=lambda x: np.sort(x, 0)[1])
C.grad("median", lambda x: x.median(), distinct((2, 3)), ref=lambda x: np.sort(x.ravel())[2])
C.grad("median", lambda x: x.median(1, keepdim=True).values, distinct((2, 4)),
       ref=lambda x: np.sort(x, 1)[:, 1:2])
C.grad("quantile", lambda x: x.quantile(0.3), distinct((2, 3)),
       ref=lambda x: np.quantile(x, 0.3))
C.grad("quantile", lambda x: x.quantile(tg.tensor([0.1, 0.5, 0.9], dtype=tg.float64), dim=1),
       distinct((2, 4)),
       ref=lambda x: np.quantile(x, [0.1, 0.5, 0.9], axis=1))
C.grad("quantile", lambda x: x.quantile(0.4, dim=0, keepdim=True, interpolation="midpoint"),
       distinct((4, 2)), ref=lambda x: np.quantile(x, 0.4, axis=0, keepdims=True,
                                                   method="midpoint"))

C.grad("diff", lambda x: x.diff(), (2, 4), ref=lambda x: np.diff(x))
C.grad("diff", lambda x, p: T.diff(x, n=2, dim=0, prepend=p), (3, 2), (1, 2),
       ref=lambda x, p: np.diff(x, n=2, axis=0, prepend=p))
C.grad("tensordot", lambda a, b: T.tensordot(a, b, dims=2), (2, 3, 2), (3, 2, 2),
       ref=lambda a, b: np.tensordot(a, b, 2))
C.grad("tensordot", lambda a, b: T.tensordot(a, b, dims=([1, 0], [0, 2])), (2, 3, 2), (3, 2, 2),
       ref=lambda a, b: np.tensordot(a, b, ([1, 0], [0, 2])))
C.grad("hstack", lambda a, b: T.hstack([a, b]), (2,), (3,), ref=lambda a, b: np.hstack([a, b]))
C.grad("vstack", lambda a, b: T.vstack([a, b]), (3,), (2, 3), ref=lambda a, b: np.vstack([a, b]))
C.grad("dstack", lambda a, b: T.dstack([a, b]), (2, 3), (2, 3), ref=lambda a, b: np.dstack([a, b]))
C.grad("column_stack", lambda a, b: T.column_stack([a, b]), (2,), (2, 2),
       ref=lambda a, b: np.column_stack([a, b]))
C.grad("cross", lambda a, b: a.cross(b, dim=1), (2, 3), (2, 3),
       ref=lambda a, b: np.cross(a, b, axis=1))

C.grad("index_add", lambda x, s: x.index_add(0, tg.tensor([2, 0, 2]), s, alpha=2), (3, 2),
       (3, 2), ref=lambda x, s: x + 2 * np.array([s[1], np.zeros(2), s[0] + s[2]]))
C.grad("index_copy", lambda x, s: T.index_copy(x, 1, tg.tensor([2, 0]), s), (2, 3), (2, 2),
       ref=lambda x, s: np.stack([s[:, 1], x[:, 1], s[:, 0]], 1))
C.grad("index_fill", lambda x: x.index_fill(0, tg.tensor([1]), -1.0), (3, 2),
       ref=lambda x: np.where(np.array([[0], [1], [0]], bool), -1.0, x))
C.grad("masked_scatter", lambda x, s: x.masked_scatter(
    tg.tensor([[True, False, True], [False, True, False]]), s), (2, 3), (5,),
    ref=lambda x, s: np.where([[True, False, True], [False, True, False]],
                              np.array([[s[0], 0, s[1]], [0, s[2], 0]]), x))
C.grad("fmax", lambda x: T.fmax(x[0], x[1]), distinct((2, 2, 3)),  # (no tie: a kink)
       ref=lambda x: np.fmax(x[0], x[1]))
C.grad("fmin", lambda x: x[0].fmin(x[1]), distinct((2, 2, 3)), ref=lambda x: np.fmin(x[0], x[1]))

# -- PyTorch 2.13's values and gradients where its conventions decide ----------------------------

C.pin("eq", lambda: T.tensor([1, 2, 3]).eq(T.tensor([1, 0, 3])), ("bool", [True, False, True]))
C.pin("ne", lambda: T.tensor([1.0, 2.0]).ne(2), ("bool", [True, False]))
C.pin("gt", lambda: T.tensor([1.0, 2.0, 3.0]).gt(2), ("bool", [False, False, True]))
C.pin("ge", lambda: T.ge(T.tensor([1.0, 2.0, 3.0]), 2), ("bool", [False, True, True]))
C.pin("lt", lambda: T.tensor([1.0, 2.0, 3.0]).lt(T.tensor([3.0, 2.0, 1.0])),
      ("bool", [True, False, False]))
C.pin("le", lambda: T.tensor([1.0, nan]).le(1), ("bool", [True, False]))
C.pin("greater", lambda: T.tensor([1, 5]).greater(2), ("bool", [False, True]))
C.pin("not_equal", lambda: T.not_equal(T.tensor([1, 5]), 5), ("bool", [True, False]))
C.pin("divide", lambda: T.tensor([7.0, -7.0]).divide(2, rounding_mode="floor"),
      ("float32", [3.0, -4.0]))
C.pin("count_nonzero", lambda: T.tensor([[1.0, 0.0], [0.0, 0.0]]).count_nonzero(dim=1),
      ("int64", [1, 0]))
C.pin("count_nonzero", lambda: T.count_nonzero(T.tensor([1, 0, 2])), ("int64", 2))
C.pin("fix", lambda: T.tensor([-1.5, 1.5]).fix(), ("float32", [-1.0, 1.0]))
C.pin("select", lambda: T.arange(6).reshape(2, 3).select(0, 1), ("int64", [3, 4, 5]))
C.pin_grad("median_ties", lambda a: a.median(), [[[1.0, 3, 3], [2, 3, 0]]],
           ("float32", 2.0, [[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]))
C.pin_grad("median_ties", lambda a: a.median(), [[3.0, 1.0, 3.0, 5.0]],
           ("float32", 3.0, [[0.5, 0.0, 0.5, 0.0]]))
C.pin_grad("median_nan", lambda a: a.median(), [[1.0, nan, nan, 3.0]],
           ("float32", nan, [[0.0, 0.5, 0.5, 0.0]]))
C.pin_grad("median_nan", lambda a: a.median(1).values, [[[1.0, nan, 3.0], [inf, -inf, 2.0]]],
           ("float32", [nan, 2.0], [[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]))
C.pin("median_nan", lambda: T.tensor([[1.0, nan, 3.0], [inf, -inf, 2.0]]).median(1).indices,
      ("int64", [1, 2]))
C.pin("median_nan", lambda: T.tensor([[nan, 1.0, nan], [2.0, nan, nan], [nan, nan, 0.0]]).median(
    1).indices, ("int64", [0, 1, 0]))  # (the first nan)
C.pin_grad("quantile_nan", lambda a: a.quantile(0.5, dim=1), [[[nan, 1.0, nan, 3.0]]],
           ("float32", [nan], [[[0.0, 0.0, 1.0, 0.0]]]))  # (the last nan in sorted order)
C.pin("median_empty", lambda: T.tensor([]).median(), ("float32", nan))
C.pin("median_int", lambda: T.tensor([1, 2, 3, 4]).median(), ("int64", 2))
C.pin_grad("quantile_nan", lambda a: a.quantile(0.2, dim=1), [[[1.0, nan, 3.0], [inf, -inf, 2.0]]],
           ("float32", [nan, nan], [[[0.0, 1.0, 0.0], [0.0, 0.6, 0.4]]]))
C.pin_grad("quantile", lambda a: a.quantile(T.tensor([0.25, 0.5]), dim=0),
           [[[1.0, 2, 3], [4, 6, 5], [0, 9, 7]]],
           ("float32", [[0.5, 4.0, 4.0], [1.0, 6.0, 5.0]],
            [[[1.5, 0.5, 0.5], [0.0, 1.5, 1.5], [0.5, 0.0, 0.0]]]))
for method, values, grad in (
        ("linear", [1.5, 2.5, 3.0, 3.5], [0.5, 0.5, 2.0, 1.0, 0.0]),
        ("lower", [1.0, 2.0, 3.0, 3.0], [0.0, 1.0, 2.0, 1.0, 0.0]),
        ("higher", [2.0, 3.0, 3.0, 4.0], [1.0, 0.0, 2.0, 1.0, 0.0]),
        ("nearest", [1.0, 3.0, 3.0, 3.0], [0.0, 1.0, 3.0, 0.0, 0.0]),  # (half to even)
        ("midpoint", [1.5, 2.5, 3.0, 3.5], [0.5, 0.5, 2.0, 1.0, 0.0])):
    C.pin_grad(f"quantile_{method}", lambda a, m=method: a.quantile(
        T.tensor([0.125, 0.375, 0.5, 0.625]), interpolation=m), [[4.0, 1, 3, 2, 5]],
        ("float32", values, [grad]))
C.pin_grad("nan_to_num", lambda a: a.nan_to_num(), [[1.0, nan, inf, -inf]],
           ("float32", [1.0, 0.0, 3.4028234663852886e+38, -3.4028234663852886e+38],
            [[1.0, 0.0, 0.0, 0.0]]))
C.pin_grad("nan_to_num", lambda a: a.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0),
           [[1.0, nan, inf, -inf]], ("float32", [1.0, 1.0, 2.0, -3.0], [[1.0, 0.0, 0.0, 0.0]]))
C.pin_grad("logit_eps", lambda a: a.logit(eps=0.25), [[0.1, 0.25, 0.5, 0.75, 0.9]],  # (edges pass)
           ("float32", [-1.0986123085021973, -1.0986123085021973, 0.0, 1.0986123085021973,
                        1.0986123085021973], [[0.0, 5.333333492279053, 4.0, 5.333333492279053,
                                               0.0]]))
C.pin_grad("nansum", lambda a: a.nansum(1), [[[1.0, nan, 2], [nan, nan, 3]]],
           ("float32", [3.0, 3.0], [[[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]]))
C.pin_grad("aminmax_ties", lambda a: a.aminmax(dim=0)[0] + a.aminmax(dim=0)[1],
           [[[1.0, 3], [1, 2], [0, 3]]], ("float32", [1.0, 5.0], [[[0.5, 0.5], [0.5, 1.0],
                                                                  [1.0, 0.5]]]))
C.pin_grad("addmm_beta0", lambda a: a.addmm(T.tensor([[1.0, 2], [3, 4]]),
                                            T.tensor([[1.0, 0], [0, 1]]), beta=0),
           [[[nan, inf], [1.0, 2]]], ("float32", [[1.0, 2.0], [3.0, 4.0]], [[[0.0, 0.0],
                                                                            [0.0, 0.0]]]))

C.pin("bincount", lambda: T.tensor([1, 3, 1, 0]).bincount(), ("int64", [1, 2, 0, 1]))
C.pin("bincount", lambda: T.bincount(T.tensor([1, 3]), T.tensor([0.5, 2.0]), minlength=5),
      ("float32", [0.0, 0.5, 0.0, 2.0, 0.0]))
C.pin("unique", lambda: T.tensor([[3, 1], [3, 2]]).unique(return_inverse=True,
                                                           return_counts=True),
      [("int64", [1, 2, 3]), ("int64", [[2, 0], [2, 1]]), ("int64", [1, 1, 2])])
C.pin("unique", lambda: T.unique(T.tensor([[1, 2], [1, 2], [0, 1]]), dim=0),
      ("int64", [[0, 1], [1, 2]]))
C.pin("searchsorted", lambda: T.searchsorted(T.tensor([1.0, 3, 5]), T.tensor([0.0, 3, 4, 6])),
      ("int64", [0, 1, 2, 3]))
C.pin("searchsorted", lambda: T.searchsorted(T.tensor([[1.0, 3, 5], [2, 4, 6]]),
                                             T.tensor([[3.0, 5], [2, 7]]), side="right"),
      ("int64", [[2, 3], [1, 3]]))
C.pin("bucketize", lambda: T.bucketize(T.tensor([0.0, 3, 4, 6]), T.tensor([1.0, 3, 5]),
                                       right=True), ("int64", [0, 2, 2, 3]))
C.pin("tril_indices", lambda: T.tril_indices(3, 3), ("int64", [[0, 1, 1, 2, 2, 2],
                                                              [0, 0, 1, 0, 1, 2]]))
C.pin("triu_indices", lambda: T.triu_indices(2, 3, 1), ("int64", [[0, 0, 1], [1, 2, 2]]))
C.pin("cross", lambda: T.cross(T.tensor([[1.0, 0, 0]]), T.tensor([[0.0, 1, 0]])),
      ("float32", [[0.0, 0.0, 1.0]]))  # (the first dim of size 3, as torch.cross)

C.pin_grad("fmax_nan_ties", lambda a, b: T.fmax(a, b), [[1.0, nan, 2.0, nan, 3.0],
                                                          [1.0, 5.0, nan, nan, -1.0]],
           ("float32", [1.0, 5.0, 2.0, nan, 3.0], [[1.0, 0.0, 1.0, 1.0, 1.0],
                                                  [0.0, 1.0, 0.0, 0.0, 0.0]]))  # (a at a tie)
C.pin_grad("fmin_nan_ties", lambda a, b: a.fmin(b), [[1.0, nan, 2.0, nan, 3.0],
                                                    [1.0, 5.0, nan, nan, -1.0]],
           ("float32", [1.0, 5.0, 2.0, nan, -1.0], [[1.0, 0.0, 1.0, 1.0, 0.0],
                                                   [0.0, 1.0, 0.0, 0.0, 1.0]]))
C.pin("masked_scatter", lambda: T.tensor([[1.0, 2, 3], [4, 5, 6]]).masked_scatter(
    T.tensor([[True, False, True], [False, True, False]]), T.tensor([10.0, 20, 30, 40])),
    ("float32", [[10.0, 2.0, 20.0], [4.0, 30.0, 6.0]]))
C.pin("index_add", lambda: T.zeros(3, 2).index_add(0, T.tensor([0, 2, 0]), T.ones(3, 2)),
      ("float32", [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]))
C.pin("signbit", lambda: T.tensor([-0.0, 0.0, -1.0, 2.0]).signbit(),
      ("bool", [True, False, True, False]))
C.pin("heaviside", lambda: T.heaviside(T.tensor([-1.0, 0, 2, 0]), T.tensor([0.5])),
      ("float32", [0.0, 0.5, 1.0, 0.5]))

# -- bad input: PyTorch's exception classes ------------------------------------------------------

X = T.ones(3, 4)
C.raises("dot", lambda: T.dot(X, X), RuntimeError)
C.raises("mv", lambda: T.mv(X, T.ones(3)), RuntimeError)
C.raises("narrow", lambda: X.narrow(1, 5, 1), IndexError)
C.raises("narrow", lambda: X.narrow(1, 2, 3), RuntimeError)
C.raises("select", lambda: X.select(1, 4), IndexError)
C.raises("select", lambda: X.select(2, 0), IndexError)
C.raises("quantile", lambda: X.quantile(1.5), RuntimeError)
C.raises("quantile", lambda: X.quantile(0.5, interpolation="bad"), RuntimeError)
C.raises("quantile", lambda: T.ones(3, dtype=T.int64).quantile(0.5), RuntimeError)
C.raises("kthvalue", lambda: X.kthvalue(5), RuntimeError)
C.raises("kthvalue", lambda: X.kthvalue(0), RuntimeError)
C.raises("movedim", lambda: X.movedim((0, 0), (0, 1)), RuntimeError)
C.raises("movedim", lambda: X.movedim((0, 1), (0,)), RuntimeError)
C.raises("fliplr", lambda: T.ones(3).fliplr(), RuntimeError)
C.raises("flipud", lambda: T.tensor(1.0).flipud(), RuntimeError)
C.raises("trace", lambda: T.ones(2, 2, 2).trace(), RuntimeError)
C.raises("take_along_dim", lambda: T.take_along_dim(X, T.zeros(3, dtype=T.int64), 1),
         RuntimeError)
C.raises("median", lambda: T.ones(2, 0).median(1), IndexError)
C.raises("aminmax", lambda: T.ones(0).aminmax(), RuntimeError)
C.raises("nanmean", lambda: T.tensor([1, 2]).nanmean(), RuntimeError)
C.raises("outer", lambda: T.outer(X, X), RuntimeError)
C.raises("inner", lambda: T.inner(X, T.ones(3)), RuntimeError)
C.raises("addmm", lambda: T.addmm(T.ones(2), X, T.ones(4, 5)), RuntimeError)
C.raises("view_as", lambda: X.t().view_as(T.ones(12)), RuntimeError)

C.raises("diff", lambda: T.tensor(1.0).diff(), RuntimeError)
C.raises("tril_indices", lambda: T.tril_indices(-1, 2), RuntimeError)
C.pin("inner", lambda: T.inner(T.ones(2, 0), T.ones(3, 0)), ("float32", [[0.0] * 3] * 2))
C.pin("tensordot", lambda: T.tensordot(T.ones(2, 0), T.ones(0, 3), dims=1),
      ("float32", [[0.0] * 3] * 2))  # (PyTorch 2.13: zeros of shape (2, 3), as here)
C.raises("tensordot", lambda: T.tensordot(T.ones(2, 3), T.ones(2, 3), dims=1), RuntimeError)
C.raises("cross", lambda: T.cross(T.ones(2, 2), T.ones(2, 2)), RuntimeError)
C.raises("bincount", lambda: T.tensor([1.0, 2.0]).bincount(), RuntimeError)
C.raises("bincount", lambda: T.tensor([-1, 2]).bincount(), RuntimeError)
C.raises("searchsorted", lambda: T.searchsorted(T.ones(2, 3), T.ones(3, 1)), RuntimeError)
C.raises("bucketize", lambda: T.bucketize(T.ones(3), T.ones(2, 2)), RuntimeError)

C.raises("index_add", lambda: X.index_add(0, T.tensor([5]), T.ones(1, 4)), IndexError)
C.raises("index_add", lambda: X.index_add(0, T.tensor([0]), T.ones(2, 4)), RuntimeError)
C.raises("index_copy", lambda: X.index_copy(1, T.tensor([[0]]), T.ones(3, 1)), RuntimeError)
C.raises("masked_scatter", lambda: X.masked_scatter(X > 0, T.ones(3)), RuntimeError)

test_gradients, test_pytorch_values, test_pytorch_errors = make_tests(C)


def test_equal_and_allclose_are_python_bools():
    a = tg.tensor([1.0, 2.0, nan])
    assert tg.equal(a[:2], tg.tensor([1.0, 2.0])) is True
    assert a.equal(a) is False  # (nan is not equal to itself)
    assert tg.tensor([1.0]).equal(tg.tensor([1.0, 1.0])) is False  # (shapes differ)
    assert a.allclose(a + 1e-9, equal_nan=True) is True
    assert a[:2].allclose(tg.tensor([1.0, 2.1])) is False


def test_two_result_ops_of_this_family_are_pytorchs_named_tuples():
    x = tg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    k = x.kthvalue(2, 1)
    assert type(k) is tg.return_types.kthvalue and k.values.tolist() == [2.0, 4.0]
    assert k.indices.tolist() == [2, 2] and k.indices.dtype == tg.int64
    m = x.median(1)
    assert type(m) is tg.return_types.median and m.values.tolist() == [2.0, 4.0]
    mm = x.aminmax()
    assert type(mm) is tg.return_types.aminmax and mm._fields == ("min", "max")
    assert (mm.min.item(), mm.max.item()) == (0.0, 5.0)


def test_ties_in_kthvalue_and_median_take_the_earliest_position():
    # PyTorch leaves the index of a tie unspecified (2.13 gives 0 for the first row and 1 for
    # the median below); ours is the earliest position in the stable order, so the k-th of
    # equal values counts from the left
    x = tg.tensor([[0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 5.0, 1.0]], requires_grad=True)
    k = x.kthvalue(2, 1)
    assert k.values.tolist() == [0.0, 5.0] and k.indices.tolist() == [1, 0]
    m = tg.tensor([3.0, 3.0, 1.0, 3.0, 3.0]).median(0)
    assert (m.values.item(), m.indices.item()) == (3.0, 1)
    k.values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]


def test_strides_and_dtype_questions_as_pytorch():
    x = tg.zeros(2, 3, dtype=tg.float64)
    assert x.stride() == (3, 1) and x.t().stride() == (1, 3) and x.stride(1) == 1  # (elements)
    assert x.is_contiguous() and not x.t().is_contiguous()
    assert x.is_floating_point() and not tg.tensor([1]).is_floating_point()
    assert x.element_size() == 8 and tg.zeros(1).element_size() == 4
    assert not x.is_complex()


def test_movedim_narrow_tile_shapes_as_pytorch():
    x = tg.zeros(2, 3, 4, 5)
    assert x.movedim(1, -1).shape == (2, 4, 5, 3)  # PyTorch 2.13: (2, 4, 5, 3)
    assert x.movedim((1, 3), (0, 1)).shape == (3, 5, 2, 4)  # PyTorch 2.13: (3, 5, 2, 4)
    assert x.narrow(3, 1, 0).shape == (2, 3, 4, 0)
    assert tg.zeros(2).tile(2, 3).shape == (2, 6)  # (x gains a leading dim)
    assert x.tile((2,)).shape == (2, 3, 4, 10)
    assert tg.tensor(1.5).quantile(0.5).shape == () and tg.tensor([1.0]).quantile(
        tg.tensor([0.5]), keepdim=True).shape == (1, 1)


@pytest.mark.parametrize("name", ["eq", "gt", "view_as", "addmm", "median", "quantile",
                                  "nansum", "movedim", "take_along_dim", "outer"])
def test_the_names_are_methods_and_functions(name):
    assert callable(getattr(tg, name)) and callable(getattr(tg.Tensor, name))


def test_tg_trace_stays_the_tracer_module_and_the_matrix_trace_is_a_method():
    # torch.trace(x) is x.trace() here: tg.trace is the tracer protocol's module, which
    # extension code imports (from tinygrad_reg import trace; trace.record(...))
    import types

    assert isinstance(tg.trace, types.ModuleType) and callable(tg.trace.record)
    assert tg.tensor([[1.0, 2.0], [3.0, 4.0]]).trace().item() == 5.0
    assert tg.ops.compose.trace(tg.eye(3)).item() == 3.0


def test_hypothesis_median_is_numpy_lower_median():
    from hypothesis import given, settings

    @settings(max_examples=30, deadline=None)
    @given(st.integers(1, 4), st.integers(1, 5), st.data())
    def check(rows, cols, data):  # small integers: ties are common
        a = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=rows * cols,
                                        max_size=rows * cols)), float).reshape(rows, cols)
        got = tg.tensor(a).median(1)
        want = np.sort(a, 1)[:, (cols - 1) // 2]
        np.testing.assert_array_equal(got.values.numpy(), want)
        np.testing.assert_array_equal(a[np.arange(rows), got.indices.numpy()], want)
        assert tg.tensor(a).median().item() == np.sort(a.ravel())[(a.size - 1) // 2]

    check()
