"""oci-runtime: an OCI runtime-spec compliant low-level container runtime in Python."""

__version__ = "0.1.0"
OCI_VERSION = "1.3.0"
