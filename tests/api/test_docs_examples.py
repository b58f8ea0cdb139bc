"""Every Python example in docs/api.md runs: the first block (the setup), then one example, in a
fresh interpreter; whatever an example leaves (containers, its state root, bundles) is removed."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "api.md")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")


def _examples():
    """[(title, code)] of the ```python blocks, titled by the heading above each."""
    text = open(DOC).read()
    examples = []
    title = "setup"
    for match in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```$", text, re.M | re.S):
        if match.group(1):
            title = match.group(1).lstrip("# ").strip()
        else:
            examples.append((title, match.group(2)))
    return examples


EXAMPLES = _examples()
SETUP = EXAMPLES[0][1]
CLEANUP = """
for _container in runtime.list():
    _container.delete(force=True)
shutil.rmtree(runtime.root, ignore_errors=True)
"""


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("title,code", EXAMPLES[1:], ids=[title for title, _ in EXAMPLES[1:]])
def test_example(title, code, tmp_path):
    program = (SETUP + "\ntry:\n" + textwrap.indent(code, "    ") + "\nfinally:\n"
               + textwrap.indent(CLEANUP, "    "))
    env = dict(os.environ, TMPDIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{title}:\n{result.stdout}\n{result.stderr}"
