"""Checkpoints: round trips (module, nested dicts, optimizer state), the npz key scheme, atomic
writes, and hostile files (not an npz, truncated, object arrays, pickles crafted to run code,
headers that lie) refused with ValueError, never executing anything."""

from __future__ import annotations

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy

import tinygrad_reg as tg
from tinygrad_reg import checkpoint, nn, optim


def model(seed=0):
    gen = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 3, generator=gen), nn.ReLU(),
                         nn.Linear(3, 1, generator=gen, dtype=np.float64))


def test_module_round_trip(tmp_path):
    a, b = model(0), model(1)
    path = tmp_path / "model.ckpt"
    tg.save(a, path)
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt"]  # exactly the path, no .npz added
    state = tg.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # order kept
    assert state["0.weight"].dtype == np.float32 and state["2.weight"].dtype == np.float64
    b.load_state_dict(state)
    x = tg.Tensor(np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_nested_dict_and_optimizer_state_round_trip(tmp_path):
    m = model()
    opt = optim.Adam(m, lr=0.01, betas=(0.8, 0.9))
    m(tg.Tensor(np.ones((2, 4), dtype=np.float32))).sum().backward()
    opt.step()
    tg.save({"model": m, "optim": opt.state_dict(), "epoch": 3, "note": "run 1"},
            str(tmp_path / "c.npz"))
    got = tg.load(tmp_path / "c.npz")
    assert set(got) == {"model", "optim", "epoch", "note"}
    assert got["epoch"] == 3 and got["epoch"].shape == () and str(got["note"]) == "run 1"
    np.testing.assert_array_equal(got["model"]["0.weight"], m[0].weight.data)
    hyper = got["optim"]["hyperparams"]
    assert float(hyper["lr"]) == 0.01 and hyper["betas"].tolist() == [0.8, 0.9]
    assert int(got["optim"]["state"]["0"]["step"]) == 1
    opt2 = optim.Adam(model(), lr=1.0)
    opt2.load_state_dict(got["optim"])
    assert opt2.lr == 0.01 and opt2.betas == (0.8, 0.9)
    np.testing.assert_array_equal(opt2.state[0]["exp_avg"], opt.state[0]["exp_avg"])


def test_file_is_a_plain_npz_with_slash_keys(tmp_path):
    path = tmp_path / "c"
    tg.save({"model": {"0.weight": np.eye(2)}, "step": 7}, path)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["model/0.weight", "step"]
        np.testing.assert_array_equal(z["model/0.weight"], np.eye(2))
    assert checkpoint.flatten({"a": {"b": {"c": 1}}, "d": 2}).keys() == {"a/b/c", "d"}
    assert checkpoint.unflatten({"a/b/c": 1, "d": 2}) == {"a": {"b": {"c": 1}}, "d": 2}


@pytest.mark.parametrize("state, pattern", [
    ({"a/b": np.zeros(1)}, "keys must be non-empty strings without '/'"),
    ({"": np.zeros(1)}, "keys must be non-empty strings"),
    ({1: np.zeros(1)}, "keys must be non-empty strings"),
    ({"a": None}, "'a' is a NoneType"),
    ({"a": {"b": object()}}, "'a/b' is a object"),
    ({"a": np.array([object()])}, "object arrays would need pickle"),
    ({"a": [[1, 2], [3]]}, "cannot be stored as an array"),
])
def test_save_refuses_what_it_cannot_store_safely(tmp_path, state, pattern):
    with pytest.raises(ValueError, match=pattern):
        tg.save(state, tmp_path / "c")
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="expected a Module, an Optimizer or a mapping"):
        tg.save([1, 2], tmp_path / "c")


def test_a_crash_mid_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c"
    tg.save({"w": np.zeros(3)}, path)
    before = path.read_bytes()
    calls = []

    def write_then_die(fp, arr, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process being interrupted halfway
        return real(fp, arr, **kw)

    real = npy.write_array
    monkeypatch.setattr(npy, "write_array", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"w": np.ones(3), "v": np.ones(1000)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before  # the old file, whole
    assert os.listdir(tmp_path) == ["c"]  # and no temporary left behind
    np.testing.assert_array_equal(tg.load(path)["w"], np.zeros(3))


# -- hostile and broken files ------------------------------------------------------------------

class RunsCode:
    """Unpickling this calls os.mkdir(marker): proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_the_malicious_pickle_really_runs_code_when_unpickled(tmp_path):
    # the control: without it, the refusal tests below could pass for the wrong reason
    marker = tmp_path / "pwned"
    pickle.loads(pickle.dumps(RunsCode(marker)))
    assert marker.exists()


def test_a_pickle_file_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps({"w": RunsCode(marker)}))
    with pytest.raises(ValueError, match="not an npz checkpoint.*looks like a pickle"):
        tg.load(path)
    assert not marker.exists()


def test_an_object_array_holding_a_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    arr = np.empty(1, dtype=object)
    arr[0] = RunsCode(marker)
    np.savez(path, w=np.zeros(2), evil=arr)  # numpy pickles the object array
    assert not marker.exists()
    with pytest.raises(ValueError, match="'evil' is an array of dtype object"):
        tg.load(path)
    assert not marker.exists()


def test_not_an_npz(tmp_path):
    for content in (b"", b"hello world", b"\x93NUMPY"):
        path = tmp_path / "x"
        path.write_bytes(content)
        with pytest.raises(ValueError, match="is not an npz checkpoint"):
            tg.load(path)
    np.save(tmp_path / "single.npy", np.zeros(3))  # an .npy, not an .npz
    with pytest.raises(ValueError, match="is not an npz checkpoint"):
        tg.load(tmp_path / "single.npy")
    with pytest.raises(FileNotFoundError):
        tg.load(tmp_path / "missing")


def test_truncated_files_are_refused(tmp_path):
    path = tmp_path / "c"
    tg.save({"w": np.arange(1000.0), "v": np.ones((10, 10))}, path)
    data = path.read_bytes()
    for cut in (len(data) - 1, len(data) // 2, 100, 10):
        bad = tmp_path / f"cut{cut}"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="is not a valid checkpoint"):
            tg.load(bad)


def test_corrupt_data_is_refused(tmp_path):
    path = tmp_path / "c"
    tg.save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip bits inside the array data: the CRC catches it
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="is not a valid checkpoint"):
        tg.load(path)


def _zip_with(path, name, payload):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, payload)


def test_a_header_that_lies_about_the_size_is_refused_before_allocating(tmp_path):
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                     "shape": (10**12,)})  # 8 TB claimed, 0 bytes given
    path = tmp_path / "c"
    _zip_with(path, "w.npy", buf.getvalue())
    with pytest.raises(ValueError, match=r"claims shape \(1000000000000,\)"):
        tg.load(path)


def test_members_that_are_not_arrays_are_refused(tmp_path):
    path = tmp_path / "c"
    _zip_with(path, "readme.txt", b"hi")
    with pytest.raises(ValueError, match="member 'readme.txt' is not an .npy array"):
        tg.load(path)
    _zip_with(path, "w.npy", b"not npy at all")
    with pytest.raises(ValueError, match="is not a valid checkpoint"):
        tg.load(path)


def test_empty_state_round_trips(tmp_path):
    tg.save({}, tmp_path / "c")
    assert tg.load(tmp_path / "c") == {}
