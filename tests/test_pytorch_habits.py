"""Code written with PyTorch habits runs: the everyday Tensor API, dim/keepdim, the
constructors, the return types, and a training script in PyTorch's shape. numpy's spellings
(axis, keepdims, ddof, transpose(axes)) keep working where they do not conflict."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F


def t64(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


X = np.arange(24.0).reshape(2, 3, 4) % 7 - 3


# -- dim / keepdim and axis / keepdims ---------------------------------------------------------

@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "logsumexp", "amax",
                                  "amin", "any", "all", "argmax", "argmin", "norm"])
def test_every_reduction_takes_dim_keepdim_and_axis_keepdims(name):
    x = t64(X)
    call = getattr(x, name)
    if name == "norm":
        a, b = x.norm(2, dim=1, keepdim=True), x.norm(2, axis=1, keepdims=True)
    elif name in ("amax", "amin"):
        a, b = call(dim=1, keepdim=True), getattr(tg, name)(x, 1, True)
    else:
        a, b = call(dim=1, keepdim=True), call(axis=1, keepdims=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape[1] == 1 and a.ndim == 3
    if name not in ("amax", "amin", "norm"):
        with pytest.raises(TypeError, match=r"both dim=1 \(PyTorch's name\) and axis=1"):
            call(dim=1, axis=1)
        with pytest.raises(TypeError, match="both keepdim=True"):
            call(1, keepdim=True, keepdims=True)


def test_tuple_dims_and_negative_dims():
    x = t64(X)
    np.testing.assert_array_equal(x.sum(dim=(0, -1)).numpy(), X.sum(axis=(0, 2)))
    np.testing.assert_array_equal(tg.sum(x, [0, 2]).numpy(), X.sum(axis=(0, 2)))
    np.testing.assert_array_equal(tg.mean(x, -1, True).numpy(), X.mean(axis=-1, keepdims=True))
    with pytest.raises(ValueError, match=r"dim 3 is out of range for a tensor of 3 dims"):
        x.sum(3)


def test_two_result_ops_return_named_tuples_named_as_pytorchs_return_types():
    # PyTorch 2.13: type(x.topk(2)) is torch.return_types.topk, and so on for each op
    x = t64([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    results = {"max": x.max(1), "min": x.min(dim=0), "sort": x.sort(), "topk": x.topk(2),
               "cummax": x.cummax(1), "cummin": tg.cummin(x, 1)}
    for name, out in results.items():
        assert type(out) is getattr(tg.return_types, name), name
        assert type(out).__name__ == name and out._fields == ("values", "indices")
        assert isinstance(out, tuple) and len(out) == 2
    assert repr(x.max(1)).startswith("max(values=Tensor(")


def test_max_with_dim_returns_values_and_indices_like_pytorch():
    x = t64([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    out = x.max(dim=1)
    assert type(out) is tg.return_types.max and out._fields == ("values", "indices")
    np.testing.assert_array_equal(out.values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(out.indices.numpy(), [1, 0])  # the first of a tie
    assert out.indices.dtype == np.int64
    values, indices = x.min(1, keepdim=True)
    assert values.shape == (2, 1) and indices.numpy().tolist() == [[0], [1]]
    # axis is PyTorch's alias of dim: (values, indices) too; the full reduction is the value,
    # amax the values over any dims
    assert x.max().item() == 7.0 and x.max(axis=1).values.numpy().tolist() == [5.0, 7.0]
    assert x.max(axis=1, keepdims=True).indices.numpy().tolist() == [[1], [0]]
    assert x.amax(axis=(0, 1)).item() == 7.0
    with pytest.raises(TypeError, match=r"write amax\(x, dim=\(0, 1\)\)"):
        x.max(axis=(0, 1))
    # torch.max(a, b) is the elementwise maximum
    np.testing.assert_array_equal(tg.max(x, t64([[2.0] * 3] * 2)).numpy(), [[2, 5, 3], [7, 2, 7]])
    out.values.sum().backward()  # the values carry the gradient (ties split)
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0.5, 0, 0.5]])


def test_argmax_argmin():
    x = t64([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    assert x.argmax().item() == 3 and x.argmax().dtype == np.int64  # of the flattened tensor
    assert x.argmax(dim=1).numpy().tolist() == [1, 0]
    assert x.argmin(1, keepdim=True).shape == (2, 1)
    assert tg.argmax(x, axis=0).numpy().tolist() == [1, 0, 1]
    assert x.argmax(dim=1).grad_fn is None and not x.argmax(1).requires_grad


def test_transpose_two_dims_swaps_them_numpy_forms_permute():
    x = t64(X)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.transpose(1, 0).shape == (3, 2, 4)  # PyTorch: swap dims 1 and 0
    assert x.transpose().shape == (4, 3, 2)  # numpy: reverse all
    assert x.transpose((1, 0, 2)).shape == (3, 2, 4)  # numpy: a permutation
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)
    assert x.permute(2, 0, 1).shape == (4, 2, 3) and x.permute((2, 0, 1)).shape == (4, 2, 3)
    m = t64([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(m.transpose(0, 1).numpy(), [[1, 3], [2, 4]])
    assert x.mT.shape == (2, 4, 3) and m.T.shape == (2, 2)
    with pytest.raises(RuntimeError, match="names a dim more than once"):  # PyTorch: duplicate dims
        x.permute(0, 0, 1)


def test_var_and_std_are_unbiased_by_default():
    x = t64([1.0, 2.0, 4.0])
    assert x.var().item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    assert x.var(unbiased=False).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(correction=0).item() == x.var(ddof=0).item() == x.var(unbiased=False).item()
    assert x.std().item() == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert x.var(0, True).item() == pytest.approx(np.var([1, 2, 4], ddof=1))  # (dim, unbiased)
    with pytest.raises(TypeError, match="give one of unbiased, correction"):
        x.var(unbiased=True, ddof=1)


# -- tensors, constructors and dtypes ------------------------------------------------------

def test_tg_tensor_infers_pytorchs_dtypes_and_copies():
    assert tg.tensor([0, 1, 2]).dtype == np.int64
    assert tg.tensor([0.0, 1.0]).dtype == np.float32
    assert tg.tensor([True, False]).dtype == np.bool_
    assert tg.tensor(3).dtype == np.int64 and tg.tensor(3).shape == ()
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == np.float64
    a = np.arange(3.0)
    t = tg.tensor(a)
    assert t.dtype == np.float64 and not np.shares_memory(t.numpy(), a)  # copies, keeps dtype
    s = tg.from_numpy(a)
    assert np.shares_memory(s.numpy(), a)
    a[0] = 9.0
    assert s.numpy()[0] == 9.0 and t.numpy()[0] == 0.0
    assert tg.Tensor([1, 2]).dtype == np.float32  # torch.Tensor's rule: float32
    assert tg.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        tg.tensor([1, 2], requires_grad=True)


@pytest.mark.parametrize("data, err, words", [
    ("abc", TypeError, "tensor: cannot make a tensor from str 'abc'"),
    (b"\x00\x01", TypeError, "cannot make a tensor from bytes"),
    (np.array([{}, 1], dtype=object), TypeError, "cannot hold an array of dtype object"),
    ([[1, 2], [3]], ValueError, r"cannot make a tensor from list \[\[1, 2\], \[3\]\]"),
    ([1, None], TypeError, "cannot make a tensor from list"),
])
def test_tg_tensor_refuses_what_is_not_numbers(data, err, words):
    with pytest.raises(err, match=words):
        tg.tensor(data)


def test_constructors():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros(2, 3).dtype == np.float32
    assert tg.zeros((2, 3)).shape == (2, 3)
    assert tg.ones(4, dtype=tg.int64).numpy().tolist() == [1, 1, 1, 1]
    assert tg.full((2,), 7).dtype == np.int64 and tg.full((2,), 0.5).dtype == np.float32
    assert tg.full((2,), True).dtype == np.bool_
    assert tg.empty(3).shape == (3,)
    x = tg.randn(2, 2, generator=np.random.default_rng(0), dtype=tg.float64)
    y = tg.randn(2, 2, generator=np.random.default_rng(0), dtype=tg.float64)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    u = tg.rand(50).numpy()
    assert tg.rand(5).dtype == np.float32 and ((u >= 0) & (u < 1)).all()
    r = tg.randint(0, 3, (100,), generator=np.random.default_rng(1))
    assert r.dtype == np.int64 and set(r.numpy().tolist()) == {0, 1, 2}
    assert tg.randint(5, (3,)).numpy().max() < 5
    assert tg.arange(5).dtype == np.int64 and tg.arange(5).numpy().tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(0, 1, 0.25).dtype == np.float32 and tg.arange(0, 1, 0.25).shape == (4,)
    assert tg.linspace(0, 1, 5).numpy().tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    np.testing.assert_array_equal(tg.eye(2, 3).numpy(), np.eye(2, 3))
    z = tg.zeros_like(x)
    assert z.dtype == np.float64 and z.shape == (2, 2)
    assert tg.ones_like(x, dtype=tg.float32).dtype == np.float32
    assert tg.full_like(x, 3.0).numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    w = tg.zeros(3, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    assert sorted(tg.randperm(4).numpy().tolist()) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        tg.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="sizes must be >= 0"):
        tg.zeros(-1)


def test_the_everyday_tensor_methods():
    x = t64(X)
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.dim() == 3 and x.numel() == 24
    assert x.view(6, -1).shape == (6, 4) and x.reshape(-1).shape == (24,)
    assert x.view(-1, 4).numpy().base is not None  # a view
    with pytest.raises(RuntimeError, match=r"use \.reshape\(\.\.\.\) instead"):
        x.transpose(0, 2).view(24)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert x.squeeze(0).shape == (2, 3, 4)  # a dim that is not 1 is left alone (PyTorch)
    assert x.flatten().shape == (24,) and x.flatten(1).shape == (2, 12)
    assert x.flatten(0, 1).shape == (6, 4)
    col = t64([[1.0], [2.0]])
    assert col.expand(2, 3).shape == (2, 3) and col.expand(-1, 5).shape == (2, 5)
    assert col.expand(4, 2, 3).shape == (4, 2, 3)
    with pytest.raises(ValueError, match=r"cannot be expanded to \(3, 3\)"):
        col.expand(3, 3)
    assert col.repeat(2, 3).shape == (4, 3) and col.repeat(2, 1, 1).shape == (2, 2, 1)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy()) and c.grad_fn is not None
    assert x.contiguous() is x and x.transpose(0, 1).contiguous().numpy().flags.c_contiguous
    assert t64([2.5]).item() == 2.5 and x.tolist() == X.tolist()
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    assert x.long().dtype == np.int64 and x.int().dtype == np.int32 and x.bool().dtype == bool
    assert x.to(tg.float32).dtype == np.float32 and x.to("cpu") is x
    assert x.to(tg.tensor([1])).dtype == np.int64 and x.type_as(x.float()).dtype == np.float32
    with pytest.raises(ValueError, match="device 'cuda:0' is not available"):
        x.to("cuda:0")
    m = x.masked_fill(x > 0, 0.0)
    assert m.numpy().max() == 0.0 and m.requires_grad
    assert x.clamp(min=-1, max=1).numpy().min() == -1.0 and x.clamp(max=0).numpy().max() == 0.0
    assert x.device == "cpu"


def test_backward_takes_gradient_as_pytorch_calls_it():
    x = t64([1.0, 2.0])
    (x * x).backward(gradient=tg.tensor([1.0, 0.5], dtype=tg.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    with pytest.raises(TypeError, match="both grad and gradient"):
        (x * x).backward(np.ones(2), gradient=np.ones(2))


def test_cat_split_chunk_stack():
    a, b = t64([[1.0, 2.0]]), t64([[3.0, 4.0]])
    assert tg.cat is tg.concatenate
    assert tg.cat([a, b]).shape == (2, 2) and tg.cat([a, b], dim=1).shape == (1, 4)
    assert tg.cat((a, b), axis=1).shape == (1, 4) and tg.stack([a, b], dim=1).shape == (1, 2, 2)
    parts = tg.arange(10).split(4)
    assert [p.numpy().tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [p.shape for p in tg.split(t64(X), [1, 2], dim=1)] == [(2, 1, 4), (2, 2, 4)]
    assert [p.numel() for p in tg.arange(10).chunk(3)] == [4, 4, 2]
    assert [p.numel() for p in tg.arange(6).chunk(4)] == [2, 2, 2]  # PyTorch: fewer pieces
    with pytest.raises(ValueError, match="must be >= 0 and add up to 3"):
        t64(X).split([1, 1], dim=1)


def test_where_with_two_python_numbers():
    cond = tg.tensor([True, False, True])
    out = tg.where(cond, 4, 2)
    assert out.numpy().tolist() == [4, 2, 4] and out.dtype == np.int64
    assert tg.where(cond, 1.5, 2).dtype == np.float32
    assert tg.tensor([1.0, -1.0]).where(cond[:2], 0.0).numpy().tolist() == [1.0, 0.0]


def test_logic_and_comparisons_are_bool_tensors():
    x = tg.tensor([-1.0, 0.5, 2.0])
    m = (x > 0) & (x < 1)
    assert m.dtype == bool and m.numpy().tolist() == [False, True, False]
    assert (~m).numpy().tolist() == [True, False, True] and ((x > 0) | m).numpy().tolist()[2]
    assert (x > 0).any().item() and not (x > 0).all().item()
    with pytest.raises(TypeError, match="needs bool or integer tensors"):
        x & m


# -- code in PyTorch's shape ---------------------------------------------------------------------

def test_a_scalar_expression_matches_pytorch():
    # expressions in the style of a scalar autograd engine's sanity tests; the numbers are
    # PyTorch 2.13's in float64
    x = tg.tensor([-4.0], dtype=tg.float64, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert (y.item(), x.grad.item()) == (-20.0, 46.0)
    a = tg.tensor([-4.0], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([2.0], dtype=tg.float64, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    assert g.item() == pytest.approx(24.70408163265306, rel=1e-14)
    assert a.grad.item() == pytest.approx(138.83381924198252, rel=1e-14)
    assert b.grad.item() == pytest.approx(645.5772594752186, rel=1e-14)


@pytest.mark.parametrize("name, fn, grad", [
    # classic optimisation test functions and their gradients, derived by hand
    ("sphere", lambda x, y: x ** 2 + y ** 2, lambda x, y: (2 * x, 2 * y)),
    ("matyas", lambda x, y: 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y,
     lambda x, y: (0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x)),
    ("rosenbrock", lambda x, y: 100 * (y - x ** 2) ** 2 + (1 - x) ** 2,
     lambda x, y: (-400 * x * (y - x ** 2) - 2 * (1 - x), 200 * (y - x ** 2))),
])
def test_gradients_of_test_functions(name, fn, grad):
    x, y = tg.tensor(1.5, dtype=tg.float64, requires_grad=True), tg.tensor(
        -0.5, dtype=tg.float64, requires_grad=True)
    fn(x, y).backward()
    gx, gy = grad(1.5, -0.5)
    assert x.grad.item() == pytest.approx(gx, rel=1e-14)
    assert y.grad.item() == pytest.approx(gy, rel=1e-14)


def test_gradient_descent_on_rosenbrock_by_hand_reaches_the_minimum():
    x0 = tg.tensor(0.0, dtype=tg.float64, requires_grad=True)
    x1 = tg.tensor(2.0, dtype=tg.float64, requires_grad=True)
    for _ in range(20000):
        y = 100 * (x1 - x0 ** 2) ** 2 + (1 - x0) ** 2
        x0.grad = x1.grad = None
        y.backward()
        with tg.no_grad():  # PyTorch's hand-written update, in place
            x0 -= 0.001 * x0.grad
            x1 -= 0.001 * x1.grad
    assert x0.item() == pytest.approx(1.0, abs=1e-3) and x1.item() == pytest.approx(1.0, abs=2e-3)


def test_a_training_script_in_pytorchs_shape_runs():
    tg.manual_seed(0)
    X = tg.randn(120, 4)
    y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    model = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Dropout(0.1), nn.Linear(16, 3))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(150):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
    model.eval()
    with tg.no_grad():
        pred = model(X).argmax(dim=1)
    accuracy = (pred == y).float().mean().item()
    assert accuracy > 0.9, accuracy
    assert F.softmax(model(X), dim=1).sum(dim=1).numpy() == pytest.approx(np.ones(120))


# -- devices, tensor type names, torch.utils.data, Module.apply ---------------------------------

def test_device_objects_as_pytorch_spells_them():
    cpu = tg.device("cpu")
    assert repr(cpu) == "device(type='cpu')" and cpu.type == "cpu" and cpu.index is None
    one = tg.device("cuda:1")
    assert (str(one), one.type, one.index) == ("cuda:1", "cuda", 1)
    assert repr(one) == "device(type='cuda', index=1)"
    assert tg.device("cuda", 1) == one and tg.device(one) == one
    assert repr(tg.device("cpu", 0)) == "device(type='cpu', index=0)"
    assert tg.device("cpu") != tg.device("cpu:0")  # as in PyTorch
    assert cpu == "cpu"  # a str (PyTorch: False), so it equals ndarray.device
    assert tg.zeros(2).device == cpu and tg.zeros(2).device == np.zeros(2).device
    assert {cpu: 1}[tg.device("cpu")] == 1
    for bad, err in [("gpu", "expected one of cpu, cuda"), ("cuda:-1", "invalid device string"),
                     ("cuda:01", "invalid device string"), ("cuda: 1", "invalid device"),
                     ("cuda:1:2", "invalid device string")]:
        with pytest.raises(RuntimeError, match=err):
            tg.device(bad)
    with pytest.raises(RuntimeError, match="an integer names an accelerator"):
        tg.device(0)
    with pytest.raises(TypeError, match="expected a device string"):
        tg.device(None)
    with pytest.raises(AttributeError, match="immutable"):
        cpu.index = 3


def test_a_device_choosing_helper_runs_on_the_cpu():
    torch = tg  # the helper as a PyTorch user writes it, with only the import changed

    def try_gpu(i=0):
        if torch.cuda.device_count() >= i + 1:
            return torch.device(f"cuda:{i}")
        return torch.device("cpu")

    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    torch.cuda.manual_seed(0)
    torch.cuda.manual_seed_all(0)  # nothing to seed, as PyTorch's without a GPU
    dev = try_gpu()
    x = torch.ones(2, 3, device=dev)
    assert x.to(dev) is x and x.to(device=dev) is x
    model = nn.Linear(3, 1)
    assert model.to(dev) is model
    assert model(x.to(dev)).shape == (2, 1)
    gpu = torch.device("cuda:0")  # naming one is allowed, using it is not
    with pytest.raises(ValueError, match="device 'cuda:0' is not available"):
        x.to(gpu)
    with pytest.raises(ValueError, match="device 'cuda:0' is not available"):
        model.to(gpu)
    with pytest.raises(ValueError, match="device 'cuda:0' is not available"):
        tg.zeros(2, device=gpu)


@pytest.mark.parametrize("dtype, name", [
    # the strings PyTorch 2.13's Tensor.type() gives for these dtypes
    (np.float32, "torch.FloatTensor"), (np.float64, "torch.DoubleTensor"),
    (np.float16, "torch.HalfTensor"), (np.int64, "torch.LongTensor"),
    (np.int32, "torch.IntTensor"), (np.int16, "torch.ShortTensor"),
    (np.int8, "torch.CharTensor"), (np.uint8, "torch.ByteTensor"), (np.bool_, "torch.BoolTensor"),
    (np.complex64, "torch.ComplexFloatTensor"), (np.complex128, "torch.ComplexDoubleTensor"),
    (np.uint16, "torch.UInt16Tensor"), (np.uint32, "torch.UInt32Tensor"),
    (np.uint64, "torch.UInt64Tensor")])
def test_tensor_type_names_are_pytorchs(dtype, name):
    x = tg.zeros(2, dtype=dtype)
    assert x.type() == name
    back = tg.ones(2).type(name)  # the name converts too, as in PyTorch
    assert back.dtype == np.dtype(dtype) and back.tolist() == np.ones(2, dtype).tolist()


def test_tensor_type_converts_like_to():
    x = t64([1.5, -2.0])
    assert x.type(tg.float64) is x and x.type(dtype=tg.float64) is x  # no copy, as PyTorch
    y = x.type(tg.float32)
    assert y.dtype == np.float32 and y.grad_fn is not None  # differentiable between floats
    (y * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    preds = tg.tensor([[0.1, 0.9], [0.8, 0.2]]).argmax(axis=1)
    labels = tg.tensor([1, 1])
    # the textbook's accuracy: argmax to the labels' dtype, compare, to float32, mean
    correct = (preds.type(labels.dtype) == labels).type(tg.float32)
    assert correct.dtype == np.float32 and correct.mean().item() == 0.5
    assert x.type(tg.float32, non_blocking=True).dtype == np.float32
    with pytest.raises(ValueError, match="'torch.cuda.FloatTensor' is a CUDA type"):
        x.type("torch.cuda.FloatTensor")
    with pytest.raises(ValueError, match="invalid type 'torch.FooTensor'"):
        x.type("torch.FooTensor")
    with pytest.raises(TypeError, match="unexpected arguments"):
        x.type(tg.float32, copy=True)


def test_torch_utils_data_is_the_data_module_under_pytorchs_path():
    import tinygrad_reg.utils.data as tud
    from tinygrad_reg.utils.data import DataLoader, Dataset, TensorDataset

    assert DataLoader is tg.data.DataLoader and Dataset is tg.data.Dataset
    assert TensorDataset is tg.data.TensorDataset and tud is tg.utils.data
    assert tg.utils.data.default_collate is tg.data.default_collate
    assert set(tg.data.__all__) <= set(dir(tud))
    X, y = tg.arange(10).reshape(5, 2).float(), tg.arange(5)
    batches = list(tg.utils.data.DataLoader(tg.utils.data.TensorDataset(X, y), 2,
                                            shuffle=False))
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4]]


def test_module_apply_visits_children_first_and_returns_self():
    shared = nn.Linear(1, 1)
    inner = nn.Sequential(nn.ReLU(), shared)
    model = nn.Sequential(inner, shared, nn.Tanh())
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    # PyTorch 2.13's order for this model: post-order, the shared layer once per parent
    assert seen == ["ReLU", "Linear", "Sequential", "Linear", "Tanh", "Sequential"]

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = shared
            self.b = shared  # one parent holding it twice: visited once (PyTorch's children())

    seen.clear()
    Twice().apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Twice"]
    with pytest.raises(TypeError, match="apply: fn must be callable"):
        model.apply("xavier")


def test_module_apply_initialises_layers_the_way_pytorch_code_does():
    def init_weights(m):  # the usual PyTorch idiom: test the exact type, initialise in place
        if type(m) == nn.Linear:  # noqa: E721 - the idiom compares types with ==
            nn.init.xavier_uniform_(m.weight, generator=np.random.default_rng(0))
            nn.init.zeros_(m.bias)

    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    model.apply(init_weights)
    assert all((m.bias.numpy() == 0).all() for m in model if isinstance(m, nn.Linear))
    bound = np.sqrt(6 / (4 + 3))
    assert np.abs(model[0].weight.numpy()).max() <= bound
    # deep chains: iterative, no recursion limit
    deep = nn.Sequential(nn.Identity())
    for _ in range(3000):
        deep = nn.Sequential(deep)
    count = []
    deep.apply(lambda m: count.append(1))
    assert len(count) == 3002


def test_data_is_a_tensor_sharing_memory_cut_off_from_the_graph():
    # PyTorch's .data: a Tensor (not the ndarray), requires_grad False, no grad_fn, the same
    # memory; the spellings of manual SGD and of in-place initialisation work through it
    p = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (p * p).sum().backward()
    d = p.data
    assert type(d) is tg.Tensor and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), p.numpy())
    p.data -= 0.5 * p.grad  # p - 0.5 * 2p = 0
    np.testing.assert_array_equal(p.numpy(), [0.0, 0.0])
    p.data.add_(3.0).mul_(2.0)
    np.testing.assert_array_equal(p.numpy(), [6.0, 6.0])
    p.data[0] = -1.0
    np.testing.assert_array_equal(p.numpy(), [-1.0, 6.0])
    assert p.requires_grad and p.grad_fn is None  # p itself is unchanged as a leaf
    y = p * 2.0
    assert y.data.grad_fn is None and y.data.data.shape == (2,)  # .data of .data works
    p.data = tg.Tensor(np.array([5.0, 7.0]))  # assigning a tensor replaces the memory
    np.testing.assert_array_equal(p.numpy(), [5.0, 7.0])
    p.data = np.array([1.0, 1.0])  # numpy's spelling, an array, is accepted too
    np.testing.assert_array_equal(p.numpy(), [1.0, 1.0])


def test_in_place_addcmul_addcdiv_index_ops_as_pytorch_and_in_a_jitted_step():
    # a hand-written Adam as PyTorch users write it (exp_avg_sq.mul_(b2).addcmul_(g, g, ...),
    # p.addcdiv_(m, denom, value=-lr)), eager and under tg.jit, against the same arithmetic
    def adam_step(p, m, v, g):
        m.mul_(0.9).add_(g, alpha=0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        p.addcdiv_(m, v.sqrt().add_(1e-8), value=-0.01)
        return p

    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(4) for _ in range(5)]
    results = []
    for jitted in (False, True):
        p, m, v = tg.tensor(np.ones(4)), tg.zeros(4, dtype=tg.float64), tg.zeros(
            4, dtype=tg.float64)
        step = tg.jit(lambda g, p=p, m=m, v=v: adam_step(p, m, v, g)) if jitted else \
            (lambda g, p=p, m=m, v=v: adam_step(p, m, v, g))
        for g in grads:
            step(tg.tensor(g))
        results.append(p.numpy().copy())
    want, m, v = np.ones(4), np.zeros(4), np.zeros(4)
    for g in grads:
        m = m * 0.9 + 0.1 * g
        v = v * 0.999 + 0.001 * g * g
        want = want - 0.01 * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(results[0], want, rtol=1e-12)
    np.testing.assert_array_equal(results[1], results[0])
    x = tg.zeros(3, 2)
    assert x.index_add_(0, tg.tensor([0, 2, 0]), tg.ones(3, 2)) is x
    assert x.tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]  # PyTorch 2.13 gives the same
    x.index_fill_(1, tg.tensor([0]), 9.0).index_copy_(0, tg.tensor([1]), tg.tensor([[1.0, 2.0]]))
    assert x.tolist() == [[9.0, 2.0], [1.0, 2.0], [9.0, 1.0]]
    x.masked_scatter_(x > 5, tg.tensor([7.0, 8.0])).clamp_min_(1.5).clamp_max_(7.5)
    assert x.tolist() == [[7.0, 2.0], [1.5, 2.0], [7.5, 1.5]]
    with pytest.raises(RuntimeError, match=r"addcmul_: an operand requires grad.*x = x\.addcmul"):
        tg.zeros(2).addcmul_(tg.ones(2, requires_grad=True), tg.ones(2))
    with pytest.raises(RuntimeError, match=r"index_add_: a leaf tensor that requires grad"):
        tg.zeros(2, requires_grad=True).index_add_(0, tg.tensor([0]), tg.ones(1))


def test_cuda_is_refused_with_what_to_write():
    with pytest.raises(RuntimeError, match=r"cuda: .*runs on the CPU.*x\.to\(device\)"):
        tg.ones(2).cuda()
