"""spec [--bundle DIR] [--rootless]: write a default config.json (like `runc spec`)."""
import json
import os

from oci_runtime.cli.args import UsageError, parse
from oci_runtime.config.default_spec import default_config
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = {
    "--bundle": ("-b", "DIR", ".", "the bundle directory to write config.json into"),
    "--rootless": (None, None, None, "a config for a container run by a user other than root"),
}


def run(context: "Context", argv: "Sequence[str]") -> None:
    values, positionals = parse(argv, OPTIONS)
    if positionals:
        raise UsageError("usage: oci-runtime spec [--bundle DIR] [--rootless]")
    path = os.path.join(values["bundle"], "config.json")
    if os.path.exists(path):
        raise OCIError(f"{path} already exists; remove it first")
    try:
        with open(path, "x") as config_file:
            json.dump(default_config(values.get("rootless", False)), config_file, indent=2)
            config_file.write("\n")
    except OSError as exc:
        raise OCIError.from_os(f"writing {path}", exc) from exc
