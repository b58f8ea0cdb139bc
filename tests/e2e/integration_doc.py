"""The configurations of docs/integration.md, as the tests use them: one source for what the page
shows and what the end-to-end tests run (a block after `<!-- snippet: NAME -->` is NAME).

The page names the runtime by the path `scripts/install-system /opt/oci-runtime` installs;
`snippet(name, runtime=PATH)` puts the tests' launcher there instead."""
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "integration.md")
DOCUMENTED_RUNTIME = "/opt/oci-runtime/bin/oci-runtime"
_MARKER = re.compile(r"^<!-- snippet: ([\w-]+) -->$")


def snippets():
    """{name: text} of every snippet: the indented code block after its marker, dedented."""
    with open(DOC) as page:
        lines = page.read().splitlines()
    found = {}
    for index, line in enumerate(lines):
        marker = _MARKER.match(line.strip())
        if not marker:
            continue
        block = []
        for following in lines[index + 1:]:
            if following.startswith("    "):
                block.append(following[4:])
            elif following.strip():
                break                       # the end of the code block
            elif block:
                block.append("")            # a blank line inside it
        found[marker.group(1)] = "\n".join(block).strip("\n") + "\n"
    return found


def snippet(name, runtime=None):
    text = snippets()[name]
    return text.replace(DOCUMENTED_RUNTIME, runtime) if runtime else text


def runtime_class_handler():
    """The `handler:` of the page's RuntimeClass: the name a kubelet asks containerd for."""
    return re.search(r"^handler:\s*(\S+)$", snippet("runtimeclass"), re.MULTILINE).group(1)
