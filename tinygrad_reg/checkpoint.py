"""Checkpoints that are safe by construction: ``.npz`` files written and read without pickle.

``save(obj, path)`` stores a Module's (or an Optimizer's) ``state_dict()``, or any mapping of
names to arrays, possibly nested, in which a Module or Optimizer stands for its state dict
(``tg.save({"model": model, "optim": opt, "epoch": 3}, path)``); ``load(path)`` gives it
back. Loading a file never executes
code: no pickle is ever unpickled (object arrays are refused), so a malicious file can at worst
be refused with a ValueError.

File format (readable by ``np.load(path, allow_pickle=False)``): a zip archive of ``.npy``
members, one per array. Nested mappings are flattened with ``/``: ``{"model": {"0.weight": W},
"epoch": 3}`` is stored as members ``model/0.weight.npy`` and ``epoch.npy``, and :func:`load`
rebuilds the nesting. So a key may not contain ``/`` (a module's dotted names never do).
Numbers, bools and strings become 0-d arrays, tuples and lists 1-d arrays; :func:`load` returns
every leaf as an ndarray. Empty mappings are not stored.

Writing is atomic: the archive is written to a temporary file in the same directory, flushed
to disk, then renamed over ``path`` (``os.replace``), so a crash mid-save leaves the previous
checkpoint (or none), never a truncated one. ``path`` is used exactly as given (no ``.npz``
is appended).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.lib import format as npy

from ._tensor import Tensor

_SEP = "/"
_KINDS = "biufcUS"  # dtype kinds stored as raw bytes: never object (pickled) arrays


def _leaf(value: Any, key: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value._data
    if value is None or not isinstance(value, (np.ndarray, np.generic, bool, int, float,
                                               complex, str, bytes, list, tuple)):
        raise ValueError(f"save: {key!r} is a {type(value).__name__}; only arrays, Tensors, "
                         f"numbers, strings and mappings of them can be saved")
    try:
        arr = np.asarray(value)
    except ValueError as err:  # ragged lists
        raise ValueError(f"save: {key!r} cannot be stored as an array: {err}") from None
    if arr.dtype.kind not in _KINDS:
        raise ValueError(f"save: {key!r} has dtype {arr.dtype}; object arrays would need "
                         f"pickle, which checkpoints never use")
    return arr


def flatten(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The flat ``{"a/b/c": array}`` form of a nested mapping (the file's key scheme)."""
    flat: dict[str, np.ndarray] = {}
    # depth first with a stack of iterators: insertion order is kept, no recursion
    stack: list[tuple[str, Any]] = [("", iter(state.items()))]
    while stack:
        prefix, items = stack[-1]
        for k, v in items:
            if not isinstance(k, str) or not k or _SEP in k:
                raise ValueError(f"save: keys must be non-empty strings without {_SEP!r}, got "
                                 f"{k!r}" + (f" under {prefix[:-1]!r}" if prefix else ""))
            key = prefix + k
            if callable(getattr(v, "state_dict", None)):  # a Module or Optimizer inside
                v = v.state_dict()
            if isinstance(v, Mapping):
                stack.append((key + _SEP, iter(v.items())))
                break
            flat[key] = _leaf(v, key)
        else:
            stack.pop()
    return flat


def unflatten(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The nested mapping that :func:`flatten` stored as ``flat``."""
    out: dict[str, Any] = {}
    for key, arr in flat.items():
        parts = key.split(_SEP)
        node = out
        for j, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"load: {_SEP.join(parts[:j + 1])!r} is both an array and a "
                                 f"group of arrays")
        if parts[-1] in node:
            raise ValueError(f"load: {key!r} is both an array and a group of arrays")
        node[parts[-1]] = arr
    return out


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` (a Module or Optimizer — its ``state_dict()`` — or a mapping of names to
    arrays, possibly nested) to ``path`` as an npz archive, atomically (see the module doc)."""
    if callable(getattr(obj, "state_dict", None)):
        state = obj.state_dict()
    elif isinstance(obj, Mapping):
        state = obj
    else:
        raise TypeError(f"save: expected a Module, an Optimizer or a mapping name -> array, got "
                        f"{type(obj).__name__}")
    import tempfile  # imported here: `import tinygrad_reg` stays light
    import zipfile

    flat = flatten(state)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for key, arr in flat.items():
                    with zf.open(key + ".npy", "w", force_zip64=True) as member:
                        npy.write_array(member, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give what open() would
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _header(member: Any) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header bytes) of an .npy member, read without touching its data."""
    version = npy.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = npy.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = npy.read_array_header_2_0(member)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return shape, dtype, member.tell()


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save`: the state dict (nested as it was saved,
    every leaf an ndarray). Never unpickles anything: a file that is not an npz archive, is
    truncated or corrupt, or holds an object array raises ValueError naming the file and
    the problem."""
    import zipfile  # imported here: `import tinygrad_reg` stays light
    import zlib

    path = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip archive (or an empty one)
        hint = " (it looks like a pickle: refused)" if magic[:1] == b"\x80" else ""
        raise ValueError(f"load: {path!r} is not an npz checkpoint: it does not start with a "
                         f"zip signature{hint}")
    flat: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy") or len(name) == 4:
                    raise ValueError(f"member {name!r} is not an .npy array")
                key = name[:-4]
                if key in flat:
                    raise ValueError(f"member {name!r} appears twice")
                with zf.open(info) as member:
                    shape, dtype, header = _header(member)
                if dtype.hasobject or dtype.kind not in _KINDS:
                    raise ValueError(f"{key!r} is an array of dtype {dtype}, which would need "
                                     f"pickle to load; checkpoints never hold object arrays")
                # a header claiming more data than the member holds: refuse before allocating
                nbytes = math.prod(shape) * dtype.itemsize
                if header + nbytes != info.file_size:
                    raise ValueError(f"{key!r} claims shape {shape} and dtype {dtype} "
                                     f"({nbytes} bytes) but its member holds "
                                     f"{info.file_size - header} bytes")
                with zf.open(info) as member:
                    flat[key] = npy.read_array(member, allow_pickle=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            ValueError, KeyError, NotImplementedError) as err:
        raise ValueError(f"load: {path!r} is not a valid checkpoint: {err}") from None
    return unflatten(flat)


__all__ = ["save", "load"]
