"""Checkpoints: round trips (module, nested dicts, optimizer state), the npz key scheme, atomic
writes, and hostile files (not an npz, truncated, object arrays, pickles crafted to run code,
headers that lie) refused with ValueError, never executing anything."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import tempfile
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib import format as npy

import tinygrad_reg as tg
from tinygrad_reg import nn, optim


class _Double(nn.Module):
    def forward(self, x):
        return x.double()  # linear layers do not mix dtypes (as PyTorch): convert in between


def model(seed=0):
    gen = np.random.default_rng(seed)
    return nn.Sequential(nn.Linear(4, 3, generator=gen), nn.ReLU(), _Double(),
                         nn.Linear(3, 1, generator=gen, dtype=np.float64))


def test_module_round_trip(tmp_path):
    a, b = model(0), model(1)
    path = tmp_path / "model.ckpt"
    tg.save(a, path)
    assert sorted(os.listdir(tmp_path)) == ["model.ckpt"]  # exactly the path, no .npz added
    state = tg.load(path)
    assert list(state) == ["0.weight", "0.bias", "3.weight", "3.bias"]  # order kept
    assert state["0.weight"].dtype == np.float32 and state["3.weight"].dtype == np.float64
    b.load_state_dict(state)
    x = tg.Tensor(np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32))
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())


def test_nested_dict_and_optimizer_state_round_trip(tmp_path):
    m = model()
    opt = optim.Adam(m, lr=0.01, betas=(0.8, 0.9))
    m(tg.Tensor(np.ones((2, 4), dtype=np.float32))).sum().backward()
    opt.step()
    tg.save({"model": m, "optim": opt.state_dict(), "epoch": 3, "note": "run 1",
             "best": None, "history": [0.5, 0.25], "shape": (2, 3), 7: np.float32(1.5)},
            str(tmp_path / "c.npz"))
    got = tg.load(tmp_path / "c.npz")
    assert list(got) == ["model", "optim", "epoch", "note", "best", "history", "shape", 7]
    # plain values come back as they were: ints, strings, None, lists, tuples, integer keys
    assert got["epoch"] == 3 and type(got["epoch"]) is int and got["note"] == "run 1"
    assert got["best"] is None and got["history"] == [0.5, 0.25] and got["shape"] == (2, 3)
    assert got[7].dtype == np.float32 and got[7] == 1.5  # a numpy scalar keeps its dtype
    np.testing.assert_array_equal(got["model"]["0.weight"], m[0].weight.numpy())
    hyper = got["optim"]["param_groups"][0]  # PyTorch's layout, integer keys kept
    assert hyper["lr"] == 0.01 and hyper["betas"] == (0.8, 0.9) and hyper["params"] == [0, 1, 2, 3]
    assert got["optim"]["state"][0]["step"] == 1
    m2 = model()
    opt2 = optim.Adam(m2, lr=1.0)
    opt2.load_state_dict(got["optim"])
    assert opt2.lr == 0.01 and opt2.betas == (0.8, 0.9)
    np.testing.assert_array_equal(opt2.state[m2[0].weight]["exp_avg"],
                                  opt.state[m[0].weight]["exp_avg"])


def test_an_optimizer_with_lr_zero_round_trips(tmp_path):
    m = model()
    opt = optim.SGD(m, lr=0.0, momentum=0.9)  # a frozen phase: lr = 0 is valid
    m(tg.Tensor(np.ones((2, 4), dtype=np.float32))).sum().backward()
    opt.step()
    tg.save(opt, tmp_path / "opt")
    again = optim.SGD(m, lr=0.5, momentum=0.1)
    again.load_state_dict(tg.load(tmp_path / "opt"))
    assert again.lr == 0.0 and again.momentum == 0.9


def test_file_is_a_plain_npz_with_slash_keys(tmp_path):
    path = tmp_path / "c"
    tg.save({"model": {"0.weight": np.eye(2)}, "step": 7}, path)
    with np.load(path, allow_pickle=False) as z:
        assert sorted(z.files) == ["__manifest__", "model/0.weight"]
        np.testing.assert_array_equal(z["model/0.weight"], np.eye(2))
        assert '"step"' in str(z["__manifest__"])  # plain values live in the manifest
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}


@pytest.mark.parametrize("state, pattern", [
    ({"a/b": np.zeros(1)}, "keys must be non-empty strings without '/'"),
    ({"": np.zeros(1)}, "keys must be non-empty strings"),
    ({True: np.zeros(1)}, "keys must be non-empty strings .*got bool True"),
    ({1.5: np.zeros(1)}, "keys must be non-empty strings .*got float 1.5"),
    ({"a\x00b": np.zeros(1)}, r"'a\\x00b' holds '\\x00'"),
    ({"w": {"a\\b": 1}}, r"'a\\\\b' under 'w' holds"),
    ({"a\nb": 1}, "control characters"),
    ({"w\udc80": 1}, "cannot be written as UTF-8"),
    ({"x" * 1001: 1}, "1001 characters long"),
    ({"__manifest__": 1}, "reserved for the manifest"),
    ({"a": {"b": object()}}, "'a/b' is a object"),
    ({"a": np.array([object()])}, "object arrays would need pickle"),
    ({"a": {"1": 1, 1: 2}}, "two keys of 'a' are the same once written"),
])
def test_save_refuses_what_it_cannot_store_safely(tmp_path, state, pattern):
    with pytest.raises(ValueError, match=pattern):
        tg.save(state, tmp_path / "c")
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="expected a Module, an Optimizer or a mapping"):
        tg.save([1, 2], tmp_path / "c")


def test_a_refused_save_leaves_the_good_file_alone(tmp_path):
    path = tmp_path / "c"
    tg.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"holds '\\x00'"):
        tg.save({"w": np.zeros(3), "bad\x00key": 1}, path)  # used to replace the file
    assert path.read_bytes() == before
    np.testing.assert_array_equal(tg.load(path)["w"], np.arange(3.0))


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


@pytest.mark.parametrize("name", ["c.npz", "c.safetensors"])
def test_a_resave_keeps_the_mode_of_the_file_it_replaces(tmp_path, name):
    # a private checkpoint stays private (it came back 0644: readable by every user)
    path = tmp_path / name
    tg.save({"w": np.zeros(3)}, path)
    for mode in (0o600, 0o640, 0o444):
        os.chmod(path, mode)
        tg.save({"w": np.full(3, mode, dtype=np.float64)}, path)
        assert stat.S_IMODE(path.stat().st_mode) == mode
        np.testing.assert_array_equal(tg.load(path)["w"], np.full(3, mode))
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("name", ["n.npz", "n.safetensors"])
def test_a_new_file_gets_the_process_umask(tmp_path, name):
    before = os.umask(0o027)
    try:
        tg.save({"w": np.zeros(3)}, tmp_path / name)
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_save_writes_through_a_symlink_as_torch_save_does(tmp_path, ext):
    runs = tmp_path / "runs"
    runs.mkdir()
    run7 = runs / f"run7{ext}"
    tg.save({"w": np.zeros(3)}, run7)
    os.chmod(run7, 0o600)
    latest = tmp_path / f"latest{ext}"
    latest.symlink_to(f"runs/run7{ext}")  # relative to the link's directory
    alias = tmp_path / f"alias{ext}"
    alias.symlink_to(latest)  # a chain of two links
    tg.save({"w": np.ones(3)}, latest)
    # the link stays a link (it became a regular file, and run7 kept the old weights)
    assert latest.is_symlink() and os.readlink(latest) == f"runs/run7{ext}"
    np.testing.assert_array_equal(tg.load(run7)["w"], np.ones(3))
    assert stat.S_IMODE(run7.stat().st_mode) == 0o600
    tg.save({"w": np.full(3, 2.0)}, alias)
    assert alias.is_symlink() and latest.is_symlink()
    np.testing.assert_array_equal(tg.load(run7)["w"], np.full(3, 2.0))
    assert sorted(os.listdir(runs)) == [f"run7{ext}"]  # no temporary left behind
    dangling = tmp_path / f"next{ext}"
    dangling.symlink_to(f"runs/run8{ext}")
    tg.save({"w": np.ones(2)}, dangling)  # creates the target, as open() would
    assert dangling.is_symlink()
    np.testing.assert_array_equal(tg.load(runs / f"run8{ext}")["w"], np.ones(2))


def test_a_cycle_of_symlinks_is_refused_and_left_alone(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    a.symlink_to("b.npz")
    b.symlink_to("a.npz")
    with pytest.raises(OSError, match="cycle of symbolic links"):
        tg.save({"w": np.zeros(3)}, a)
    assert a.is_symlink() and b.is_symlink() and sorted(os.listdir(tmp_path)) == ["a.npz",
                                                                                   "b.npz"]


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
    with pytest.raises(ValueError, match="has no manifest .*require_manifest=False"):
        tg.load(path)
    with pytest.raises(ValueError, match="'evil' is an array of dtype object"):
        tg.load(path, require_manifest=False)
    assert not marker.exists()


def test_a_plain_npz_is_read_with_require_manifest_false(tmp_path):
    np.savez(tmp_path / "p.npz", **{"model/0.weight": np.eye(2), "step": np.int64(3)})
    got = tg.load(tmp_path / "p.npz", require_manifest=False)
    np.testing.assert_array_equal(got["model"]["0.weight"], np.eye(2))
    assert got["step"] == 3
    np.savez_compressed(tmp_path / "z.npz", w=np.zeros(3))
    with pytest.raises(ValueError, match="is compressed"):
        tg.load(tmp_path / "z.npz", require_manifest=False)


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
        tg.load(path, require_manifest=False)


def _rewrite(path, members):
    """A zip archive holding exactly ``members`` (name -> bytes), stored."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_a_manifest_that_lies_about_a_shape_is_refused_before_allocating(tmp_path):
    import hashlib
    import json
    import tracemalloc

    path = tmp_path / "c"
    tg.save({"w": np.zeros(2)}, path)
    members = _members(path)
    manifest = json.loads(str(np.load(io.BytesIO(members["__manifest__.npy"]))))
    manifest["members"]["w"]["shape"] = [10**11]  # 800 GB of float64
    fake = io.BytesIO()
    npy.write_array_header_1_0(fake, {"descr": "<f8", "fortran_order": False,
                                      "shape": (10**11,)})
    members["w.npy"] = fake.getvalue()
    manifest["members"]["w"]["sha256"] = hashlib.sha256(members["w.npy"]).hexdigest()
    buf = io.BytesIO()
    npy.write_array(buf, np.array(json.dumps(manifest)))
    members["__manifest__.npy"] = buf.getvalue()
    _rewrite(path, members)
    assert path.stat().st_size < 2000
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"claims shape \(100000000000,\)"):
        tg.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20  # nothing like the claimed size was ever allocated


def test_a_zip_directory_that_lies_about_a_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "c"
    tg.save({"w": np.zeros(2)}, path)
    data = bytearray(path.read_bytes())
    cd = data.index(b"PK\x01\x02")  # the first central directory record: member "w.npy"
    data[cd + 24:cd + 28] = (0xFFFFFFF0).to_bytes(4, "little")  # uncompressed size: ~4 GB
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"'w' claims 4294967280 bytes but the whole file has"):
        tg.load(path)


def test_missing_extra_and_altered_members_are_refused(tmp_path):
    path = tmp_path / "c"
    tg.save({"a": np.arange(3.0), "b": {"c": np.ones((2, 2))}}, path)
    good = _members(path)
    cases = {
        "missing": ({k: v for k, v in good.items() if k != "b/c.npy"},
                    r"do not match its manifest: missing \['b/c'\]"),
        "extra": ({**good, "d.npy": good["a.npy"]}, r"not listed \['d'\]"),
        "altered": ({**good, "a.npy": good["a.npy"][:-8] + np.float64(7).tobytes()},
                    "'a' do not match their checksum"),
        "no manifest": ({k: v for k, v in good.items() if k != "__manifest__.npy"},
                        "has no manifest"),
    }
    for members, pattern in cases.values():
        _rewrite(path, members)
        with pytest.raises(ValueError, match=pattern):
            tg.load(path)


def _fuzz_original():
    return {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "meta": {"step": 4, "t": (1, 2)},
            "b": np.array([True, False])}


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def test_fuzz_truncations_and_byte_flips_load_the_original_or_raise_value_error(tmp_path):
    path = tmp_path / "c"
    tg.save(_fuzz_original(), path)
    data = path.read_bytes()
    assert _same(tg.load(path), _fuzz_original())
    outcomes = {"original": 0, "refused": 0}
    bad = tmp_path / "bad"

    def attempt(blob: bytes) -> None:
        bad.write_bytes(blob)
        try:
            got = tg.load(bad)
        except ValueError as err:
            assert str(err).split("checkpoint", 1)[1].strip(": ")  # a reason is given
            outcomes["refused"] += 1
            return
        assert _same(got, _fuzz_original()), "a damaged file loaded as something else"
        outcomes["original"] += 1

    for cut in range(len(data)):  # every truncation
        attempt(data[:cut])
    for offset in range(len(data)):  # a flipped byte at every offset
        blob = bytearray(data)
        blob[offset] ^= 0xFF
        attempt(bytes(blob))
    assert outcomes["refused"] >= len(data)  # every truncation at least
    assert outcomes["original"] + outcomes["refused"] == 2 * len(data)


def test_members_that_are_not_arrays_are_refused(tmp_path):
    path = tmp_path / "c"
    _zip_with(path, "readme.txt", b"hi")
    with pytest.raises(ValueError, match="member 'readme.txt' is not an .npy array"):
        tg.load(path)
    _zip_with(path, "w.npy", b"not npy at all")
    with pytest.raises(ValueError, match="is not a valid checkpoint"):
        tg.load(path, require_manifest=False)


def test_empty_state_round_trips(tmp_path):
    tg.save({}, tmp_path / "c")
    assert tg.load(tmp_path / "c") == {}


# -- safetensors files, read by tinygrad_reg's own reader -----------------------------------------

def safetensors_bytes(header: dict | str, data: bytes) -> bytes:
    """A safetensors file by hand: the header's length (8 bytes, little-endian), the JSON
    header, the raw data."""
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    return len(text).to_bytes(8, "little") + text + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def test_duplicate_names_in_a_safetensors_header_are_refused(tmp_path):
    # the second "w" reads the float32 bytes as int32; it used to win silently
    header = ('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
              '"w": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}')
    path = tmp_path / "dup.safetensors"
    path.write_bytes(safetensors_bytes(header, np.array([1.0, 2.0], np.float32).tobytes()))
    with pytest.raises(ValueError, match=r"dup.safetensors.* is not a valid safetensors file: "
                                         r"its header names 'w' twice"):
        tg.load(path)
    # a field given twice inside one entry is refused the same way
    header = '{"w": {"dtype": "F32", "dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}'
    path.write_bytes(safetensors_bytes(header, np.zeros(2, np.float32).tobytes()))
    with pytest.raises(ValueError, match="its header names 'dtype' twice"):
        tg.load(path)


@pytest.mark.parametrize("header, data, words", [
    ({"w": entry("F8_E4M3", [2], 0, 2)}, b"\0\0", r"'w' has dtype 'F8_E4M3', which numpy "
                                                  r"cannot hold; convert it .* v.float\(\)"),
    ({"w": entry("F32", [2], 0, 8), "v": entry("F32", [1], 12, 16)}, bytes(16),
     "'v' starts at byte 12 of the data, but the tensor before ends at 8"),
    ({"w": entry("F32", [2], 0, 8), "v": entry("F32", [1], 4, 8)}, bytes(8),
     "'v' starts at byte 4|'w' starts at byte 0"),
    ({"w": entry("F32", [3], 0, 8)}, bytes(8), r"shape \(3,\) and dtype F32 needs 12 bytes"),
    ({"w": entry("F32", [2], 0, 8)}, bytes(12), "hold 8 bytes of data but the file has 12"),
    ({"w": entry("F32", [2], 0, 8)}, bytes(4), "needs|hold 8 bytes of data but the file has 4"),
    ({"w": entry("BOOL", [2], 0, 2)}, b"\x01\x02", "BOOL but holds bytes other than 0 and 1"),
    ({"w": {**entry("F32", [1], 0, 4), "byteorder": "big"}}, bytes(4),
     r"entry of 'w' is not \{dtype, shape, data_offsets\}"),
    ({"w": entry("F32", [-1], 0, 4)}, bytes(4), "shape \\[-1\\]"),
    ({"w": entry("F32", [1.0], 0, 4)}, bytes(4), "shape \\[1.0\\]"),
    ({"w": entry("F32", [1], 4, 0)}, bytes(4), "data_offsets \\[4, 0\\]"),
    ({"__metadata__": {"n": 1}}, b"", "__metadata__ is not a mapping of strings"),
    ("[1, 2]", b"", "its header is not a JSON object"),
    ('{"w": ', b"", "JSONDecodeError"),
])
def test_bad_safetensors_headers_are_refused(tmp_path, header, data, words):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ValueError, match=r"bad.safetensors.* is not a valid safetensors file: "
                                         r"[\s\S]*(" + words + ")"):
        tg.load(path)


def test_a_handwritten_file_of_every_dtype_loads():
    values = {"BOOL": np.array([True, False]), "U8": np.array([0, 255], np.uint8),
              "I8": np.array([-128, 127], np.int8), "I16": np.array([-2, 3], np.int16),
              "U16": np.array([65535], np.uint16), "F16": np.array([0.5, -65504.0], np.float16),
              "I32": np.array([[-7], [8]], np.int32), "U32": np.array([2**32 - 1], np.uint32),
              "F32": np.array(1.25, np.float32), "I64": np.array([-(2**63)], np.int64),
              "U64": np.array([2**64 - 1], np.uint64), "F64": np.zeros((0, 3)),
              "C64": np.array([1 - 2j], np.complex64)}
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for name, arr in values.items():
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = entry(name, list(arr.shape), len(data), len(data) + len(raw))
        data += raw
    # bfloat16: 1.0, -2.5, the largest finite, the smallest subnormal, -0.0 (as bits)
    bits = np.array([0x3F80, 0xC020, 0x7F7F, 0x0001, 0x8000], np.uint16)
    header["BF16"] = entry("BF16", [5], len(data), len(data) + 10)
    data += bits.astype("<u2").tobytes()
    text = json.dumps(header)
    text += " " * (-len(text) % 8)  # writers pad the header with spaces
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "all.safetensors")
        with open(path, "wb") as f:
            f.write(safetensors_bytes(text, data))
        got = tg.load(path)
    assert list(got) == [*values, "BF16"]  # file order
    for name, arr in values.items():
        assert got[name].dtype == arr.dtype and got[name].shape == arr.shape, name
        np.testing.assert_array_equal(got[name], arr)
    assert got["BF16"].dtype == np.float32
    np.testing.assert_array_equal(got["BF16"], [1.0, -2.5, 3.3895313892515355e38,
                                                9.183549615799121e-41, -0.0])
    assert np.signbit(got["BF16"][4])


SAVED_DTYPES = st.sampled_from([np.bool_, np.uint8, np.int8, np.int16, np.uint16, np.float16,
                                np.int32, np.uint32, np.float32, np.int64, np.uint64,
                                np.float64])


NAMES = st.text(st.characters(min_codepoint=32, blacklist_categories=("Cs",)), min_size=1,
                max_size=8).filter(lambda k: k != "__metadata__")


@given(st.dictionaries(NAMES,
                       SAVED_DTYPES.flatmap(lambda dt: hnp.arrays(
                           dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                max_side=4))),
                       max_size=5))
def test_the_reader_agrees_with_the_safetensors_package(state):
    import safetensors.numpy as stn

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.safetensors")
        stn.save_file(state, path)  # the package's writer
        ours, theirs = tg.load(path), stn.load_file(path)  # and its reader
        tg.save(state, path)  # our writer, read back by both
        ours_again, theirs_again = tg.load(path), stn.load_file(path)
    for got in (ours, ours_again, theirs_again):
        assert sorted(got) == sorted(theirs) == sorted(state)
        for k, v in theirs.items():
            assert got[k].dtype == v.dtype and got[k].shape == v.shape, k
            np.testing.assert_array_equal(got[k], v)


def test_damaged_safetensors_files_raise_value_error_and_nothing_else(tmp_path):
    path = tmp_path / "m.safetensors"
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(7),
             "b": np.array([True, False])}
    tg.save(state, path)
    data = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for cut in range(len(data)):  # every truncation is refused
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="is not a valid safetensors file: ."):
            tg.load(bad)
    header_end = 8 + int.from_bytes(data[:8], "little")
    for offset in range(header_end):  # a changed byte in the header: refused, or a valid file
        blob = bytearray(data)
        blob[offset] ^= 0x04
        bad.write_bytes(bytes(blob))
        try:
            got = tg.load(bad)
        except ValueError as err:
            assert "is not a valid safetensors file: " in str(err)
            continue
        # (the format has no checksum: a flip inside a name or the metadata goes unseen)
        assert sorted(v.nbytes for v in got.values()) == sorted(v.nbytes for v in state.values())
