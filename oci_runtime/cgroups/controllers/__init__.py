"""One module per cgroup controller, as youki's libcgroups has them: each holds what its part
of ``linux.resources`` becomes on cgroup v1 (``apply_v1``), on cgroup v2 (``apply_v2``) and as
systemd unit properties (``systemd_properties``), the conversions between them, and its
statistics (``stats_v1``/``stats_v2``).  oci_runtime.cgroups.dispatch walks them; this package
imports nothing (a controller loads when a config first uses it)."""
