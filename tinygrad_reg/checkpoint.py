"""Checkpoints that are safe by construction: ``.npz`` archives written and read without pickle,
with a manifest that makes any missing, extra or altered member an error; and, for a model's
weights, ``.safetensors`` files that PyTorch (``safetensors.torch.load_file``) reads as they
are. The format follows the file's extension: ``.safetensors`` for safetensors, anything
else (``.npz`` by convention) for the npz archive.

``save(obj, path)`` stores a Module's (or an Optimizer's) ``state_dict()``, or any nested
mapping of arrays, Tensors, numbers, strings, None, lists and tuples, in which a Module or
Optimizer stands for its state dict (``tg.save({"model": model, "optim": opt, "epoch": 3},
path)``); ``load(path)`` gives it back: arrays as ndarrays, everything else as the Python
value it was (ints stay ints, tuples stay tuples, integer keys stay integers, as in PyTorch's
optimizer state). Loading never executes code: nothing is ever unpickled.

File format (a zip archive that ``np.load(path, allow_pickle=False)`` also reads):

- one ``.npy`` member per array, named by its path in the nesting joined with ``/``
  (``model/0.weight.npy``), stored uncompressed;
- ``__manifest__.npy``, a 0-d string array holding JSON: the nesting (mapping keys and their
  types, lists, tuples, and the plain values in place) and, for every array member, its
  dtype, shape and SHA-256.

``load`` checks the archive against the manifest before it trusts anything: every member is
listed and every listed member is present; each member's stored size is checked against
the file's size and against the shape and dtype it declares *before* any array is allocated
(a 300-byte file cannot make it allocate 800 GB); each member's bytes must match their
checksum. Any failure is a ``ValueError`` that names the file and the reason. Files without a
manifest (written by ``np.savez`` or by older versions) are refused unless
``require_manifest=False``.

A ``.safetensors`` file holds one flat mapping of names to arrays: a model's ``state_dict``
(PyTorch's keys, shapes and dtypes), or any ``{name: array}``. It is written with the
``safetensors`` package's numpy API (the ``safetensors`` extra; no torch) and read by a reader
of this module's own (no package needed), with the same safety: no code runs at load, and
the whole header is validated before any tensor is allocated (every name once, every dtype
known, every byte range exactly the size its shape and dtype need, the ranges following one
another to the end of the file). PyTorch's half-precision tensors load too: F16 as float16,
BF16 (which numpy lacks) as float32, exactly (a bfloat16 is the top 16 bits of a float32), so
either loads into a float32 or float64 model with the very values PyTorch saved. Dtypes that
numpy cannot hold (the float8 kinds) are refused by name.

``save`` validates every key and value before it writes anything (keys are non-empty strings
without ``/``, ``\\``, control characters or unencodable characters, or integers), and writes
atomically: to a temporary file in the same directory, flushed to disk, then renamed over
``path``, so a crash or an error mid-save leaves the previous checkpoint whole. ``path`` is
used exactly as given (no ``.npz`` is appended). A symlink is written through, as
``torch.save`` does (the link stays, its target gets the new checkpoint), and a file that is
replaced keeps its permission bits (a 0600 checkpoint stays 0600); a new file gets the
process umask's.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.lib import format as npy

from ._tensor import Tensor
from .nn.parameter import is_lazy

_SEP = "/"
_MANIFEST = "__manifest__"
_FORMAT = "tinygrad_reg.checkpoint"
_VERSION = 1
_KINDS = "biufcUS"  # dtype kinds stored as raw bytes: never object (pickled) arrays
_MAX_KEY = 1000  # characters in one key
_MAX_MANIFEST = 64 << 20  # bytes of JSON
_MAX_DEPTH = 64  # nesting levels


# -- save ------------------------------------------------------------------------------------

def _check_key(key: Any, where: str) -> str:
    """The path component for a mapping key, or ValueError saying what is wrong with it."""
    at = f" under {where!r}" if where else ""
    if isinstance(key, bool) or not isinstance(key, (str, int, np.integer)):
        raise ValueError(f"save: keys must be non-empty strings without '/' (or integers), got "
                         f"{type(key).__name__} {key!r}{at}")
    if not isinstance(key, str):
        return str(int(key))
    if not key:
        raise ValueError(f"save: keys must be non-empty strings without '/', got ''{at}")
    bad = next((c for c in key if c in "/\\" or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"save: keys must be non-empty strings without '/', '\\' or control "
                         f"characters; {key!r}{at} holds {bad!r}")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"save: key {key!r}{at} cannot be written as UTF-8 (it holds a lone "
                         f"surrogate)") from None
    if len(key) > _MAX_KEY:
        raise ValueError(f"save: key {key[:40]!r}...{at} is {len(key)} characters long; at most "
                         f"{_MAX_KEY}")
    if key == _MANIFEST and not where:
        raise ValueError(f"save: the top-level key {_MANIFEST!r} is reserved for the manifest")
    return key


def _array(value: Any, key: str) -> np.ndarray:
    if is_lazy(value):
        raise ValueError(f"save: {key!r} is an uninitialized parameter of a lazy module "
                         f"(nn.LazyLinear, ...), which has no values yet; call the model once "
                         f"on a batch (model(x)) before saving it")
    arr = np.asarray(value._data if isinstance(value, Tensor) else value)
    if arr.dtype.kind not in _KINDS or arr.dtype.hasobject:
        raise ValueError(f"save: {key!r} has dtype {arr.dtype}; object arrays would need "
                         f"pickle, which checkpoints never use")
    return arr


def _encode(state: Mapping) -> tuple[Any, dict[str, np.ndarray]]:
    """(the manifest's tree, member name -> array), with every key and value checked.

    Tree nodes: ``{"dict": [[key, is_int, node], ...]}``, ``{"list": [...]}``,
    ``{"tuple": [...]}``, ``{"array": member}``, ``{"value": plain JSON value}``."""
    arrays: dict[str, np.ndarray] = {}

    def encode(value: Any, path: str, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: {path!r} is nested more than {_MAX_DEPTH} levels deep")
        if callable(getattr(value, "state_dict", None)):  # a Module or Optimizer inside
            value = value.state_dict()
        if isinstance(value, Mapping):
            items = []
            for k, v in value.items():
                part = _check_key(k, path)
                items.append([part, not isinstance(k, str),
                              encode(v, f"{path}{_SEP}{part}" if path else part, depth + 1)])
            if len({p for p, _, _ in items}) != len(items):
                raise ValueError(f"save: two keys of {path or 'the state'!r} are the same once "
                                 f"written ({[p for p, _, _ in items]})")
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "tuple" if isinstance(value, tuple) else "list"
            return {kind: [encode(v, f"{path}{_SEP}{i}", depth + 1)
                           for i, v in enumerate(value)]}
        if value is None or isinstance(value, (bool, str)):
            return {"value": value}
        if isinstance(value, int):  # (not numpy integers: those keep their dtype as arrays)
            return {"value": int(value)}
        if type(value) is float:
            return {"value": value}
        if isinstance(value, (Tensor, np.ndarray, np.generic, complex, bytes)):
            arrays[path] = _array(value, path)
            return {"array": path}
        raise ValueError(f"save: {path!r} is a {type(value).__name__}; only arrays, Tensors, "
                         f"numbers, strings, None, lists, tuples and mappings of them can be "
                         f"saved")

    return encode(state, "", 0), arrays


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    npy.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a Module or Optimizer — its ``state_dict()`` — or a nested mapping of
    arrays, Tensors, numbers, strings, None, lists and tuples) to ``path`` as an npz archive
    with a manifest, atomically (see the module doc); a path ending in ``.safetensors`` gets
    a safetensors file instead, which holds a flat mapping of arrays (a model's state_dict).
    Everything is validated first: on a bad key or value nothing is written and ``path`` is
    untouched."""
    if callable(getattr(obj, "state_dict", None)):
        state = obj.state_dict()
    elif isinstance(obj, Mapping):
        state = obj
    else:
        raise TypeError(f"save: expected a Module, an Optimizer or a mapping name -> array, got "
                        f"{type(obj).__name__}")
    path = os.fspath(path)
    if _is_safetensors(path):
        data = _safetensors_bytes(state, path)
        _atomic_write(path, lambda f: f.write(data))
        return
    tree, arrays = _encode(state)
    import zipfile  # imported here: `import tinygrad_reg` stays light

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            members = {}
            for name, arr in arrays.items():
                data = _npy_bytes(arr)
                zf.writestr(name + ".npy", data)
                members[name] = {"dtype": arr.dtype.str, "shape": list(arr.shape),
                                 "sha256": hashlib.sha256(data).hexdigest()}
            manifest = json.dumps({"format": _FORMAT, "version": _VERSION, "tree": tree,
                                   "members": members}, ensure_ascii=True)
            zf.writestr(_MANIFEST + ".npy", _npy_bytes(np.array(manifest)))

    _atomic_write(path, write)


def _atomic_write(path: str, write: Any) -> None:
    """Write through ``write(file)`` to a temporary file beside the file that ``path`` names,
    flush it to disk, then rename it over that file: a failure leaves the old file whole.

    A symlink is written through, as ``torch.save`` does: the link stays and its target is
    replaced (``latest.npz -> run7.npz`` updates run7.npz). The new file keeps the permission
    bits of the file it replaces; a new file gets what ``open`` would give it (0666 less the
    process umask)."""
    import errno
    import secrets
    import stat

    target = os.path.realpath(path)
    if os.path.islink(target):  # realpath stops inside a cycle of links
        raise OSError(errno.ELOOP, f"save: {path!r} is a cycle of symbolic links", path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    directory, name = os.path.split(target)
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:  # the kernel applies the umask to 0o666, as for any new file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _is_safetensors(path: str) -> bool:
    return path.lower().endswith(".safetensors")


def _safetensors_module(fn: str) -> Any:
    try:
        import safetensors.numpy as st
    except ImportError as err:
        raise ImportError(f'{fn}: .safetensors files need the safetensors package: pip install '
                          f'"tinygrad_reg[safetensors]" (or use a .npz path)') from err
    return st


_ST_DTYPES = {"b", "u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8"}


def _safetensors_bytes(state: Mapping, path: str) -> bytes:
    """The file's bytes for a flat mapping name -> array, every key and value checked first."""
    st = _safetensors_module("save")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str) or not key or any(ord(c) < 32 for c in key):
            raise ValueError(f"save: safetensors keys must be non-empty strings without control "
                             f"characters, got {key!r}")
        if isinstance(value, Mapping) or callable(getattr(value, "state_dict", None)):
            raise ValueError(f"save: {path!r}: a .safetensors file holds one flat mapping of "
                             f"names to arrays (a model's state_dict), but {key!r} is nested; "
                             f"save the model alone here, or the whole checkpoint (with an "
                             f"optimizer, numbers...) to a .npz path")
        if not isinstance(value, (Tensor, np.ndarray, np.generic)):
            raise ValueError(f"save: {path!r}: {key!r} is a {type(value).__name__}; a "
                             f".safetensors file holds arrays only (use .npz for numbers, "
                             f"strings and nested state)")
        arr = _array(value, key)
        code = arr.dtype.kind + (str(arr.dtype.itemsize) if arr.dtype.kind != "b" else "")
        if code not in _ST_DTYPES:
            raise ValueError(f"save: {key!r} has dtype {arr.dtype}, which safetensors does not "
                             f"store (use .npz)")
        arrays[key] = np.require(arr, requirements="C")  # (keeps 0-d arrays 0-d)
    return st.save(arrays, metadata={"producer": "tinygrad_reg"})


# safetensors dtype -> how its bytes are read (little-endian); BF16 is read as its 16 bits
_ST_READ = {"BOOL": "|u1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "F16": "<f2",
            "BF16": "<u2", "I32": "<i4", "U32": "<u4", "F32": "<f4", "I64": "<i8",
            "U64": "<u8", "F64": "<f8", "C64": "<c8"}
_ST_MAX_HEADER = 100_000_000  # bytes: the safetensors format's own limit
_ST_FIELDS = {"dtype", "shape", "data_offsets"}


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's dict, or an error naming a key that it holds twice (``json`` would
    keep the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Bad(f"its header names {key!r} twice (a file with two tensors of one name "
                       f"is ambiguous; write it again with distinct names)")
        out[key] = value
    return out


def _load_safetensors(path: str) -> dict[str, np.ndarray]:
    """Read a safetensors file: the header checked whole before any tensor is allocated, then
    each tensor read from its byte range. Returns the tensors in file order; BF16 comes back
    as float32 (exactly: a bfloat16 is the top half of a float32), F16 as float16."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) < 8:
                raise _Bad(f"it is only {len(head)} bytes long")
            n = int.from_bytes(head, "little")
            if n > min(_ST_MAX_HEADER, size - 8):
                raise _Bad(f"its header claims {n} bytes but the file has {size - 8} after the "
                           f"length (and headers are at most {_ST_MAX_HEADER})")
            raw = f.read(n)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _Bad("its header is not UTF-8") from None
            if not text.startswith("{"):
                raise _Bad("its header is not a JSON object")
            header = json.loads(text, object_pairs_hook=_unique_keys)
            specs = _safetensors_specs(header, size - 8 - n)
            out = {}
            for name, (dtype_name, shape, begin, end) in specs:
                out[name] = _read_tensor(f, 8 + n + begin, end - begin, dtype_name, shape, name)
            return out
    except _Bad as err:
        raise ValueError(f"load: {path!r} is not a valid safetensors file: {err}") from None
    except (ValueError, RecursionError) as err:  # (json's errors are ValueErrors)
        raise ValueError(f"load: {path!r} is not a valid safetensors file: "
                         f"{type(err).__name__}: {err}") from None


def _safetensors_specs(header: Any, buffer: int) -> list[tuple[str, tuple]]:
    """(name, (dtype, shape, begin, end)) in file order, after checking that the byte
    ranges tile the data buffer exactly and that each range holds its shape and dtype."""
    if not isinstance(header, dict):
        raise _Bad("its header is not a JSON object")
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _Bad("its __metadata__ is not a mapping of strings to strings")
    specs = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != _ST_FIELDS:
            raise _Bad(f"the header entry of {name!r} is not {{dtype, shape, data_offsets}}")
        dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype_name not in _ST_READ:
            raise _Bad(f"tensor {name!r} has dtype {dtype_name!r}, which numpy cannot hold; "
                       f"convert it where it was written (in PyTorch: "
                       f"{{k: v.float() for k, v in state.items()}}) and save again")
        if not isinstance(shape, list) or not all(
                type(d) is int and d >= 0 for d in shape):
            raise _Bad(f"tensor {name!r} has shape {shape!r}; expected a list of sizes")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(
                type(o) is int and o >= 0 for o in offsets) or offsets[0] > offsets[1]:
            raise _Bad(f"tensor {name!r} has data_offsets {offsets!r}; expected [begin, end]")
        want = math.prod(shape) * np.dtype(_ST_READ[dtype_name]).itemsize
        if offsets[1] - offsets[0] != want:
            raise _Bad(f"tensor {name!r} of shape {tuple(shape)} and dtype {dtype_name} needs "
                       f"{want} bytes but its data_offsets {offsets} span "
                       f"{offsets[1] - offsets[0]}")
        specs.append((name, (dtype_name, tuple(shape), offsets[0], offsets[1])))
    specs.sort(key=lambda s: (s[1][2], s[1][3]))
    at = 0
    for name, (_, _, begin, end) in specs:
        if begin != at:
            raise _Bad(f"tensor {name!r} starts at byte {begin} of the data, but the tensor "
                       f"before ends at {at} (the byte ranges must follow one another)")
        at = end
    if at != buffer:
        raise _Bad(f"its tensors hold {at} bytes of data but the file has {buffer}")
    return specs


def _read_tensor(f: Any, offset: int, nbytes: int, dtype_name: str, shape: tuple,
                 name: str) -> np.ndarray:
    arr = np.empty(nbytes // max(np.dtype(_ST_READ[dtype_name]).itemsize, 1),
                   dtype=_ST_READ[dtype_name])
    f.seek(offset)
    if f.readinto(memoryview(arr).cast("B")) != nbytes:
        raise _Bad(f"the file ended inside tensor {name!r}")
    if dtype_name == "BOOL":
        if (arr > 1).any():
            raise _Bad(f"tensor {name!r} has dtype BOOL but holds bytes other than 0 and 1")
        arr = arr.view(np.bool_)
    elif dtype_name == "BF16":  # the 16 bits of a bfloat16 are the high half of a float32
        arr = (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(arr.dtype.newbyteorder("="), copy=False).reshape(shape)


# -- load ------------------------------------------------------------------------------------

class _Bad(ValueError):
    """A problem with the file's content (wrapped with the file's name by :func:`load`)."""


def _parse_npy(data: bytes, what: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    """(shape, dtype, fortran_order, header length) of an .npy member's bytes."""
    buf = io.BytesIO(data)
    version = npy.read_magic(buf)
    if version == (1, 0):
        shape, fortran, dtype = npy.read_array_header_1_0(buf)
    elif version == (2, 0):
        shape, fortran, dtype = npy.read_array_header_2_0(buf)
    else:
        raise _Bad(f"{what} has unsupported .npy format version {version}")
    if dtype.hasobject or dtype.kind not in _KINDS:
        raise _Bad(f"{what} is an array of dtype {dtype}, which would need pickle to load; "
                   f"checkpoints never hold object arrays")
    return shape, dtype, fortran, buf.tell()


def _member_bytes(zf: Any, info: Any, archive_size: int, what: str) -> bytes:
    """A stored member's bytes, after checking that its claimed size fits in the file."""
    import zipfile

    if info.compress_type != zipfile.ZIP_STORED:
        raise _Bad(f"{what} is compressed (method {info.compress_type}); checkpoints store "
                   f"members uncompressed, so its size could not be checked before reading")
    if info.file_size != info.compress_size or info.compress_size > archive_size:
        raise _Bad(f"{what} claims {info.file_size} bytes but the whole file has "
                   f"{archive_size}")
    return zf.read(info)  # (zipfile checks the member's CRC)


def _array_from(data: bytes, meta: Any, name: str) -> np.ndarray:
    """Check a member's bytes against its manifest entry, then make the array."""
    what = f"{name!r}"
    if not isinstance(meta, dict) or set(meta) != {"dtype", "shape", "sha256"}:
        raise _Bad(f"the manifest entry of {what} is malformed")
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise _Bad(f"the bytes of {what} do not match their checksum (the file was changed or "
                   f"damaged)")
    shape, dtype, fortran, header = _parse_npy(data, what)
    if list(shape) != meta["shape"] or dtype.str != meta["dtype"]:
        raise _Bad(f"{what} declares shape {shape} and dtype {dtype.str} but the manifest says "
                   f"{tuple(meta['shape'])} and {meta['dtype']}")
    count = math.prod(shape)
    if header + count * dtype.itemsize != len(data):
        raise _Bad(f"{what} claims shape {shape} and dtype {dtype} ({count * dtype.itemsize} "
                   f"bytes) but its member holds {len(data) - header}")
    if count == 0:
        return np.empty(shape, dtype=dtype)
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=header)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _decode(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Rebuild the saved value from the manifest's tree (iteratively: a hostile manifest's
    nesting cannot exhaust the stack)."""
    used: set[str] = set()

    def leaf_or_container(node: Any) -> tuple[Any, list | None]:
        """(the value, or an empty container plus the children to fill it with)."""
        if not isinstance(node, dict) or len(node) != 1:
            raise _Bad("the manifest's tree is malformed")
        (kind, body), = node.items()
        if kind == "value":
            if body is not None and not isinstance(body, (bool, int, float, str)):
                raise _Bad("the manifest's tree holds a value of an unknown kind")
            return body, None
        if kind == "array":
            if body not in arrays or body in used:
                raise _Bad(f"the manifest's tree names member {body!r} wrongly")
            used.add(body)
            return arrays[body], None
        if kind == "dict":
            if not isinstance(body, list):
                raise _Bad("the manifest's tree is malformed")
            keys = []
            for entry in body:
                if (not isinstance(entry, list) or len(entry) != 3 or not isinstance(entry[0], str)
                        or not isinstance(entry[1], bool)):
                    raise _Bad("the manifest's tree is malformed")
                keys.append(int(entry[0]) if entry[1] else entry[0])
            return {}, [(k, e[2]) for k, e in zip(keys, body)]
        if kind in ("list", "tuple"):
            if not isinstance(body, list):
                raise _Bad("the manifest's tree is malformed")
            return ([] if kind == "list" else ("tuple", [])), list(enumerate(body))
        raise _Bad(f"the manifest's tree has an unknown node kind {kind!r}")

    root, children = leaf_or_container(tree)
    if children is None:
        raise _Bad("the manifest's tree does not start with a mapping")
    stack = [(root, children, 0)]
    while stack:
        container, kids, i = stack.pop()
        if i == len(kids):
            continue
        stack.append((container, kids, i + 1))
        key, node = kids[i]
        value, grandkids = leaf_or_container(node)
        target = container[1] if isinstance(container, tuple) else container
        if isinstance(target, dict):
            target[key] = value
        else:
            target.append(value)
        if grandkids is not None:
            if len(stack) > _MAX_DEPTH:
                raise _Bad(f"the manifest's tree is nested more than {_MAX_DEPTH} levels deep")
            stack.append((value, grandkids, 0))
    if used != set(arrays):
        raise _Bad(f"members {sorted(set(arrays) - used)} are in the manifest but not in its "
                   f"tree")
    return _tuples(root)


def _tuples(value: Any) -> Any:
    """Turn the ("tuple", [...]) placeholders into tuples, innermost first."""
    order, stack = [], [value]
    while stack:
        v = stack.pop()
        order.append(v)
        children = (v.values() if isinstance(v, dict) else v[1] if isinstance(v, tuple)
                    else v if isinstance(v, list) else ())
        stack.extend(c for c in children if isinstance(c, (dict, list, tuple)))
    done: dict[int, Any] = {}
    for v in reversed(order):  # children before parents
        if isinstance(v, dict):
            for k, c in v.items():
                if isinstance(c, tuple):
                    v[k] = done[id(c)]
        else:
            items = v[1] if isinstance(v, tuple) else v
            for j, c in enumerate(items):
                if isinstance(c, tuple):
                    items[j] = done[id(c)]
            if isinstance(v, tuple):
                done[id(v)] = tuple(items)
    return value


def load(path: str | os.PathLike, *, require_manifest: bool = True) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save`: the state as it was saved (arrays as
    ndarrays; numbers, strings, None, lists, tuples and integer keys as they were). A path
    ending in ``.safetensors`` is read as a safetensors file (from here or from PyTorch's
    ``safetensors.torch.save_file``): a dict name -> ndarray, in file order, bfloat16 tensors
    as float32 (exact).

    Never unpickles anything. A file that is not an npz archive, is truncated or damaged,
    holds an object array, has a member the manifest does not list (or lacks one it lists),
    or whose member sizes, shapes, dtypes or checksums do not match raises ``ValueError``
    naming the file and the problem. With ``require_manifest=False``, an npz archive without
    a manifest (``np.savez``, older checkpoints) is read too, with every per-member check
    but no guarantee that members were not removed: its keys split at ``/`` into nested
    dicts, every leaf an ndarray."""
    import zipfile  # imported here: `import tinygrad_reg` stays light

    path = os.fspath(path)
    if _is_safetensors(path):
        return _load_safetensors(path)
    with open(path, "rb") as f:
        magic = f.read(4)
        size = os.fstat(f.fileno()).st_size
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive (or an empty one)
        hint = " (it looks like a pickle: refused)" if magic[:1] == b"\x80" else ""
        raise ValueError(f"load: {path!r} is not an npz checkpoint: it does not start with a "
                         f"zip signature{hint}")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            by_name: dict[str, Any] = {}
            for info in infos:
                name = info.filename
                if not name.endswith(".npy") or len(name) == 4:
                    raise _Bad(f"member {name!r} is not an .npy array")
                if name[:-4] in by_name:
                    raise _Bad(f"member {name!r} appears twice")
                by_name[name[:-4]] = info
            manifest_info = by_name.pop(_MANIFEST, None)
            if manifest_info is None:
                if require_manifest:
                    raise _Bad("it has no manifest (it was not written by tinygrad_reg.save, or "
                               "by an older version); pass require_manifest=False to read a "
                               "plain npz archive")
                return _legacy(zf, by_name, size)
            if manifest_info.file_size > _MAX_MANIFEST:
                raise _Bad(f"its manifest claims {manifest_info.file_size} bytes; at most "
                           f"{_MAX_MANIFEST}")
            raw = _member_bytes(zf, manifest_info, size, "the manifest")
            shape, dtype, _, header = _parse_npy(raw, "the manifest")
            if shape != () or dtype.kind != "U":
                raise _Bad("its manifest is not a string")
            text = np.frombuffer(raw, dtype=dtype, count=1, offset=header)[0]
            manifest = json.loads(str(text))
            if (not isinstance(manifest, dict) or manifest.get("format") != _FORMAT
                    or not isinstance(manifest.get("members"), dict) or "tree" not in manifest):
                raise _Bad("its manifest is malformed")
            if manifest.get("version") != _VERSION:
                raise _Bad(f"its manifest has version {manifest.get('version')!r}; this "
                           f"tinygrad_reg reads version {_VERSION}")
            members = manifest["members"]
            missing = sorted(set(members) - set(by_name))
            extra = sorted(set(by_name) - set(members))
            if missing or extra:
                raise _Bad("its members do not match its manifest"
                           + (f": missing {missing}" if missing else "")
                           + (f"{';' if missing else ':'} not listed {extra}" if extra else ""))
            arrays = {name: _array_from(_member_bytes(zf, by_name[name], size, repr(name)),
                                        meta, name)
                      for name, meta in members.items()}
            return _decode(manifest["tree"], arrays)
    except _Bad as err:
        raise ValueError(f"load: {path!r} is not a valid checkpoint: {err}") from None
    except (OSError, MemoryError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(f"load: {path!r} is not a valid checkpoint: {type(err).__name__}: "
                         f"{err}") from None
    except Exception as err:  # noqa: BLE001 - zipfile, json and numpy raise many kinds
        reason = str(err) or "no detail given"
        raise ValueError(f"load: {path!r} is not a valid checkpoint: {type(err).__name__}: "
                         f"{reason}") from None


def _legacy(zf: Any, by_name: dict[str, Any], size: int) -> dict[str, Any]:
    """An npz archive without a manifest: every member checked on its own."""
    flat = {}
    for key, info in by_name.items():
        data = _member_bytes(zf, info, size, repr(key))
        shape, dtype, fortran, header = _parse_npy(data, repr(key))
        meta = {"dtype": dtype.str, "shape": list(shape),
                "sha256": hashlib.sha256(data).hexdigest()}
        flat[key] = _array_from(data, meta, key)
    out: dict[str, Any] = {}
    for key, arr in flat.items():
        parts = key.split(_SEP)
        node = out
        for j, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise _Bad(f"{_SEP.join(parts[:j + 1])!r} is both an array and a group of "
                           f"arrays")
        if parts[-1] in node:
            raise _Bad(f"{key!r} is both an array and a group of arrays")
        node[parts[-1]] = arr
    return out


__all__ = ["save", "load"]
