"""tinygrad's op tests, ported (see tests/_surface.py for the harness): constructors, splits,
comparisons, rounding, elementwise arithmetic, powers, bitwise ops, trigonometry,
activations, scans, argmax, sorting. Each case names the TestOps method it re-expresses."""

from __future__ import annotations

import math

import numpy as np
from _surface import Cases, F, T, empty, inf, make_tests, nan
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.ops import _erf
from tinygrad_reg.testing import strategies as S

C = Cases()


def distinct(shape, low=-2.0, high=2.0):
    """float64 tensors whose values are pairwise apart (no tie: max, sort, cummax)."""
    return S.distinct_arrays(shape, low=low, high=high, gap=0.02).map(
        lambda a: tg.Tensor(a, requires_grad=True))


def off_lattice(shape, points, margin=0.05):
    """float64 tensors kept ``margin`` away from each of ``points`` (jumps and kinks)."""
    return S.tensors(shape, avoid=points, margin=margin, low=-2.0, high=2.0)


INTEGERS = [-2.0, -1.0, 0.0, 1.0, 2.0]
HALVES = [k / 2 for k in range(-5, 6)]

# -- constructors ----------------------------------------------------------------------------------

C.pin("test_full_like", lambda: T.full_like(T.tensor([[1.0, 2, 3], [4, 5, 6]]), 4), ('float32',
      [[4.0, 4.0, 4.0], [4.0, 4.0, 4.0]]))
C.pin("test_full_like", lambda: T.full_like(T.tensor([[1, 2, 3], [4, 5, 6]], dtype=T.int32), 4),
      ('int32', [[4, 4, 4], [4, 4, 4]]))
C.pin("test_full", lambda: T.full((2, 3), 4, dtype=T.int32), ('int32', [[4, 4, 4], [4, 4, 4]]))
C.pin("test_zeros", lambda: T.zeros(2, 3), ('float32', [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
C.pin("test_zeros", lambda: T.zeros([]), ('float32', 0.0))
C.pin("test_zeros_like", lambda: T.zeros_like(T.tensor([[1, 2], [4, 5]], dtype=T.int32)),
      ('int32', [[0, 0], [0, 0]]))
C.pin("test_ones", lambda: T.ones([2, 3]), ('float32', [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]))
C.pin("test_ones", lambda: T.ones([]), ('float32', 1.0))
C.pin("test_ones_like", lambda: T.ones_like(T.tensor([[1.0, 2.0]])), ('float32', [[1.0, 1.0]]))
C.pin("test_empty_0", lambda: T.empty(2, 3) * 0 / 0, ('float32', [[nan, nan, nan], [nan, nan,
      nan]]))
C.pin("test_eye", lambda: T.eye(3, 5), ('float32', [[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0,
      0.0, 0.0], [0.0, 0.0, 1.0, 0.0, 0.0]]))
C.pin("test_eye", lambda: T.eye(5, 3), ('float32', [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0,
      1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
C.pin("test_eye", lambda: T.eye(1), ('float32', [[1.0]]))
C.pin("test_eye", lambda: T.eye(0), ('float32', empty(0, 0)))
# Tensor.empty/rand/zeros/ones/randn/randint/normal/uniform/... of negative sizes: refused
for make in (T.empty, T.rand, T.zeros, T.ones, T.randn):
    C.raises("test_negative_dims", lambda make=make: make(-3, 2), RuntimeError, ValueError)
    C.raises("test_negative_dims", lambda make=make: make((2, -3)), RuntimeError, ValueError)
    C.raises("test_negative_dims", lambda make=make: make((2, -3, 0)), RuntimeError, ValueError)
C.raises("test_negative_dims", lambda: T.randint(0, 5, (2, -3)), RuntimeError, ValueError)
C.raises("test_negative_dims_full", lambda: T.full((-3,), 2), RuntimeError, ValueError)
C.raises("test_negative_dims_full", lambda: T.full((2, -3, 0), 4), RuntimeError, ValueError)
C.raises("test_negative_dims_eye", lambda: T.eye(-3, 3), RuntimeError, ValueError)
C.raises("test_negative_dims_eye", lambda: T.eye(3, -3), RuntimeError, ValueError)
# (tinygrad's Tensor.kaiming_uniform(shape); PyTorch's spelling fills an existing tensor)
C.raises("test_negative_dims_kaiming",
         lambda: T.nn.init.kaiming_uniform_(T.empty(-3, 3)), RuntimeError, ValueError)
C.raises("test_negative_dims_kaiming",
         lambda: T.nn.init.kaiming_normal_(T.empty((3, -3))), RuntimeError, ValueError)

C.pin("test_arange", lambda: T.arange(10, 5, -3, dtype=T.int32), ('int32', [10, 7]))
C.pin("test_arange", lambda: T.arange(11, 5, -3, dtype=T.int32), ('int32', [11, 8]))
C.pin("test_arange", lambda: T.arange(5.5, 17.5, 2.5), ('float32', [5.5, 8.0, 10.5, 13.0, 15.5]))
C.pin("test_arange", lambda: T.arange(-3.2, -0.3, 0.75), ('float32', [-3.20000005, -2.45000005,
      -1.70000005, -0.949999988]))
C.pin("test_arange", lambda: T.arange(-5.3, -10.2, -2.25), ('float32', [-5.30000019, -7.55000019,
      -9.80000019]))
C.pin("test_arange", lambda: T.arange(127, -129, -64, dtype=T.int8), ('int8', [127, 63, -1, -65]))
C.pin("test_arange", lambda: T.arange(2**31, 2**31 + 2), ('int64', [2147483648, 2147483649]))
C.pin("test_arange_big", lambda: T.arange(256, dtype=T.int32)[250:], ('int32', [250, 251, 252,
      253, 254, 255]))
C.pin("test_arange_4096", lambda: T.arange(4096, dtype=T.int32)[4093:], ('int32', [4093, 4094,
      4095]))
C.pin("test_linspace", lambda: T.linspace(5, 10, 3), ('float32', [5.0, 7.5, 10.0]))
C.pin("test_linspace", lambda: T.linspace(5, 10, 1), ('float32', [5.0]))
C.pin("test_linspace", lambda: T.linspace(5, 10, 0), ('float32', []))
C.pin("test_linspace", lambda: T.linspace(5.5, -5.5, 5), ('float32', [5.5, 2.75, 0.0, -2.75, -5.5]))
C.pin("test_linspace", lambda: T.linspace(5, 10, 3, dtype=T.int32), ('int32', [5, 7, 10]))
C.pin("test_linspace", lambda: T.linspace(5, -5, 20, dtype=T.int32), ('int32', [5, 4, 3, 3, 2, 2,
      1, 1, 0, 0, 0, 0, -1, -1, -2, -2, -3, -3, -4, -5]))
C.raises("test_linspace", lambda: T.linspace(5, 10, 3, dtype=T.bool), NotImplementedError,
         ValueError)
C.raises("test_linspace", lambda: T.linspace(1, 2, -1), RuntimeError, ValueError)

# -- split, chunk, unfold, meshgrid ----------------------------------------------------------------

C.pin("test_split", lambda: T.arange(10, dtype=T.int32).split([1, 4, 5]), [('int32', [0]),
      ('int32', [1, 2, 3, 4]), ('int32', [5, 6, 7, 8, 9])])
C.pin("test_split", lambda: T.arange(10, dtype=T.int32).split(3), [('int32', [0, 1, 2]), ('int32',
      [3, 4, 5]), ('int32', [6, 7, 8]), ('int32', [9])])
C.pin("test_split", lambda: T.arange(12, dtype=T.int32).reshape(3, 4).split(1, dim=1), [('int32',
      [[0], [4], [8]]), ('int32', [[1], [5], [9]]), ('int32', [[2], [6], [10]]), ('int32', [[3],
      [7], [11]])])
C.pin("test_chunk", lambda: T.arange(13, dtype=T.int32).repeat(2, 1).chunk(6, 1), [('int32', [[0,
      1, 2], [0, 1, 2]]), ('int32', [[3, 4, 5], [3, 4, 5]]), ('int32', [[6, 7, 8], [6, 7, 8]]),
      ('int32', [[9, 10, 11], [9, 10, 11]]), ('int32', [[12], [12]])])
C.pin("test_chunk", lambda: T.arange(13, dtype=T.int32).repeat(8, 1).chunk(3, -2)[2], ('int32',
      [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]))
C.grad("test_split", lambda x: x.split(2, dim=1)[1], (2, 5), ref=lambda x: x[:, 2:4],
       may_alias=True)
C.grad("test_unfold", lambda x, *a: x.unfold(*a), (8,), st.just((0, 2, 1)),
       ref=lambda x, *a: np.stack([x[i:i + 2] for i in range(7)]))
C.grad("test_unfold", lambda x, *a: x.unfold(*a), (8,), st.just((0, 7, 3)),
       ref=lambda x, *a: np.stack([x[0:7]]))
C.grad("test_unfold", lambda x: x.unfold(2, 2, 8), (3, 3, 3), ref=lambda x: x[:, :, None, 0:2])
C.grad("test_unfold", lambda x: x.unfold(-1, 2, 2), (2, 2, 5),
       ref=lambda x: np.stack([x[..., 0:2], x[..., 2:4]], axis=-2))
C.pin("test_unfold", lambda: T.ones(3, 3, 3).unfold(1, 0, 8), ('float32', [[[[], [], []]], [[[],
      [], []]], [[[], [], []]]]))
C.raises("test_unfold", lambda: T.ones(8).unfold(0, 9, 3), RuntimeError, ValueError)
C.raises("test_unfold", lambda: T.ones(8).unfold(1, 8, 3), IndexError, ValueError)
C.raises("test_unfold", lambda: T.ones(8).unfold(0, 1, -1), RuntimeError, ValueError)
for indexing in ("ij", "xy"):
    C.grad("test_meshgrid", lambda x, y, z, ix=indexing: T.meshgrid(x, y, z, indexing=ix),
           (3,), (4,), (2,), ref=lambda x, y, z, ix=indexing: np.meshgrid(x, y, z, indexing=ix),
           may_alias=True)
    C.grad("test_meshgrid", lambda x, t, ix=indexing: T.meshgrid(x, t, indexing=ix), (3,), (),
           ref=lambda x, t, ix=indexing: np.meshgrid(x, t, indexing=ix), may_alias=True)
C.raises("test_meshgrid", lambda: T.meshgrid(T.ones(3), indexing="bad"), RuntimeError,
         ValueError)

# -- sums of constants, where, comparisons ---------------------------------------------------------

C.grad("test_sum_fake", lambda x: x.sum(axis=1), (5, 1), ref=lambda x: x.sum(axis=1))
C.pin("test_sum_collapse", lambda: T.ones(256, 256).sum(axis=1)[:3], ('float32', [256.0, 256.0,
      256.0]))
C.pin("test_sum_collapse_neg", lambda: (-T.ones(3, 3)).sum(axis=1), ('float32', [-3.0, -3.0, -3.0]))
C.pin("test_sum_pad_collapse",
      lambda: T.nn.functional.pad(T.ones(4, 4), pad=(0, 2, 0, 0)).sum(axis=1), ('float32', [4.0,
      4.0, 4.0, 4.0]))
for dims in ((0, 1), (0, 2), (1, 2)):
    C.grad("test_sum_twice", lambda x, d=dims: x.sum(d).sum(), (2, 3, 2),
           ref=lambda x, d=dims: np.asarray(x.sum(d).sum()))
C.pin("test_sum_cat_collapse",
      lambda: T.cat([T.ones(3, 4), T.zeros(3, 2)], dim=1).sum(axis=1), ('float32', [4.0, 4.0, 4.0]))
C.pin("test_max_dont_collapse", lambda: T.ones(4, 4).max(1)[0], ('float32', [1.0, 1.0, 1.0, 1.0]))
C.pin("test_where", lambda: T.where(T.tensor([True, False]), 1, 3).to(T.int32), ('int32', [1, 3]))
C.pin("test_where", lambda: T.where(T.tensor([0.2, 0.7]) > 0.5, 4, 2).to(T.int32), ('int32', [2,
      4]))
C.pin("test_where_permute",
      lambda: T.where(T.tensor([[0.2, 0.7], [0.9, 0.1]]) > 0.5, 4, 2).to(T.int32).permute((1, 0)),
      ('int32', [[2, 4], [4, 2]]))
C.pin("test_inf_where", lambda: T.where(T.full((2, 2), inf) < 0, T.full((2, 2), inf), 1),
      ('float32', [[1.0, 1.0], [1.0, 1.0]]))
C.grad("test_where", lambda c, a, b: T.where(c > 0.5, a, b), (3, 3), (3,), (3,),
       ref=lambda c, a, b: np.where(c > 0.5, a, b), avoid=[0.5])
C.grad("test_where", lambda c, a, b: T.where(c > 0.5, a, b), (4,), (1,), (1,),
       ref=lambda c, a, b: np.where(c > 0.5, a, b), avoid=[0.5])

def _compared(op):
    """tinygrad's _test_cmp: floats, ints, bools, broadcasting, a number on either side,
    special values against each other."""
    specials = [0.0, 1.0, -1.0, inf, -inf]
    return [op(T.tensor([0.0, 1, 2]), T.tensor([2.0, 1, 0])),
            op(T.tensor([0, 1, 2]), T.tensor([2, 1, 0])),
            op(T.tensor([True, True, False]), T.tensor([False, True, False])),
            op(T.tensor([[0.5], [1.5]]), T.tensor([0.5, 1.0, 1.5])),
            op(T.tensor([0.0, 1, 2]), 2), op(2, T.tensor([2.0, 1, 0])),
            op(T.tensor(specials).reshape(5, 1), T.tensor(specials))]


C.pin("test_cmp_eq", lambda: _compared(lambda x, y: x == y), [('bool', [False, True, False]),
      ('bool', [False, True, False]), ('bool', [False, True, True]), ('bool', [[True, False,
      False], [False, False, True]]), ('bool', [False, False, True]), ('bool', [True, False,
      False]), ('bool', [[True, False, False, False, False], [False, True, False, False, False],
      [False, False, True, False, False], [False, False, False, True, False], [False, False,
      False, False, True]])])
C.pin("test_cmp_gt", lambda: _compared(lambda x, y: x > y), [('bool', [False, False, True]),
      ('bool', [False, False, True]), ('bool', [True, False, False]), ('bool', [[False, False,
      False], [True, True, False]]), ('bool', [False, False, False]), ('bool', [False, True,
      True]), ('bool', [[False, False, True, False, True], [True, False, True, False, True],
      [False, False, False, False, True], [True, True, True, False, True], [False, False, False,
      False, False]])])
C.pin("test_cmp_ge", lambda: _compared(lambda x, y: x >= y), [('bool', [False, True, True]),
      ('bool', [False, True, True]), ('bool', [True, True, True]), ('bool', [[True, False, False],
      [True, True, True]]), ('bool', [False, False, True]), ('bool', [True, True, True]), ('bool',
      [[True, False, True, False, True], [True, True, True, False, True], [False, False, True,
      False, True], [True, True, True, True, True], [False, False, False, False, True]])])
C.pin("test_cmp_lt", lambda: _compared(lambda x, y: x < y), [('bool', [True, False, False]),
      ('bool', [True, False, False]), ('bool', [False, False, False]), ('bool', [[False, True,
      True], [False, False, False]]), ('bool', [True, True, False]), ('bool', [False, False,
      False]), ('bool', [[False, True, False, True, False], [False, False, False, True, False],
      [True, True, False, True, False], [False, False, False, False, False], [True, True, True,
      True, False]])])
C.pin("test_cmp_le", lambda: _compared(lambda x, y: x <= y), [('bool', [True, True, False]),
      ('bool', [True, True, False]), ('bool', [False, True, True]), ('bool', [[True, True, True],
      [False, False, True]]), ('bool', [True, True, True]), ('bool', [True, False, False]),
      ('bool', [[True, True, False, True, False], [False, True, False, True, False], [True, True,
      True, True, False], [False, False, False, True, False], [True, True, True, True, True]])])
C.pin_grad("test_cmp_ne_backwards", lambda t: (t * (t != 0)).sum(), [[0.5, 0.0, -1.5, 2.0]],
           ('float32', 1.0, [[1.0, 0.0, 1.0, 1.0]]))
C.pin_grad("test_cmp_lt_backwards", lambda t: (t * (t < 0)).sum(), [[0.5, 0.0, -1.5, 2.0]],
           ('float32', -1.5, [[0.0, 0.0, 1.0, 0.0]]))

# -- rounding, value tests -------------------------------------------------------------------------

ROUNDING = [1.499, 1.5, 1.501, 1.0, 2.1, 0.0, -5.0, -2.499, -2.5, -2.501]
C.pin("test_trunc", lambda: T.tensor(ROUNDING).trunc(), ('float32', [1.0, 1.0, 1.0, 1.0, 2.0, 0.0,
      -5.0, -2.0, -2.0, -2.0]))
C.pin("test_floor", lambda: T.tensor(ROUNDING).floor(), ('float32', [1.0, 1.0, 1.0, 1.0, 2.0, 0.0,
      -5.0, -3.0, -3.0, -3.0]))
C.pin("test_ceil", lambda: T.tensor(ROUNDING).ceil(), ('float32', [2.0, 2.0, 2.0, 1.0, 3.0, 0.0,
      -5.0, -2.0, -2.0, -2.0]))
C.pin("test_round", lambda: T.tensor(ROUNDING).round(), ('float32', [1.0, 2.0, 2.0, 1.0, 2.0, 0.0,
      -5.0, -2.0, -2.0, -3.0]))
for name in ("trunc", "floor", "ceil", "round"):
    C.grad(f"test_{name}", lambda x, name=name: getattr(x, name)(), (2, 3),
           ref=getattr(np, "round" if name == "round" else name), avoid=HALVES, margin=0.05)
C.pin("test_trunc", lambda: T.tensor([1e12, -1e12]).trunc(), ('float32', [9.99999996e+11,
      -9.99999996e+11]))
C.pin("test_round", lambda: T.tensor([2.5, -1.5, 0.5]).round(), ('float32', [2.0, -2.0, 0.0]))
C.pin_grad("test_round_quantization_gradient", lambda x: x + 0.125 * (x.round() - x),
           [[-1.2, -0.7, -0.2, 0.2, 0.7, 1.2]], ('float32', [-1.17500007, -0.737500012,
      -0.174999997, 0.174999997, 0.737500012, 1.17500007], [[0.875, 0.875, 0.875, 0.875, 0.875,
      0.875]]))
SPECIALS = [-inf, 0.0, inf, nan, 1.1]
C.pin("test_isinf", lambda: T.isinf(T.tensor(SPECIALS)), ('bool', [True, False, True, False,
      False]))
C.pin("test_isinf", lambda: T.isposinf(T.tensor(SPECIALS)), ('bool', [False, False, True, False,
      False]))
C.pin("test_isinf", lambda: T.isneginf(T.tensor(SPECIALS)), ('bool', [True, False, False, False,
      False]))
C.pin("test_isnan", lambda: T.isnan(T.tensor(SPECIALS)), ('bool', [False, False, False, True,
      False]))
C.pin("test_isfinite", lambda: T.isfinite(T.tensor(SPECIALS)), ('bool', [False, True, False,
      False, True]))
C.grad("test_lerp", lambda x, y, z: x.lerp(y, z), (3, 2), (3, 2), (3, 2),
       ref=lambda x, y, z: x + z * (y - x))
C.pin("test_lerp", lambda: T.tensor([1.0, 2, 3]).lerp(T.tensor([4.0, 5, 6]), 0.5), ('float32',
      [2.5, 3.5, 4.5]))

for diagonal in (0, 1, 2, -1, -2, 4, 5, 6, -4, -6):
    C.grad("test_tril", lambda x, k=diagonal: x.tril(k), (4, 5),
           ref=lambda x, k=diagonal: np.tril(x, k))
    C.grad("test_triu", lambda x, k=diagonal: x.triu(k), (4, 5),
           ref=lambda x, k=diagonal: np.triu(x, k))
C.grad("test_tril", lambda x: x.tril(1), (2, 3, 3), ref=lambda x: np.tril(x, 1))
C.grad("test_triu", lambda x: x.triu(1), (2, 3, 3), ref=lambda x: np.triu(x, 1))
C.pin("test_tril", lambda: T.ones(5, 0, 3).tril(), ('float32', empty(5, 0, 3)))
C.pin("test_tril", lambda: T.tensor([[True] * 3] * 3).tril(), ('bool', [[True, False, False],
      [True, True, False], [True, True, True]]))
C.pin("test_triu", lambda: T.tensor([[True] * 3] * 3).triu(), ('bool', [[True, True, True],
      [False, True, True], [False, False, True]]))

# -- maximum, minimum ------------------------------------------------------------------------------

for name, ufunc in (("maximum", np.maximum), ("minimum", np.minimum)):
    test = f"test_{name}"
    C.grad(test, getattr(T, name), st.tuples(*[S.tensors((2, 3), **kw) for kw in (
        {"elements": st.tuples(st.integers(-2, 2), st.floats(0.0, 0.3)).map(sum)},
        {"elements": st.tuples(st.integers(-2, 2), st.floats(0.5, 0.8)).map(sum)})]), ref=ufunc)



def _extremes(fn):
    """tinygrad's maximum/minimum tests without gradients: int32 extremes, bools, and mixed
    dtypes (the promotion is torch.result_type's)."""
    ints = T.tensor([-1234, 0, 1234, 2**31 - 1, -2**31], dtype=T.int32)
    bools = T.tensor([True, False, False])
    return [fn(ints, T.tensor(2**31 - 1, dtype=T.int32)), fn(ints, T.tensor(-2**31, dtype=T.int32)),
            fn(bools, T.tensor(True)), fn(bools, T.tensor([True, True, False])),
            fn(T.tensor([1, 2, 3], dtype=T.int32), T.tensor(1.2)), fn(bools, T.tensor(1.2)),
            fn(bools, T.tensor(3, dtype=T.int32))]


C.pin("test_maximum", lambda: _extremes(T.maximum), [('int32', [2147483647, 2147483647,
      2147483647, 2147483647, 2147483647]), ('int32', [-1234, 0, 1234, 2147483647, -2147483648]),
      ('bool', [True, True, True]), ('bool', [True, True, False]), ('float32', [1.20000005, 2.0,
      3.0]), ('float32', [1.20000005, 1.20000005, 1.20000005]), ('int32', [3, 3, 3])])
C.pin("test_minimum", lambda: _extremes(T.minimum), [('int32', [-1234, 0, 1234, 2147483647,
      -2147483648]), ('int32', [-2147483648, -2147483648, -2147483648, -2147483648, -2147483648]),
      ('bool', [True, False, False]), ('bool', [True, False, False]), ('float32', [1.0,
      1.20000005, 1.20000005]), ('float32', [1.0, 0.0, 0.0]), ('int32', [1, 0, 0])])
C.pin_grad("test_maximum", lambda x, y: T.maximum(x, y), [[1.0, 0.0, 3.0, -4.0], 3.0], ('float32',
      [3.0, 3.0, 3.0, 3.0], [[0.0, 0.0, 0.5, 0.0], 3.5]))
C.pin_grad("test_minimum", lambda x, y: T.minimum(x, y), [[1.0, 0.0, 3.0, -4.0], 3.0], ('float32',
      [1.0, 0.0, 3.0, -4.0], [[1.0, 1.0, 0.5, 1.0], 0.5]))
C.pin_grad("test_maximum", lambda x, y: T.maximum(x, y), [[1.0, 0.0, 3.0, -4.0],
                                                          [-1.0, -2.0, 3.0, 0.0]], ('float32',
      [1.0, 0.0, 3.0, 0.0], [[1.0, 1.0, 0.5, 0.0], [0.0, 0.0, 0.5, 1.0]]))
C.pin_grad("test_minimum", lambda x, y: T.minimum(x, y), [[1.0, 0.0, 3.0, -4.0],
                                                          [-1.0, -2.0, 3.0, 0.0]], ('float32',
      [-1.0, -2.0, 3.0, -4.0], [[0.0, 0.0, 0.5, 1.0], [1.0, 1.0, 0.5, 0.0]]))
C.pin_grad("test_relu_maximum_exact", lambda x: T.maximum(x, T.zeros_like(x)),
           [[-1.0, 0.0, 1.0]], ('float32', [0.0, 0.0, 1.0], [[0.0, 0.5, 1.0]]))

# -- add, sub, mul, div ----------------------------------------------------------------------------

C.grad("test_tiny_add", T.add, (3,), (3,), ref=np.add)
C.grad("test_tiny_mul", T.mul, (4,), (4,), ref=np.multiply)
C.grad("test_add", lambda x, y: x + y, (2, 3), (2, 3), ref=np.add)
C.grad("test_add", lambda x, y: x.add(y), (), (), ref=np.add)
C.pin("test_add", lambda: T.tensor(1) + 0.5, ('float32', 1.5))
C.grad("test_add3", lambda x, y, z: x + y + z, (2, 3), (2, 3), (2, 3),
       ref=lambda x, y, z: x + y + z)
C.grad("test_broadcasted_add", lambda x, y: x + y, (3, 4), (3, 1), ref=np.add)
C.grad("test_broadcasted_add", lambda x, y: x + y, (3, 4), (), ref=np.add)
C.grad("test_broadcasted_add_2", lambda x, y: x + y, (3, 4), (4,), ref=np.add)
C.grad("test_sub", lambda x, y: x - y, (2, 3), (2, 3), ref=np.subtract)
C.grad("test_sub", lambda x, y: x.sub(y), (), (), ref=np.subtract)
C.grad("test_scalar_sub", lambda x: x - 2, (2, 3), ref=lambda x: x - 2)
C.grad("test_scalar_sub", lambda x: x - 2, (), ref=lambda x: x - 2)
C.grad("test_scalar_rsub", lambda x: 2 - x, (2, 3), ref=lambda x: 2 - x)
C.grad("test_neg", lambda x: -x, (2, 3), ref=np.negative)
C.grad("test_neg", lambda x: x.neg(), (), ref=np.negative)
C.pin("test_logical_not", lambda: T.logical_not(T.tensor([True, False, True])), ('bool', [False,
      True, False]))
C.pin("test_logical_not", lambda: T.logical_not(T.tensor([1.0, 2.0, 0.0, 0.5])), ('bool', [False,
      False, True, False]))
C.grad("test_mul", lambda x, y: x * y, (3, 3), (3, 3), ref=np.multiply)
C.grad("test_mul", lambda x, y: x.mul(y), (), (), ref=np.multiply)
for k in (2, -1, 255):
    C.grad("test_scalar_mul", lambda x, k=k: x * k, (2, 3), ref=lambda x, k=k: x * k)
    C.grad("test_scalar_mul", lambda x, k=k: k * x, (), ref=lambda x, k=k: k * x)
_DIVISOR = {"avoid": [0.0], "margin": 0.5}
C.grad("test_div", lambda x, y: x / y, (2, 3), (2, 3), ref=np.divide, **_DIVISOR)
C.grad("test_div", lambda x, y: x.div(y), (), (), ref=np.divide, **_DIVISOR)
for k in (255, 1, 2):
    C.grad("test_scalar_div", lambda x, k=k: x / k, (2, 3), ref=lambda x, k=k: x / k)
C.grad("test_scalar_div", lambda x: 1 / x, (2, 3), ref=lambda x: 1 / x, **_DIVISOR)
C.grad("test_scalar_div", lambda x: 2 / x, (), ref=lambda x: 2 / x, **_DIVISOR)
NUMERATORS = [5, 6, 7, 0, -5, -6, -7]
C.pin("test_div_rounding_mode", lambda: [
    T.tensor(a).div(T.tensor([d]), rounding_mode=m) for m in (None, "trunc", "floor")
    for d in (-10, -3, -2, 1, 5, -5.0, 2.0, 3.0)
    for a in (NUMERATORS, [float(n) for n in NUMERATORS])], [('float32', [-0.5, -0.600000024,
      -0.699999988, -0.0, 0.5, 0.600000024, 0.699999988]), ('float32', [-0.5, -0.600000024,
      -0.699999988, -0.0, 0.5, 0.600000024, 0.699999988]), ('float32', [-1.66666663, -2.0,
      -2.33333325, -0.0, 1.66666663, 2.0, 2.33333325]), ('float32', [-1.66666663, -2.0,
      -2.33333325, -0.0, 1.66666663, 2.0, 2.33333325]), ('float32', [-2.5, -3.0, -3.5, -0.0, 2.5,
      3.0, 3.5]), ('float32', [-2.5, -3.0, -3.5, -0.0, 2.5, 3.0, 3.5]), ('float32', [5.0, 6.0,
      7.0, 0.0, -5.0, -6.0, -7.0]), ('float32', [5.0, 6.0, 7.0, 0.0, -5.0, -6.0, -7.0]),
      ('float32', [1.0, 1.20000005, 1.39999998, 0.0, -1.0, -1.20000005, -1.39999998]), ('float32',
      [1.0, 1.20000005, 1.39999998, 0.0, -1.0, -1.20000005, -1.39999998]), ('float32', [-1.0,
      -1.20000005, -1.39999998, -0.0, 1.0, 1.20000005, 1.39999998]), ('float32', [-1.0,
      -1.20000005, -1.39999998, -0.0, 1.0, 1.20000005, 1.39999998]), ('float32', [2.5, 3.0, 3.5,
      0.0, -2.5, -3.0, -3.5]), ('float32', [2.5, 3.0, 3.5, 0.0, -2.5, -3.0, -3.5]), ('float32',
      [1.66666663, 2.0, 2.33333325, 0.0, -1.66666663, -2.0, -2.33333325]), ('float32',
      [1.66666663, 2.0, 2.33333325, 0.0, -1.66666663, -2.0, -2.33333325]), ('int64', [0, 0, 0, 0,
      0, 0, 0]), ('float32', [-0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0]), ('int64', [-1, -2, -2, 0,
      1, 2, 2]), ('float32', [-1.0, -2.0, -2.0, -0.0, 1.0, 2.0, 2.0]), ('int64', [-2, -3, -3, 0,
      2, 3, 3]), ('float32', [-2.0, -3.0, -3.0, -0.0, 2.0, 3.0, 3.0]), ('int64', [5, 6, 7, 0, -5,
      -6, -7]), ('float32', [5.0, 6.0, 7.0, 0.0, -5.0, -6.0, -7.0]), ('int64', [1, 1, 1, 0, -1,
      -1, -1]), ('float32', [1.0, 1.0, 1.0, 0.0, -1.0, -1.0, -1.0]), ('float32', [-1.0, -1.0,
      -1.0, -0.0, 1.0, 1.0, 1.0]), ('float32', [-1.0, -1.0, -1.0, -0.0, 1.0, 1.0, 1.0]),
      ('float32', [2.0, 3.0, 3.0, 0.0, -2.0, -3.0, -3.0]), ('float32', [2.0, 3.0, 3.0, 0.0, -2.0,
      -3.0, -3.0]), ('float32', [1.0, 2.0, 2.0, 0.0, -1.0, -2.0, -2.0]), ('float32', [1.0, 2.0,
      2.0, 0.0, -1.0, -2.0, -2.0]), ('int64', [-1, -1, -1, 0, 0, 0, 0]), ('float32', [-1.0, -1.0,
      -1.0, -0.0, 0.0, 0.0, 0.0]), ('int64', [-2, -2, -3, 0, 1, 2, 2]), ('float32', [-2.0, -2.0,
      -3.0, -0.0, 1.0, 2.0, 2.0]), ('int64', [-3, -3, -4, 0, 2, 3, 3]), ('float32', [-3.0, -3.0,
      -4.0, -0.0, 2.0, 3.0, 3.0]), ('int64', [5, 6, 7, 0, -5, -6, -7]), ('float32', [5.0, 6.0,
      7.0, 0.0, -5.0, -6.0, -7.0]), ('int64', [1, 1, 1, 0, -1, -2, -2]), ('float32', [1.0, 1.0,
      1.0, 0.0, -1.0, -2.0, -2.0]), ('float32', [-1.0, -2.0, -2.0, -0.0, 1.0, 1.0, 1.0]),
      ('float32', [-1.0, -2.0, -2.0, -0.0, 1.0, 1.0, 1.0]), ('float32', [2.0, 3.0, 3.0, 0.0, -3.0,
      -3.0, -4.0]), ('float32', [2.0, 3.0, 3.0, 0.0, -3.0, -3.0, -4.0]), ('float32', [1.0, 2.0,
      2.0, 0.0, -2.0, -2.0, -3.0]), ('float32', [1.0, 2.0, 2.0, 0.0, -2.0, -2.0, -3.0])])
C.pin("test_div_rounding_mode", lambda: [T.tensor([110, 111, -110, -111]).div(
    T.tensor([55, -55, 55, -55]), rounding_mode=m) for m in (None, "trunc", "floor")],
      [('float32', [2.0, -2.0181818, -2.0, 2.0181818]), ('int64', [2, -2, -2, 2]), ('int64', [2,
      -3, -2, 2])])
C.raises("test_div_rounding_mode",
         lambda: T.tensor([5]).div(T.tensor([0]), rounding_mode="typo"), RuntimeError,
         ValueError)
C.pin("test_div_int", lambda: T.tensor([5, 6, 7]) / T.tensor([1, 2, 3]), ('float32', [5.0, 3.0,
      2.33333325]))
C.pin("test_div_int", lambda: T.tensor([5, 6, 7]) // T.tensor([1, 2, 3]), ('int64', [5, 3, 2]))
C.pin("test_div_int", lambda: T.tensor([3, 4, 5], dtype=T.int32) / 2, ('float32', [1.5, 2.0, 2.5]))
C.pin("test_div_int", lambda: T.tensor([3, 4, 5], dtype=T.int32) // 2, ('int32', [1, 2, 2]))
C.pin("test_div_int", lambda: T.div(T.tensor([-4, 7, 5, 4, -7, 8]), T.tensor([2, -3, 8, -2, 3, 5]),
                                    rounding_mode="trunc"), ('int64', [-2, -2, 0, -2, -2, 1]))
C.pin("test_idiv_shift_rewrite_negative",
      lambda: T.tensor([-5, -1]).div(T.tensor([2, 4]), rounding_mode="trunc"), ('int64', [-2, 0]))

MOD_A, MOD_B = [-4, 7, 5, 4, -7, 8, -9], [2, -3, 8, -2, 3, 5, -5]
MODS = [(a, b) for a in (MOD_A, [float(v) for v in MOD_A]) for b in (MOD_B, [float(v) for v in
                                                                       MOD_B])]
C.pin("test_mod", lambda: [T.tensor(a) % T.tensor(b) for a, b in MODS], [('int64', [0, -2, 5, 0,
      2, 3, -4]), ('float32', [-0.0, -2.0, 5.0, 0.0, 2.0, 3.0, -4.0]), ('float32', [-0.0, -2.0,
      5.0, 0.0, 2.0, 3.0, -4.0]), ('float32', [-0.0, -2.0, 5.0, 0.0, 2.0, 3.0, -4.0])])
C.pin("test_mod", lambda: [r for a, _ in MODS for r in (
    T.tensor(a) % 2, T.tensor(a) % 3.5, 100 % T.tensor(a), 100.5 % T.tensor(a))], [('int64', [0,
      1, 1, 0, 1, 0, 1]), ('float32', [3.0, 0.0, 1.5, 0.5, -0.0, 1.0, 1.5]), ('int64', [0, 2, 0,
      0, -5, 4, -8]), ('float32', [-3.5, 2.5, 0.5, 0.5, -4.5, 4.5, -7.5]), ('int64', [0, 1, 1, 0,
      1, 0, 1]), ('float32', [3.0, 0.0, 1.5, 0.5, -0.0, 1.0, 1.5]), ('int64', [0, 2, 0, 0, -5, 4,
      -8]), ('float32', [-3.5, 2.5, 0.5, 0.5, -4.5, 4.5, -7.5]), ('float32', [-0.0, 1.0, 1.0, 0.0,
      1.0, 0.0, 1.0]), ('float32', [3.0, 0.0, 1.5, 0.5, -0.0, 1.0, 1.5]), ('float32', [0.0, 2.0,
      0.0, 0.0, -5.0, 4.0, -8.0]), ('float32', [-3.5, 2.5, 0.5, 0.5, -4.5, 4.5, -7.5]),
      ('float32', [-0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0]), ('float32', [3.0, 0.0, 1.5, 0.5, -0.0,
      1.0, 1.5]), ('float32', [0.0, 2.0, 0.0, 0.0, -5.0, 4.0, -8.0]), ('float32', [-3.5, 2.5, 0.5,
      0.5, -4.5, 4.5, -7.5])])
C.pin("test_fmod", lambda: [T.tensor(a).fmod(T.tensor(b)) for a, b in MODS], [('int64', [0, 1, 5,
      0, -1, 3, -4]), ('float32', [-0.0, 1.0, 5.0, 0.0, -1.0, 3.0, -4.0]), ('float32', [-0.0, 1.0,
      5.0, 0.0, -1.0, 3.0, -4.0]), ('float32', [-0.0, 1.0, 5.0, 0.0, -1.0, 3.0, -4.0])])
C.pin("test_fmod", lambda: [r for a, _ in MODS for r in (T.tensor(a).fmod(2),
                                                         T.tensor(a).fmod(3.5))], [('int64', [0,
      1, 1, 0, -1, 0, -1]), ('float32', [-0.5, 0.0, 1.5, 0.5, -0.0, 1.0, -2.0]), ('int64', [0, 1,
      1, 0, -1, 0, -1]), ('float32', [-0.5, 0.0, 1.5, 0.5, -0.0, 1.0, -2.0]), ('float32', [-0.0,
      1.0, 1.0, 0.0, -1.0, 0.0, -1.0]), ('float32', [-0.5, 0.0, 1.5, 0.5, -0.0, 1.0, -2.0]),
      ('float32', [-0.0, 1.0, 1.0, 0.0, -1.0, 0.0, -1.0]), ('float32', [-0.5, 0.0, 1.5, 0.5, -0.0,
      1.0, -2.0])])

C.pin("test_mul_naninf", lambda: [T.tensor([1.5, -0.5, 0.0]) * k for k in (inf, -inf, nan)],
      [('float32', [inf, -inf, nan]), ('float32', [-inf, inf, nan]), ('float32', [nan, nan, nan])])
C.pin("test_div_naninf", lambda: [T.tensor([1.5, -0.5]) / k for k in (inf, -inf, nan)] +
      [k / T.tensor([1.5, -0.5]) for k in (inf, -inf, nan)], [('float32', [0.0, -0.0]),
      ('float32', [-0.0, 0.0]), ('float32', [nan, nan]), ('float32', [inf, -inf]), ('float32',
      [-inf, inf]), ('float32', [nan, nan])])

# -- powers ----------------------------------------------------------------------------------------

C.grad("test_pow_full", lambda x, y: x ** y, (2, 3), (2, 3), ref=np.power, positive=True)
C.grad("test_pow_full", lambda x, y: x.pow(y), (2, 3), (2, 3), ref=np.power, positive=True)
for k in (0, 1, 2, 3, -2):
    C.grad("test_pow", lambda x, k=k: x ** k, (2, 3), ref=lambda x, k=k: x ** float(k),
           avoid=[0.0], margin=0.5)
C.grad("test_pow", lambda x: x ** 3, (2, 2), ref=lambda x: x ** 3.0, low=-30.0, high=-27.0)
C.pin_grad("test_pow", lambda x: x ** 0.2, [[-30.0, -28.5]], ('float32', [nan, nan], [[nan, nan]]))
C.pin_grad("test_pow", lambda x: x ** 1.2, [[-30.0, -28.5]], ('float32', [nan, nan], [[nan, nan]]))
C.pin_grad("test_pow", lambda x: x ** 1.1, [[0.0]], ('float32', [0.0], [[0.0]]))
for k in (0.0, 1.0, -1.0, 8.0, 5.5, -5.5, 2.0):
    C.grad("test_pow_const", lambda x, k=k: x ** k, (2, 3), ref=lambda x, k=k: x ** k,
           positive=True)
for base in (1.0, 5.5, 8.0, 2.0):
    C.grad("test_pow_const", lambda x, b=base: b ** x, (2, 3), ref=lambda x, b=base: b ** x)
C.pin_grad("test_pow_const", lambda x: (-5.5) ** x, [[-1.5, 0.0, 1.0, 2.0]], ('float32', [nan,
      1.0, -5.5, 30.25], [[nan, nan, nan, nan]]))
C.pin_grad("test_pow_const", lambda x: 0 ** x, [[-2.0, -1, 0, 1, 2, 3]], ('float32', [inf, inf,
      1.0, 0.0, 0.0, 0.0], [[-inf, -inf, 0.0, 0.0, 0.0, 0.0]]))
C.pin_grad("test_pow_const", lambda x: 0.7 ** x, [[-2.0, -1, 0, 1, 2, 3]], ('float32',
      [2.04081631, 1.42857146, 1.0, 0.699999988, 0.48999998, 0.342999995], [[-0.727908015,
      -0.509535611, -0.356674939, -0.249672458, -0.174770713, -0.122339502]]))
C.pin_grad("test_pow_const", lambda x: (-2) ** x, [[-2.0, -1, 0, 1, 2, 3]], ('float32', [0.25,
      -0.5, 1.0, -2.0, 4.0, -8.0], [[nan, nan, nan, nan, nan, nan]]))
C.pin("test_pow_const", lambda: 0.7 ** T.tensor([-2, -1, 0, 1, 2, 3]), ('float32', [2.04081631,
      1.42857146, 1.0, 0.699999988, 0.48999998, 0.342999995]))
C.pin_grad("test_pow_const_direct", lambda x: x ** -1, [[-inf, 0.0, 1.0, inf]], ('float32', [-0.0,
      inf, 1.0, 0.0], [[-0.0, -inf, -1.0, -0.0]]))
C.pin_grad("test_pow_const_direct", lambda x: x ** 0, [[-inf, 0.0, 1.0, inf]], ('float32', [1.0,
      1.0, 1.0, 1.0], [[0.0, 0.0, 0.0, 0.0]]))
C.pin_grad("test_pow_const_direct", lambda x: x ** 0.3, [[-inf, 0.0, 1.0, inf]], ('float32', [inf,
      0.0, 1.0, inf], [[0.0, inf, 0.300000012, 0.0]]))
C.pin_grad("test_pow_const_direct", lambda x: x ** 1, [[-inf, 0.0, 1.0, inf]], ('float32', [-inf,
      0.0, 1.0, inf], [[1.0, 1.0, 1.0, 1.0]]))
C.pin_grad("test_pow_const_direct", lambda x: x ** 2, [[-inf, 0.0, 1.0, inf]], ('float32', [inf,
      0.0, 1.0, inf], [[-inf, 0.0, 2.0, inf]]))
C.pin_grad("test_pow_neg_inf_frac_exponent", lambda x: x ** 0.3, [[-inf]], ('float32', [inf],
      [[0.0]]))
C.pin_grad("test_pow_neg_inf_frac_exponent", lambda x: x ** 3.3, [[-inf]], ('float32', [inf],
      [[inf]]))
C.pin_grad("test_pow_zero_exponent", lambda x, y: x ** y, [[-inf, inf, 0.0], [0.0, 0.0, 0.0]],
           ('float32', [1.0, 1.0, 1.0], [[0.0, 0.0, 0.0], [nan, inf, 0.0]]))
C.pin_grad("test_pow_zero_tensor", lambda x, y: x ** y, [[0.0], [0.0]], ('float32', [1.0], [[0.0],
      [0.0]]))
C.pin_grad("test_pow_zero_tensor", lambda x, y: x ** y, [[0.0], [0.3]], ('float32', [0.0], [[inf],
      [0.0]]))
C.pin_grad("test_pow_zero_tensor", lambda x, y: x ** y, [[0.0], [-0.3]], ('float32', [inf],
      [[-inf], [-inf]]))
C.pin("test_exp2_log2_zero_times_negative",
      lambda: (T.tensor([0.0]).log2() * T.tensor([-0.7])).exp2(), ('float32', [inf]))
C.pin_grad("test_pow_zero_const", lambda x: x ** 0.3, [[0.0]], ('float32', [0.0], [[inf]]))
C.pin_grad("test_pow_zero_const", lambda x: x ** 0.0, [[0.0]], ('float32', [1.0], [[0.0]]))
C.pin_grad("test_pow_zero_const", lambda x: x ** -0.3, [[0.0]], ('float32', [inf], [[-inf]]))
C.pin_grad("test_pow_zero_const", lambda x: x ** -1.0, [[-1.0, 0.0, 1.0]], ('float32', [-1.0, inf,
      1.0], [[-1.0, -inf, -1.0]]))
C.pin("test_int_pow_const_int", lambda: [T.tensor(v, dtype=T.int32) ** k for k, v in (
    (0, [-2, 0, 2]), (1, [-2, 0, 2]), (2, [-2, 0, 2]), (7, [11, 12, 13]), (29, [-2, 0, 2]))],
      [('int32', [1, 1, 1]), ('int32', [-2, 0, 2]), ('int32', [4, 0, 4]), ('int32', [19487171,
      35831808, 62748517]), ('int32', [-536870912, 0, 536870912])])
C.raises("test_int_pow_const_int", lambda: T.tensor([-2, 0, 2], dtype=T.int32) ** -2,
         RuntimeError, ValueError)
# (skipped in tinygrad as unsupported; here PyTorch's integer powers, negative exponents too)
C.pin("test_pow_int", lambda: [T.tensor(b, dtype=T.int32) ** T.tensor(e, dtype=T.int32)
                               for b in ([1, 2, 3], [-1, -2, -3])
                               for e in ([2, 3, 4], [-2, -3, -4])], [('int32', [1, 8, 81]),
      ('int32', [1, 0, 0]), ('int32', [1, -8, 81]), ('int32', [1, 0, 0])])
C.pin("test_pow_int", lambda: T.tensor([0, 0, 0]) ** T.tensor([0, 1, 2]), ('int64', [1, 0, 0]))
C.pin("test_pow_int", lambda: [T.tensor(11) ** T.tensor(7), T.tensor([11]) ** T.tensor([7])],
      [('int64', 19487171), ('int64', [19487171])])
C.pin("test_pow_int", lambda: T.tensor([2], dtype=T.int32) ** T.tensor(-2, dtype=T.int32),
      ('int32', [0]))
C.pin("test_pow_int_base_float_exponent", lambda: [
    T.tensor([1, 2, 3, 4], dtype=T.int32) ** e for e in (0.5, 1.5, 2.0, -1.0, 0.0)], [('float32',
      [1.0, 1.41421354, 1.73205078, 2.0]), ('float32', [1.0, 2.82842708, 5.19615221, 8.0]),
      ('float32', [1.0, 4.0, 9.0, 16.0]), ('float32', [1.0, 0.5, 0.333333343, 0.25]), ('float32',
      [1.0, 1.0, 1.0, 1.0])])
C.grad("test_sqrt", lambda x: x.sqrt(), (2, 3), ref=np.sqrt, positive=True)
C.grad("test_rsqrt", lambda x: x.rsqrt(), (), ref=lambda x: 1 / np.sqrt(x), positive=True)
C.pin_grad("test_sqrt", lambda x: x.sqrt(), [[0.0]], ('float32', [0.0], [[inf]]))
C.pin_grad("test_rsqrt", lambda x: x.rsqrt(), [[0.0]], ('float32', [inf], [[-inf]]))

# -- bitwise ---------------------------------------------------------------------------------------

BITS = [[1, -8, 1], [32, 1, 6]]
C.pin("test_xor", lambda: [T.tensor(BITS, dtype=T.int32) ^ T.tensor(BITS, dtype=T.int32),
                           T.tensor(BITS, dtype=T.int32) ^ 0x1337,
                           0x1337 ^ T.tensor(BITS, dtype=T.int32)], [('int32', [[0, 0, 0], [0, 0,
      0]]), ('int32', [[4918, -4913, 4918], [4887, 4918, 4913]]), ('int32', [[4918, -4913, 4918],
      [4887, 4918, 4913]])])
C.pin("test_and", lambda: [T.tensor(BITS, dtype=T.int32) & 0x1337,
                           0x1337 & T.tensor(BITS, dtype=T.int32),
                           T.tensor([True, True, False, False]) & T.tensor([True, False, True,
                                                                            False])], [('int32',
      [[1, 4912, 1], [32, 1, 6]]), ('int32', [[1, 4912, 1], [32, 1, 6]]), ('bool', [True, False,
      False, False])])
C.pin("test_and", lambda: (1 < T.tensor([1.2, 1.2, 1.2, 3.2])) & (T.tensor([1.2, 1.2, 1.2, 3.2])
                                                                  < 2), ('bool', [True, True,
      True, False]))
C.pin("test_or", lambda: [T.tensor(BITS, dtype=T.int32) | 0x1337,
                          0x1337 | T.tensor(BITS, dtype=T.int32),
                          T.tensor([True, True, False, False]) | T.tensor([True, False, True,
                                                                           False])], [('int32',
      [[4919, -1, 4919], [4919, 4919, 4919]]), ('int32', [[4919, -1, 4919], [4919, 4919, 4919]]),
      ('bool', [True, True, True, False])])
C.pin("test_bitwise_not", lambda: [T.tensor(BITS, dtype=T.int32).bitwise_not(),
                                   ~T.tensor(BITS, dtype=T.int32), ~T.tensor([[True, False]]),
                                   T.tensor([[True, False]]).bitwise_not()], [('int32', [[-2, 7,
      -2], [-33, -2, -7]]), ('int32', [[-2, 7, -2], [-33, -2, -7]]), ('bool', [[False, True]]),
      ('bool', [[False, True]])])
C.pin("test_int_or", lambda: T.tensor([0], dtype=T.int32) | 0xFFFFFFFF, ('int32', [-1]))
SHIFT = [[0, 1, 2], [1 << 8, 1 << 16, 1 << 30]]
C.pin("test_lshift", lambda: [T.tensor(SHIFT, dtype=T.int32) << k for k in (0, 2, 31)], [('int32',
      [[0, 1, 2], [256, 65536, 1073741824]]), ('int32', [[0, 4, 8], [1024, 262144, 0]]), ('int32',
      [[0, -2147483648, 0], [0, 0, 0]])])
C.pin("test_lshift", lambda: [T.tensor(SHIFT, dtype=T.int32) << T.tensor([0, 2, 4]).int(),
                              T.tensor(SHIFT, dtype=T.int32).__lshift__(2),
                              T.tensor(SHIFT, dtype=T.int32).bitwise_left_shift(2)], [('int32',
      [[0, 4, 32], [256, 262144, 0]]), ('int32', [[0, 4, 8], [1024, 262144, 0]]), ('int32', [[0,
      4, 8], [1024, 262144, 0]])])
C.pin("test_rshift", lambda: [T.tensor(SHIFT, dtype=T.int32) >> k for k in (0, 2, 31)], [('int32',
      [[0, 1, 2], [256, 65536, 1073741824]]), ('int32', [[0, 0, 0], [64, 16384, 268435456]]),
      ('int32', [[0, 0, 0], [0, 0, 0]])])
C.pin("test_rshift", lambda: [T.tensor(SHIFT, dtype=T.int32) >> T.tensor([0, 2, 4]).int(),
                              T.tensor(SHIFT, dtype=T.int32).__rshift__(2),
                              T.tensor(SHIFT, dtype=T.int32).bitwise_right_shift(2)], [('int32',
      [[0, 0, 0], [256, 16384, 67108864]]), ('int32', [[0, 0, 0], [64, 16384, 268435456]]),
      ('int32', [[0, 0, 0], [64, 16384, 268435456]])])
C.raises("test_lshift", lambda: T.tensor([1.0]) << 2, RuntimeError, TypeError)
C.raises("test_lshift", lambda: T.tensor([1]) << T.tensor([1.0]), RuntimeError, TypeError)
C.raises("test_lshift", lambda: T.tensor([1]) << 1.0, RuntimeError, TypeError)
C.raises("test_rshift", lambda: T.tensor([4.0]) >> 1, RuntimeError, TypeError)
SIGNED = [[-1, -3, 1, 7], [0, -2147483648, 2147483647, -1]]
C.pin("test_lshift_signed", lambda: [T.tensor(SIGNED, dtype=T.int32) << k for k in (0, 2, 8, 31)]
      + [T.tensor(SIGNED, dtype=T.int32) << T.tensor([0, 2, 8, 31]).int()], [('int32', [[-1, -3,
      1, 7], [0, -2147483648, 2147483647, -1]]), ('int32', [[-4, -12, 4, 28], [0, 0, -4, -4]]),
      ('int32', [[-256, -768, 256, 1792], [0, 0, -256, -256]]), ('int32', [[-2147483648,
      -2147483648, -2147483648, -2147483648], [0, 0, -2147483648, -2147483648]]), ('int32', [[-1,
      -12, 256, -2147483648], [0, 0, -256, -2147483648]])])
C.pin("test_rshift_signed", lambda: [T.tensor(SIGNED, dtype=T.int32) >> k for k in (0, 2, 8, 31)]
      + [T.tensor(SIGNED, dtype=T.int32) >> T.tensor([0, 2, 8, 31]).int()], [('int32', [[-1, -3,
      1, 7], [0, -2147483648, 2147483647, -1]]), ('int32', [[-1, -1, 0, 1], [0, -536870912,
      536870911, -1]]), ('int32', [[-1, -1, 0, 0], [0, -8388608, 8388607, -1]]), ('int32', [[-1,
      -1, 0, 0], [0, -1, 0, -1]]), ('int32', [[-1, -1, 0, 0], [0, -536870912, 8388607, -1]])])

# -- trigonometry, logs, exponentials --------------------------------------------------------------

C.grad("test_sin", lambda x: x.sin(), (2, 3), ref=np.sin)
C.grad("test_cos", lambda x: x.cos(), (), ref=np.cos)
C.grad("test_tan", lambda x: x.tan(), (2, 3), ref=np.tan, low=-1.3, high=1.3)
C.pin("test_cos", lambda: T.tensor(2).cos(), ('float32', -0.416146845))
C.pin_grad("test_sin", lambda x: x.sin(), [[nan, inf, -inf, 0.0]], ('float32', [nan, nan, nan,
      0.0], [[nan, nan, nan, 1.0]]))
C.pin_grad("test_cos", lambda x: x.cos(), [[nan, inf, -inf, 0.0]], ('float32', [nan, nan, nan,
      1.0], [[nan, nan, nan, -0.0]]))
C.pin_grad("test_tan", lambda x: x.tan(), [[nan, inf, -inf, 0.0]], ('float32', [nan, nan, nan,
      0.0], [[nan, nan, nan, 1.0]]))
BIG = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, -1e1, -1e2, -1e3, -1e4, -1e5, -1e6]
C.pin_grad("test_sin", lambda x: x.sin(), [BIG], ('float32', [-0.54402113, -0.506365657,
      0.826879561, -0.305614382, 0.0357487984, -0.349993497, 0.54402113, 0.506365657,
      -0.826879561, 0.305614382, -0.0357487984, 0.349993497], [[-0.839071512, 0.862318873,
      0.562379062, -0.952155352, -0.9993608, 0.936752141, -0.839071512, 0.862318873, 0.562379062,
      -0.952155352, -0.9993608, 0.936752141]]), rtol=3e-3, atol=3e-3)
C.pin_grad("test_cos", lambda x: x.cos(), [BIG], ('float32', [-0.839071512, 0.862318873,
      0.562379062, -0.952155352, -0.9993608, 0.936752141, -0.839071512, 0.862318873, 0.562379062,
      -0.952155352, -0.9993608, 0.936752141], [[0.54402113, 0.506365657, -0.826879561,
      0.305614382, -0.0357487984, 0.349993497, -0.54402113, -0.506365657, 0.826879561,
      -0.305614382, 0.0357487984, -0.349993497]]), rtol=3e-3, atol=3e-3)
C.pin_grad("test_tan", lambda x: x.tan(), [BIG], ('float32', [0.648360848, -0.587213933,
      1.47032416, 0.320971131, -0.0357716642, -0.373624444, -0.648360848, 0.587213933,
      -1.47032416, -0.320971131, 0.0357716642, 0.373624444], [[1.42037177, 1.34482026, 3.16185308,
      1.10302246, 1.00127959, 1.13959527, 1.42037177, 1.34482026, 3.16185308, 1.10302246,
      1.00127959, 1.13959527]]), rtol=3e-3, atol=3e-3)
C.grad("test_asin", lambda x: x.asin(), (2, 3), ref=np.arcsin, low=-0.9, high=0.9)
C.grad("test_acos", lambda x: x.acos(), (2, 3), ref=np.arccos, low=-0.9, high=0.9)
C.grad("test_atan", lambda x: x.atan(), (2, 3), ref=np.arctan)
C.grad("test_atan", lambda x: x.atan(), (2,), ref=np.arctan, low=300.0, high=303.0)
C.pin_grad("test_asin", lambda x: x.asin(), [[-300.0, -298.5, 300.5]], ('float32', [nan, nan,
      nan], [[nan, nan, nan]]))
C.pin_grad("test_acos", lambda x: x.acos(), [[-300.0, -298.5, 300.5]], ('float32', [nan, nan,
      nan], [[nan, nan, nan]]))
C.pin_grad("test_atan", lambda x: x.atan(), [[-300.0, -298.5, 300.5]], ('float32', [-1.56746304,
      -1.56744623, 1.56746852], [[1.11109875e-05, 1.12229354e-05, 1.10740439e-05]]))
C.grad("test_log", T.log, (2, 3), ref=np.log, positive=True)
C.grad("test_log10", T.log10, (), ref=np.log10, positive=True)
C.grad("test_log2", T.log2, (2, 3), ref=np.log2, positive=True)
C.grad("test_exp", T.exp, (2, 3), ref=np.exp)
C.grad("test_exp2", T.exp2, (2, 3), ref=np.exp2)
C.grad("test_exp2", T.exp2, (), ref=np.exp2)
C.pin_grad("test_log", lambda x: T.log(x), [[inf, -inf, nan]], ('float32', [inf, nan, nan], [[0.0,
      -0.0, nan]]))
C.pin_grad("test_log10", lambda x: T.log10(x), [[inf, -inf, nan]], ('float32', [inf, nan, nan],
      [[0.0, -0.0, nan]]))
C.pin_grad("test_log2", lambda x: T.log2(x), [[inf, -inf, nan]], ('float32', [inf, nan, nan],
      [[0.0, -0.0, nan]]))
C.pin_grad("test_exp", lambda x: T.exp(x), [[inf, -inf, nan]], ('float32', [inf, 0.0, nan], [[inf,
      0.0, nan]]))
C.pin_grad("test_exp2", lambda x: T.exp2(x), [[inf, -inf, nan]], ('float32', [inf, 0.0, nan],
      [[inf, 0.0, nan]]))
C.pin("test_exp", lambda: T.tensor(2).exp(), ('float32', 7.38905621))
C.grad("test_sign", T.sign, (2, 3), ref=np.sign, avoid=[0.0])
C.pin_grad("test_sign_exact", lambda x: T.sign(x), [[-1.0, 0, 1]], ('float32', [-1.0, 0.0, 1.0],
      [[0.0, 0.0, 0.0]]))
C.grad("test_copysign", T.copysign, (2, 3), (2, 3), ref=np.copysign, avoid=[0.0])
C.grad("test_copysign", T.copysign, (2, 1), (1, 3), ref=np.copysign, avoid=[0.0])
COPYSIGN = [-1.0, -0.0, 0.0, 1.0, inf, -inf, nan]
C.pin_grad("test_copysign_exact", lambda x, y: T.copysign(x, y),
      [[v for v in COPYSIGN for _ in COPYSIGN],
                                               COPYSIGN * len(COPYSIGN)], ('float32', [-1.0, -1.0,
      1.0, 1.0, 1.0, -1.0, 1.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0,
      -0.0, 0.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -inf, -inf, inf, inf, inf, -inf, inf, -inf,
      -inf, inf, inf, inf, -inf, inf, nan, nan, nan, nan, nan, nan, nan], [[1.0, 1.0, -1.0, -1.0,
      -1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0,
      -1.0, 1.0, 1.0, 1.0, -1.0, 1.0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan,
      nan, nan, nan, nan, nan, nan, nan, nan, nan], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
      0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
      0.0, 0.0, 0.0, 0.0]]))
C.grad("test_logaddexp", T.logaddexp, (2, 3), (2, 3), ref=np.logaddexp)
C.pin_grad("test_logaddexp", lambda x, y: T.logaddexp(x, y), [[-1.0], [-1.0, 2, 3]], ('float32',
      [-0.306852818, 2.04858732, 3.01814985], [[0.565412104], [0.5, 0.952574134, 0.982013762]]))
C.pin_grad("test_logaddexp", lambda x, y: T.logaddexp(x, y), [[-100.0, -200, -300], [-1.0, 2, 3]],
      ('float32', [-1.0, 2.0, 3.0], [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), atol=1e-30)
C.pin_grad("test_logaddexp", lambda x, y: T.logaddexp(x, y), [[1.0, 2000, 30000], [-1.0, 2, 3]],
      ('float32', [1.12692797, 2000.0, 30000.0], [[0.880797029, 1.0, 1.0], [0.119202919, 0.0,
      0.0]]))

# -- activations -----------------------------------------------------------------------------------


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def _softplus(x, beta=1.0):
    return np.where(beta * x > 20, x, np.log1p(np.exp(beta * x)) / beta)


C.grad("test_relu", lambda x: x.relu(), (3, 3), ref=lambda x: np.maximum(x, 0), avoid=[0.0])
C.pin_grad("test_relu_exact", lambda x: x.relu(), [[-1.0, 0, 1]], ('float32', [0.0, 0.0, 1.0],
      [[0.0, 0.0, 1.0]]))
C.grad("test_leaky_relu", lambda x: F.leaky_relu(x, 0.01), (2, 3),
       ref=lambda x: np.where(x > 0, x, 0.01 * x), avoid=[0.0])
for alpha in (1, 2, 3, 4):
    C.grad("test_celu", lambda x, a=alpha: F.celu(x, a), (2, 3),
           ref=lambda x, a=alpha: np.maximum(x, 0) + np.minimum(0, a * np.expm1(x / a)),
           avoid=[0.0])
C.grad("test_selu", F.selu, (2, 3), avoid=[0.0], ref=lambda x: 1.0507009873554805 * np.where(
    x > 0, x, 1.6732632423543772 * np.expm1(x)))
C.grad("test_silu", F.silu, (2, 3), ref=lambda x: x * _sigmoid(x))
C.grad("test_swish", F.silu, (), ref=lambda x: x * _sigmoid(x))
C.grad("test_abs", T.abs, (2, 3), ref=np.abs, avoid=[0.0])
C.pin_grad("test_abs_exact", lambda x: T.abs(x), [[-1.0, -0.0, 0.0, 1.0, inf, -inf]], ('float32',
      [1.0, 0.0, 0.0, 1.0, inf, inf], [[-1.0, 0.0, 0.0, 1.0, 1.0, -1.0]]))
C.pin("test_abs_exact", lambda: T.abs(T.tensor([nan, -nan])), ('float32', [nan, nan]))
C.grad("test_softsign", F.softsign, (2, 3), ref=lambda x: x / (1 + np.abs(x)), avoid=[0.0])
C.pin_grad("test_softsign_exact", lambda x: F.softsign(x), [[-1.0, 0, 1]], ('float32', [-0.5, 0.0,
      0.5], [[0.25, 1.0, 0.25]]))
C.grad("test_sigmoid", T.sigmoid, (2, 3), ref=_sigmoid)
C.pin_grad("test_sigmoid_extreme", lambda x: T.sigmoid(x), [[300.0, 350.0, -300.0, -400.0]],
      ('float32', [1.0, 1.0, 0.0, 0.0], [[0.0, 0.0, 0.0, 0.0]]))
C.pin_grad("test_sigmoid_alt_extreme", lambda x: x.exp() / (1 + x.exp()), [[300.0, -300.0]],
           ('float32', [nan, 0.0], [[nan, 0.0]]))
C.grad("test_logsigmoid", F.logsigmoid, (2, 3), ref=lambda x: -np.logaddexp(0, -x))
C.grad("test_hardsigmoid", F.hardsigmoid, (2, 3), ref=lambda x: np.clip(x / 6 + 0.5, 0, 1),
       low=-4.0, high=4.0, avoid=[-3.0, 3.0])
C.pin_grad("test_hardsigmoid_extreme", lambda x: F.hardsigmoid(x), [[300.0, -300.0, 3.0, -3.0]],
      ('float32', [1.0, 0.0, 1.0, 0.0], [[0.0, 0.0, 0.0, 0.0]]))
for beta in (1.0, 3.0, 1 / 3):
    C.grad("test_softplus", lambda x, b=beta: F.softplus(x, beta=b), (2, 3),
           ref=lambda x, b=beta: _softplus(x, b))
C.pin_grad("test_softplus", lambda x: F.softplus(x), [[300.0, 400.0, -300.0, -400.0]], ('float32',
      [300.0, 400.0, 0.0, 0.0], [[1.0, 1.0, 0.0, 0.0]]))
C.grad("test_erf", T.erf, (2, 3), ref=_erf.erf)
C.pin_grad("test_erf", lambda x: T.erf(x), [[300.0, -300.0]], ('float32', [1.0, -1.0], [[0.0,
      0.0]]))
C.grad("test_gelu", lambda x: F.gelu(x, approximate="tanh"), (2, 3), ref=_gelu_tanh)
C.grad("test_gelu", lambda x: F.gelu(x, approximate="none"), (2, 3),
       ref=lambda x: 0.5 * x * (1 + _erf.erf(x / math.sqrt(2))))
C.pin_grad("test_gelu_extreme", lambda x: F.gelu(x, approximate="tanh"),
           [[300.0, 350.0, -300.0, -400.0]], ('float32', [300.0, 350.0, -0.0, -0.0], [[1.0, 1.0,
      0.0, 0.0]]))
C.pin_grad("test_gelu_extreme", lambda x: F.gelu(x, approximate="none"),
           [[300.0, 350.0, -300.0, -400.0]], ('float32', [300.0, 350.0, -0.0, -0.0], [[1.0, 1.0,
      0.0, 0.0]]))
C.grad("test_quick_gelu", lambda x: x * T.sigmoid(1.702 * x), (2, 3),
       ref=lambda x: x * _sigmoid(1.702 * x))
C.pin_grad("test_quick_gelu_extreme", lambda x: x * T.sigmoid(1.702 * x), [[300.0, -300.0]],
           ('float32', [300.0, -0.0], [[1.0, 0.0]]))
C.grad("test_elu", F.elu, (2, 3), ref=lambda x: np.where(x > 0, x, np.expm1(x)), avoid=[0.0])
C.grad("test_elu", lambda x: F.elu(x, alpha=0.1), (), avoid=[0.0],
       ref=lambda x: np.where(x > 0, x, 0.1 * np.expm1(x)))
C.grad("test_relu6", F.relu6, (2, 3), ref=lambda x: np.clip(x, 0, 6), low=-2.0, high=8.0,
       avoid=[0.0, 6.0])
C.grad("test_hardswish", F.hardswish, (2, 3), ref=lambda x: x * np.clip(x + 3, 0, 6) / 6,
       low=-4.0, high=4.0, avoid=[-3.0, 3.0])
C.grad("test_mish", F.mish, (2, 3), ref=lambda x: x * np.tanh(_softplus(x)))
C.grad("test_sinh", lambda x: x.sinh(), (2, 3), ref=np.sinh)
C.grad("test_cosh", lambda x: x.cosh(), (2, 3), ref=np.cosh)
C.pin("test_sinh", lambda: [T.tensor([-300.0, -297.0, 300.0]).sinh(),
                            T.tensor([-300.0, -297.0, 300.0]).cosh()], [('float32', [-inf, -inf,
      inf]), ('float32', [inf, inf, inf])])
C.grad("test_tanh", lambda x: x.tanh(), (2, 3), ref=np.tanh)
C.pin_grad("test_tanh_extreme", lambda x: x.tanh(), [[-300.0, -297.0, 300.0, 303.0]], ('float32',
      [-1.0, -1.0, 1.0, 1.0], [[0.0, 0.0, 0.0, 0.0]]))
for val in (1.5, 3.0):
    C.grad("test_hardtanh", lambda x, v=val: F.hardtanh(x, -v, v), (2, 3),
           ref=lambda x, v=val: np.clip(x, -v, v), avoid=[-val, val])
C.grad("test_asinh", lambda x: x.asinh(), (2, 3), ref=np.arcsinh)
C.grad("test_acosh", lambda x: x.acosh(), (2, 3), ref=np.arccosh, low=1.2, high=3.0)
C.grad("test_atanh", lambda x: x.atanh(), (2, 3), ref=np.arctanh, low=-0.9, high=0.9)
C.pin_grad("test_asinh", lambda x: x.asinh(), [[-300.0, -297.0, 300.0, 303.0]], ('float32',
      [-6.3969326, -6.38688231, 6.3969326, 6.40688276], [[0.00333331479, 0.00336698443,
      0.00333331479, 0.00330031198]]))
C.pin_grad("test_acosh", lambda x: x.acosh(), [[-300.0, 300.0, 303.0]], ('float32', [nan,
      6.39692688, 6.40687704], [[0.00333335204, 0.00333335204, 0.00330034806]]))
C.pin_grad("test_atanh", lambda x: x.atanh(), [[-300.0, 300.0, 0.5]], ('float32', [nan, nan,
      0.549306154], [[-1.11112349e-05, -1.11112349e-05, 1.33333337]]))
C.grad("test_topo_sort", lambda x: (x + x) * x, (2, 3), ref=lambda x: (x + x) * x)

# -- scans -----------------------------------------------------------------------------------------


def _running(ufunc, take_over):
    def ref(x, dim):
        values = ufunc.accumulate(x, axis=dim)
        moved_x, moved_v = np.moveaxis(x, dim, -1), np.moveaxis(values, dim, -1)
        index = np.zeros(moved_x.shape, dtype=np.int64)
        for i in range(1, moved_x.shape[-1]):
            index[..., i] = np.where(take_over(moved_x[..., i], moved_v[..., i - 1]), i,
                                     index[..., i - 1])
        return values, np.moveaxis(index, -1, dim)
    return ref


for dim, shape in ((0, (10,)), (0, (4, 3)), (1, (4, 3)), (2, (2, 3, 4)), (-1, (2, 3, 4))):
    C.grad("test_cumsum", lambda x, d=dim: T.cumsum(x, dim=d), shape,
           ref=lambda x, d=dim: np.cumsum(x, axis=d))
    C.grad("test_cumprod", lambda x, d=dim: T.cumprod(x, dim=d), shape,
           ref=lambda x, d=dim: np.cumprod(x, axis=d))
    C.grad("test_cummax", lambda x, d=dim: T.cummax(x, dim=d), distinct(shape),
           ref=lambda x, d=dim: _running(np.maximum, np.greater_equal)(x, d))
    C.grad("test_cummin", lambda x, d=dim: T.cummin(x, dim=d), distinct(shape),
           ref=lambda x, d=dim: _running(np.minimum, np.less_equal)(x, d))
    C.grad("test_logcumsumexp", lambda x, d=dim: T.logcumsumexp(x, dim=d), shape,
           ref=lambda x, d=dim: np.logaddexp.accumulate(x, axis=d))
for name in ("small_cumsum", "simple_cumsum", "small_cumprod", "simple_cumprod", "small_cummax",
             "simple_cummax", "small_cummin", "simple_cummin"):
    op = name.split("_")[1]
    ref = {"cumsum": np.cumsum, "cumprod": np.cumprod}.get(op)
    C.grad(f"test_{name}", lambda x, op=op: getattr(T, op)(x, dim=0),
           distinct((12,)) if ref is None else (12,),
           ref=(lambda x, op=op: _running(np.maximum if op == "cummax" else np.minimum,
                                          np.greater_equal if op == "cummax" else
                                          np.less_equal)(x, 0)) if ref is None else
           (lambda x, r=ref: r(x, axis=0)))
SCANS = ("cumsum", "cumprod", "cummax", "cummin", "logcumsumexp")
C.pin("test_cumsum", lambda: [getattr(T, op)(T.tensor(0.5), dim=0) for op in SCANS], [('float32',
      0.5), ('float32', 0.5), ('float32', 0.5), ('int64', 0), ('float32', 0.5), ('int64', 0),
      ('float32', 0.5)])
ZERO_AXIS = (((2, 0, 4), 1), ((0, 3), 0), ((2, 3, 0), 2))
for op in SCANS:  # (test_cumsum_zero_axis, test_cumprod_zero_axis, ...: empty results)
    C.pin(f"test_{op}_zero_axis", lambda op=op: [getattr(T, op)(T.ones(s), dim=d)
                                                 for s, d in ZERO_AXIS],
          [w for s, _ in ZERO_AXIS for w in [('float32', empty(*s))] + (
              [('int64', empty(*s))] if op in ("cummax", "cummin") else [])])
for op in SCANS:
    C.raises(f"test_{op}", lambda op=op: getattr(T, op)(T.tensor(0.5), dim=1), IndexError,
             ValueError)
    C.raises(f"test_{op}", lambda op=op: getattr(T, op)(T.ones(5), dim=-2), IndexError,
             ValueError)
C.pin("test_cummax", lambda: T.cummax(T.tensor([1.0, 3, 3, 2, 5]), dim=0), [('float32', [1.0, 3.0,
      3.0, 3.0, 5.0]), ('int64', [0, 1, 2, 2, 4])])
C.pin("test_cummin", lambda: T.cummin(T.tensor([3.0, 1, 1, 2, -5]), dim=0), [('float32', [3.0,
      1.0, 1.0, 1.0, -5.0]), ('int64', [0, 1, 2, 2, 4])])
C.pin_grad("test_logcumsumexp_numerical", lambda x: T.logcumsumexp(x, dim=0), [[0.0, 100.0]],
           ('float32', [0.0, 100.0], [[1.0, 1.0]]))

# -- argmax, argmin, sort, argsort, topk -----------------------------------------------------------

C.pin("test_argmax", lambda: [T.tensor([2, 2]).argmax(), T.tensor([1, 2, 2]).argmax(),
                              T.tensor([0, -2**31]).argmax(), T.tensor([-2**31, 0]).argmax(),
                              (~T.tensor([2, 2])).argmax(),
                              T.tensor([False, True]).to(T.int32).argmax()], [('int64', 0),
      ('int64', 1), ('int64', 0), ('int64', 1), ('int64', 0), ('int64', 1)])
C.pin("test_argmin", lambda: [T.tensor([2, 2]).argmin(), T.tensor([3, 2, 2]).argmin(),
                              T.tensor([0, -2**31]).argmin(), T.tensor([-2**31, 0]).argmin(),
                              T.tensor([True, False]).to(T.int32).argmin()], [('int64', 0),
      ('int64', 1), ('int64', 1), ('int64', 0), ('int64', 1)])
M = [[0.5, -1.0, 2.0, 2.0], [3.0, 0.0, 3.0, -4.0], [1.0, 1.0, -1.0, 0.5]]
C.pin("test_argmax", lambda: [T.tensor(M).argmax(), T.tensor(M).argmax(0, False),
                              T.tensor(M).argmax(1, False), T.tensor(M).argmax(1, True)],
      [('int64', 4), ('int64', [1, 2, 1, 0]), ('int64', [2, 0, 0]), ('int64', [[2], [0], [0]])])
C.pin("test_argmin", lambda: [T.tensor(M).argmin(), T.tensor(M).argmin(0, False),
                              T.tensor(M).argmin(1, False), T.tensor(M).argmin(1, True)],
      [('int64', 7), ('int64', [0, 0, 2, 1]), ('int64', [1, 3, 2]), ('int64', [[1], [3], [2]])])
C.pin("test_sort", lambda: [T.ones(s).sort(0) for s in ((0,), (0, 5), (1,), (1, 5))], [('float32',
      empty(0)), ('int64', empty(0)), ('float32', empty(0, 5)), ('int64', empty(0, 5)),
      ('float32', [1.0]), ('int64', [0]), ('float32', [[1.0, 1.0, 1.0, 1.0, 1.0]]), ('int64', [[0,
      0, 0, 0, 0]])])
for dim in (-1, 0, 1):
    for descending in (True, False):
        C.grad("test_sort", lambda x, d=dim, de=descending: x.sort(d, de)[0], distinct((3, 3, 2)),
               ref=lambda x, d=dim, de=descending: np.flip(np.sort(x, axis=d), d) if de else
               np.sort(x, axis=d))
C.pin("test_sort", lambda: [T.tensor(M).sort(dim=d, descending=de, stable=True).indices
                           for d in (-1, 0, 1) for de in (True, False)], [('int64', [[2, 3, 0, 1],
      [0, 2, 1, 3], [0, 1, 3, 2]]), ('int64', [[1, 0, 2, 3], [3, 1, 0, 2], [2, 3, 0, 1]]),
      ('int64', [[1, 2, 1, 0], [2, 1, 0, 2], [0, 0, 2, 1]]), ('int64', [[0, 0, 2, 1], [2, 1, 0,
      2], [1, 2, 1, 0]]), ('int64', [[2, 3, 0, 1], [0, 2, 1, 3], [0, 1, 3, 2]]), ('int64', [[1, 0,
      2, 3], [3, 1, 0, 2], [2, 3, 0, 1]])])
C.pin("test_sort", lambda: T.tensor([0, 1] * 9).sort(stable=True), [('int64', [0, 0, 0, 0, 0, 0,
      0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]), ('int64', [0, 2, 4, 6, 8, 10, 12, 14, 16, 1, 3, 5, 7,
      9, 11, 13, 15, 17])])
C.pin("test_sort", lambda: T.tensor([0, 1] * 9).sort(stable=True, descending=True), [('int64', [1,
      1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), ('int64', [1, 3, 5, 7, 9, 11, 13, 15,
      17, 0, 2, 4, 6, 8, 10, 12, 14, 16])])
C.pin("test_argsort", lambda: T.argsort(T.tensor(M), dim=1, descending=True, stable=True),
      ('int64', [[2, 3, 0, 1], [0, 2, 1, 3], [0, 1, 3, 2]]))
C.grad("test_argsort", lambda x: x.gather(1, T.argsort(x, dim=1, descending=True)),
       distinct((3, 4, 2)), ref=lambda x: np.flip(np.sort(x, axis=1), 1))
C.grad("test_topk", lambda x: x.topk(3).values, distinct((8,)),
       ref=lambda x: np.sort(x)[::-1][:3].copy())
C.grad("test_topk", lambda x: x.topk(4, 0, True, True).values, distinct((5, 2, 3)),
       ref=lambda x: np.flip(np.sort(x, axis=0), 0)[:4])
C.grad("test_topk", lambda x: x.topk(2, 1, False, True).values, distinct((3, 3, 2)),
       ref=lambda x: np.sort(x, axis=1)[:, :2])
C.pin("test_topk", lambda: T.tensor([1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]).topk(3)[0],
      ('int64', [1, 1, 1]))
C.pin("test_topk", lambda: T.tensor([1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]).topk(
    3, largest=False)[0], ('int64', [0, 0, 0]))
C.pin("test_topk", lambda: T.tensor(M).add(T.arange(12.0).reshape(3, 4) / 100).topk(2, dim=1)
      .indices, ('int64', [[3, 2], [2, 0], [1, 0]]))
C.raises("test_topk", lambda: T.ones(4).topk(5), RuntimeError, ValueError)

test_gradients, test_pytorch_values, test_pytorch_errors = make_tests(C)


def test_topk_ties_take_the_earliest_positions():
    # tinygrad pins [0, 1, 3] and [2, 4, 6] for these ties; PyTorch leaves the order among
    # equal values open (2.13 gives [12, 8, 5]); ours are the earliest positions
    x = tg.tensor([1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0])
    assert x.topk(3).indices.tolist() == [0, 1, 3]
    assert x.topk(3, largest=False).indices.tolist() == [2, 4, 6]
