"""oci-runtime: an OCI runtime-spec compliant low-level container runtime in Python.

The Python API (oci_runtime.container.api): ``Runtime``, ``Container``, ``Process``, the options of
a create ``CreateOptions`` (oci_runtime.plan.options) and the errors
``OCIError``, ``ContainerNotFound``, ``InvalidState``, ``ConfigError``.  They are loaded on first
use (PEP 562): every CLI call imports this package, and must not pay for them.  Importing it
puts the import image's finder first (oci_runtime/_image.py): the package's other modules load
from one file, each with a stat and a read.
"""

from oci_runtime import _image

_image.install()  # the package's modules from its import image, when it has a current one

__version__ = "0.1.0"
OCI_VERSION = "1.3.0"

_API_NAMES = {"Runtime": "container.api", "Container": "container.api", "Process": "container.api",
              "CreateOptions": "plan.options", "OCIError": "errors", "ContainerNotFound": "errors", "InvalidState": "errors",
              "ConfigError": "errors"}
__all__ = ["OCI_VERSION", "__version__", *_API_NAMES]

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any


def __getattr__(name: str) -> "Any":  # typed where they are defined: container/api.py, errors.py
    module_name = _API_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'oci_runtime' has no attribute {name!r}")
    module = __import__(f"oci_runtime.{module_name}", fromlist=[name])
    return getattr(module, name)


def __dir__() -> "list[str]":
    return sorted(set(globals()) | set(_API_NAMES))
