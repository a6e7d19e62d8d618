"""Wire format between the trusted grader and the sandboxed worker. No pickle anywhere.

A frame is ``u64 length | u32 header length | JSON header | raw buffers``. The JSON header
holds the value tree; tensors and arrays are tagged nodes that point at a raw buffer. Decoding
builds brand-new plain objects (``torch.Tensor``, ``list``, ``dict``...), so nothing a
submission constructs (a tensor subclass, an object with a custom ``__eq__``) can cross.

This file is copied into the sandbox next to ``worker.py``: it may import only the standard
library, numpy and torch.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

import numpy as np
import torch

MAX_FRAME_BYTES = 1 << 30
# a reply's JSON header: tensors travel as raw buffers, so a legitimate header is small; a huge
# JSON document would cost the trusted side many times its size in Python objects
MAX_REPLY_HEADER_BYTES = 1 << 20
MAX_DEPTH = 32

TORCH_DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32",
        "int64", "bool",
    )
}
NUMPY_DTYPES = {"float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"}


class ProtocolError(Exception):
    """A frame that is malformed, too large, or holds a value that may not cross."""


class Handle:
    """Reference to an object that lives in the worker (e.g. an ``nn.Module`` instance)."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = id

    def __repr__(self) -> str:
        return f"Handle({self.id})"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def encode(value: Any) -> bytes:
    buffers: list[bytes] = []

    def enc(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError(f"value nested deeper than {MAX_DEPTH} levels")
        if x is None or type(x) in (bool, int, float, str):
            return x
        if isinstance(x, torch.Tensor):
            t = x.detach()
            name = _dtype_name(t.dtype)
            if name not in TORCH_DTYPES:
                raise ProtocolError(f"tensor dtype {name} cannot cross the sandbox boundary")
            device = t.device.type
            flat = t.cpu().contiguous().reshape(-1)
            if flat.numel() and flat.stride(0) != 1:  # a one-element view keeps its odd stride
                flat = torch.empty(flat.shape, dtype=flat.dtype).copy_(flat)
            buffers.append(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
            return {"t": "tensor", "dtype": name, "shape": list(t.shape), "device": device,
                    "buf": len(buffers) - 1}
        if isinstance(x, np.ndarray):
            if x.dtype.name not in NUMPY_DTYPES:
                raise ProtocolError(f"array dtype {x.dtype} cannot cross the sandbox boundary")
            # in native byte order: a '>f4' array is also named float32 (decode reads native)
            buffers.append(np.ascontiguousarray(x, dtype=np.dtype(x.dtype.name)).tobytes())
            return {"t": "ndarray", "dtype": x.dtype.name, "shape": list(x.shape),
                    "buf": len(buffers) - 1}
        if isinstance(x, np.generic):
            return enc(x.item(), depth)
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, int):
            return int(x)
        if isinstance(x, float):
            return float(x)
        if isinstance(x, str):
            return str(x)
        if isinstance(x, tuple):
            return {"t": "tuple", "v": [enc(v, depth + 1) for v in x]}
        if isinstance(x, list):
            return {"t": "list", "v": [enc(v, depth + 1) for v in x]}
        if isinstance(x, dict):
            items = []
            for k, v in x.items():
                if type(k) not in (str, int):
                    raise ProtocolError(f"dict key of type {type(k).__name__} cannot cross")
                items.append([k, enc(v, depth + 1)])
            return {"t": "dict", "v": items}
        if isinstance(x, Handle):
            return {"t": "handle", "id": int(x.id)}
        if isinstance(x, (torch.dtype, torch.device)):
            return {"t": "torch", "v": str(x)}
        raise ProtocolError(
            f"a value of type {type(x).__module__}.{type(x).__qualname__} cannot cross the "
            "sandbox boundary (allowed: None, bool, int, float, str, list, tuple, dict, "
            "torch.Tensor, numpy.ndarray)"
        )

    header = json.dumps({"msg": enc(value, 0), "sizes": [len(b) for b in buffers]}).encode()
    body = struct.pack("<I", len(header)) + header + b"".join(buffers)
    if len(body) > MAX_FRAME_BYTES:
        raise ProtocolError(f"message of {len(body)} bytes exceeds {MAX_FRAME_BYTES}")
    return struct.pack("<Q", len(body)) + body


def decode(body: bytes, *, map_device: bool = True) -> Any:
    """Decode a frame body (without the u64 length) into fresh plain objects."""
    if len(body) < 4:
        raise ProtocolError("truncated frame")
    (hlen,) = struct.unpack_from("<I", body, 0)
    if 4 + hlen > len(body):
        raise ProtocolError("truncated frame header")
    try:
        header = json.loads(body[4:4 + hlen].decode("utf-8"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError, JSONDecodeError, too deep
        raise ProtocolError(f"frame header is not JSON: {e}") from None
    if type(header) is not dict or type(header.get("sizes")) is not list:
        raise ProtocolError("frame header lacks buffer sizes")
    offsets, pos = [], 4 + hlen
    for size in header["sizes"]:
        if type(size) is not int or size < 0:
            raise ProtocolError("bad buffer size")
        offsets.append((pos, size))
        pos += size
    if pos != len(body):
        raise ProtocolError("buffer sizes do not add up to the frame length")
    view = memoryview(body)

    def shape_of(node: dict) -> list[int]:
        shape = node.get("shape")
        if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
            raise ProtocolError("bad tensor shape")
        return shape

    def buffer_of(node: dict, nbytes: int) -> memoryview:
        i = node.get("buf")
        if type(i) is not int or not 0 <= i < len(offsets):
            raise ProtocolError("bad buffer index")
        start, size = offsets[i]
        if size != nbytes:
            raise ProtocolError(f"buffer holds {size} bytes, shape and dtype need {nbytes}")
        return view[start:start + size]

    def dec(x: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        if x is None or type(x) in (bool, int, float, str):
            return x
        if type(x) is not dict:
            raise ProtocolError(f"unexpected JSON node {type(x).__name__}")
        tag = x.get("t")
        if tag == "tensor":
            dtype = TORCH_DTYPES.get(x.get("dtype"))
            if dtype is None:
                raise ProtocolError(f"dtype {x.get('dtype')!r} not allowed")
            shape = shape_of(x)
            numel = 1
            for s in shape:
                numel *= s
            itemsize = torch.empty((), dtype=dtype).element_size()
            raw = buffer_of(x, numel * itemsize)
            if numel == 0:
                t = torch.empty(shape, dtype=dtype)
            else:
                t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape)
            if map_device and x.get("device") == "cuda" and torch.cuda.is_available():
                t = t.cuda()
            return t
        if tag == "ndarray":
            name = x.get("dtype")
            if name not in NUMPY_DTYPES:
                raise ProtocolError(f"dtype {name!r} not allowed")
            shape = shape_of(x)
            dtype = np.dtype(name)
            numel = int(np.prod(shape)) if shape else 1
            raw = buffer_of(x, numel * dtype.itemsize)
            return np.frombuffer(bytes(raw), dtype=dtype).reshape(shape).copy()
        if tag in ("list", "tuple"):
            items = x.get("v")
            if type(items) is not list:
                raise ProtocolError("bad sequence")
            out = [dec(v, depth + 1) for v in items]
            return tuple(out) if tag == "tuple" else out
        if tag == "dict":
            items = x.get("v")
            if type(items) is not list:
                raise ProtocolError("bad dict")
            out = {}
            for item in items:
                if type(item) is not list or len(item) != 2 or type(item[0]) not in (str, int):
                    raise ProtocolError("bad dict item")
                out[item[0]] = dec(item[1], depth + 1)
            return out
        if tag == "handle":
            if type(x.get("id")) is not int:
                raise ProtocolError("bad handle")
            return Handle(x["id"])
        if tag == "torch":
            v = x.get("v")
            if v in ("cpu", "cuda") or (type(v) is str and v.startswith("cuda:")):
                return torch.device(v)
            dtype = TORCH_DTYPES.get(str(v).removeprefix("torch."))
            if dtype is None:
                raise ProtocolError(f"torch value {v!r} not allowed")
            return dtype
        raise ProtocolError(f"unknown node tag {tag!r}")

    try:
        return dec(header.get("msg"), 0)
    except ProtocolError:
        raise
    except (TypeError, ValueError, RuntimeError, OverflowError, RecursionError) as e:
        # e.g. an unhashable dtype, a shape torch cannot hold, a bad device string
        raise ProtocolError(f"malformed frame: {type(e).__name__}: {str(e)[:200]}") from None


def read_exact(fd: int, n: int) -> bytes:
    chunks, remaining = [], n
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    (n,) = struct.unpack("<Q", read_exact(fd, 8))
    if n > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {n} bytes exceeds {MAX_FRAME_BYTES}")
    return read_exact(fd, n)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def select_output(out: Any, output: int | None) -> Any:
    """What a vjp request's ``output`` means: item ``output`` of a tuple or list result
    (``None``: the result itself). Shared by the worker and the test kit's local vjp."""
    if output is None:
        return out
    items = len(out) if isinstance(out, (tuple, list)) else None
    if type(output) is not int or items is None or not -items <= output < items:
        size = "" if items is None else f" of {items} items"
        raise TypeError(f"vjp output={output!r}: the result has no item {output!r} "
                        f"(it is a {type(out).__name__}{size})")
    return out[output]
