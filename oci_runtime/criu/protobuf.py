"""The protobuf encoding of CRIU's RPC messages, read from CRIU's own rpc.proto.

CRIU's RPC (``criu swrk``) speaks protobuf (proto2) on a SOCK_SEQPACKET socket, one message per
packet.  The schema is rpc.proto as CRIU ships it (images/rpc.proto of CRIU 4.2, MIT, vendored
beside this module): it is the one place field names and numbers are written.  This module parses
the subset of the proto2 language that file uses (messages of scalar, string, enum and message
fields, optional/required/repeated; enums) and encodes and decodes messages as dicts keyed by field
name: ``encode("criu_req", {"type": "DUMP", "opts": {"pid": 42}})``.

Why not the protobuf package: it would be a new dependency for ~40 fields, its generated module
(rpc_pb2.py) must match the runtime's major version (a mismatch fails at import), and importing it
costs ~15 ms per checkpoint/restore call, against well under 1 ms here.  The wire format used is
small and frozen: varints (wire type 0) and length-delimited fields (2); unknown fields of any wire
type are skipped, so a newer CRIU's answers still decode.
"""
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    # field name -> (number, label: optional/required/repeated, type name)
    Fields: TypeAlias = "dict[str, tuple[int, str, str]]"

RPC_PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rpc.proto")
_VARINT_TYPES = frozenset({"int32", "int64", "uint32", "uint64", "bool"})
_LABELS = frozenset({"optional", "required", "repeated"})


def _tokens(text: str) -> "list[str]":
    """The .proto text as tokens: comments dropped, "{ } ; = [ ]" split off (no `re`: its import
    costs more than parsing this file)."""
    out: "list[str]" = []
    index = 0
    while index < len(text):
        line_comment, block_comment = text.find("//", index), text.find("/*", index)
        ends = [position for position in (line_comment, block_comment) if position >= 0]
        end = min(ends) if ends else len(text)
        chunk = text[index:end]
        for mark in "{};=[]":
            chunk = chunk.replace(mark, f" {mark} ")
        out.extend(chunk.split())
        if end == len(text):
            break
        if end == block_comment:
            index = text.find("*/", end + 2)
            index = len(text) if index < 0 else index + 2
        else:
            index = text.find("\n", end)
            index = len(text) if index < 0 else index + 1
    return out


class ProtobufError(ValueError):
    """A message that does not fit the schema (a bug here or a broken peer)."""


class Schema:
    """The messages and enums of one .proto file."""

    def __init__(self, text: str) -> None:
        self.messages: dict[str, Fields] = {}
        self.enums: dict[str, dict[str, int]] = {}
        tokens = _tokens(text)
        index = 0
        while index < len(tokens):
            kind = tokens[index]
            if kind not in ("message", "enum") or index + 2 >= len(tokens):
                index += 1
                continue
            name, index = tokens[index + 1], index + 3  # past "NAME {"
            end = tokens.index("}", index)
            body, index = tokens[index:end], end + 1
            if kind == "enum":  # KEY = VALUE ;
                self.enums[name] = {body[i]: int(body[i + 2]) for i in range(len(body) - 2)
                                    if body[i + 1] == "=" and (i == 0 or body[i - 1] == ";")}
            else:  # LABEL TYPE NAME = NUMBER [options] ;
                self.messages[name] = {body[i + 2]: (int(body[i + 4]), body[i], body[i + 1])
                                       for i in range(len(body) - 4) if body[i] in _LABELS
                                       and body[i + 3] == "="}
        # {message: {number: (field name, label, type name)}} for decoding
        self._by_number = {name: {number: (field, label, type_name)
                                  for field, (number, label, type_name) in fields.items()}
                           for name, fields in self.messages.items()}

    def enum_value(self, enum: str, value: "int | str") -> int:
        if isinstance(value, int):
            return value
        try:
            return self.enums[enum][value]
        except KeyError:
            raise ProtobufError(f"{enum} has no value {value!r}") from None

    def enum_name(self, enum: str, value: int) -> str:
        for name, number in self.enums[enum].items():
            if number == value:
                return name
        return str(value)

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, message: str, values: "dict[str, Any]") -> bytes:
        fields = self.messages[message]
        unknown = set(values) - set(fields)
        if unknown:
            raise ProtobufError(f"{message} has no field {sorted(unknown)[0]!r}")
        out = bytearray()
        # In field-number order, as protobuf's own serializers write them.
        for name, (number, label, type_name) in sorted(fields.items(), key=lambda f: f[1][0]):
            value = values.get(name)
            if value is None:
                continue
            for item in (value if label == "repeated" else (value,)):
                self._encode_field(out, number, type_name, item)
        for name, (_, label, _) in fields.items():
            if label == "required" and values.get(name) is None:
                raise ProtobufError(f"{message}.{name} is required")
        return bytes(out)

    def _encode_field(self, out: bytearray, number: int, type_name: str, value: "Any") -> None:
        if type_name in _VARINT_TYPES or type_name in self.enums:
            if type_name in self.enums:
                value = self.enum_value(type_name, value)
            _put_varint(out, number << 3)
            _put_varint(out, int(value) & 0xFFFFFFFFFFFFFFFF)  # negative: ten bytes, as proto2
            return
        if type_name == "string":
            data = value.encode()
        elif type_name == "bytes":
            data = bytes(value)
        elif type_name in self.messages:
            data = self.encode(type_name, value)
        else:
            raise ProtobufError(f"unsupported field type {type_name!r}")
        _put_varint(out, number << 3 | 2)
        _put_varint(out, len(data))
        out += data

    # -- decoding ------------------------------------------------------------------------------
    def decode(self, message: str, data: bytes) -> "dict[str, Any]":
        by_number = self._by_number[message]
        values: "dict[str, Any]" = {}
        offset = 0
        while offset < len(data):
            key, offset = _get_varint(data, offset)
            number, wire_type = key >> 3, key & 7
            if wire_type == 0:
                raw, offset = _get_varint(data, offset)
                payload: "bytes | int" = raw
            elif wire_type == 2:
                length, offset = _get_varint(data, offset)
                payload, offset = data[offset:offset + length], offset + length
                if offset > len(data):
                    raise ProtobufError(f"{message}: field {number} runs past the end")
            elif wire_type in (1, 5):  # fixed64, fixed32: in no CRIU message, skipped
                offset += 8 if wire_type == 1 else 4
                continue
            else:
                raise ProtobufError(f"{message}: unsupported wire type {wire_type}")
            known = by_number.get(number)
            if known is None:
                continue  # a field of a newer CRIU
            name, label, type_name = known
            value = self._decode_value(type_name, payload)
            if label == "repeated":
                values.setdefault(name, []).append(value)
            else:
                values[name] = value
        return values

    def _decode_value(self, type_name: str, payload: "bytes | int") -> "Any":
        if isinstance(payload, int):
            if type_name == "bool":
                return bool(payload)
            if type_name in ("int32", "int64") and payload >= 1 << 63:
                return payload - (1 << 64)
            return payload
        if type_name == "string":
            return payload.decode(errors="replace")
        if type_name in self.messages:
            return self.decode(type_name, payload)
        return payload


def _put_varint(out: bytearray, value: int) -> None:
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _get_varint(data: bytes, offset: int) -> "tuple[int, int]":
    value = shift = 0
    while True:
        if offset >= len(data) or shift > 63:
            raise ProtobufError("truncated or overlong varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7


_rpc: Schema | None = None


def rpc_schema() -> Schema:
    """CRIU's RPC schema, parsed once per process."""
    global _rpc
    if _rpc is None:
        with open(RPC_PROTO, encoding="utf-8") as proto:
            _rpc = Schema(proto.read())
    return _rpc
