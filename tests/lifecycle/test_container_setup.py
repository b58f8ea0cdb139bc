"""What the container sees: namespaces, root filesystem, and process attributes (issue items 6-8).

Each test runs a busybox shell inside a real container and checks its output."""
import json
import os
import stat

import pytest


def run_in(oci, make_bundle, script, edit=None):
    bundle, cid = make_bundle(["sh", "-c", script], edit)
    result = oci("run", "--bundle", str(bundle), cid)
    return result


def output_of(oci, make_bundle, script, edit=None):
    result = run_in(oci, make_bundle, script, edit)
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- namespaces ---------------------------------------------------------------------------------

def test_new_namespaces_differ_from_the_host(oci, make_bundle):
    out = output_of(oci, make_bundle, "for n in pid net ipc uts mnt cgroup; do readlink /proc/self/ns/$n; done")
    inside = out.split()
    host = [os.readlink(f"/proc/self/ns/{n}") for n in ("pid", "net", "ipc", "uts", "mnt", "cgroup")]
    assert len(inside) == 6
    for mine, theirs in zip(inside, host):
        assert mine != theirs


def test_network_namespace_has_only_loopback_up(oci, make_bundle):
    out = output_of(oci, make_bundle, "ls /sys/class/net; cat /sys/class/net/lo/flags")
    names, flags = out.split()[:-1], out.split()[-1]
    assert names == ["lo"]
    assert int(flags, 16) & 0x1  # IFF_UP


def test_time_namespace_offsets(oci, make_bundle):
    def edit(config):
        config["linux"]["namespaces"].append({"type": "time"})
        config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365}}
    # The host's uptime read before the container reads its own: the offset's lower bound
    # then holds however long the container takes to start on a loaded host.
    with open("/proc/uptime") as uptime:
        host_uptime = float(uptime.read().split()[0])
    out = output_of(oci, make_bundle, "cut -d. -f1 /proc/uptime", edit)
    assert int(out) >= 86400 * 365 + int(host_uptime)


def test_user_namespace_mappings(oci, make_bundle, rootfs_template):
    def edit(config):
        config["linux"]["namespaces"].append({"type": "user"})
        # root stays root (the test's bundle sits in root-only directories); the rest is shifted
        mappings = [{"containerID": 0, "hostID": 0, "size": 1},
                    {"containerID": 1, "hostID": 100001, "size": 65535}]
        config["linux"]["uidMappings"] = mappings
        config["linux"]["gidMappings"] = mappings
        config["mounts"] = [m for m in config["mounts"] if m["type"] not in ("cgroup", "sysfs")]
    out = output_of(oci, make_bundle, "cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user", edit)
    assert out.split()[:7] == ["0", "0", "1", "1", "100001", "65535", "0"]
    assert out.split()[7] != os.readlink("/proc/self/ns/user")


def test_joining_a_namespace_by_path(oci, make_bundle):
    first, first_id = make_bundle(["sleep", "30"])
    oci("run", "--detach", "--bundle", str(first), first_id, check=True)
    pid = oci.state(first_id)["pid"]
    expected = os.readlink(f"/proc/{pid}/ns/net")

    def edit(config):
        for namespace in config["linux"]["namespaces"]:
            if namespace["type"] == "network":
                namespace["path"] = f"/proc/{pid}/ns/net"
    out = output_of(oci, make_bundle, "readlink /proc/self/ns/net", edit)
    assert out.strip() == expected


def test_joining_a_namespace_of_the_wrong_type_is_an_error(oci, make_bundle):
    def edit(config):
        for namespace in config["linux"]["namespaces"]:
            if namespace["type"] == "network":
                namespace["path"] = "/proc/self/ns/ipc"
    result = run_in(oci, make_bundle, "true", edit)
    assert result.returncode != 0
    assert "is not a network namespace" in result.stderr


# -- root filesystem ----------------------------------------------------------------------------

def test_readonly_root_and_paths_and_masks(oci, make_bundle):
    def edit(config):
        config["root"]["readonly"] = True
    out = output_of(oci, make_bundle,
                    "touch /x 2>/dev/null && echo root-rw || echo root-ro;"
                    # a sysctl root may write (ostype is 0444: refused even without readonlyPaths),
                    # and one of the container's own network namespace, not the host's
                    "echo 99 > /proc/sys/net/ipv4/ip_default_ttl 2>/dev/null && echo sys-rw || echo sys-ro;"
                    "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; touch /dev/shm/ok && echo shm-rw",
                    edit)
    assert out.split() == ["root-ro", "sys-ro", "0", "0", "shm-rw"]


def test_mount_options_are_applied(oci, make_bundle):
    def edit(config):
        config["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                                 "options": ["noexec", "nosuid", "nodev", "size=1m", "mode=700"]})
    out = output_of(oci, make_bundle, "grep ' /data ' /proc/mounts; stat -c %a /data", edit)
    line, mode = out.strip().splitlines()
    options = line.split()[3].split(",")
    assert {"nosuid", "nodev", "noexec"} <= set(options) and "size=1024k" in options
    assert mode == "700"


def test_bind_mount_relative_to_bundle_readonly(oci, make_bundle):
    def edit(config):
        config["mounts"].append({"destination": "/shared", "type": "bind", "source": "shared",
                                 "options": ["rbind", "ro"]})
    bundle, cid = make_bundle(["sh", "-c", "cat /shared/hello; touch /shared/x 2>/dev/null || echo ro"], edit)
    (bundle / "shared").mkdir()
    (bundle / "shared" / "hello").write_text("hi\n")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hi", "ro"]


def test_symlinked_mount_destination_stays_inside_rootfs(oci, make_bundle, tmp_path):
    outside = tmp_path / "outside-target"
    outside.mkdir()

    def edit(config):
        config["mounts"].append({"destination": "/escape/inner", "type": "tmpfs",
                                 "source": "tmpfs", "options": ["size=1m"]})
    bundle, cid = make_bundle(["sh", "-c", "grep -c ' /outside-target/inner ' /proc/mounts || true"], edit)
    # /escape -> an absolute path that points at the host's tmp dir if followed on the host
    os.symlink(str(outside), bundle / "rootfs" / "escape")
    result = oci("run", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert not (outside / "inner").exists()
    assert (bundle / "rootfs" / str(outside).lstrip("/") / "inner").is_dir()


def test_default_devices_and_links(oci, make_bundle):
    out = output_of(oci, make_bundle,
                    "stat -c '%n %t:%T' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty;"
                    "for l in /dev/fd /dev/stdin /dev/ptmx; do readlink $l; done")
    lines = out.strip().splitlines()
    assert lines[:6] == ["/dev/null 1:3", "/dev/zero 1:5", "/dev/full 1:7", "/dev/random 1:8",
                         "/dev/urandom 1:9", "/dev/tty 5:0"]
    assert lines[6:] == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]


def test_linux_devices_are_created(oci, make_bundle):
    def edit(config):
        config["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                       "fileMode": 0o600, "uid": 0, "gid": 8}]
    out = output_of(oci, make_bundle, "stat -c '%t:%T %a %u %g' /dev/mynull; echo x > /dev/mynull && echo w", edit)
    assert out.split() == ["1:3", "600", "0", "8", "w"]


def test_sysctl_and_hostname_and_domainname(oci, make_bundle):
    def edit(config):
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        config["hostname"] = "h1"
        config["domainname"] = "example.test"
    out = output_of(oci, make_bundle, "cat /proc/sys/net/ipv4/ip_forward; hostname; cat /proc/sys/kernel/domainname", edit)
    assert out.split() == ["1", "h1", "example.test"]
    with open("/proc/sys/net/ipv4/ip_forward") as host_value:
        assert host_value.read().strip() in ("0", "1")  # untouched on the host: own netns


def test_no_pivot(oci, make_bundle):
    bundle, cid = make_bundle(["sh", "-c", "ls /"])
    result = oci("run", "--no-pivot", "--bundle", str(bundle), cid)
    assert result.returncode == 0, result.stderr
    assert "bin" in result.stdout.split()


# -- process ------------------------------------------------------------------------------------

def test_user_groups_umask_cwd_env(oci, make_bundle):
    def edit(config):
        config["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001],
                                     "umask": 0o027}
        config["process"]["cwd"] = "/tmp"
        config["process"]["env"].append("GREETING=hello world")
    out = output_of(oci, make_bundle, 'id -u; id -g; id -G; umask; pwd; echo "$GREETING"', edit)
    assert out.strip().splitlines() == ["1000", "1001", "1001 2000 2001", "0027", "/tmp",
                                        "hello world"]


def test_rlimits_nnp_oom_score(oci, make_bundle):
    def edit(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                                        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
        config["process"]["oomScoreAdj"] = 500
        config["process"]["noNewPrivileges"] = True
    out = output_of(oci, make_bundle,
                    "ulimit -n; ulimit -H -n; ulimit -c; grep NoNewPrivs /proc/self/status | cut -f2;"
                    "cat /proc/self/oom_score_adj", edit)
    assert out.split() == ["512", "1000", "0", "1", "500"]


def test_rlimit_above_hard_limit_is_reported(oci, make_bundle):
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        pytest.skip("the runtime's own NOFILE hard limit is unlimited here")

    def edit(config):
        config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1}]
    result = run_in(oci, make_bundle, "true", edit)
    if result.returncode == 0:
        pytest.skip("this host grants CAP_SYS_RESOURCE: raising the hard limit works")
    assert "/process/rlimits/0" in result.stderr and "CAP_SYS_RESOURCE" in result.stderr


def test_capability_sets(oci, make_bundle):
    def edit(config):
        caps = ["CAP_CHOWN", "CAP_NET_RAW"]
        config["process"]["capabilities"] = {"bounding": caps, "effective": caps,
                                             "permitted": caps, "inheritable": [],
                                             "ambient": []}
    out = output_of(oci, make_bundle, "grep -E '^Cap(Eff|Prm|Bnd|Inh)' /proc/self/status", edit)
    values = dict(line.split(":\t") for line in out.strip().splitlines())
    expected = f"{(1 << 0) | (1 << 13):016x}"
    assert values["CapEff"] == values["CapPrm"] == values["CapBnd"] == expected
    assert values["CapInh"] == "0" * 16


def test_stdio_is_inherited(oci, make_bundle):
    out = output_of(oci, make_bundle, "echo to-stdout; echo to-stderr >&2")
    assert out.strip() == "to-stdout"


def test_only_stdio_fds_are_open(oci, make_bundle):
    out = output_of(oci, make_bundle, "ls /proc/self/fd")
    # ls opens one fd for the directory it lists (3)
    assert out.split() == ["0", "1", "2", "3"]


def test_user_namespace_with_host_root_unmapped(oci, make_bundle):
    """Container root is host uid 100000: the host's Python files are out of its reach, so the
    init's modules must be loaded before it enters the user namespace."""
    from tests.rootless.fixtures import shifted_bundle, write_config

    source, cid = make_bundle(["sh", "-c", "id -u; cat /proc/self/uid_map"])
    with shifted_bundle(source, 100000) as (bundle, config):
        write_config(bundle, config)
        result = oci("run", "--bundle", bundle, cid)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0", "0", "100000", "65536"]


def test_a_device_node_already_there_is_never_changed(oci, make_bundle, tmp_path):
    """A requested device that exists (here a node bound in from the host, as rootless podman
    does with /dev/null) is used as it is: its mode, owner and ctime stay (the host's node must
    never be chmod'ed through a bind)."""
    node = tmp_path / "host-null"
    os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    before = os.stat(node)

    def bind_node(config):
        config["mounts"].append({"destination": "/dev/null", "type": "bind",
                                 "source": str(node), "options": ["bind"]})
        config["linux"]["devices"] = [{"path": "/dev/null", "type": "c", "major": 1, "minor": 3,
                                       "fileMode": 0o666, "uid": 0, "gid": 0}]

    bundle, container_id = make_bundle(["true"], edit=bind_node)
    oci("run", "--bundle", str(bundle), container_id, check=True)
    after = os.stat(node)
    assert stat.S_IMODE(after.st_mode) == 0o600
    assert after.st_ctime_ns == before.st_ctime_ns
