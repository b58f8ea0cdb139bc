"""Every Python example in docs/api.md runs: the first block (the setup), then one example, in a
fresh interpreter; whatever an example leaves (containers, its state root, bundles) is removed.
How a document's examples are read and run: tests/docs/markdown_examples.py."""
import os

import pytest

from tests.docs import markdown_examples

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "api.md")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="real containers need root")

EXAMPLES = [block for block in markdown_examples.parse(DOC) if block.kind == "python"]
SETUP = EXAMPLES[0].code
CLEANUP = """
for _container in runtime.list():
    _container.delete(force=True)
shutil.rmtree(runtime.root, ignore_errors=True)
"""


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("example", EXAMPLES[1:], ids=[block.heading for block in EXAMPLES[1:]])
def test_example(example, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    result = markdown_examples.run_python(SETUP, example.code, CLEANUP, cwd=str(tmp_path),
                                          env=env, timeout=120)
    assert result.returncode == 0, f"{example.heading}:\n{result.stdout}"
