"""CRIU, driven for `checkpoint` and `restore` (oci_runtime/container/checkpoint.py, restore.py).

    options.py   runc's checkpoint/restore options, checked, and the criu_opts each sets
    swrk.py      one `criu swrk` conversation over its RPC socket (version, features, a dump or
                 restore request and its notifications); why RPC rather than the command line
    protobuf.py  the protobuf encoding of CRIU's RPC messages, read from rpc.proto (CRIU's, MIT)
    mounts.py    which of a container's mounts CRIU must be told are external, and their sources

Nothing is imported at package level: only `checkpoint`, `restore` and `check --host` load it.
"""
