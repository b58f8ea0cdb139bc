"""oci_runtime.config: the checks a JSON schema cannot express (oci_runtime.config.model) and the
error messages users see for a config.json that is not valid JSON."""
import copy

import pytest

from oci_runtime.config.load import load_bundle_config, parse_config
from oci_runtime.config.model import Config
from oci_runtime.config.default_spec import default_config
from oci_runtime.errors import OCIError


def config_with(edit):
    document = copy.deepcopy(default_config())
    edit(document)
    return document


def refusal(document):
    with pytest.raises(OCIError) as refused:
        Config(document)
    return str(refused.value)


def test_the_default_config_is_accepted_and_typed():
    config = Config(copy.deepcopy(default_config()))
    assert config.process.args == ["sh"]
    assert config.linux.has_new("mount") and not config.linux.has_new("user")
    assert config.linux.new_namespace_flags() & 0x00020000  # CLONE_NEWNS
    assert all(m.destination.startswith("/") for m in config.mounts)


def test_duplicate_namespaces_are_refused_with_the_pointer():
    document = config_with(lambda c: c["linux"]["namespaces"].append({"type": "pid"}))
    index = len(document["linux"]["namespaces"]) - 1
    assert refusal(document) == (f"config.json: /linux/namespaces/{index}/type: "
                                 "duplicate namespace 'pid'")


def test_unknown_namespace_types_and_relative_paths_are_refused():
    document = config_with(lambda c: c["linux"]["namespaces"].append({"type": "bogus"}))
    assert "unknown namespace type 'bogus'" in refusal(document)
    document = config_with(lambda c: c["linux"].update(
        namespaces=[{"type": "mount"}, {"type": "network", "path": "run/netns/x"}]))
    assert refusal(document) == ("config.json: /linux/namespaces/1/path: must be an absolute "
                                 "path (got 'run/netns/x')")


def test_a_joined_namespace_is_not_a_new_one():
    document = config_with(lambda c: (c.pop("hostname", None), c["linux"].update(
        namespaces=[{"type": "mount"}, {"type": "network", "path": "/run/netns/x"}])))
    linux = Config(document).linux
    assert linux.namespaces["network"].path == "/run/netns/x"
    assert not linux.has_new("network") and linux.has_new("mount")
    assert not linux.new_namespace_flags() & 0x40000000  # CLONE_NEWNET


def test_id_mappings_need_a_user_namespace():
    mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    document = config_with(lambda c: c["linux"].update(uidMappings=mapping, gidMappings=mapping))
    assert refusal(document) == ("config.json: /linux/uidMappings: id mappings need a user "
                                 "namespace in /linux/namespaces")


def test_a_new_user_namespace_needs_both_mappings():
    mapping = [{"containerID": 0, "hostID": 100000, "size": 65536}]

    def edit(config):
        config["linux"]["namespaces"].append({"type": "user"})
        config["linux"]["uidMappings"] = mapping

    assert "needs both uidMappings and gidMappings" in refusal(config_with(edit))


def test_hostname_and_domainname_need_a_uts_namespace():
    def without_uts(config):
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"]
                                         if n["type"] != "uts"]

    document = config_with(lambda c: (without_uts(c), c.update(hostname="box")))
    assert refusal(document) == ("config.json: /hostname: setting a hostname needs a uts "
                                 "namespace (new or joined by path)")
    document = config_with(lambda c: (without_uts(c), c.pop("hostname", None),
                                      c.update(domainname="example.org")))
    assert refusal(document) == ("config.json: /domainname: setting a domainname needs a uts "
                                 "namespace (new or joined by path)")


def test_hostname_and_domainname_may_be_set_in_a_joined_uts_namespace():
    def joined_uts(config):
        without = [n for n in config["linux"]["namespaces"] if n["type"] != "uts"]
        config["linux"]["namespaces"] = without + [{"type": "uts", "path": "/proc/1/ns/uts"}]
        config.update(hostname="box", domainname="example.org")

    config = Config(config_with(joined_uts))
    assert (config.hostname, config.domainname) == ("box", "example.org")


def test_time_offsets_need_a_new_time_namespace():
    offsets = {"monotonic": {"secs": 1, "nanosecs": 0}}
    document = config_with(lambda c: c["linux"].update(timeOffsets=offsets))
    assert "time offsets need a time namespace" in refusal(document)
    document = config_with(lambda c: (c["linux"]["namespaces"].append(
        {"type": "time", "path": "/proc/1/ns/time"}), c["linux"].update(timeOffsets=offsets)))
    assert "cannot be set on a joined time namespace" in refusal(document)


def test_relative_mount_destinations_are_read_relative_to_root():
    document = config_with(lambda c: c["mounts"].append(
        {"destination": "data/cache", "type": "tmpfs", "source": "tmpfs"}))
    assert Config(document).mounts[-1].destination == "/data/cache"


def test_mount_mappings_come_in_pairs():
    mapping = [{"containerID": 0, "hostID": 1000, "size": 1}]
    document = config_with(lambda c: c["mounts"].append(
        {"destination": "/m", "type": "bind", "source": "/tmp", "uidMappings": mapping}))
    index = len(document["mounts"]) - 1
    assert refusal(document) == (f"config.json: /mounts/{index}: uidMappings and gidMappings "
                                 "must be given together")


def test_process_checks():
    document = config_with(lambda c: c["process"].update(args=[]))
    assert refusal(document) == "config.json: /process/args: must be a non-empty array"
    document = config_with(lambda c: c["process"].update(cwd="tmp"))
    assert refusal(document) == "config.json: /process/cwd: must be an absolute path (got 'tmp')"
    document = config_with(lambda c: c["process"].update(rlimits=[
        {"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2},
        {"type": "RLIMIT_NOFILE", "soft": 3, "hard": 4}]))
    assert refusal(document) == ("config.json: /process/rlimits/1/type: duplicate rlimit "
                                 "RLIMIT_NOFILE")


# -- invalid JSON: the position in lines and columns ------------------------------------------


@pytest.mark.parametrize("text, where", [
    ('{\n  "ociVersion": "1.0.0",\n  "process": {,\n}', "at line 3 column 15"),
    ('{"a": 1} trailing', "at line 1 column 10"),
    ('{"a": [1, 2,]}', "at line 1 column 13"),
    ("", "at line 1 column 1"),
    ('{\n\t"x": tru\n}', "at line 2 column 7"),
])
def test_invalid_json_names_line_and_column(text, where):
    with pytest.raises(OCIError) as refused:
        parse_config(text)
    message = str(refused.value)
    assert message.startswith(f"config.json: invalid JSON {where}: "), message


def test_a_document_that_is_not_an_object():
    with pytest.raises(OCIError, match=r"^config\.json: must be a JSON object$"):
        parse_config("[1, 2]")


def test_missing_and_unreadable_bundle_configs(tmp_path):
    with pytest.raises(OCIError, match=r"config\.json: no such file \(is .* an OCI bundle\?\)"):
        load_bundle_config(str(tmp_path))
    (tmp_path / "config.json").write_bytes(b'{"ociVersion": "\xff"}')
    with pytest.raises(OCIError, match="cannot read"):
        load_bundle_config(str(tmp_path))
