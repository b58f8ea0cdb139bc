"""docs/integration.md's configurations are well formed and agree with each other and with what
setup installs (the end-to-end tests run them: tests/e2e/integration_doc.py)."""
import json
import re
import shlex
import tomllib

from tests.e2e import integration_doc
from tests.e2e.integration_doc import DOCUMENTED_RUNTIME, REPO, snippet, snippets


def test_every_snippet_the_tests_read_is_on_the_page():
    assert set(snippets()) >= {"podman-run", "containers-conf", "ctr-run", "cri-handler",
                               "runtimeclass", "dockerd", "docker-daemon-json", "docker-run",
                               "hosts-toml"}
    assert all(text.strip() for text in snippets().values())


def test_the_runtime_path_is_what_install_system_installs():
    with open(f"{REPO}/scripts/install-system") as script:
        default_dir = re.search(r"dir=\$\{1:-([^}]+)\}", script.read()).group(1)
    assert DOCUMENTED_RUNTIME == f"{default_dir}/bin/oci-runtime"
    with open(integration_doc.DOC) as page:
        text = page.read()
    assert "/usr/local/bin/oci-runtime" not in text   # nothing installs it there
    for name, block in snippets().items():
        for path in re.findall(r"/\S*oci-runtime\b[\w/.-]*", block):
            assert path == DOCUMENTED_RUNTIME, (name, path)


def test_containers_conf_is_valid_toml_with_the_json_log_setting_in_engine():
    conf = tomllib.loads(snippet("containers-conf"))
    engine = conf["engine"]
    assert engine["runtime"] == "oci-runtime"
    assert engine["runtimes"] == {"oci-runtime": [DOCUMENTED_RUNTIME]}
    assert "oci-runtime" in engine["runtime_supports_json"]


def test_the_podman_one_liner_keeps_off_the_host_s_network():
    words = shlex.split(snippet("podman-run"))
    assert words[words.index("--network") + 1] == "none"
    assert words[words.index("--runtime") + 1] == DOCUMENTED_RUNTIME


def test_the_cri_handler_and_the_runtime_class_name_the_same_runtime():
    table = tomllib.loads(snippet("cri-handler"))
    runtimes = table["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    (name,) = runtimes
    assert runtimes[name]["runtime_type"] == "io.containerd.runc.v2"
    assert runtimes[name]["options"] == {"BinaryName": DOCUMENTED_RUNTIME}
    assert integration_doc.runtime_class_handler() == name
    documents = snippet("runtimeclass").split("\n---\n")
    class_name = re.search(r"^metadata:\n  name: (\S+)$", documents[0], re.MULTILINE).group(1)
    assert re.search(rf"^  runtimeClassName: {class_name}$", documents[1], re.MULTILINE)


def test_docker_s_two_forms_add_the_same_runtime():
    words = shlex.split(snippet("dockerd"))
    added = words[words.index("--add-runtime") + 1]
    name, path = added.split("=", 1)
    assert json.loads(snippet("docker-daemon-json")) == {"runtimes": {name: {"path": path}}}
    assert path == DOCUMENTED_RUNTIME
    run = shlex.split(snippet("docker-run"))
    assert run[run.index("--runtime") + 1] == name
    assert run[run.index("--network") + 1] == "none"


def test_the_mirror_is_valid_toml():
    hosts = tomllib.loads(snippet("hosts-toml"))
    assert hosts["server"] == "https://registry.k8s.io"
    (mirror,) = hosts["host"].values()
    assert mirror["capabilities"] == ["pull", "resolve"]
