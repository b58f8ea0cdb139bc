"""Pure conversions between OCI ``linux.resources`` values and cgroup file contents (v1, v2, systemd).

No I/O here; every function is unit-tested in tests/cgroups/test_convert.py.  Semantics follow runc
(libcontainer/cgroups/utils.go, fs/, fs2/, systemd/) unless noted.
"""

MAX_UINT64 = (1 << 64) - 1
CPU_SHARES_MAX = 262144
CPU_WEIGHT_MAX = 10000


def shares_to_weight(shares):
    """cpu.shares [2..262144] -> cpu.weight [1..10000], 0 = unset.

    runc >= 1.3.2 / crun >= 1.23 quadratic fit through (2,1), (1024,100), (262144,10000) in log space:
    weight = ceil(10 ** ((l*l + 125*l)/612 - 7/34)), l = log2(shares).
    """
    import math
    shares = int(shares)
    if shares == 0:
        return 0
    if shares <= 2:
        return 1
    if shares >= CPU_SHARES_MAX:
        return CPU_WEIGHT_MAX
    l = math.log2(shares)
    exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0
    return int(math.ceil(10 ** exponent))


def shares_to_weight_linear(shares):
    """The older runc formula (<= 1.3.1): 1 + ((shares - 2) * 9999) / 262142."""
    shares = int(shares)
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight):
    """blkio.weight [10..1000] -> io.weight [1..10000] (runc ConvertBlkIOToIOWeightValue), 0 = unset."""
    weight = int(weight)
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_v1_to_v2(swap, memory):
    """OCI memory.swap is memory+swap (v1 memory.memsw.limit_in_bytes); v2 memory.swap.max is swap only.

    Returns the v2 value: -1 = "max", 0 = leave unset.  Raises ValueError like runc
    ConvertMemorySwapToCgroupV2Value.  (memory is 0/None when not given.)
    """
    swap = int(swap or 0)
    memory = int(memory or 0)
    if memory == -1 and swap == 0:
        return -1
    if swap in (-1, 0):
        return swap
    if memory in (0, -1):
        raise ValueError("unable to set swap limit without memory limit")
    if memory < 0:
        raise ValueError(f"invalid memory value: {memory}")
    if swap < memory:
        raise ValueError(f"memory+swap limit ({swap}) should be >= memory limit ({memory})")
    return swap - memory


def swap_v2_string(swap, memory):
    """The string to write to memory.swap.max, or '' to leave it alone (runc fs2 setMemory)."""
    v = swap_v1_to_v2(swap, memory)
    s = v2_num(v)
    if s == "" and v == 0 and int(swap or 0) > 0:
        return "0"      # memory and swap set to the same value: disable swap
    return s


def v2_num(value):
    """runc numToStr: 0/None -> '' (unset), -1 -> 'max', else decimal."""
    if value is None or value == 0:
        return ""
    if value == -1:
        return "max"
    return str(int(value))


def limit_string(value):
    """A limit where 0 is meaningful (pids.max): negative -> 'max'."""
    value = int(value)
    return "max" if value < 0 else str(value)


def cpu_max_string(quota, period):
    """cpu.max content: '<quota|max> [period]'; None when neither is set (0/None = unset, as runc)."""
    quota = int(quota or 0)
    period = int(period or 0)
    if quota == 0 and period == 0:
        return None
    s = str(quota) if quota > 0 else "max"
    if period:
        s += f" {period}"
    return s


def cpu_quota_per_sec_usec(quota, period):
    """systemd CPUQuotaPerSecUSec from CFS quota/period, rounded up to 10ms like runc addCpuQuota."""
    quota = int(quota or 0)
    period = int(period or 0) or 100000
    if quota < 0:
        return MAX_UINT64
    v = quota * 1000000 // period
    if v % 10000:
        v = (v // 10000 + 1) * 10000
    return v


def parse_cpu_list(spec):
    """'0-3,7' -> sorted list of ints.  ValueError on garbage."""
    out = set()
    spec = (spec or "").strip()
    if not spec:
        return []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            a, b = int(a), int(b)
            if a > b or a < 0:
                raise ValueError(f"invalid range {part!r}")
            out.update(range(a, b + 1))
        else:
            n = int(part)
            if n < 0:
                raise ValueError(f"invalid cpu {part!r}")
            out.add(n)
    return sorted(out)


def cpu_list_to_bitmask(spec):
    """'0-3,9' -> bytes for systemd AllowedCPUs/AllowedMemoryNodes (ay; bit n = cpu n, little endian)."""
    cpus = parse_cpu_list(spec)
    if not cpus:
        return b""
    buf = bytearray(cpus[-1] // 8 + 1)
    for c in cpus:
        buf[c // 8] |= 1 << (c % 8)
    return bytes(buf)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def hugepage_size_bytes(page_size):
    """'2MB' -> 2097152 (base 1024, as the spec says).  ValueError for anything else."""
    s = str(page_size)
    if not s.endswith("B") or len(s) < 3:
        raise ValueError(f"invalid hugepage size {page_size!r} (expected e.g. 2MB, 1GB, 64KB)")
    unit = s[-2] if not s[-2].isdigit() else ""
    digits = s[:-2] if unit else s[:-1]
    if not digits.isdigit() or unit not in _UNITS:
        raise ValueError(f"invalid hugepage size {page_size!r} (expected e.g. 2MB, 1GB, 64KB)")
    return int(digits) * _UNITS[unit]


def hugepage_size_name(nbytes):
    """2097152 -> '2MB' (the kernel's hugetlb.<size>.* naming)."""
    for unit in ("G", "M", "K"):
        if nbytes >= _UNITS[unit] and nbytes % _UNITS[unit] == 0:
            return f"{nbytes // _UNITS[unit]}{unit}B"
    return f"{nbytes}B"


def rdma_string(device, limits):
    """rdma.max line: 'mlx5_1 hca_handle=3 hca_object=10000' (a missing limit is omitted, as runc)."""
    s = str(device)
    if limits.get("hcaHandles") is not None:
        s += f" hca_handle={int(limits['hcaHandles'])}"
    if limits.get("hcaObjects") is not None:
        s += f" hca_object={int(limits['hcaObjects'])}"
    return s


def device_number(entry, field):
    try:
        return int(entry["major"]), int(entry["minor"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{field}: major and minor are required integers") from None


def blkio_weight_device_string(major, minor, weight):
    return f"{major}:{minor} {int(weight)}"


def blkio_throttle_string(major, minor, rate):
    """v1 blkio.throttle.*_device line."""
    return f"{major}:{minor} {int(rate)}"


def io_max_string(major, minor, key, rate):
    """v2 io.max line, key in rbps/wbps/riops/wiops; rate 0 means no limit ('max')."""
    rate = int(rate)
    return f"{major}:{minor} {key}={rate if rate > 0 else 'max'}"


# --- devices -----------------------------------------------------------------------------------

def normalize_device_rule(rule, field="linux.resources.devices"):
    """OCI device entry -> (allow, type, major, minor, access) with -1 for wildcard numbers.

    type defaults to 'a', access to 'rwm' (runc specconv).  ValueError on invalid values.
    """
    if not isinstance(rule, dict):
        raise ValueError(f"{field}: expected an object, got {rule!r}")
    allow = rule.get("allow")
    if not isinstance(allow, bool):
        raise ValueError(f"{field}.allow: required boolean, got {allow!r}")
    typ = rule.get("type") or "a"
    if typ not in ("a", "b", "c"):
        raise ValueError(f"{field}.type: invalid device type {typ!r} (expected a, b or c)")
    major = rule.get("major")
    minor = rule.get("minor")
    major = -1 if major is None else int(major)
    minor = -1 if minor is None else int(minor)
    access = rule.get("access") or "rwm"
    if not access or any(ch not in "rwm" for ch in access) or len(set(access)) != len(access):
        raise ValueError(f"{field}.access: invalid access {access!r} (letters from rwm)")
    # canonical order
    access = "".join(ch for ch in "rwm" if ch in access)
    return (allow, typ, major, minor, access)


def device_rule_v1(rule):
    """Normalised rule -> (file, line) for the v1 devices controller, e.g. ('devices.allow', 'c 1:3 rwm').

    Type 'a' rules always mean every device ('a'), exactly as the kernel interprets them.
    """
    allow, typ, major, minor, access = rule
    fname = "devices.allow" if allow else "devices.deny"
    if typ == "a":
        return fname, "a"
    maj = "*" if major < 0 else str(major)
    mi = "*" if minor < 0 else str(minor)
    return fname, f"{typ} {maj}:{mi} {access}"


# runc's default allowed devices (libcontainer/specconv AllowedDevices), as OCI device entries.
DEFAULT_ALLOWED_DEVICES = (
    {"allow": True, "type": "c", "access": "m"},                              # mknod any char
    {"allow": True, "type": "b", "access": "m"},                              # mknod any block
    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},    # /dev/null
    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},    # /dev/random
    {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"},    # /dev/full
    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},    # /dev/tty
    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},    # /dev/zero
    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},    # /dev/urandom
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},              # /dev/pts/*
    {"allow": True, "type": "c", "major": 5, "minor": 2, "access": "rwm"},    # /dev/ptmx
)


def runc_device_rules(resource_devices=(), linux_devices=()):
    """The rule list runc effectively applies for a container: deny all, the config's
    linux.resources.devices in order, runc's default allowed devices, then an allow rule for each
    linux.devices entry.  Callers that want runc's behaviour pass this to set({"devices": ...})."""
    rules = [{"allow": False, "access": "rwm"}]
    rules.extend(resource_devices or ())
    rules.extend(DEFAULT_ALLOWED_DEVICES)
    for d in linux_devices or ():
        t = d.get("type")
        if t in ("c", "b", "u"):
            rules.append({"allow": True, "type": "c" if t == "u" else t, "major": d.get("major"),
                          "minor": d.get("minor"), "access": "rwm"})
    return rules


# --- systemd -----------------------------------------------------------------------------------

def expand_slice(slice_name):
    """'a-b-c.slice' -> '/a.slice/a-b.slice/a-b-c.slice' (runc systemd ExpandSlice); '-.slice' -> '/'."""
    suffix = ".slice"
    if not slice_name.endswith(suffix) or len(slice_name) < len(suffix) or "/" in slice_name:
        raise ValueError(f"invalid slice name {slice_name!r}")
    if slice_name == "-.slice":
        return "/"
    name = slice_name[:-len(suffix)]
    path, prefix = "", ""
    for comp in name.split("-"):
        if comp == "":
            raise ValueError(f"invalid slice name {slice_name!r}")
        path += "/" + prefix + comp + suffix
        prefix += comp + "-"
    return path


def parse_systemd_path(cgroups_path, container_id, default_prefix="oci-runtime"):
    """'slice:prefix:name' -> (slice, unit name).  Absent path -> ('system.slice', '<prefix>-<id>.scope').

    An empty slice means system.slice (runc's default for root); a name ending in .slice asks for a
    slice unit instead of a scope.
    """
    if not cgroups_path:
        parent, prefix, name = "", default_prefix, container_id
    else:
        parts = cgroups_path.split(":")
        if len(parts) != 3:
            raise ValueError(f'expected cgroupsPath to be of format "slice:prefix:name" for systemd '
                             f'cgroups, got {cgroups_path!r} instead')
        parent, prefix, name = parts
    if not name:
        raise ValueError(f"cgroupsPath {cgroups_path!r}: empty unit name")
    parent = parent or "system.slice"
    if name.endswith(".slice"):
        unit = name
    elif prefix:
        unit = f"{prefix}-{name}.scope"
    else:
        unit = f"{name}.scope"
    return parent, unit
