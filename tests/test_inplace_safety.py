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

def test_writing_into_the_array_the_tensor_was_made_from_fails():
    a = np.array([1.0, 2.0])
    x = tg.Tensor(a, requires_grad=True)  # shares a's memory
    y = (x * x).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        a[0] = 10.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # not [20, 4]
    a[0] = 10.0  # after backward the array is writable again
    assert x.numpy()[0] == 10.0


def test_writing_into_what_numpy_returned_fails_for_leaves_and_results():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum() + (x * x).sum()  # Mul saves h's array, Exp saves it too
    for arr in (x.numpy(), h.numpy(), np.asarray(h), h.detach().numpy(),
                h[0:1].detach().numpy(), h.detach()[1:].numpy()):
        with pytest.raises(ValueError, match=READ_ONLY):
            arr[0] = 100.0
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * np.array([1.0, 2.0])) + [2.0, 4.0])
    h.numpy()[0] = 0.0  # the graph has run backward: writable
    x.numpy()[1] = 5.0


def test_writing_into_the_base_of_a_leaf_made_from_a_slice_fails():
    base = np.array([1.0, 2.0, 3.0, 4.0])
    x = tg.Tensor(base[:2], requires_grad=True)  # a view of base
    y = (x * x).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        base[0] = 100.0  # would change x behind the graph's back
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # not [200, 4]
    base[0] = 100.0  # writable again, base and view
    x.numpy()[1] = 5.0
    assert x.numpy().tolist() == [100.0, 5.0]


def test_two_leaves_over_one_base_keep_it_guarded_until_both_graphs_are_done():
    base = np.arange(4.0)
    x1 = tg.Tensor(base[:2], requires_grad=True)
    x2 = tg.Tensor(base[2:], requires_grad=True)
    y1 = (x1 * x1).sum()
    y2 = (x2 * x2).sum()
    y1.backward()
    with pytest.raises(ValueError, match=READ_ONLY):
        base[2] = 100.0  # y2's graph still needs it
    y2.backward()
    np.testing.assert_array_equal(x2.grad.numpy(), [4.0, 6.0])
    base[2] = 100.0


def test_a_constant_input_is_guarded_too():
    c = tg.Tensor(np.array([3.0, 4.0]))  # no grad, but Mul saves it for x's gradient
    x = leaf([1.0, 1.0])
    y = (x * c).sum()
    with pytest.raises(ValueError, match=READ_ONLY):
        c.numpy()[:] = 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_a_graph_dropped_without_backward_gives_the_array_back():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    del y
    gc.collect()
    x.numpy()[0] = 7.0
    h = x.exp()
    z = h * 2.0
    arr = h.numpy()  # read-only while Exp's node (which saved it) is alive
    with pytest.raises(ValueError, match=READ_ONLY):
        arr[0] = 0.0
    del h, z
    gc.collect()
    arr[0] = 0.0  # the node was dropped: writable again


def test_a_leaf_stays_guarded_while_any_graph_holds_it():
    x = leaf([1.0, 2.0])
    y1 = (x * 3.0).sum()
    y2 = (x * x).sum()
    y2.backward()
    x.numpy()[0] = 5.0  # y1's Mul never saved x (only the 3.0 it multiplies by)
    y3 = (x * x).sum()
    y1.backward()
    with pytest.raises(ValueError, match=READ_ONLY):
        x.numpy()[0] = 6.0  # y3's graph holds x
    y3.backward()
    x.numpy()[0] = 6.0


def test_retain_graph_keeps_the_guard_until_the_last_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    with pytest.raises(ValueError, match=READ_ONLY):
        x.numpy()[0] = 5.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    x.numpy()[0] = 5.0


# -- .data: the door around autograd ---------------------------------------------------------

def test_reading_data_while_a_graph_holds_it_changes_nothing():
    x = leaf([1.0, 2.0])
    h = x.exp()
    y = (h * h).sum()
    hd, xd = h.data, x.data  # tensors over the same memory, outside the graph
    assert hd.numpy() is h.numpy() and xd.numpy() is x.numpy() and hd.grad_fn is None
    assert float(hd.sum()) == float(h.sum()) and not xd.requires_grad
    (g,) = tg.grad(y, [x], create_graph=True)  # reads of .data do not disturb the graph
    np.testing.assert_allclose(g.numpy(), 2 * np.exp(2 * np.array([1.0, 2.0])))


def test_writing_through_data_after_forward_makes_backward_refuse():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    x.data[0] = 10.0  # PyTorch would silently use 10 here
    with pytest.raises(RuntimeError, match=modified_message("Mul", "its input 0") + r".*a write "
                                           r"through \.data counts as an in-place operation"):
        y.backward()
    y2 = (x * x).sum()  # a graph built after the change uses the new value
    y2.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 4.0])


def test_a_write_through_data_counts_even_when_it_restores_the_values():
    # .data is detach() under its older name: a write through it is an in-place write, as
    # one through an in-place method is, whatever the values (PyTorch does not count such a
    # write at all, and backpropagates with whatever the tensor then holds)
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    x.data[0] = 10.0
    x.data[0] = 1.0
    with pytest.raises(RuntimeError, match=r"Mul: .* modified by an in-place operation"):
        y.backward()


def test_assigning_data_keeps_the_old_values_for_a_first_order_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    x.data = np.array([10.0, 20.0])  # a new array: the graph keeps the old one
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    x2 = leaf([1.0, 2.0])
    y2 = (x2 ** 3).sum()
    (g,) = tg.grad(y2, [x2], create_graph=True)  # g = 3x², built from the old values
    x2.data = np.array([5.0, 5.0])
    (gg,) = tg.grad(g.sum(), [x2], retain_graph=True)  # 6x at the values it was built from
    np.testing.assert_array_equal(gg.numpy(), [6.0, 12.0])
    with pytest.raises(RuntimeError, match=r"Pow: its input 0 \(shape \(2,\)\) was given a "
                                           r"new array"):  # a graph of it would miss x2
        tg.grad(g.sum(), [x2], create_graph=True)


def test_newtons_method_with_second_derivatives_converges():
    # DeZero's Newton loop (f = x⁴ - 2x², minimum at x = 1): .data -= while the graph of
    # the first derivative is still alive
    x = tg.tensor(2.0, requires_grad=True)
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        x.grad = None
        y.backward(create_graph=True)
        gx = x.grad
        x.grad = None
        gx.backward()
        x.data -= gx.numpy() / x.grad.numpy()
    assert x.item() == pytest.approx(1.0, abs=1e-6)
    x = tg.tensor(2.0, requires_grad=True)  # the same with tg.grad
    for _ in range(10):
        y = x ** 4 - 2 * x ** 2
        (gx,) = tg.grad(y, [x], create_graph=True)
        (gx2,) = tg.grad(gx, [x])
        x.data -= gx.numpy() / gx2.numpy()
    assert x.item() == pytest.approx(1.0, abs=1e-6)


# -- only what a backward reads is guarded ------------------------------------------------------

def test_changing_a_weight_whose_value_no_backward_reads_is_allowed():
    # the input needs no gradient, so Linear keeps only the input (dW = gᵀx): the weight may
    # change before backward, and the gradient is exact (as PyTorch)
    layer = nn.Linear(2, 1, dtype=np.float64)
    x = tg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = layer(x).sum()
    layer.weight.data[0, 0] = 5.0
    with tg.no_grad():
        layer.weight.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), [[4.0, 6.0]])
    np.testing.assert_array_equal(layer.bias.grad.numpy(), [2.0])


@pytest.mark.parametrize("fn, grad", [
    (lambda w: w * 2.0, [2.0, 2.0]),
    (lambda w: w.relu(), [1.0, 0.0]),  # ReLU keeps its output, not its input
    (lambda w: w + 1.0, [1.0, 1.0]),
    (lambda w: w / 4.0, [0.25, 0.25]),
    (lambda w: w.astype(np.float32), [1.0, 1.0]),
])
def test_a_leaf_no_backward_reads_may_change_before_backward(fn, grad):
    w = leaf([1.0, -2.0])
    y = fn(w).sum()
    w.data[0] = 5.0
    with tg.no_grad():
        w.mul_(3.0)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), grad)


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


def two_layers():
    return nn.Sequential(nn.Linear(3, 4, dtype=np.float64), nn.Tanh(),
                         nn.Linear(4, 1, dtype=np.float64))


def test_an_optimizer_step_before_a_second_backward_is_caught():
    model = two_layers()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(tg.Tensor(np.ones((2, 3)))).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the second layer's weight, which the retained graph saved
    with pytest.raises(RuntimeError, match=modified_message("Linear", "its input 1")):
        loss.backward()


def test_an_optimizer_step_on_a_weight_no_backward_reads_is_fine():
    model = nn.Linear(3, 1, dtype=np.float64)  # its input needs no gradient
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss = model(tg.Tensor(np.ones((2, 3)))).sum()
    loss.backward(retain_graph=True)
    first = model.weight.grad.numpy().copy()
    opt.step()
    loss.backward()  # the weight gradient reads only the input: exact, as in PyTorch
    np.testing.assert_array_equal(model.weight.grad.numpy(), 2 * first)


def test_training_after_a_graph_was_built_without_backward_works():
    # validation computed in grad mode, kept alive, then training continues: the optimizer
    # writes through the guard (and counts), and the kept graph refuses to backward later
    model = two_layers()
    opt = optim.SGD(model.parameters(), lr=0.1)
    kept = model(tg.Tensor(np.ones((2, 3)))).sum()
    for _ in range(3):
        opt.zero_grad()
        model(tg.Tensor(np.ones((2, 3)))).sum().backward()
        opt.step()
    with pytest.raises(RuntimeError, match="at version 3, expected version 0"):
        kept.backward()


def test_inputs_a_backward_reads_are_version_checked_whatever_their_dtype():
    x = leaf([1.0, 2.0, 3.0])
    idx = tg.tensor([0, 1])
    y = x.gather(0, idx)
    idx[0] = 2  # PyTorch refuses too: gather saved the index
    with pytest.raises(RuntimeError, match=modified_message("Gather", "its input 1")):
        y.sum().backward()
    idx = tg.tensor([0, 1])
    y = x.index_select(0, idx)
    idx.add_(1)
    with pytest.raises(RuntimeError, match=modified_message("IndexSelect", "its input 1")):
        y.sum().backward()
    z = leaf([[1.0, 2.0, 3.0]])
    t = tg.Tensor(np.array([[0.0, 1.0, 0.0]]))
    loss = nn.functional.cross_entropy(z, t)  # a soft target: backward reads it
    t.fill_(1 / 3)
    with pytest.raises(RuntimeError, match=modified_message("CrossEntropy", "its input 1")):
        loss.backward()
    w = leaf([1.0, 2.0])
    mask = tg.tensor([True, False])
    y = tg.where(mask, w, 0.0).sum()
    mask[1] = True
    with pytest.raises(RuntimeError, match=modified_message("Where", "its input 0")):
        y.backward()


def test_an_index_given_to_getitem_is_kept_as_it_was():
    x = leaf([1.0, 2.0, 3.0])
    idx = tg.tensor([0, 1])
    raw = np.array([2, 2])
    y = x[idx].sum() + x[raw].sum()
    idx[0] = 2  # changes the caller's index, not the one the graph kept
    raw[:] = 0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 2.0])


def test_penalties_check_the_weights_they_read():
    w = leaf([1.0, -2.0])
    from tinygrad_reg.regularization import penalties as P
    y = P.L2Penalty.apply(w, lam=1.0)
    with tg.no_grad():
        w.mul_(3.0)  # lam · w would be silently wrong
    with pytest.raises(RuntimeError, match=modified_message("L2Penalty", "its input 0")):
        y.backward()


def test_writing_into_an_expanded_view_is_refused_as_in_pytorch():
    x = tg.zeros(1, 3)
    rows = tg.Tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    with pytest.raises(RuntimeError, match=r"add_: more than one element of the written-to "
                                           r"tensor .* refers to a single memory location.*"
                                           r"clone\(\)"):
        x.expand(4, 3).add_(rows)
    with pytest.raises(RuntimeError, match="fill_: more than one element"):
        x.expand(2, 3).fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), np.zeros((1, 3)))
    y = x.expand(4, 3).clone()
    y.add_(rows)  # a copy: fine
    np.testing.assert_array_equal(y.numpy(), rows.numpy())


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
    np.testing.assert_array_equal(x.numpy(), [1.0, 3.0])
    assert x.requires_grad and x.is_leaf


def test_augmented_assignment_on_a_graph_result_stays_differentiable():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    before = h
    h += x  # out of place on a result that requires grad: h is rebound
    assert h is not before
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    with pytest.raises(RuntimeError, match="not recorded in the graph .*made by Mul"):
        before.zero_()


def test_in_place_methods_write_and_chain():
    t = tg.Tensor(np.zeros((2, 3)))
    assert t.fill_(2.0) is t
    t.add_(1.0).mul_(2.0).sub_(tg.Tensor(np.ones(3)), alpha=2.0).div_(2.0)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 3), 2.0))
    t.clamp_(max=1.5)
    t.masked_fill_(tg.Tensor(np.array([True, False, True])), -1.0)
    np.testing.assert_array_equal(t.numpy(), [[-1.0, 1.5, -1.0]] * 2)
    t.copy_(np.arange(3))
    t[1] = 7.0
    np.testing.assert_array_equal(t.numpy(), [[0.0, 1.0, 2.0], [7.0, 7.0, 7.0]])
    t.zero_()
    assert not t.numpy().any()
    t.uniform_(2.0, 3.0, generator=np.random.default_rng(0))
    assert ((t.numpy() >= 2.0) & (t.numpy() < 3.0)).all()
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
    masks = [n.inputs[1].numpy() for n in iter_graph([loss]) if n.name == "Dropout"]
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
