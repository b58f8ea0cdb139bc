"""The generated launcher: absolute `#!python -IS`, package path fixed, and it runs."""
import os
import subprocess
import sys


from oci_runtime.cli import launcher


def test_launcher_text_has_flags_and_paths():
    text = launcher.launcher_text("/opt/venv/bin/python3", ["/src", "/opt/site"])
    assert text.splitlines()[0] == "#!/opt/venv/bin/python3 -IS"
    assert "sys.path = ['/src', *sys.path, *['/opt/site']]" in text


def test_installed_launcher_runs_without_site(tmp_path):
    os.symlink(sys.executable, tmp_path / "python3")
    written = launcher.install(str(tmp_path))
    assert written == str(tmp_path / "oci-runtime")
    assert os.access(written, os.X_OK)
    result = subprocess.run([written, "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "oci-runtime version" in result.stdout
    probe = subprocess.run(
        [str(tmp_path / "python3"), "-IS", "-c",
         "import sys; exec(open(sys.argv[1]).read().split('from oci_runtime')[0]);"
         "import oci_runtime.cli, oci_runtime.cli.cmd_state; print('site' in sys.modules, 'os' in sys.modules)",
         written], capture_output=True, text=True, timeout=30)
    # the hot path imports neither site nor os
    assert probe.stdout.split() == ["False", "False"], probe.stderr


def test_too_long_interpreter_path_keeps_generic_launcher(tmp_path, monkeypatch, capsys):
    deep = tmp_path / ("d" * 250)
    deep.mkdir()
    monkeypatch.setattr(launcher.sys, "executable", str(deep / "python3"))
    assert launcher.install(str(deep)) is None
    assert not (deep / "oci-runtime").exists()
    assert "longer than" in capsys.readouterr().err
