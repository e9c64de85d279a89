"""The Module API that minGPT- and nanoGPT-style code uses as written: ModuleDict,
ParameterList, ParameterDict, ``requires_grad_``, ``named_parameters(prefix, recurse,
remove_duplicate)``, ``parameters(recurse)``, ``named_modules(memo, prefix,
remove_duplicate)``, tied weights in state dicts (both names, strict loading both ways with
PyTorch), ``Embedding.from_pretrained`` and ``init.orthogonal_``. Names and orders are pinned
from PyTorch 2.13."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn

DATA = Path(__file__).resolve().parent / "data"


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.scale = nn.Parameter(tg.ones(2))
        self.register_buffer("count", tg.zeros(1))


def shared_net():
    net = nn.Module()
    net.blocks = nn.ModuleList([Block(), Block()])
    net.head = nn.Linear(2, 1)
    net.shared = net.blocks[0]  # one module under two names
    return net


# -- names: what PyTorch 2.13 prints for the same module ---------------------------------------

def test_named_parameters_prefix_recurse_and_remove_duplicate_as_pytorch():
    net = shared_net()
    once = ["blocks.0.scale", "blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.1.scale",
            "blocks.1.fc.weight", "blocks.1.fc.bias", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_parameters()] == once
    assert [n for n, _ in net.named_parameters(prefix="model")] == ["model." + n for n in once]
    assert [n for n, _ in net.named_parameters(remove_duplicate=False)] == once + [
        "shared.scale", "shared.fc.weight", "shared.fc.bias"]
    assert [n for n, _ in net.blocks[0].named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == []
    assert list(net.blocks[0].parameters(recurse=False)) == [net.blocks[0].scale]
    assert len(list(net.parameters())) == 8
    assert [n for n, _ in net.named_buffers(remove_duplicate=False)] == [
        "blocks.0.count", "blocks.1.count", "shared.count"]
    assert list(net.blocks[0].buffers(recurse=False)) == [net.blocks[0].count]


def test_named_modules_memo_prefix_and_remove_duplicate_as_pytorch():
    net = shared_net()
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == [
        "", "blocks", "blocks.0", "blocks.0.fc", "blocks.1", "blocks.1.fc", "head", "shared",
        "shared.fc"]
    assert [n for n, _ in net.named_modules(prefix="m")] == [
        "m", "m.blocks", "m.blocks.0", "m.blocks.0.fc", "m.blocks.1", "m.blocks.1.fc",
        "m.head"]
    memo = {net.head}
    names = [n for n, _ in net.named_modules(memo)]
    assert "head" not in names and net.blocks[0] in memo  # filled as modules are given


def test_a_module_that_contains_itself_is_refused_by_the_state_dict():
    m = nn.Module()
    m.inner = nn.Module()
    m.inner.loop = m
    assert [n for n, _ in m.named_modules()] == ["", "inner"]  # each module once: fine
    with pytest.raises(RuntimeError, match="contains itself"):
        m.state_dict()


def test_state_dict_lists_every_path_as_pytorch():
    # PyTorch 2.13: a module shared by two parents is in the state dict under both names
    assert list(shared_net().state_dict()) == [
        "blocks.0.scale", "blocks.0.count", "blocks.0.fc.weight", "blocks.0.fc.bias",
        "blocks.1.scale", "blocks.1.count", "blocks.1.fc.weight", "blocks.1.fc.bias",
        "head.weight", "head.bias", "shared.scale", "shared.count", "shared.fc.weight",
        "shared.fc.bias"]
    lin = nn.Linear(2, 2)
    assert list(nn.Sequential(lin, nn.ReLU(), lin).state_dict()) == [
        "0.weight", "0.bias", "2.weight", "2.bias"]


# -- tied weights ---------------------------------------------------------------------------

class TinyLM(nn.Module):
    """minGPT's weight tying: the embedding and the head are one Parameter."""

    def __init__(self):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(wte=nn.Embedding(10, 4), ln_f=nn.LayerNorm(4)))
        self.lm_head = nn.Linear(4, 10, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        return self.lm_head(self.transformer.ln_f(self.transformer.wte(idx)))


TIED_KEYS = ["transformer.wte.weight", "transformer.ln_f.weight", "transformer.ln_f.bias",
             "lm_head.weight"]  # PyTorch 2.13's state_dict of the same model


def test_tied_weights_are_in_the_state_dict_under_both_names():
    model = TinyLM()
    state = model.state_dict()
    assert list(state) == TIED_KEYS
    np.testing.assert_array_equal(state["lm_head.weight"], state["transformer.wte.weight"])
    assert [n for n, _ in model.named_parameters()] == TIED_KEYS[:3]  # the tensor once
    assert len(list(model.parameters())) == 3
    # and it loads back strictly into a fresh model, still tied
    fresh = TinyLM()
    fresh.load_state_dict(state)
    assert fresh.lm_head.weight is fresh.transformer.wte.weight
    np.testing.assert_array_equal(fresh.lm_head.weight.numpy(), state["lm_head.weight"])
    with pytest.raises(KeyError, match=r"missing keys \['lm_head.weight'\]"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "lm_head.weight"})


def test_pytorchs_state_dict_of_a_tied_model_loads_strictly_and_computes_the_same():
    # tests/data/torch_tied_lm.npz: PyTorch 2.13's state_dict() of the same TinyLM (both keys,
    # one tensor), saved with np.savez beside an input (io.idx) and PyTorch's logits
    data = np.load(DATA / "torch_tied_lm.npz")
    state = {k: data[k] for k in data.files if not k.startswith("io.")}
    assert list(state) == TIED_KEYS
    model = TinyLM()
    model.load_state_dict(state)  # strict
    np.testing.assert_allclose(model(tg.tensor(data["io.idx"])).numpy(), data["io.logits"],
                               rtol=1e-6, atol=1e-6)


def test_a_tied_model_saves_and_loads_through_safetensors(tmp_path):
    model = TinyLM()
    tg.save(model, tmp_path / "m.safetensors")
    back = tg.load(tmp_path / "m.safetensors")
    assert sorted(back) == sorted(TIED_KEYS)
    fresh = TinyLM()
    fresh.load_state_dict(back)
    np.testing.assert_array_equal(fresh.lm_head.weight.numpy(), model.lm_head.weight.numpy())


# -- containers -------------------------------------------------------------------------------

def test_module_dict_registers_its_modules_under_their_keys():
    d = nn.ModuleDict({"wte": nn.Embedding(3, 2), "h": nn.ModuleList([nn.Linear(2, 2)])})
    assert list(d.state_dict()) == ["wte.weight", "h.0.weight", "h.0.bias"]  # PyTorch 2.13
    assert d.wte is d["wte"] and "h" in d and "x" not in d and len(d) == 2
    assert list(d) == ["wte", "h"] == d.keys()
    d["ln"] = nn.LayerNorm(2)
    d.update([("act", nn.ReLU())])
    assert d.keys() == ["wte", "h", "ln", "act"]
    assert isinstance(d.pop("act"), nn.ReLU) and "act" not in d
    del d["ln"]
    assert [n for n, _ in d.named_parameters()] == ["wte.weight", "h.0.weight", "h.0.bias"]
    d.clear()
    assert len(d) == 0 and list(d.parameters()) == []


@pytest.mark.parametrize("key, value, error, words", [
    # PyTorch 2.13's errors, as messages of the same kind
    ("keys", nn.ReLU(), KeyError, "attribute 'keys' already exists"),
    ("a.b", nn.ReLU(), KeyError, r'contain "\.", got: a\.b'),
    ("x", 3, TypeError, "expected a Module, got int"),
    (3, nn.ReLU(), TypeError, "keys must be strings"),
])
def test_module_dict_refusals(key, value, error, words):
    with pytest.raises(error, match=words):
        nn.ModuleDict()[key] = value
    with pytest.raises(KeyError, match="ModuleDict has no key 'y'"):
        nn.ModuleDict()["y"]


def test_parameter_list_registers_parameters_as_zero_one_two():
    plist = nn.ParameterList([tg.zeros(2), nn.Parameter(tg.ones(3))])
    assert list(plist.state_dict()) == ["0", "1"]  # PyTorch 2.13
    assert all(isinstance(p, nn.Parameter) for p in plist)  # the Tensor was made one
    plist.append(tg.ones(1))
    plist += [tg.ones(4)]
    assert len(plist) == 4 and plist[-1].shape == (4,) and len(plist[1:3]) == 2
    plist[0] = tg.full((2,), 5.0)
    assert plist[0].tolist() == [5.0, 5.0] and isinstance(plist[0], nn.Parameter)
    opt = tg.optim.SGD(plist.parameters(), lr=1.0)
    (plist[0] * plist[0]).sum().backward()
    opt.step()
    assert plist[0].tolist() == [-5.0, -5.0]
    assert repr(nn.ParameterList([tg.zeros(2)])) == (
        "ParameterList(\n    (0): Parameter containing: [float32 of size (2,)]\n)")
    with pytest.raises(IndexError, match="index 4 is out of range for length 4"):
        plist[4]


def test_parameter_dict_sorts_a_plain_dict_as_pytorch():
    pd = nn.ParameterDict({"b": tg.zeros(2), "a": tg.ones(1)})
    assert list(pd.state_dict()) == ["a", "b"]  # PyTorch 2.13 sorts a dict's keys...
    ordered = nn.ParameterDict(OrderedDict([("b", tg.zeros(2)), ("a", tg.ones(1))]))
    assert list(ordered.state_dict()) == ["b", "a"]  # ...and keeps an OrderedDict's order
    assert pd.a is pd["a"] and isinstance(pd["b"], nn.Parameter)
    pd["c"] = nn.Parameter(tg.ones(3))
    assert pd.keys() == ["a", "b", "c"] and len(pd.pop("c")) == 3
    pd.update(nn.ParameterDict({"d": tg.zeros(1)}))
    assert pd.keys() == ["a", "b", "d"] and [n for n, _ in pd.named_parameters()] == [
        "a", "b", "d"]


# -- requires_grad_, from_pretrained, orthogonal_ -----------------------------------------------

def test_requires_grad_freezes_every_parameter_and_returns_the_module():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert net[0].requires_grad_(False) is net[0]
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]
    net(tg.ones(4, 2)).sum().backward()
    assert net[0].weight.grad is None and net[1].weight.grad is not None
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())
    with pytest.raises(TypeError, match="expected True or False"):
        net.requires_grad_("no")


def test_embedding_from_pretrained_shares_the_weights_and_freezes_them():
    w = np.arange(6.0).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(tg.Tensor(w))
    assert not emb.weight.requires_grad and emb.weight.dtype == np.float64
    np.testing.assert_array_equal(emb(tg.tensor([2, 0])).numpy(), [[4.0, 5.0], [0.0, 1.0]])
    w[0, 0] = 9.0  # shared, not copied (as PyTorch's)
    assert emb.weight.numpy()[0, 0] == 9.0
    trainable = nn.Embedding.from_pretrained(tg.Tensor(w), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert trainable.weight.numpy()[1].tolist() == [2.0, 3.0]  # the padding row is kept
    trainable(tg.tensor([1, 2])).sum().backward()
    assert trainable.weight.grad.numpy()[1].tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="expected to be 2-dimensional, got shape"):
        nn.Embedding.from_pretrained(tg.zeros(3))
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding.from_pretrained(tg.zeros(3, 2), max_norm=1.0)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3), (4, 4)])
def test_orthogonal_gives_orthonormal_rows_or_columns(shape):
    w = tg.zeros(*shape, dtype=tg.float64)
    assert nn.init.orthogonal_(w, gain=2.0, generator=np.random.default_rng(0)) is w
    m = w.numpy().reshape(shape[0], -1)
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="only tensors with 2 or more dimensions"):
        nn.init.orthogonal_(tg.zeros(3))


def test_orthogonal_is_uniform_over_signs():
    # sign-fixed QR: the diagonal of Q's R factor is positive, so Q's first column is the
    # normalised first column of the normal draw (both signs equally likely over seeds)
    signs = []
    for seed in range(200):
        w = tg.zeros(3, 3, dtype=tg.float64)
        nn.init.orthogonal_(w, generator=np.random.default_rng(seed))
        a = np.random.default_rng(seed).standard_normal((3, 3))
        np.testing.assert_allclose(w.numpy()[:, 0], a[:, 0] / np.linalg.norm(a[:, 0]),
                                   atol=1e-12)
        signs.append(w.numpy()[0, 0] > 0)
    assert 70 < sum(signs) < 130
