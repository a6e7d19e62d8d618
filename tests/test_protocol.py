"""The sandbox wire format: exact round trips of what may cross, ProtocolError for the rest.

The oracle for a round trip is the value itself (compared bit for bit, type for type); malformed
frames are built by hand from the documented layout ``u64 | u32 | JSON header | buffers``.
"""

from __future__ import annotations

import json
import math
import os
import struct
import threading

import numpy as np
import pytest
import torch

from harness.sandbox.protocol import (
    MAX_DEPTH,
    Handle,
    ProtocolError,
    decode,
    encode,
    read_frame,
    write_all,
)

TORCH_DTYPES = [
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.int8,
    torch.int16, torch.int32, torch.int64, torch.bool,
]
NUMPY_DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool"]


def roundtrip(value):
    frame = encode(value)
    (n,) = struct.unpack_from("<Q", frame, 0)
    assert n == len(frame) - 8
    return decode(frame[8:])


def body(msg, buffers=(), sizes=None) -> bytes:
    """A frame body (no u64 prefix) with the given value tree and raw buffers."""
    sizes = [len(b) for b in buffers] if sizes is None else sizes
    header = json.dumps({"msg": msg, "sizes": sizes}).encode()
    return struct.pack("<I", len(header)) + header + b"".join(buffers)


def sample(dtype: torch.dtype, shape=(3, 5)) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point:
        return (torch.randn(shape, generator=g) * 100).to(dtype)
    info = torch.iinfo(dtype)
    return torch.randint(info.min, info.max, shape, generator=g, dtype=torch.int64).to(dtype)


def raw_bytes(t: torch.Tensor) -> bytes:
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def assert_same_tensor(got, expected: torch.Tensor) -> None:
    assert type(got) is torch.Tensor
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert got.device.type == "cpu"
    # bit-exact: compare the raw bytes, so -0.0 vs 0.0 or a nan payload would show
    assert raw_bytes(got) == raw_bytes(expected)


# ---------------------------------------------------------------- tensors


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=lambda d: str(d).removeprefix("torch."))
@pytest.mark.parametrize("shape", [(3, 5), (), (0, 4), (2, 1, 3)], ids=str)
def test_tensor_roundtrip_every_dtype_and_shape(dtype, shape):
    x = sample(dtype, shape)
    assert_same_tensor(roundtrip(x), x)


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=lambda d: str(d).removeprefix("torch."))
def test_non_contiguous_tensors_keep_their_logical_values(dtype):
    base = sample(dtype, (6, 8))
    views = {
        "transposed": base.t(),
        "strided": base[::2, 1::3],
        "offset_slice": base[2:5],  # contiguous but with a storage offset
        "expanded": base[:1].expand(4, 8),
    }
    for name, v in views.items():
        got = roundtrip(v)
        assert_same_tensor(got, v.contiguous())
        assert got.is_contiguous(), name


def test_special_float_values_survive_bit_exactly():
    x = torch.tensor([0.0, -0.0, math.inf, -math.inf, math.nan, 1e-45, 3.4e38], dtype=torch.float32)
    got = roundtrip(x)
    assert got.view(torch.int32).tolist() == x.view(torch.int32).tolist()


def test_requires_grad_tensor_crosses_as_plain_data():
    x = torch.randn(3, requires_grad=True) * 2
    got = roundtrip(x)
    assert type(got) is torch.Tensor and not got.requires_grad and got.grad_fn is None
    assert torch.equal(got, x.detach())


def test_decoded_tensor_owns_writable_memory():
    x = torch.arange(6, dtype=torch.int32)
    got = roundtrip(x)
    got[0] = 100  # would fail (or alias the frame) if built on a read-only buffer
    assert x[0].item() == 0


class AlwaysEqual(torch.Tensor):
    """What a hostile submission returns: a tensor that claims to equal anything."""

    def __eq__(self, other):  # noqa: D105
        return True

    __hash__ = torch.Tensor.__hash__


def test_tensor_subclass_crosses_as_plain_tensor_with_only_its_data():
    evil = torch.tensor([1.0, 2.0, 3.0]).as_subclass(AlwaysEqual)
    evil.note = "I am correct"
    assert (evil == torch.zeros(7)) is True  # the attack works in-process
    got = roundtrip(evil)
    assert type(got) is torch.Tensor
    assert not hasattr(got, "note")
    assert (got == torch.tensor([1.0, 2.0, 3.0])).all()
    assert not (got == torch.tensor([9.0, 9.0, 9.0])).any()


def test_unsupported_tensor_dtype_is_refused_by_name():
    with pytest.raises(ProtocolError, match="complex64"):
        encode(torch.zeros(2, dtype=torch.complex64))


# ---------------------------------------------------------------- numpy


@pytest.mark.parametrize("name", NUMPY_DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (), (0, 4)], ids=str)
def test_ndarray_roundtrip(name, shape):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal(shape) * 50).astype(name)
    assert type(a) is np.ndarray
    got = roundtrip(a)
    assert type(got) is np.ndarray
    assert got.dtype == np.dtype(name) and got.shape == a.shape
    np.testing.assert_array_equal(got, a)
    assert got.flags.writeable


def test_non_contiguous_ndarray_roundtrip():
    a = np.arange(24, dtype=np.int64).reshape(4, 6)
    for v in (a.T, a[::2, ::-1], a[1:3]):
        got = roundtrip(v)
        np.testing.assert_array_equal(got, v)


def test_big_endian_ndarray_keeps_its_values():
    a = np.array([1.5, -2.0, 3.25], dtype=">f4")
    got = roundtrip(a)
    np.testing.assert_array_equal(got, np.array([1.5, -2.0, 3.25], dtype=np.float32))


def test_numpy_scalars_cross_as_python_values():
    got = roundtrip([np.float32(1.5), np.int64(7), np.bool_(True)])
    assert got == [1.5, 7, True]
    assert [type(v) for v in got] == [float, int, bool]


def test_object_ndarray_is_refused():
    with pytest.raises(ProtocolError, match="object"):
        encode(np.array([object()], dtype=object))


# ---------------------------------------------------------------- containers and scalars


def test_nested_containers_keep_their_types():
    t = torch.arange(3)
    value = {
        "list": [1, 2.5, "s", None, True],
        "tuple": (1, (2, [3, (4,)])),
        "empty": ([], (), {}),
        "nested": {"a": {"b": [t, (t * 2,)]}},
        7: "int key",
    }
    got = roundtrip(value)
    assert type(got["list"]) is list and got["list"] == [1, 2.5, "s", None, True]
    assert type(got["tuple"]) is tuple and got["tuple"] == (1, (2, [3, (4,)]))
    assert type(got["tuple"][1]) is tuple and type(got["tuple"][1][1]) is list
    assert type(got["tuple"][1][1][1]) is tuple
    assert got["empty"] == ([], (), {}) and [type(v) for v in got["empty"]] == [list, tuple, dict]
    assert got[7] == "int key"
    inner = got["nested"]["a"]["b"]
    assert type(inner) is list and type(inner[1]) is tuple
    assert torch.equal(inner[0], t) and torch.equal(inner[1][0], t * 2)


def test_dict_keeps_insertion_order():
    value = {"z": 1, "a": 2, "m": 3}
    assert list(roundtrip(value)) == ["z", "a", "m"]


@pytest.mark.parametrize(
    "value", [None, True, False, 0, -1, 2**62, -(2**62), 0.0, -0.0, 1e308, 5e-324, "", "héllo ✓"],
    ids=repr,
)
def test_scalars_roundtrip_with_their_type(value):
    got = roundtrip(value)
    assert type(got) is type(value) and got == value
    if type(value) is float:
        assert math.copysign(1, got) == math.copysign(1, value)


def test_nan_and_inf_floats():
    got = roundtrip([math.nan, math.inf, -math.inf])
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == -math.inf


def test_bool_stays_bool_not_int():
    got = roundtrip([True, 1, False, 0])
    assert [type(v) for v in got] == [bool, int, bool, int]


def test_handle_roundtrip():
    got = roundtrip({"h": Handle(42), "hs": [Handle(0)]})
    assert type(got["h"]) is Handle and got["h"].id == 42
    assert type(got["hs"][0]) is Handle and got["hs"][0].id == 0


def test_torch_dtype_and_device_roundtrip():
    got = roundtrip([torch.float32, torch.device("cpu"), torch.bool])
    assert got == [torch.float32, torch.device("cpu"), torch.bool]


def test_nesting_up_to_the_limit_is_fine_and_deeper_is_refused():
    ok = []
    for _ in range(MAX_DEPTH):
        ok = [ok]
    depth = 0
    got = roundtrip(ok)
    while got:
        got, depth = got[0], depth + 1
    assert depth == MAX_DEPTH
    with pytest.raises(ProtocolError, match="nested deeper"):
        encode([ok])


def test_self_referencing_list_is_refused_not_a_crash():
    a = []
    a.append(a)
    with pytest.raises(ProtocolError, match="nested deeper"):
        encode(a)


class Custom:
    pass


@pytest.mark.parametrize(
    "value, type_name",
    [
        (Custom(), "Custom"),
        ({1, 2}, "set"),
        (b"bytes", "bytes"),
        (1 + 2j, "complex"),
        (lambda: 0, "function"),
        ([1, {"x": (Custom(),)}], "Custom"),
    ],
    ids=["object", "set", "bytes", "complex", "function", "nested_object"],
)
def test_other_types_are_refused_naming_the_type(value, type_name):
    with pytest.raises(ProtocolError, match=rf"type \S*{type_name} cannot cross"):
        encode(value)


@pytest.mark.parametrize("key", [(1, 2), 1.5, None, True], ids=repr)
def test_dict_with_non_str_key_is_refused_on_encode(key):
    with pytest.raises(ProtocolError, match="dict key of type"):
        encode({key: 1})


# ---------------------------------------------------------------- malformed frames


def good_tensor_body() -> tuple[dict, bytes]:
    raw = struct.pack("<4f", 1, 2, 3, 4)
    return {"t": "tensor", "dtype": "float32", "shape": [2, 2], "device": "cpu", "buf": 0}, raw


def test_hand_built_frame_decodes():
    """The helper builds valid frames: the negative cases below differ in one thing only."""
    node, raw = good_tensor_body()
    got = decode(body(node, [raw]))
    assert torch.equal(got, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))


@pytest.mark.parametrize("cut", [0, 3, 6, 20])
def test_truncated_frames(cut):
    node, raw = good_tensor_body()
    with pytest.raises(ProtocolError, match="truncated|do not add up"):
        decode(body(node, [raw])[:cut])


def test_truncated_buffer():
    node, raw = good_tensor_body()
    with pytest.raises(ProtocolError, match="do not add up"):
        decode(body(node, [raw])[:-1])


def test_trailing_garbage():
    node, raw = good_tensor_body()
    with pytest.raises(ProtocolError, match="do not add up"):
        decode(body(node, [raw]) + b"x")


@pytest.mark.parametrize("header", [b"not json", b"\xff\xfe", b"[1, 2", b"{\"msg\": 1}", b"[]"])
def test_header_not_json_or_without_sizes(header):
    with pytest.raises(ProtocolError, match="not JSON|lacks buffer sizes"):
        decode(struct.pack("<I", len(header)) + header)


def test_header_nested_too_deep_for_json_parser():
    header = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ProtocolError):
        decode(struct.pack("<I", len(header)) + header)


@pytest.mark.parametrize(
    "shape, nbytes", [([2, 2], 12), ([2, 2], 20), ([3, 2], 16), ([], 0), ([0], 4)], ids=str
)
def test_buffer_size_must_match_shape_and_dtype(shape, nbytes):
    node = {"t": "tensor", "dtype": "float32", "shape": shape, "device": "cpu", "buf": 0}
    with pytest.raises(ProtocolError, match="buffer holds"):
        decode(body(node, [b"\0" * nbytes]))


def test_ndarray_buffer_size_mismatch():
    node = {"t": "ndarray", "dtype": "int64", "shape": [3], "buf": 0}
    with pytest.raises(ProtocolError, match="buffer holds 16 bytes"):
        decode(body(node, [b"\0" * 16]))


@pytest.mark.parametrize("dtype", ["complex64", "object", "float128", "torch.float32", None, 5, [1], {}],
                         ids=repr)
@pytest.mark.parametrize("tag", ["tensor", "ndarray"])
def test_unknown_dtype(tag, dtype):
    node = {"t": tag, "dtype": dtype, "shape": [1], "device": "cpu", "buf": 0}
    with pytest.raises(ProtocolError, match="not allowed|malformed"):
        decode(body(node, [b"\0" * 8]))


@pytest.mark.parametrize("shape", [[-1], [2, -2], "2", [1.5], None, [True]], ids=repr)
def test_bad_shape(shape):
    node = {"t": "tensor", "dtype": "uint8", "shape": shape, "device": "cpu", "buf": 0}
    with pytest.raises(ProtocolError, match="bad tensor shape"):
        decode(body(node, [b"\0\0"]))


def test_shape_too_large_for_torch_is_a_protocol_error():
    node = {"t": "tensor", "dtype": "uint8", "shape": [0, 2**63], "device": "cpu", "buf": 0}
    with pytest.raises(ProtocolError):
        decode(body(node, [b""]))


@pytest.mark.parametrize("buf", [1, -1, "0", None], ids=repr)
def test_bad_buffer_index(buf):
    node = {"t": "tensor", "dtype": "uint8", "shape": [1], "device": "cpu", "buf": buf}
    with pytest.raises(ProtocolError, match="bad buffer index"):
        decode(body(node, [b"\0"]))


@pytest.mark.parametrize("sizes", [[-1], ["1"], [1.0]], ids=repr)
def test_bad_buffer_sizes(sizes):
    with pytest.raises(ProtocolError, match="bad buffer size"):
        decode(body(None, [b"\0"], sizes=sizes))


@pytest.mark.parametrize("node", [{"t": "pickle", "v": "..."}, {"v": [1]}, {"t": [1]}], ids=str)
def test_unknown_tag(node):
    with pytest.raises(ProtocolError, match="unknown node tag"):
        decode(body(node))


def test_bare_json_list_node_is_refused():
    with pytest.raises(ProtocolError, match="unexpected JSON node list"):
        decode(body([1, 2]))


def test_nesting_too_deep_in_a_frame():
    node = 1
    for _ in range(MAX_DEPTH + 5):
        node = {"t": "list", "v": [node]}
    with pytest.raises(ProtocolError, match="too deeply"):
        decode(body(node))


@pytest.mark.parametrize("key", [1.5, None, [1], {"a": 1}, True], ids=repr)
def test_dict_with_non_str_key_in_a_frame(key):
    with pytest.raises(ProtocolError, match="bad dict item"):
        decode(body({"t": "dict", "v": [[key, 1]]}))


@pytest.mark.parametrize(
    "node, msg",
    [
        ({"t": "dict", "v": {"a": 1}}, "bad dict"),
        ({"t": "dict", "v": [["a"]]}, "bad dict item"),
        ({"t": "list", "v": "abc"}, "bad sequence"),
        ({"t": "tuple"}, "bad sequence"),
        ({"t": "handle", "id": "1"}, "bad handle"),
        ({"t": "torch", "v": "torch.complex64"}, "not allowed"),
        ({"t": "torch", "v": "builtins.eval"}, "not allowed"),
        ({"t": "torch", "v": "cuda:abc"}, "Invalid device|malformed"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_other_malformed_nodes(node, msg):
    with pytest.raises(ProtocolError, match=msg):
        decode(body(node))


# ---------------------------------------------------------------- through a pipe


def test_frames_through_a_pipe():
    r, w = os.pipe()
    try:
        big = torch.arange(300_000, dtype=torch.float64)  # 2.4 MB: more than a pipe buffer
        values = [{"op": "call", "args": [big]}, (1, "two", None), torch.tensor(True)]
        frames = [encode(v) for v in values]
        writer = threading.Thread(target=lambda: [write_all(w, f) for f in frames])
        writer.start()
        got = [decode(read_frame(r)) for _ in values]
        writer.join()
    finally:
        os.close(r)
        os.close(w)
    assert torch.equal(got[0]["args"][0], big)
    assert got[1] == (1, "two", None)
    assert type(got[2]) is torch.Tensor and got[2].dtype == torch.bool and got[2].item() is True


def test_read_frame_on_closed_pipe_raises_eof():
    r, w = os.pipe()
    frame = encode([1, 2, 3])
    os.write(w, frame[: len(frame) // 2])
    os.close(w)
    try:
        with pytest.raises(EOFError, match="closed"):
            read_frame(r)
    finally:
        os.close(r)


def test_read_frame_refuses_a_huge_length_before_reading():
    r, w = os.pipe()
    os.write(w, struct.pack("<Q", 1 << 40))
    os.close(w)
    try:
        with pytest.raises(ProtocolError, match="exceeds"):
            read_frame(r)
    finally:
        os.close(r)


def test_one_element_view_with_an_odd_stride_crosses():
    t = torch.arange(5.0).reshape(1, 5)[:, 4]  # contiguous by torch's rules, stride 5
    got = decode(encode(t)[8:])
    assert type(got) is torch.Tensor and got.shape == (1,) and got.item() == 4.0
