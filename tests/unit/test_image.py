"""The import image (oci_runtime/_image.py): modules load from it while their source is the
one it was made from, and the usual way otherwise; no image, a damaged one or another
interpreter's changes nothing but where the code comes from."""
import importlib
import os
import subprocess
import sys

import pytest

from oci_runtime import _image
from oci_runtime.cli.launcher import write_image, write_package_image

MODULES = {
    "__init__.py": "VALUE = 'package'\n",
    "first.py": "from imagepkg import second\nVALUE = 'first ' + second.VALUE\n",
    "second.py": "VALUE = 'second'\n",
    "sub/__init__.py": "",
    "sub/deep.py": "def where():\n    return __file__\n",
    "__main__.py": "print('main of', __package__)\n",
}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package of MODULES under tmp_path, its image written; imported afresh, and forgotten
    (modules, finder) after the test."""
    root = tmp_path / "imagepkg"
    for name, text in MODULES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    write_image(str(root), first=["imagepkg.first"], warm=["imagepkg.sub", "imagepkg.sub.deep"])
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for name in [name for name in sys.modules if name.split(".")[0] == "imagepkg"]:
        del sys.modules[name]
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if getattr(finder, "package_dir", None) != str(root)]


def loaded_from_image(module):
    return isinstance(module.__spec__.loader, _image.ImageFinder)


def test_modules_load_from_the_image(package):
    finder = _image.install(str(package))
    assert finder is not None and sys.meta_path[0] is finder
    assert _image.install(str(package)) is finder  # once
    first = importlib.import_module("imagepkg.first")
    deep = importlib.import_module("imagepkg.sub.deep")
    assert first.VALUE == "first second"
    for name in ("imagepkg.first", "imagepkg.second", "imagepkg.sub", "imagepkg.sub.deep"):
        assert loaded_from_image(sys.modules[name]), name
    assert deep.where() == str(package / "sub" / "deep.py") == deep.__file__
    assert sys.modules["imagepkg.sub"].__path__ == [str(package / "sub")]
    assert finder.is_package("imagepkg.sub") and not finder.is_package("imagepkg.second")
    assert finder.get_source("imagepkg.second") == MODULES["second.py"]
    assert finder.find_spec("imagepkg.absent") is None and finder.find_spec("os") is None


def test_no_descriptor_of_the_image_stays_open(package):
    """A descriptor the runtime held would take the lowest free number, one a caller's
    --preserve-fds N may name (fd 3 not passed, ours taken for it)."""
    before = sorted(os.listdir("/proc/self/fd"))
    _image.install(str(package))
    importlib.import_module("imagepkg.first")
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_an_image_rebuilt_since_it_was_installed_is_not_misread(package):
    """A rebuild (scripts/setup, bench/run.py, a test) replaces the file under a process whose
    index came from the old one: a module past the head then loads the usual way."""
    finder = _image.install(str(package))
    (package / "second.py").write_text("VALUE = 'rebuilt, and a longer module than it was'\n")
    write_image(str(package), first=["imagepkg.first"])
    assert finder.find_spec("imagepkg.sub.deep") is None or \
        finder._record("imagepkg.sub.deep")[0] < len(finder._head)
    assert importlib.import_module("imagepkg.first").VALUE == \
        "first rebuilt, and a longer module than it was"


def test_a_module_changed_since_loads_the_usual_way(package):
    (package / "second.py").write_text("VALUE = 'edited'\n")
    _image.install(str(package))
    first = importlib.import_module("imagepkg.first")
    assert first.VALUE == "first edited"
    assert loaded_from_image(first)
    assert not loaded_from_image(sys.modules["imagepkg.second"])


@pytest.mark.parametrize("damage", ["missing", "empty", "other interpreter", "truncated"])
def test_without_a_usable_image_everything_loads_the_usual_way(package, damage):
    path = _image.image_path(str(package))
    data = open(path, "rb").read()
    if damage == "missing":
        os.unlink(path)
    else:
        with open(path, "wb") as image:
            image.write({"empty": b"", "other interpreter": b"\0\0\0\0" + data[4:],
                         "truncated": data[:20]}[damage])
    assert _image.install(str(package)) is None
    assert importlib.import_module("imagepkg.first").VALUE == "first second"
    assert not loaded_from_image(sys.modules["imagepkg.first"])


def test_runpy_runs_a_main_module_from_the_image(package, tmp_path):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from oci_runtime import _image; "
            "_image.install(sys.argv[2]); import runpy; runpy.run_module('imagepkg', "
            "run_name='__main__'); print(type(sys.modules['imagepkg.__main__'].__loader__)"
            ".__name__ if 'imagepkg.__main__' in sys.modules else 'ran')")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(package)],
                            capture_output=True, text=True, timeout=30,
                            cwd=os.path.dirname(os.path.dirname(_image.__file__)))
    assert result.stdout.splitlines()[0] == "main of imagepkg", result.stderr


def test_the_first_modules_are_placed_first(package):
    finder = _image.install(str(package))
    assert finder._record("imagepkg.first")[0] < finder._record("imagepkg.second")[0]


def test_the_warm_part_is_read_in_one_go(package, monkeypatch):
    """create's and run's modules past the head: one read for all of them, then none."""
    finder = _image.install(str(package))
    importlib.import_module("imagepkg")  # the package itself: neither head nor warm part here
    reads = []
    real_read = finder._read
    monkeypatch.setattr(finder, "_read", lambda offset, length: reads.append(offset) or
                        real_read(offset, length))
    assert finder._record("imagepkg.sub")[0] >= len(finder._head)
    assert importlib.import_module("imagepkg.sub.deep").where().endswith("deep.py")
    assert loaded_from_image(sys.modules["imagepkg.sub.deep"])
    assert reads == [len(finder._head)]
    importlib.import_module("imagepkg.second")  # past the warm part: a read of its own
    assert len(reads) == 2


def test_an_image_of_another_layout_is_not_read(package):
    path = _image.image_path(str(package))
    data = open(path, "rb").read()
    with open(path, "wb") as image:
        image.write(data[:4] + b"img1" + data[8:])
    assert _image.install(str(package)) is None


def test_the_hot_path_loads_from_the_image_once_it_is_written():
    """What scripts/setup does, then the imports of the hot commands: every module of the
    package but the package itself and _image come from the image."""
    write_package_image()
    code = ("import sys; sys.path.insert(0, sys.argv[1]); "
            "import oci_runtime.cli.cmd_state, oci_runtime.cli.cmd_kill, "
            "oci_runtime.cli.cmd_start, oci_runtime.cli.cmd_delete, oci_runtime.container.api; "
            "from oci_runtime._image import ImageFinder; "
            "print(sorted(n for n, m in sys.modules.items() if n.startswith('oci_runtime') "
            "and not isinstance(getattr(m.__spec__, 'loader', None), ImageFinder)))")
    repo = os.path.dirname(os.path.dirname(_image.__file__))
    result = subprocess.run([sys.executable, "-IS", "-c", code, repo], capture_output=True,
                            text=True, timeout=30)
    assert result.stdout.strip() == "['oci_runtime', 'oci_runtime._image']", result.stderr
