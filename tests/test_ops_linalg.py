"""Property tests for matmul: 1-D, 2-D and batched with broadcast batch dims, each run through
the public ``tg.testing.check_op`` against numpy."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


@st.composite
def matmul_inputs(draw, max_batch_dims=1):
    # numpy's own signature "(n?,k),(k,m?)->(n?,m?)": optional dims give the 1-D cases
    sa, sb = draw(S.broadcastable_shapes(signature=np.matmul.signature, min_dims=0,
                                         max_dims=max_batch_dims))
    return draw(S.tensors(sa)), draw(S.tensors(sb))


@st.composite
def vector_inputs(draw):
    n = draw(st.integers(1, 4))
    return draw(S.tensors((n,))), draw(S.tensors((n,)))


_CONST = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@st.composite
def linear_inputs(draw, bias=True):
    """(x, weight[, bias]): x (..., in) with 0 to 2 leading dims, weight (out, in)."""
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x, w = draw(S.tensors(lead + (n_in,))), draw(S.tensors((n_out, n_in)))
    return (x, w, draw(S.tensors((n_out,)))) if bias else (x, w)


def _ref_linear(x, w, b=None):
    return x @ w.T + (0.0 if b is None else b)


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("matmul", lambda a, b: a @ b, np.matmul, matmul_inputs()),
    case("matmul_batched", tg.matmul, np.matmul, matmul_inputs(max_batch_dims=2)),
    case("matmul_1d_1d", tg.matmul, np.matmul, vector_inputs()),
    # ndarray @ Tensor goes to Tensor.__rmatmul__ (the constant has the tensor's dtype)
    case("rmatmul_ndarray", lambda b: _CONST.astype(b.dtype) @ b,
         lambda b: _CONST.astype(b.dtype) @ b, S.tensors((3, 2))),
    # the fused Linear node of nn.Linear: x @ weight.T + bias, batched or 1-D x
    case("linear", tg.nn.functional.linear, _ref_linear, linear_inputs(), out_shape=None),
    case("linear_no_bias", tg.nn.functional.linear, _ref_linear, linear_inputs(bias=False),
         out_shape=None),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


# -- mm, bmm, einsum ------------------------------------------------------------------------

FEW = None if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 10


@st.composite
def mm_inputs(draw, batch=False):
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    lead = (draw(st.integers(1, 3)),) if batch else ()
    return draw(S.tensors(lead + (n, k))), draw(S.tensors(lead + (k, m)))


def _shapes(*shapes):
    return st.tuples(*[S.tensors(s) for s in shapes])


# (equation, operand shapes): transposes, sums, products, contractions, diagonals, ellipses
EINSUM = [
    ("->", [()]), ("ij->ji", [(2, 3)]), ("ji", [(2, 3)]), ("jki", [(2, 3, 2)]),
    ("ij,jk", [(2, 3), (3, 2)]), ("ijk->", [(2, 3, 2)]), ("ij->j", [(3, 2)]),
    ("ik,k->i", [(3, 2), (2,)]), ("jk,ki->ji", [(2, 3), (3, 2)]), ("i,i->i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]), ("ijk,ikl->jil", [(2, 3, 2), (2, 2, 3)]),
    ("pqrs,tuqvr->pstuv", [(2, 3, 2, 2), (2, 1, 3, 2, 2)]),
    ("ik,jkl,il->ij", [(2, 3), (2, 3, 2), (2, 2)]), ("...id,...jd->...ij", [(2, 3, 2), (2, 2, 2)]),
    ("...id,...jd", [(2, 3, 2), (2, 2, 2)]), ("i...j,ji...->...", [(2, 3, 2, 2), (2, 2, 2)]),
    ("ii->i", [(3, 3)]), ("ii->", [(3, 3)]), ("...ii->...i", [(2, 3, 3)]), ("iij->j", [(2, 2, 3)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]), ("ij,jk->ik", [(2, 1), (3, 2)]), ("i,i", [(3,), (3,)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(equation, shapes):
    # (one operand: a permutation is a view of it, as in PyTorch)
    tg.testing.check_op(lambda *xs: tg.einsum(equation, *xs), _shapes(*shapes),
                        ref=lambda *xs: np.einsum(equation, *xs), out_shape=None,
                        may_alias=len(shapes) == 1, max_examples=FEW, name=f"einsum {equation}")


@pytest.mark.parametrize("batch", [False, True])
def test_mm_bmm(batch):
    op = tg.bmm if batch else tg.mm
    tg.testing.check_op(op, mm_inputs(batch), ref=np.matmul, out_shape=None,
                        max_examples=FEW, name=op.__name__)


def test_einsum_forms_and_errors():
    a, b = tg.ones(2, 3), tg.ones(3, 4)
    np.testing.assert_array_equal(tg.einsum("ij,jk", [a, b]).numpy(), np.full((2, 4), 3.0))
    np.testing.assert_array_equal(tg.einsum("ij, jk -> ik", a, b).numpy(), np.full((2, 4), 3.0))
    # PyTorch raises RuntimeError for each of these; so do we (also a ValueError)
    for equation, operands, message in [
            ("ij,jk->ik", [a], "2 operand subscripts but 1 tensors"),
            ("ij->ij", [a, b], "1 operand subscripts but 2 tensors"),
            ("ij,jk->ik", [a, tg.ones(2, 4)], "letter 'j' of operand 1"),
            ("...ij...->", [a], "at most one ellipsis"),
            ("ii->i", [a], "repeated in operand 0"),
            ("ij->ik", [a], "output letter 'k'"),
            ("ijk->", [a], "operand 0 has 2 dims but its subscripts 'ijk' name 3")]:
        with pytest.raises(RuntimeError, match=message):
            tg.einsum(equation, *operands)
        with pytest.raises(ValueError):
            tg.einsum(equation, *operands)


def test_mm_bmm_refuse_other_shapes():
    with pytest.raises(RuntimeError, match="mm: expects two 2-D"):
        tg.mm(tg.ones(2, 3, 4), tg.ones(4, 2))
    with pytest.raises(RuntimeError, match="same batch size"):
        tg.ones(2, 3, 4).bmm(tg.ones(3, 4, 2))


@st.composite
def _weight_grad_inputs(draw):
    """(g, x) of a Linear layer: any leading (batch) axes, the same for both, or none."""
    lead = draw(st.sampled_from([(), (2,), (3,), (2, 2)]))
    n_out, n_in = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return draw(S.tensors(lead + (n_out,))), draw(S.tensors(lead + (n_in,)))


def test_linear_weight_gradient_node():
    from tinygrad_reg.ops.linalg import LinearWeightGrad

    tg.testing.check_op(LinearWeightGrad, _weight_grad_inputs(),
                        ref=lambda g, x: g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1]),
                        out_shape=None, name="linear_weight_grad")
