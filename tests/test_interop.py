"""Weights that leave for PyTorch and come back: every layer's state_dict has PyTorch's keys,
shapes and dtypes (a table pinned from PyTorch 2.13), and .safetensors files go both ways."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn

DATA = Path(__file__).resolve().parent / "data"

# torch.nn.<layer>.state_dict(): (key, shape, dtype), printed by PyTorch 2.13
PYTORCH_LAYOUTS = {
    "Linear(5, 3)": [("weight", (3, 5), "float32"), ("bias", (3,), "float32")],
    "Linear(5, 3, bias=False)": [("weight", (3, 5), "float32")],
    "Conv1d(2, 4, 3)": [("weight", (4, 2, 3), "float32"), ("bias", (4,), "float32")],
    "Conv2d(4, 6, 3, groups=2)": [("weight", (6, 2, 3, 3), "float32"),
                                  ("bias", (6,), "float32")],
    "Conv2d(3, 8, (3, 5), bias=False)": [("weight", (8, 3, 3, 5), "float32")],
    "BatchNorm1d(7)": [("weight", (7,), "float32"), ("bias", (7,), "float32"),
                       ("running_mean", (7,), "float32"), ("running_var", (7,), "float32"),
                       ("num_batches_tracked", (), "int64")],
    "BatchNorm2d(4, affine=False)": [("running_mean", (4,), "float32"),
                                     ("running_var", (4,), "float32"),
                                     ("num_batches_tracked", (), "int64")],
    "BatchNorm2d(4, track_running_stats=False)": [("weight", (4,), "float32"),
                                                  ("bias", (4,), "float32")],
    "LayerNorm((4, 5))": [("weight", (4, 5), "float32"), ("bias", (4, 5), "float32")],
    "LayerNorm(6, elementwise_affine=False)": [],
    "GroupNorm(2, 6)": [("weight", (6,), "float32"), ("bias", (6,), "float32")],
    "Embedding(10, 4)": [("weight", (10, 4), "float32")],
    "Sequential(Linear(2, 3), ReLU(), Linear(3, 1))": [
        ("0.weight", (3, 2), "float32"), ("0.bias", (3,), "float32"),
        ("2.weight", (1, 3), "float32"), ("2.bias", (1,), "float32")],
}


def build(spec: str) -> nn.Module:
    return eval(spec, {**vars(nn)})  # the same expression builds ours


@pytest.mark.parametrize("spec", sorted(PYTORCH_LAYOUTS))
def test_state_dict_layouts_equal_pytorchs(spec):
    got = [(k, tuple(v.shape), str(v.dtype)) for k, v in build(spec).state_dict().items()]
    assert got == PYTORCH_LAYOUTS[spec]


def test_dropconnect_linear_has_linears_layout():
    got = [(k, v.shape) for k, v in nn.DropConnectLinear(5, 3).state_dict().items()]
    assert got == [("weight", (3, 5)), ("bias", (3,))]


def torch_cnn() -> nn.Module:
    """The architecture of tests/data/torch_cnn.safetensors, written here."""
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 8), nn.LayerNorm(8),
                         nn.ReLU(), nn.Linear(8, 3))


def test_a_file_saved_by_pytorch_loads_and_computes_the_same():
    # written by PyTorch 2.13: safetensors.torch.save_file(model.state_dict(), ...) after two
    # training-mode passes (so the running statistics are not the initial ones); io holds an
    # input and PyTorch's eval-mode output
    state = tg.load(DATA / "torch_cnn.safetensors")
    io = np.load(DATA / "torch_cnn_io.npz")
    model = torch_cnn()
    model.load_state_dict(state)  # strict: every key and shape matches
    model.eval()
    np.testing.assert_allclose(model(tg.tensor(io["x"])).numpy(), io["y"], rtol=1e-5,
                               atol=1e-6)


def test_ours_saves_the_file_pytorch_wrote(tmp_path):
    ref = tg.load(DATA / "torch_cnn.safetensors")
    tg.manual_seed(0)
    ours = torch_cnn()
    tg.save(ours, tmp_path / "ours.safetensors")
    back = tg.load(tmp_path / "ours.safetensors")
    # what PyTorch's load_state_dict checks: the same keys, shapes and dtypes
    assert {k: (v.shape, v.dtype) for k, v in back.items()} == \
        {k: (v.shape, v.dtype) for k, v in ref.items()}
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(back[k], v)
    from safetensors import safe_open  # the file is a plain safetensors file

    with safe_open(str(tmp_path / "ours.safetensors"), framework="numpy") as f:
        assert sorted(f.keys()) == sorted(ref)


def test_safetensors_round_trip_and_a_mismatched_file(tmp_path):
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    model(tg.randn(5, 4))
    path = tmp_path / "m.safetensors"
    tg.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    fresh.load_state_dict(tg.load(path))
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert a.tobytes() == b.tobytes(), k
    other = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(KeyError, match="unexpected keys .*1.running_mean"):
        other.load_state_dict(tg.load(path))
    result = nn.Sequential(nn.Linear(4, 3)).load_state_dict(
        {k: v for k, v in tg.load(path).items() if k.startswith("0.")}, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []


@pytest.mark.parametrize("state, words", [
    ({"model": {"w": np.ones(2)}}, "flat mapping .* 'model' is nested"),
    ({"w": np.ones(2), "epoch": 3}, "'epoch' is a int; a .safetensors file holds arrays only"),
    ({"w": np.ones(2, dtype=np.complex64)}, "dtype complex64, which safetensors does not"),
    ({"": np.ones(2)}, "keys must be non-empty strings"),
])
def test_bad_safetensors_saves_write_nothing(tmp_path, state, words):
    path = tmp_path / "x.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=words):
        tg.save(state, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.safetensors"]


@pytest.mark.parametrize("content", [b"", b"1234", b"\x08" + b"\x00" * 7 + b"{}",
                                     b"\xff" * 8 + b"{}", b"\x10\x00\x00\x00\x00\x00\x00\x00"
                                     b'{"w": {"dtype": "F32", "shape": [1000000000], '
                                     b'"data_offsets": [0, 4000000000]}}'])
def test_damaged_safetensors_files_are_clear_errors(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"load: .*bad.safetensors.* is not a valid safetensors"):
        tg.load(path)


# tests/data/torch_bf16_f16.safetensors, written once by PyTorch 2.13:
#     torch.manual_seed(0)
#     net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1))
#     net[0].to(torch.bfloat16); net[2].to(torch.float16)
#     state = dict(net.state_dict())
#     state["specials"] = torch.tensor([1.0, -0.0, inf, -inf, nan, 1e-40, 3.3895313892515355e38,
#                                       0.1, -2.5], dtype=torch.bfloat16)
#     safetensors.torch.save_file(state, "torch_bf16_f16.safetensors")
# and these are PyTorch's values of its tensors (t.float().tolist()), of the tensors' bits
# (state["specials"].view(torch.int16)), and of the network loaded into float32 and float64
# copies of it (net32.load_state_dict(state); net32(X)), on X below
BF16_FILE = DATA / "torch_bf16_f16.safetensors"
BF16_VALUES = {
    "0.weight": [[-0.00433349609375, 0.310546875, -0.474609375],
                 [-0.42578125, -0.22265625, 0.1552734375]],
    "0.bias": [-0.01141357421875, 0.45703125],
    "2.weight": [[-0.062744140625, 0.1871337890625]],
    "2.bias": [-0.2137451171875],
}
SPECIAL_BITS = [0x3F80, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x0001, 0x7F7F, 0x3DCD, 0xC020]
SPECIAL_VALUES = [1.0, -0.0, np.inf, -np.inf, np.nan, 9.183549615799121e-41,
                  3.3895313892515355e38, 0.10009765625, -2.5]
X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
TORCH_OUT = {"float32": [[-0.03825990855693817], [-0.30199185013771057]],
             "float64": [[-0.038259903313608484], [-0.3019918419450679]]}


def test_a_bfloat16_and_float16_file_from_pytorch_loads_exactly():
    state = tg.load(BF16_FILE)
    assert {k: str(v.dtype) for k, v in state.items()} == {
        "0.bias": "float32", "0.weight": "float32", "specials": "float32",
        "2.bias": "float16", "2.weight": "float16"}  # (numpy has no bfloat16)
    for k, v in BF16_VALUES.items():
        np.testing.assert_array_equal(state[k], v)
    # bf16 -> float32 is exact: the 16 bits become the top half of the float32
    specials = state["specials"]
    assert specials.view(np.uint32).tolist() == [b << 16 for b in SPECIAL_BITS]
    np.testing.assert_array_equal(specials, SPECIAL_VALUES)
    del state["specials"]
    for dtype in ("float32", "float64"):
        model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 1)).to(dtype)
        model.load_state_dict(state)
        for k, v in BF16_VALUES.items():  # every weight exactly PyTorch's
            np.testing.assert_array_equal(model.state_dict()[k], v)
        out = model(tg.tensor(np.array(X, dtype=dtype))).numpy()
        np.testing.assert_allclose(out, TORCH_OUT[dtype],
                                   rtol=1e-6 if dtype == "float32" else 1e-14)


def test_a_bfloat16_file_loads_in_a_fresh_process(tmp_path):
    # it failed there ("data type 'bfloat16' not understood") and loaded as ml_dtypes arrays
    # once onnx (which imports ml_dtypes) had been imported: the result depended on imports
    import subprocess
    import sys

    code = ("import sys, tinygrad_reg as tg\n"
            f"state = tg.load({str(BF16_FILE)!r})\n"
            "print(state['0.weight'].dtype, 'ml_dtypes' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(Path(tg.__file__).resolve().parent.parent)}
    # (run elsewhere: "python -c" puts its working directory first on sys.path)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["float32", "False"]
