"""CNI (Container Network Interface, spec 1.0) networks for containers run directly.

A network is a named configuration list (``*.conflist``, or a single-plugin ``*.conf`` /
``*.json``) in the configuration directory.  ADD runs its plugins in order, each given the
previous one's result as ``prevResult``; DEL runs them in reverse, each given the ADD result;
CHECK runs them in order with the ADD result.  The environment names the container
(CNI_CONTAINERID), its network namespace (CNI_NETNS), the interface to make (CNI_IFNAME) and where
plugins are (CNI_PATH).  A plugin reports failure by a non-zero exit and an error object
``{"code", "msg", "details"}`` on stdout.
"""
import json
import os
import subprocess

from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

DEFAULT_CONF_DIR = "/etc/cni/net.d"
DEFAULT_BIN_DIR = "/usr/lib/cni:/opt/cni/bin"
# A plugin that hangs (a DHCP server that never answers) must not hang create or delete.
PLUGIN_TIMEOUT = 60


def load_network(name: str, conf_dir: str) -> "dict[str, Any]":
    """The configuration list named ``name`` in ``conf_dir`` (files in lexical order, the first
    with that name wins, as libcni's LoadConfList)."""
    try:
        files = sorted(f for f in os.listdir(conf_dir)
                       if f.endswith((".conflist", ".conf", ".json")))
    except OSError as exc:
        raise OCIError.from_os(f"CNI network {name!r}: reading {conf_dir}", exc) from exc
    for file_name in files:
        path = f"{conf_dir}/{file_name}"
        try:
            with open(path, "rb") as conf_file:
                conf = json.loads(conf_file.read())
        except (OSError, ValueError) as exc:
            raise OCIError(f"CNI network {name!r}: {path}: {exc}") from exc
        if not isinstance(conf, dict) or conf.get("name") != name:
            continue
        if not file_name.endswith(".conflist"):
            # A single plugin's configuration: a list of one.
            conf = {"cniVersion": conf.get("cniVersion", "1.0.0"), "name": name, "plugins": [conf]}
        plugins = conf.get("plugins")
        if not isinstance(plugins, list) or not plugins or not all(
                isinstance(p, dict) and isinstance(p.get("type"), str) for p in plugins):
            raise OCIError(f"CNI network {name!r}: {path}: /plugins: a list of plugin "
                           "configurations, each with a \"type\", is required")
        if not isinstance(conf.get("cniVersion"), str):
            raise OCIError(f"CNI network {name!r}: {path}: /cniVersion: a string is required")
        return conf
    raise OCIError(f"CNI network {name!r}: no configuration with that name in {conf_dir}")


def add(conf: "dict[str, Any]", attachment: "dict[str, Any]") -> "dict[str, Any] | None":
    """Run ADD through the list; returns the final result."""
    result = None
    for plugin in conf["plugins"]:
        result = _run_plugin("ADD", conf, plugin, attachment, result)
    return result


def delete(conf: "dict[str, Any]", attachment: "dict[str, Any]",
           result: "dict[str, Any] | None") -> None:
    """Run DEL through the list in reverse order.  Plugins must accept DEL for an attachment
    that was never (or only partly) added, so this is also what undoes a failed ADD."""
    errors: "list[str]" = []
    for plugin in reversed(conf["plugins"]):
        try:
            _run_plugin("DEL", conf, plugin, attachment, result)
        except OCIError as exc:
            errors.append(str(exc))  # go on: the other plugins' resources must still be freed
    if errors:
        raise OCIError("; ".join(errors))


def check(conf: "dict[str, Any]", attachment: "dict[str, Any]",
          result: "dict[str, Any] | None") -> None:
    """Run CHECK through the list (CNI 0.4.0 and later; a list may disable it)."""
    if _version(conf["cniVersion"]) < (0, 4, 0) or conf.get("disableCheck"):
        return
    for plugin in conf["plugins"]:
        _run_plugin("CHECK", conf, plugin, attachment, result)


def addresses(result: "dict[str, Any] | None") -> "list[str]":
    """The CIDR addresses of a result on the container's interfaces (CNI 0.3.0 and later)."""
    if not isinstance(result, dict):
        return []
    return [ip["address"] for ip in result.get("ips") or ()
            if isinstance(ip, dict) and isinstance(ip.get("address"), str)]


def _run_plugin(command: str, conf: "dict[str, Any]", plugin: "dict[str, Any]",
                attachment: "dict[str, Any]", previous_result: "dict[str, Any] | None"
                ) -> "dict[str, Any] | None":
    stdin = dict(plugin, cniVersion=conf["cniVersion"], name=conf["name"])
    if previous_result is not None:
        stdin["prevResult"] = previous_result
    executable = _find_plugin(plugin["type"], attachment["bin_dir"], conf["name"])
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": attachment["container_id"],
        "CNI_NETNS": attachment["netns"] or "",
        "CNI_IFNAME": attachment["ifname"],
        "CNI_PATH": attachment["bin_dir"],
    }
    where = f"CNI network {conf['name']!r}: {plugin['type']} {command}"
    try:
        completed = subprocess.run([executable], input=json.dumps(stdin).encode(), env=env,
                                   capture_output=True, timeout=PLUGIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise OCIError(f"{where}: no answer after {PLUGIN_TIMEOUT} s") from None
    except OSError as exc:
        raise OCIError.from_os(f"{where}: running {executable}", exc) from exc
    output = completed.stdout.strip()
    if completed.returncode != 0:
        raise OCIError(f"{where}: {_error_text(output, completed.stderr)}")
    if command != "ADD":
        return None
    try:
        result = json.loads(output)
    except ValueError:
        raise OCIError(f"{where}: the plugin's result is not JSON: {output[:200]!r}") from None
    if not isinstance(result, dict):
        raise OCIError(f"{where}: the plugin's result is not a JSON object")
    return result


def _find_plugin(plugin_type: str, bin_dir: str, network: str) -> str:
    if "/" in plugin_type or plugin_type in ("", ".", ".."):
        raise OCIError(f"CNI network {network!r}: plugin type {plugin_type!r} is not a name")
    for directory in bin_dir.split(":"):
        candidate = f"{directory}/{plugin_type}"
        if directory and os.access(candidate, os.X_OK):
            return candidate
    raise OCIError(f"CNI network {network!r}: plugin {plugin_type!r} not found in {bin_dir}")


def _error_text(output: bytes, stderr: bytes) -> str:
    try:
        error = json.loads(output)
    except ValueError:
        error = None
    if isinstance(error, dict) and "msg" in error:
        text = str(error["msg"])
        if error.get("details"):
            text += f": {error['details']}"
        return f"{text} (CNI error code {error.get('code')})"
    text = (output or stderr).decode(errors="replace").strip().replace("\n", " ")
    return text[:500] or "the plugin failed without saying why"


def _version(text: str) -> "tuple[int, ...]":
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (0,)
