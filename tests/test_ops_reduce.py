"""Property tests for the reductions: one registry entry per op (see opcheck.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import OpCase, check_op

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


def axes(ndim: int) -> st.SearchStrategy:
    """None, a single (possibly negative) axis, or a tuple of distinct axes."""
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return st.one_of(*options)


@st.composite
def reduction(draw, arrays=S.arrays):
    x = draw(arrays(S.shapes()))
    return (x,), {"axis": draw(axes(x.ndim)), "keepdims": draw(st.booleans())}


@st.composite
def var_inputs(draw):
    (x,), attrs = draw(reduction())
    axis = attrs["axis"]
    reduced = range(x.ndim) if axis is None else np.atleast_1d(axis)
    n = int(np.prod([x.shape[i] for i in reduced]))
    # ddof = 1 needs two elements per reduction, or the variance is 0/0
    attrs["ddof"] = draw(st.sampled_from([0, 1] if n >= 2 else [0]))
    return (x,), attrs


def _ref_logsumexp(x, axis, keepdims):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


CASES = [
    OpCase("sum", lambda x, **kw: x.sum(**kw), np.sum, reduction()),
    OpCase("mean", lambda x, **kw: x.mean(**kw), np.mean, reduction()),
    # distinct values: the extreme is never tied (ties are pinned by exact tests)
    OpCase("max", lambda x, **kw: x.max(**kw), np.max, reduction(S.distinct_arrays)),
    OpCase("min", lambda x, **kw: x.min(**kw), np.min, reduction(S.distinct_arrays)),
    OpCase("var", lambda x, **kw: x.var(**kw), np.var, var_inputs()),
    OpCase("logsumexp", lambda x, **kw: tg.logsumexp(x, **kw), _ref_logsumexp, reduction()),
]


@pytest.mark.parametrize("case", CASES, ids=repr)
@given(data=st.data())
def test_op(case, data):
    check_op(case, data)
