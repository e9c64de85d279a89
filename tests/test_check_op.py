"""The op-testing kit tested on purpose: every contract item of ``tg.testing.check_op`` must
catch a purpose-built bad op with a message that names the op and the fault, and a correct
user op must pass in the three-line form. Also the Tensor strategies behind it, and the
lazy import of hypothesis.

Failing runs shrink, so the bad ops draw small fixed shapes and few examples.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase

import tinygrad_reg as tg
from tinygrad_reg.testing import GradcheckError, check_op
from tinygrad_reg.testing import strategies as S

FEW = 10  # examples per check_op run in this file


class Softplus(tg.Function):
    """out = log(1 + eˣ).   dx = grad · sigmoid(x). Right in every way."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()


def square_op(forward=None, backward=None, name="Square"):
    """x², with its forward or backward replaced by a faulty one."""

    def fwd(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def bwd(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2.0

    return type(name, (tg.Function,), {"forward": staticmethod(forward or fwd),
                                       "backward": staticmethod(backward or bwd)})


def square_ref(x):
    return x * x


def vec(n=3, **kw):
    return S.tensors((n,), **kw)


def failure(excinfo) -> str:
    """The message and the notes Hypothesis attached (falsifying example, input shapes)."""
    return "\n".join([str(excinfo.value), *getattr(excinfo.value, "__notes__", [])])


# -- a correct op passes -----------------------------------------------------------------------

def test_a_correct_user_op_passes_in_three_lines():
    check_op(Softplus, S.tensors(), ref=lambda x: np.logaddexp(0.0, x), max_examples=FEW)


def test_a_correct_op_passes_without_ref_and_with_broadcasting():
    check_op(lambda a, b: a * b + a, S.broadcastable_tensors(2), max_examples=FEW)


def test_drawn_tuples_are_spread_and_non_tensors_passed_through():
    seen = []

    @st.composite
    def power(draw):
        return draw(S.tensors(positive=True)), draw(st.sampled_from([0.5, 2.0, 3.0]))

    def op(x, exponent, a, b):
        seen.append((type(x), type(exponent), type(a), type(b)))
        return x ** exponent + (a + b).sum()

    check_op(op, power(), S.broadcastable_tensors(2), out_shape=None, max_examples=FEW)
    assert seen and set(seen) == {(tg.Tensor, float, tg.Tensor, tg.Tensor)}


def test_ref_without_tensors_gets_array_copies():
    def ref(x, k):
        assert isinstance(x, np.ndarray) and isinstance(k, int)
        x += 1.0  # a ref may scribble on its copy: the op's inputs are not affected
        return (x - 1.0) * k

    check_op(lambda x, k: x * float(k), st.tuples(S.tensors(), st.integers(1, 3)), ref=ref,
             max_examples=FEW)


def test_out_shape_callable_and_none():
    check_op(lambda x: x.sum(axis=0), S.tensors((2, 3)), out_shape=lambda s: s[1:],
             max_examples=FEW)
    check_op(lambda x: x.sum(axis=0), S.tensors((2, 3)), out_shape=None, max_examples=FEW)
    with pytest.raises(AssertionError, match=r"shape \(3,\), but out_shape is \(2,\)"):
        check_op(lambda x: x.sum(axis=0), S.tensors((2, 3)), out_shape=lambda s: s[:1],
                 max_examples=FEW, name="sum0")


def test_constant_inputs_are_passed_through_and_watched():
    masks = S.tensors((3,), dtype=bool)
    check_op(lambda c, a: tg.where(c, a, -a), masks, vec(), max_examples=FEW, name="where")


# -- each contract item catches its bad op ----------------------------------------------------

def test_wrong_gradient_is_a_gradcheck_error_naming_the_op_and_worst_element():
    def half(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # the factor 2 is missing

    bad = square_op(backward=half, name="HalfGradSquare")
    with pytest.raises(GradcheckError) as excinfo:
        check_op(bad, vec(), ref=square_ref, max_examples=FEW)
    text = failure(excinfo)
    assert str(excinfo.value).startswith("check_op(HalfGradSquare): gradcheck: input 0")
    assert "worst at index" in text and "analytic" in text and "numeric" in text
    # (Hypothesis 6.159 renamed "Falsifying example" to "Failing test case")
    assert re.search(r"(Falsifying example|Failing test case): check_op_HalfGradSquare\(", text)
    assert "check_op(HalfGradSquare) inputs: Tensor (3,) float64, requires grad" in text
    err = excinfo.value
    assert err.input_index == 0 and err.analytic == pytest.approx(err.numeric / 2, rel=1e-4)


def test_failures_shrink_to_a_minimal_example():
    def flipped(ctx, grad):
        return grad[::-1] * 2.0  # right only where the reversal changes nothing

    bad = type("FlippedDouble", (tg.Function,), {
        "forward": staticmethod(lambda ctx, x: 2.0 * x), "backward": staticmethod(flipped)})
    with pytest.raises(GradcheckError) as excinfo:
        check_op(bad, S.tensors(S.shapes(min_dims=1, max_dims=1, max_side=6)),
                 max_examples=50)
    # size 1 passes; the shrunk failure is the smallest that fails: two elements
    assert "inputs: Tensor (2,) float64" in failure(excinfo)


def test_wrong_second_derivative_only_fails_gradgradcheck():
    def detached(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.detach() * 2.0)  # right values, but cut off from x

    bad = square_op(backward=detached, name="DetachedSquare")
    with pytest.raises(GradcheckError, match=r"^check_op\(DetachedSquare\): gradgradcheck"):
        check_op(bad, vec(), ref=square_ref, max_examples=FEW)
    check_op(bad, vec(), ref=square_ref, second_order=False, max_examples=FEW)  # first: fine


def test_once_differentiable_op_needs_second_order_false():
    def numpy_backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2.0 * grad.numpy() * x.numpy()

    bad = square_op(backward=numpy_backward, name="NumpySquare")
    with pytest.raises(RuntimeError, match="once-differentiable") as excinfo:
        check_op(bad, vec(), ref=square_ref, max_examples=FEW)
    assert "pass second_order=False" in failure(excinfo)
    check_op(bad, vec(), ref=square_ref, second_order=False, max_examples=FEW)


def test_mutating_forward_is_caught():
    def fwd(ctx, x):
        out = x * x
        x += 1.0  # scribbles on its input
        return out

    bad = square_op(forward=fwd, name="MutatingForward")
    with pytest.raises(AssertionError, match=r"check_op\(MutatingForward\): input 0 was "
                                             r"changed in place by forward"):
        check_op(bad, vec(), max_examples=FEW)


def test_mutating_a_saved_input_in_forward_fails_at_the_write():
    def fwd(ctx, x):
        ctx.save_for_backward(x)  # saved: read-only from here on
        out = x * x
        x += 1.0
        return out

    bad = square_op(forward=fwd, name="MutatingForward")
    with pytest.raises(AssertionError, match=r"check_op\(MutatingForward\): forward wrote "
                                             r"into a read-only array"):
        check_op(bad, vec(), max_examples=FEW)


def test_mutating_forward_of_an_ndarray_constant_is_caught():
    def op(x, c):
        c[...] = 0.0
        return x * 2.0

    with pytest.raises(AssertionError, match=r"input 1 \(an ndarray\) was changed in place"):
        check_op(op, vec(), st.just(np.ones(3)), max_examples=FEW, name="zero_const")


def test_backward_mutating_the_upstream_gradient_is_caught():
    def bwd(ctx, grad):
        (x,) = ctx.saved_tensors
        grad.data *= 2.0  # reuses the upstream gradient's memory
        return grad * x

    bad = square_op(backward=bwd, name="MutatingBackward")
    with pytest.raises(AssertionError, match=r"check_op\(MutatingBackward\): the upstream "
                                             r"gradient of output 0 was changed in place by "
                                             r"backward"):
        check_op(bad, vec(), max_examples=FEW)


def test_backward_mutating_its_input_is_caught():
    # a write through .data is an in-place write like any other: the version guard refuses
    # the backward that would read the changed value (the ndarray route, an array the forward
    # kept, is caught by check_op itself: tests/test_docs_messages.py)
    def bwd(ctx, grad):
        (x,) = ctx.saved_tensors
        out = grad * x * 2.0
        x.data[...] = 0.0
        return out

    bad = square_op(backward=bwd, name="ZeroingBackward")
    with pytest.raises(Exception) as info:
        check_op(bad, vec(), max_examples=FEW)
    # Hypothesis may report both routes (as an ExceptionGroup): check_op's own comparison
    # of the input with its pristine copy, and the version guard of a node that saved it
    found = getattr(info.value, "exceptions", None) or [info.value]  # (an ExceptionGroup)
    expected = (r"check_op\(ZeroingBackward\): input 0 was changed in place by backward",
                r"modified by an in-place operation after it was saved")
    assert found and all(any(re.search(e, str(f)) for e in expected) for f in found), found


def test_backward_writing_into_a_saved_array_fails_at_the_write():
    def bwd(ctx, grad):
        (x,) = ctx.saved_tensors
        out = grad * x * 2.0
        x.numpy()[...] = 0.0
        return out

    bad = square_op(backward=bwd, name="ZeroingBackward")
    # the saved input is read-only while the graph holds it, so the write itself fails
    with pytest.raises(AssertionError, match=r"check_op\(ZeroingBackward\): the backward "
                                             r"passes wrote into a read-only array"):
        check_op(bad, vec(), max_examples=FEW)


def test_aliasing_output_is_caught_unless_documented():
    view = type("View", (tg.Function,), {
        "forward": staticmethod(lambda ctx, x: x[...]),
        "backward": staticmethod(lambda ctx, grad: grad)})
    with pytest.raises(AssertionError, match=r"check_op\(View\): output 0 shares memory with "
                                             r"input 0.*may_alias=True"):
        check_op(view, vec(), ref=lambda x: x, max_examples=FEW)
    check_op(view, vec(), ref=lambda x: x, may_alias=True, max_examples=FEW)


def test_wrong_output_shape_is_caught_with_and_without_ref():
    summing = square_op(forward=lambda ctx, x: (x * x).sum(axis=0), name="SumSquare")
    with pytest.raises(AssertionError, match=r"check_op\(SumSquare\): output 0 has shape "
                                             r"\(3,\), but the inputs' broadcast shape is "
                                             r"\(2, 3\)"):
        check_op(summing, S.tensors((2, 3)), max_examples=FEW)
    with pytest.raises(AssertionError, match=r"output 0 has shape \(3,\), ref gives \(2, 3\)"):
        check_op(summing, S.tensors((2, 3)), ref=square_ref, max_examples=FEW)


def test_wrong_values_against_ref_are_caught():
    with pytest.raises(AssertionError, match=r"check_op\(triple\): output 0 differs from ref"):
        check_op(lambda x: x * 3.0, vec(), ref=lambda x: x * 2.0, max_examples=FEW,
                 name="triple")


def test_float32_in_float64_out_is_caught():
    upcast = type("Upcast", (tg.Function,), {
        "forward": staticmethod(lambda ctx, x: x.astype(np.float64) * 2.0),
        "backward": staticmethod(lambda ctx, grad: grad * 2.0)})
    with pytest.raises(AssertionError, match=r"check_op\(Upcast\): the same example in "
                                             r"float32: float inputs of dtype float32 give "
                                             r"output 0 of dtype float64"):
        check_op(upcast, vec(), ref=lambda x: 2.0 * x, max_examples=FEW)
    check_op(upcast, vec(), ref=lambda x: 2.0 * x, check_float32=False, max_examples=FEW)


def test_float64_in_float32_out_is_caught():
    with pytest.raises(AssertionError, match="float inputs of dtype float64 give output 0 of "
                                             "dtype float32"):
        check_op(lambda x: x.astype(np.float32), vec(), max_examples=FEW, name="down")


def test_non_finite_forward_is_caught():
    def fwd(ctx, x):
        out = x * x
        out[0] = np.inf
        return out

    bad = square_op(forward=fwd, name="Blowup")
    with pytest.raises(AssertionError, match=r"check_op\(Blowup\): output 0 \(shape \(3,\)\) "
                                             r"has 1 non-finite value\(s\) for finite inputs; "
                                             r"first at index \(0,\): inf"):
        check_op(bad, vec(), max_examples=FEW)


def test_gradient_of_a_wrong_shape_is_refused_by_the_engine():
    # A shape that broadcasting cannot explain never reaches the gradients: the engine names
    # the op and both shapes.
    summed = square_op(backward=lambda ctx, grad: grad.sum(), name="ScalarGrad")
    with pytest.raises(RuntimeError, match=r"ScalarGrad: backward returned a gradient of "
                                           r"shape \(\) for input 0 of shape \(2, 3\)"):
        check_op(summed, S.tensors((2, 3)), max_examples=FEW)


def test_gradient_with_an_extra_broadcast_axis_is_summed_and_then_wrong():
    # One broadcasting could explain is summed by the engine (as for a + b), so its values
    # are what gradcheck sees: twice the true gradient here.
    def stacked(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad * x * 2.0).broadcast_to((2, 3))

    bad = square_op(backward=stacked, name="TwiceStacked")
    with pytest.raises(GradcheckError, match=r"check_op\(TwiceStacked\): gradcheck"):
        check_op(bad, vec(), max_examples=FEW)


def test_output_must_be_a_tensor():
    with pytest.raises(AssertionError, match=r"check_op\(raw\): the op must return a Tensor "
                                             r"or a tuple of Tensors, got ndarray"):
        check_op(lambda x: x.numpy() * 2.0, vec(), max_examples=FEW, name="raw")


def test_several_outputs_are_checked_each():
    check_op(lambda x: (x * 2.0, x.exp()), vec(), ref=lambda x: (2.0 * x, np.exp(x)),
             max_examples=FEW, name="pair")
    with pytest.raises(AssertionError, match="output 1 differs from ref"):
        check_op(lambda x: (x * 2.0, x.exp()), vec(), ref=lambda x: (2.0 * x, x),
                 max_examples=FEW, name="pair_wrong")


# -- misuse is refused clearly ----------------------------------------------------------------

def test_float32_input_that_requires_grad_is_refused():
    with pytest.raises(TypeError, match=r"check_op\(exp\): input 0 has dtype float32 and "
                                        r"requires grad; draw float64"):
        check_op(tg.exp, vec(dtype=np.float32), max_examples=FEW)


def test_no_differentiable_input_is_refused():
    with pytest.raises(ValueError, match="no input is a Tensor that requires grad"):
        check_op(tg.exp, vec(requires_grad=False), max_examples=FEW)


def test_bad_arguments_are_refused_before_running():
    with pytest.raises(TypeError, match="input 0 must be a Hypothesis strategy"):
        check_op(tg.exp, tg.Tensor(np.ones(3)))
    with pytest.raises(TypeError, match="op must be a callable or a tg.Function subclass"):
        check_op(3, vec())
    with pytest.raises(ValueError, match="at least one input strategy"):
        check_op(tg.exp)
    with pytest.raises(ValueError, match="out_shape must be"):
        check_op(tg.exp, vec(), out_shape="same")
    with pytest.raises(ValueError, match="max_examples must be a positive int"):
        check_op(tg.exp, vec(), max_examples=0)
    with pytest.raises(TypeError, match="ref must be a callable"):
        check_op(tg.exp, vec(), ref=np.ones(3))


def test_inside_a_users_given_it_raises_a_clear_error():
    # Left alone, Hypothesis fails its nested_given health check (quadratic generation and
    # shrinking); check_op says what to do instead.
    @settings(max_examples=1, database=None)
    @given(st.integers())
    def outer(n):
        check_op(tg.exp, vec())

    with pytest.raises(RuntimeError, match=r"check_op\(exp\): called inside a running "
                                           r"Hypothesis test \(@given\)"):
        outer()


def test_each_op_keeps_its_own_examples_in_the_database():
    db = InMemoryExampleDatabase()
    settings.register_profile("check_op_db", parent=settings.default, database=db)
    settings.load_profile("check_op_db")
    try:
        def keys_after(bad):
            before = set(db.data)
            with pytest.raises(AssertionError):
                check_op(bad, vec(), ref=lambda x: x, max_examples=FEW)
            return set(db.data) - before

        first = keys_after(lambda x: x * 2.0)
        second = keys_after(lambda x: x * 3.0)
        assert first and second and not first & second
    finally:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))  # as conftest


# -- the strategies ---------------------------------------------------------------------------

TOL = 1e-12  # interval ends such as 0.5 - 0.1 are rounded


@given(S.tensors(avoid=[-1.0, 0.5], margin=0.2))
def test_tensors_keep_the_margin_from_every_avoided_point(x):
    assert isinstance(x, tg.Tensor) and x.dtype == np.float64 and x.requires_grad
    assert x.ndim <= 3 and all(1 <= n <= 3 for n in x.shape)
    d = x.numpy()
    assert np.all((np.abs(d + 1.0) >= 0.2 - TOL) & (np.abs(d - 0.5) >= 0.2 - TOL))
    assert np.all((d >= -3.0) & (d <= 3.0))


@given(S.tensors(positive=True), S.tensors(positive=True, low=1.0, high=2.0),
       S.tensors(positive=True, avoid=[1.0], margin=0.25))
def test_positive_tensors(x, y, z):
    assert np.all((x.numpy() >= S.POSITIVE_FLOOR) & (x.numpy() <= 3.0))
    assert np.all((y.numpy() >= 1.0) & (y.numpy() <= 2.0))
    assert np.all((z.numpy() >= 0.5) & (np.abs(z.numpy() - 1.0) >= 0.25 - TOL))


@given(S.tensors((2, 3), dtype=np.float32), S.tensors(4, dtype=bool),
       S.tensors(st.just((5,)), dtype=np.int64, avoid=[0.0]), S.tensors((6,), dtype=np.uint8),
       S.tensors((2,), elements=st.just(7.0)))
def test_tensors_dtypes_shapes_and_requires_grad(f32, mask, ints, uints, fixed):
    assert f32.dtype == np.float32 and f32.shape == (2, 3) and f32.requires_grad
    assert mask.dtype == np.bool_ and mask.shape == (4,) and not mask.requires_grad
    assert ints.dtype == np.int64 and not ints.requires_grad
    assert np.all((ints.numpy() != 0) & (np.abs(ints.numpy()) <= 3))
    assert uints.dtype == np.uint8 and np.all(uints.numpy() <= 3)
    assert np.array_equal(fixed.numpy(), [7.0, 7.0])


@given(S.broadcastable_tensors(3, avoid=[0.0], margin=0.3, max_dims=2, max_side=2),
       S.broadcastable_tensors(2, dtype=bool))
def test_broadcastable_tensors(xs, masks):
    assert len(xs) == 3 and all(isinstance(x, tg.Tensor) and x.requires_grad for x in xs)
    np.broadcast_shapes(*(x.shape for x in xs))  # raises if they do not broadcast
    assert all(x.ndim <= 2 and all(n <= 2 for n in x.shape) for x in xs)
    assert all(np.all(np.abs(x.numpy()) >= 0.3) for x in xs)
    assert all(m.dtype == np.bool_ and not m.requires_grad for m in masks)


@given(st.data())
def test_broadcastable_tensors_do_broadcast_in_every_rank(data):
    xs = data.draw(S.broadcastable_tensors(2, min_dims=2, max_dims=3))
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    assert 2 <= len(shape) <= 3


@pytest.mark.parametrize("kwargs, match", [
    ({"elements": st.floats(0, 1), "avoid": [0.0]}, "cannot be combined"),
    ({"elements": st.floats(0, 1), "positive": True}, "cannot be combined"),
    ({"elements": [1.0]}, "must be a Hypothesis strategy"),
    ({"positive": True, "high": 0.4}, "raise high"),
    ({"avoid": [0.0], "margin": 5.0}, "is 5.0 away from"),
    ({"margin": 0.0}, "margin must be > 0"),
    ({"low": 1.0, "high": 1.0}, "low < high"),
    ({"dtype": np.int64, "requires_grad": True}, "only floating-point"),
    ({"dtype": bool, "avoid": [0.0]}, "make no sense for dtype bool"),
    ({"dtype": np.complex128}, "float, int or bool"),
    ({"shape": (2, -1)}, "negative size"),
    ({"shape": "2x3"}, "shape must be"),
])
def test_tensors_reject_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        S.tensors(**kwargs)


def test_broadcastable_tensors_reject_bad_options():
    for kwargs in ({"n": 0}, {"n": 2, "min_dims": 3, "max_dims": 2},
                   {"n": 2, "elements": st.just(1.0), "avoid": [1.0]}):
        with pytest.raises(ValueError):
            S.broadcastable_tensors(**kwargs)


# -- hypothesis is imported only when used ----------------------------------------------------

def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_plain_imports_do_not_import_hypothesis_and_the_kit_loads_lazily():
    code = ("import sys, tinygrad_reg as tg, tinygrad_reg.testing\n"
            "from tinygrad_reg.testing import *\n"
            "assert 'hypothesis' not in sys.modules, 'imported too early'\n"
            "assert tg.testing.gradcheck and tg.testing.GradcheckError\n"
            "tg.testing.strategies.tensors(); tg.testing.check_op\n"
            "assert 'hypothesis' in sys.modules\n"
            "assert tg.testing.check_op is tg.testing.contract.check_op\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("access", ["tg.testing.check_op", "tg.testing.strategies",
                                    "from tinygrad_reg.testing import strategies",
                                    "import tinygrad_reg.testing.contract"])
def test_without_hypothesis_the_kit_says_what_to_install(access):
    code = ("import sys; sys.modules['hypothesis'] = None  # as if not installed\n"
            "import tinygrad_reg as tg\n"
            "assert tg.testing.gradcheck  # numpy-only parts still work\n"
            f"{access}\n")
    result = run_python(code)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert 'pip install "tinygrad_reg[testing]"' in result.stderr
