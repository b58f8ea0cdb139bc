"""oci_runtime/criu/protobuf.py: CRIU's rpc.proto parsed, messages encoded as protobuf does."""
import os
import tarfile

import pytest

from oci_runtime.criu.protobuf import RPC_PROTO, ProtobufError, Schema, rpc_schema

SHARED_CRIU = [os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "criu",
                            "criu-4.2.tar.gz"), "/work/shared/criu/criu-4.2.tar.gz"]


def test_the_vendored_rpc_proto_is_criu_4_2s():
    """One source of truth: the file beside the module is CRIU's own (when its source is here)."""
    tarball = next((path for path in SHARED_CRIU if os.path.exists(path)), None)
    if tarball is None:
        pytest.skip("no ../shared/criu/criu-4.2.tar.gz to compare with")
    with tarfile.open(tarball) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("images/rpc.proto"))
        upstream = archive.extractfile(member).read()
    with open(RPC_PROTO, "rb") as vendored:
        assert vendored.read() == upstream


def test_every_field_of_rpc_proto_is_parsed():
    schema = rpc_schema()
    with open(RPC_PROTO) as proto:
        declared = sum(1 for line in proto
                       if line.strip().split(" ")[0].split("\t")[0] in
                       ("optional", "required", "repeated"))
    assert sum(len(fields) for fields in schema.messages.values()) == declared
    assert schema.messages["criu_opts"]["external"] == (37, "repeated", "string")
    assert schema.messages["criu_opts"]["images_dir_fd"] == (1, "required", "int32")
    assert "check_mounts" not in schema.messages["criu_opts"]  # commented out upstream
    assert schema.enums["criu_req_type"]["SINGLE_PRE_DUMP"] == 13
    assert schema.enums["criu_cg_mode"]["DEFAULT"] == 6


def test_encoding_matches_protobufs_wire_format():
    schema = rpc_schema()
    data = schema.encode("criu_req", {"type": "DUMP", "keep_open": True,
                                      "opts": {"images_dir_fd": -1, "pid": 300,
                                               "external": ["a"], "ext_mnt": [
                                                   {"key": "k", "val": "v"}]}})
    # type=1 (varint 1), opts (field 2, length-delimited): images_dir_fd -1 as ten bytes,
    # pid 300 = ac 02, ext_mnt (23) {key "k", val "v"}, external (37) "a"; keep_open (4) true:
    # in field-number order, as protobuf writes them
    assert data.hex() == ("0801" "12" "1b" "08ffffffffffffffffff01" "10ac02"
                          "ba01060a016b120176" "aa020161" "2001")
    assert schema.decode("criu_req", data) == {
        "type": 1, "keep_open": True,
        "opts": {"images_dir_fd": -1, "pid": 300, "external": ["a"],
                 "ext_mnt": [{"key": "k", "val": "v"}]}}


def test_decoding_skips_unknown_fields_and_refuses_garbage():
    schema = Schema("message m { optional int32 a = 1; }")
    # field 9 varint, field 10 length-delimited, field 11 fixed32, then a = 5
    assert schema.decode("m", bytes.fromhex("4807" "52024142" "5d01020304" "0805")) == {"a": 5}
    with pytest.raises(ProtobufError):
        schema.decode("m", bytes.fromhex("0a05ab"))  # a length past the end
    with pytest.raises(ProtobufError):
        schema.decode("m", bytes.fromhex("08ff"))  # a varint cut short
    with pytest.raises(ProtobufError):
        Schema("message m { required int32 a = 1; }").encode("m", {})
    with pytest.raises(ProtobufError):
        schema.encode("m", {"b": 1})


CROSS_CHECK = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import rpc_pb2
from google.protobuf import json_format
request = rpc_pb2.criu_req()
json_format.ParseDict(json.loads(sys.argv[2]), request)
sys.stdout.write(request.SerializeToString().hex())
"""


def test_the_same_bytes_as_the_protobuf_library(tmp_path):
    """Cross-check with Google's protobuf (protoc and python3-protobuf come with CRIU's build
    dependencies): a request using every kind of field encodes to the very same bytes."""
    import shutil
    import subprocess

    python = "/usr/bin/python3"
    if shutil.which("protoc") is None or subprocess.run(
            [python, "-c", "import google.protobuf"], capture_output=True).returncode != 0:
        pytest.skip("protoc and python3-protobuf are not installed")
    subprocess.run(["protoc", f"--python_out={tmp_path}", f"-I{os.path.dirname(RPC_PROTO)}",
                    "rpc.proto"], check=True)
    values = {"type": "RESTORE", "keep_open": True, "opts": {
        "images_dir_fd": 7, "pid": 300, "external": ["a", "bb"],
        "ext_mnt": [{"key": "k", "val": "v"}], "inherit_fd": [{"key": "pipe:[1]", "fd": 4}],
        "cg_root": [{"ctrl": "", "path": "/x"}], "manage_cgroups_mode": "SOFT",
        "empty_ns": 0x40000000, "log_level": 4, "root": "/r", "rst_sibling": True,
        "join_ns": [{"ns": "ipc", "ns_file": "/proc/1/ns/ipc"}],
        "ps": {"address": "1.2.3.4", "port": 5}}}
    import json

    theirs = subprocess.run([python, "-c", CROSS_CHECK, str(tmp_path), json.dumps(values)],
                            capture_output=True, text=True, check=True).stdout
    assert rpc_schema().encode("criu_req", values).hex() == theirs
