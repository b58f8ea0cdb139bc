"""The images a Kubernetes node pulls in the CRI tests, built offline from busybox and tiny static
programs compiled here (tests/e2e/programs/*.c), under the names critest and containerd ask for.

- The busybox base: Debian's dynamically linked busybox (package `busybox`, downloaded by
  scripts/setup-e2e: busybox-static's shell runs applets in-process, so a masked /bin/ls would
  never be exec'd, and critest's MaskedPaths spec reads the shell's "Permission denied") with
  the C library it needs, one hard link per applet in /bin (as the busybox images have: a
  symlink would make masking /bin/ls mask busybox itself), plus `pgrep` and `ipcs` (applets
  this busybox lacks and critest runs).
- registry.k8s.io/pause:3.6: containerd 1.6's sandbox image (programs/pause.c).
- e2e-test-images nginx, httpd and gcr.io's hostnet-nginx: busybox plus programs/webserver.c,
  set up through its environment to look like nginx (pid file, "master process" command line,
  port 80 or 12003) or httpd (its "Command line:" log line).
- nonewprivs: a set-user-ID root program printing its effective uid.
- critest's image specs: images whose config has User "1002", "www-data", "1003:users",
  "www-data:www-data"; one whose /etc/group puts uid 1000 in gid 50000; and small images under
  several tags (three different ones, one under three tags).  Not made: critest's image pinned
  by an upstream digest (no offline copy can have that digest; its spec is skipped by name).
- docker.io/library/busybox:latest, the busybox base under a docker.io name.

Every name is pushed with skopeo to the local registry of the test node as its path without
the domain (registry.k8s.io/pause:3.6 -> 127.0.0.1:PORT/pause:3.6); containerd's registry
mirrors send registry.k8s.io, gcr.io and docker.io there."""
import glob
import os
import shutil
import subprocess

from tests.e2e.oci_layout import Entry, Image, Layout, directory, host_file, text_file

PROGRAMS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
# Where scripts/setup-e2e puts Debian's (dynamically linked) busybox package.
BUSYBOX_DEB_DIR = "/var/cache/oci-runtime-e2e"
PROGRAMS = ("pause", "webserver", "nonewprivs", "pgrep", "ipcs")

SANDBOX_IMAGE = "registry.k8s.io/pause:3.6"
BUSYBOX_IMAGE = "registry.k8s.io/e2e-test-images/busybox:1.29-2"
NGINX_IMAGE = "registry.k8s.io/e2e-test-images/nginx:1.14-2"
HTTPD_IMAGE = "registry.k8s.io/e2e-test-images/httpd:2.4.39-4"
NONEWPRIVS_IMAGE = "registry.k8s.io/e2e-test-images/nonewprivs:1.3"
DOCKER_BUSYBOX_IMAGE = "docker.io/library/busybox:latest"
CRITEST_REGISTRY = "gcr.io/k8s-staging-cri-tools/"
MIRRORED_REGISTRIES = ("registry.k8s.io", "gcr.io", "docker.io")

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = """\
root:x:0:
daemon:x:1:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""


def busybox_deb():
    """Debian's busybox package file, or None when scripts/setup-e2e has not fetched it."""
    found = sorted(glob.glob(os.path.join(BUSYBOX_DEB_DIR, "busybox_*.deb")))
    return found[-1] if found else None


def compile_programs(workdir):
    """{name: path} of the static test programs, compiled with gcc."""
    built = {}
    for name in PROGRAMS:
        output = os.path.join(workdir, name)
        subprocess.run(["gcc", "-static", "-Os", "-Wall", "-o", output,
                        os.path.join(PROGRAMS_DIR, f"{name}.c")], check=True,
                       capture_output=True)
        built[name] = output
    return built


def _shared_libraries(binary):
    """[(path in the image, host file)] of the loader and libraries `binary` needs (ldd)."""
    listing = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libraries = []
    for line in listing.splitlines():
        words = line.split()
        if "=>" in words and len(words) >= 3 and words[2].startswith("/"):
            path = words[2]
        elif words and words[0].startswith("/"):
            path = words[0]     # the loader
        else:
            continue            # linux-vdso.so.1
        libraries.append((path.lstrip("/"), os.path.realpath(path)))
    return libraries


def busybox_layer(workdir, programs):
    """The entries of the busybox base layer."""
    deb = busybox_deb()
    extracted = os.path.join(workdir, "busybox-deb")
    subprocess.run(["dpkg-deb", "-x", deb, extracted], check=True)
    busybox = os.path.join(extracted, "bin", "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    entries = [directory(name) for name in (
        "bin", "dev", "etc", "home", "lib", "lib64", "proc", "sys", "usr", "usr/bin", "usr/sbin",
        "usr/local", "usr/local/bin", "var", "var/run", "var/www")]
    entries += [Entry("root", "dir", mode=0o700), Entry("tmp", "dir", mode=0o1777)]
    entries.append(host_file("bin/busybox", busybox))
    # A hard link's header carries the mode too, and extractors apply it to the shared inode.
    entries += [Entry(f"bin/{applet}", "hardlink", target="bin/busybox", mode=0o755)
                for applet in applets if applet != "busybox"]
    entries += [host_file("bin/pgrep", programs["pgrep"]), host_file("bin/ipcs", programs["ipcs"])]
    made = {"lib", "lib64"}
    for path, source in _shared_libraries(busybox):
        parent = os.path.dirname(path)
        if parent not in made:
            entries.append(directory(parent))
            made.add(parent)
        entries.append(host_file(path, source))
    entries += [text_file("etc/passwd", PASSWD), text_file("etc/group", GROUP)]
    return entries


def catalog(workdir):
    """[(reference, Image)] of every image the CRI tests pull."""
    programs = compile_programs(workdir)
    base = busybox_layer(workdir, programs)
    pause = [host_file("pause", programs["pause"])]
    nginx = [directory("usr"), directory("usr/sbin"),
             host_file("usr/sbin/nginx", programs["webserver"])]
    httpd = [directory("usr"), directory("usr/local"), directory("usr/local/apache2"),
             directory("usr/local/apache2/bin"),
             host_file("usr/local/apache2/bin/httpd", programs["webserver"])]
    nonewprivs = [directory("usr"), directory("usr/local"), directory("usr/local/bin"),
                  host_file("usr/local/bin/nnp", programs["nonewprivs"], mode=0o4755)]
    predefined_group = [
        text_file("etc/passwd", PASSWD + "default-user:x:1000:1000::/home:/bin/sh\n"),
        text_file("etc/group", GROUP + "default-user:x:1000:\n"
                                       "group-defined-in-image:x:50000:default-user\n")]

    def tiny(text):
        return [text_file("hello", text + "\n")]

    nginx_env = ["WEB_PORT=80", "WEB_PIDFILE=/var/run/nginx.pid",
                 "WEB_TITLE=nginx: master process nginx -g daemon off;"]
    nginx_config = {"Cmd": ["nginx", "-g", "daemon off;"], "ExposedPorts": {"80/tcp": {}}}
    busybox = Image([base], {"Cmd": ["sh"]})
    images = [
        (SANDBOX_IMAGE, Image([pause], {"Entrypoint": ["/pause"], "User": "65535:65535"})),
        (BUSYBOX_IMAGE, busybox),
        (DOCKER_BUSYBOX_IMAGE, busybox),
        (NGINX_IMAGE, Image([base, nginx], dict(nginx_config, Env=_path_and(nginx_env)))),
        (CRITEST_REGISTRY + "hostnet-nginx-amd64:latest",
         Image([base, nginx], dict(nginx_config, Env=_path_and(
             ["WEB_PORT=12003"] + nginx_env[1:]), ExposedPorts={"12003/tcp": {}}))),
        (HTTPD_IMAGE, Image([base, httpd], {
            "Cmd": ["httpd", "-D", "FOREGROUND"], "ExposedPorts": {"80/tcp": {}},
            "Env": ["PATH=/usr/local/apache2/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                    "/usr/bin:/sbin:/bin", "WEB_PORT=80",
                    "WEB_BANNER=[core:notice] [pid 1] AH00094: Command line: '%s'"]})),
        (NONEWPRIVS_IMAGE, Image([nonewprivs], {"Entrypoint": ["/usr/local/bin/nnp"]})),
        (CRITEST_REGISTRY + "test-image-user-uid:latest", Image([tiny("uid")], {"User": "1002"})),
        (CRITEST_REGISTRY + "test-image-user-username:latest",
         Image([tiny("username")], {"User": "www-data"})),
        (CRITEST_REGISTRY + "test-image-user-uid-group:latest",
         Image([tiny("uid-group")], {"User": "1003:users"})),
        (CRITEST_REGISTRY + "test-image-user-username-group:latest",
         Image([tiny("username-group")], {"User": "www-data:www-data"})),
        (CRITEST_REGISTRY + "test-image-predefined-group:latest",
         Image([base, predefined_group], {"Cmd": ["sh"], "User": "1000"})),
        (CRITEST_REGISTRY + "test-image-latest:latest", Image([tiny("latest")])),
        (CRITEST_REGISTRY + "test-image-tag:test", Image([tiny("tag")])),
        (CRITEST_REGISTRY + "test-image-tag:all", Image([tiny("all references")])),
    ]
    for number in (1, 2, 3):
        images.append((f"{CRITEST_REGISTRY}test-image-{number}:latest",
                       Image([tiny(f"image {number}")])))
    tags = Image([tiny("one image, three tags")])
    images += [(f"{CRITEST_REGISTRY}test-image-tags:{number}", tags) for number in (1, 2, 3)]
    return images


def _path_and(env):
    return ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + env


def registry_path(reference):
    """registry.k8s.io/pause:3.6 -> pause:3.6: where a mirrored name lives in the registry."""
    return reference.split("/", 1)[1]


def push_all(workdir, registry, run):
    """Build every image into one OCI layout and push each name with skopeo to `registry`
    (host:port, plain HTTP); `run` runs a command where the registry is reachable."""
    layout = Layout(os.path.join(workdir, "layout"))
    pushed = []
    for number, (reference, image) in enumerate(catalog(workdir)):
        tag = f"image-{number}"
        layout.add(tag, image)
        pushed.append((tag, reference))
    for tag, reference in pushed:
        run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
             f"oci:{layout.path}:{tag}", f"docker://{registry}/{registry_path(reference)}"])
    shutil.rmtree(layout.path, ignore_errors=True)
    return [reference for _, reference in pushed]
