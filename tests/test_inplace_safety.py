"""No silently wrong gradient from an in-place change of a value that a graph saved.

Raw numpy writes (into ``.data``, into ``.numpy()``, into the array a tensor was made from)
fail at the write while a graph holds the array; sanctioned in-place writes (``fill_``,
``zero_``, ``t[i] = v``, optimizer steps) are counted, and backward then refuses with a
RuntimeError naming the op. Before this mechanism existed, each case below returned a wrong
gradient without a word (x.grad == [20, 4] for the first)."""

from __future__ import annotations

import gc
import re
import weakref

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.autograd import iter_graph

READ_ONLY = "assignment destination is read-only"


def leaf(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


# -- raw writes fail while a graph holds the array ----------------------------------------------

def test_writing_into_data_of_a_saved_leaf_fails_at_the_write():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        x.data[0] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])  # not [20, 4]
    x.data[0] = 10.0  # after backward the array is writable again
    assert x.data[0] == 10.0


def test_writing_into_the_array_the_tensor_was_made_from_fails():
    a = np.array([1.0, 2.0])
    x = tg.Tensor(a, requires_grad=True)  # shares a's memory
    y = (x * x).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        a[0] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])
    a[0] = 10.0
    assert x.data[0] == 10.0


def test_writing_into_what_numpy_returned_fails_for_leaves_and_results():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()  # Mul saves h's array, Exp saves it too
    for arr in (x.numpy(), h.numpy(), h.data):
        with pytest.raises(ValueError, match=READ_ONLY):
            arr[0] = 0.0
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(2 * np.array([1.0, 2.0])))
    h.numpy()[0] = 0.0  # the graph has run backward: writable
    x.numpy()[1] = 5.0


def test_a_constant_input_is_guarded_too():
    c = tg.Tensor(np.array([3.0, 4.0]))  # no grad, but Mul saves it for x's gradient
    x = leaf([1.0, 1.0])
    y = (x * c).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        c.data[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 4.0])


def test_a_graph_dropped_without_backward_gives_the_array_back():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    del y
    gc.collect()
    x.data[0] = 7.0
    h = x.exp()
    z = h * 2.0
    arr = h.data  # read-only while h's node is alive
    with pytest.raises(ValueError, match=READ_ONLY):
        arr[0] = 0.0
    del h, z
    gc.collect()
    arr[0] = 0.0  # the node was dropped: writable again


def test_a_leaf_stays_guarded_while_any_graph_holds_it():
    x = leaf([1.0, 2.0])
    y1 = (x * 2.0).sum()
    y2 = (x * x).sum()
    y1.backward()
    with pytest.raises(ValueError, match=READ_ONLY):
        x.data[0] = 5.0  # y2's graph still holds x
    y2.backward()
    x.data[0] = 5.0


def test_retain_graph_keeps_the_guard_until_the_last_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    with pytest.raises(ValueError, match=READ_ONLY):
        x.data[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    x.data[0] = 5.0


def test_an_array_that_was_read_only_already_stays_read_only():
    base = np.arange(3.0)
    frozen = np.broadcast_to(base, (2, 3))  # a read-only view
    x = leaf([1.0, 2.0, 3.0])
    y = (x * tg.Tensor(frozen)).sum()
    y.backward()
    assert not frozen.flags.writeable
    base[0] = 1.0  # its base was never touched


# -- sanctioned in-place writes are counted, and backward refuses --------------------------------

def modified_message(op: str, what: str, now: int = 1, expected: int = 0) -> str:
    return (rf"{op}: one of the values it saved for backward, {what} \(shape .*\), was "
            rf"modified by an in-place operation after it was saved: it is at version {now}, "
            rf"expected version {expected}")


def test_an_in_place_method_on_a_saved_constant_makes_backward_refuse():
    c = tg.Tensor(np.array([3.0, 4.0]))
    x = leaf([1.0, 1.0])
    y = (x * c).sum()
    c.fill_(0.0)  # allowed (c does not require grad), and counted
    with pytest.raises(RuntimeError, match=modified_message("Mul", "its input 1")):
        y.backward()


def test_the_message_names_the_line_that_created_the_op_in_anomaly_mode():
    c = tg.Tensor(np.array([3.0, 4.0]))
    x = leaf([1.0, 1.0])
    with tg.detect_anomaly():
        y = (x * c).sum()  # the line the message quotes
        c.zero_()
        with pytest.raises(RuntimeError) as info:
            y.backward()
    message = str(info.value)
    assert "Mul was created at:" in message and "test_inplace_safety.py" in message
    assert "y = (x * c).sum()  # the line the message quotes" in message


def test_without_anomaly_mode_the_message_says_how_to_find_the_line():
    c = tg.Tensor(np.array([3.0, 4.0]))
    layer = nn.Linear(2, 1, dtype=np.float64)
    y = layer(c).sum()  # Linear saves its input c
    c[0] = 1.0  # __setitem__ is an in-place write
    with pytest.raises(RuntimeError, match=r"Linear: .*its input 0 .*Linear ran inside "
                                           r"Linear\. Run the forward pass inside "
                                           r"tg\.detect_anomaly\(\)"):
        y.backward()


def test_a_write_through_a_view_counts_for_its_base():
    c = tg.Tensor(np.arange(4.0))
    x = leaf(np.ones(4))
    y = (x * c).sum()
    view = c.reshape(2, 2)
    view[0, 0] = 10.0  # the same memory as c
    with pytest.raises(RuntimeError, match=modified_message("Mul", "its input 1")):
        y.backward()
    d = c.detach()  # detach shares memory, and the counter with it
    y2 = (x * c).sum()
    d.mul_(2.0)
    with pytest.raises(RuntimeError, match=modified_message("Mul", "its input 1", 2, 1)):
        y2.backward()


def test_changing_a_saved_output_makes_backward_refuse():
    x = leaf([0.5, 1.0])
    h = x.exp()  # Exp saves its output
    y = h.sum()
    with tg.no_grad():
        h.mul_(2.0)  # allowed inside no_grad, and counted
    with pytest.raises(RuntimeError, match=modified_message("Exp", "its output")):
        y.backward()


def test_an_optimizer_step_before_a_second_backward_is_caught():
    model = nn.Linear(3, 1, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(tg.Tensor(np.ones((2, 3)))).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weight that the retained graph saved
    with pytest.raises(RuntimeError, match=modified_message("Linear", "its input 1")):
        loss.backward()


def test_training_after_a_graph_was_built_without_backward_works():
    # validation computed in grad mode, kept alive, then training continues: the optimizer
    # writes through the guard (and counts), and the kept graph refuses to backward later
    model = nn.Linear(3, 1, dtype=np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1)
    kept = model(tg.Tensor(np.ones((2, 3)))).sum()
    for _ in range(3):
        opt.zero_grad()
        model(tg.Tensor(np.ones((2, 3)))).sum().backward()
        opt.step()
    with pytest.raises(RuntimeError, match="at version 3, expected version 0"):
        kept.backward()


# -- the rules of the in-place methods --------------------------------------------------------

def test_a_leaf_that_requires_grad_cannot_be_changed_in_place_in_grad_mode():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"fill_: a leaf tensor that requires grad .* "
                                           r"tg\.no_grad\(\)"):
        x.fill_(0.0)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        x += 1.0
    with tg.no_grad():
        x -= 0.5  # an SGD step by hand: in place, the same tensor
        x.mul_(2.0)
    np.testing.assert_array_equal(x.data, [1.0, 3.0])
    assert x.requires_grad and x.is_leaf


def test_augmented_assignment_on_a_graph_result_stays_differentiable():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    before = h
    h += x  # out of place on a result that requires grad: h is rebound
    assert h is not before
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])
    with pytest.raises(RuntimeError, match="not recorded in the graph .*made by Mul"):
        before.zero_()


def test_in_place_methods_write_and_chain():
    t = tg.Tensor(np.zeros((2, 3)))
    assert t.fill_(2.0) is t
    t.add_(1.0).mul_(2.0).sub_(tg.Tensor(np.ones(3)), alpha=2.0).div_(2.0)
    np.testing.assert_array_equal(t.data, np.full((2, 3), 2.0))
    t.clamp_(max=1.5)
    t.masked_fill_(tg.Tensor(np.array([True, False, True])), -1.0)
    np.testing.assert_array_equal(t.data, [[-1.0, 1.5, -1.0]] * 2)
    t.copy_(np.arange(3))
    t[1] = 7.0
    np.testing.assert_array_equal(t.data, [[0.0, 1.0, 2.0], [7.0, 7.0, 7.0]])
    t.zero_()
    assert not t.data.any()
    t.uniform_(2.0, 3.0, generator=np.random.default_rng(0))
    assert ((t.data >= 2.0) & (t.data < 3.0)).all()
    t.normal_(generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="masked_fill_: mask must be a bool tensor"):
        t.masked_fill_(tg.Tensor(np.ones(3)), 0.0)
    with pytest.raises(ValueError, match=r"copy_: cannot broadcast a source of shape \(4,\)"):
        t.copy_(np.ones(4))
    with pytest.raises(ValueError, match="fill_: value must be a number"):
        t.fill_(np.ones(2))


# -- what a graph keeps after backward ------------------------------------------------------------

def test_after_backward_a_kept_loss_holds_no_batch_or_mask_arrays():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8, dtype=np.float64), nn.ReLU(),
                          nn.Dropout(p=0.5, generator=rng), nn.Linear(8, 1, dtype=np.float64))
    X = np.ones((5, 4))
    loss = model(tg.Tensor(X)).sum()
    masks = [n.inputs[1].data for n in iter_graph([loss]) if n.name == "Dropout"]
    refs = [weakref.ref(m) for m in masks]
    batch = weakref.ref(X)
    del masks, X
    gc.collect()
    assert all(r() is not None for r in refs) and batch() is not None  # the graph holds them
    loss.backward()
    gc.collect()
    assert all(r() is None for r in refs) and batch() is None  # loss is alive; they are not
    # the kept graph still draws, its constants as shapes
    dot = tg.viz.to_dot(loss, params=model)
    assert "mask\\n(5, 8) bool" in dot and "(5, 4) float64" in dot
    assert re.search(r"0\.weight\\n\(8, 4\) float64", dot)


# -- what a Tensor refuses -----------------------------------------------------------------------

@pytest.mark.parametrize("data, err, words", [
    ("abc", TypeError, "cannot make a tensor from str 'abc'"),
    (b"ab", TypeError, "cannot make a tensor from bytes b'ab'"),
    (np.array(["a", "b"]), TypeError, "cannot hold an array of dtype <U1"),
    (np.array([1, "a"], dtype=object), TypeError, "cannot hold an array of dtype object"),
    ([[1.0, 2.0], [3.0]], ValueError, r"cannot make a tensor from list \[\[1.0, 2.0\], \[3.0\]\]"),
    ([1.0, "x"], TypeError, "numpy reads it as dtype <U32"),
    ({"a": 1}, TypeError, "cannot make a tensor from dict"),
])
def test_tensor_refuses_what_is_not_numbers(data, err, words):
    with pytest.raises(err, match=words):
        tg.Tensor(data)
