"""The examples of a Markdown document, run by tests so that the document cannot rot.

docs/api.md (tests/api/test_docs_examples.py) and docs/tutorial.md (tests/docs/test_tutorial.py)
are read with it.  What a document may hold, and how each part is checked (docs/tutorial.md's
"Reading the examples" says the same to readers):

* ```python blocks.  Each runs in a fresh interpreter, after the document's first Python block
  (its setup).  A ```text block right after one (blank lines between are allowed) is what it
  prints, stdout and stderr together.
* ```console blocks: shell sessions.  `$ CMD` is a command; lines right after it that start with
  `> ` continue it (the way bash shows its second prompt); the lines up to the next `$ ` are what it
  prints, stdout and stderr together.  Every command must exit with status 0: a command that is
  meant to fail shows its status itself (`...; echo "exit status $?"`).  A test runs a group of
  blocks (docs/tutorial.md: its setup and one section) as one bash session, in order, so `cd`,
  variables and aliases carry over from one command to the next.
* `*needs: cgroup v2*` on a line of its own before a block (blank lines between are allowed;
  or `cgroup v1`, meaning a v1 or hybrid host, or `systemd`: systemd as PID 1 on cgroup v2),
  which the reader sees in italics: the block runs only on such a host (elsewhere it is left
  out, and the test says why).  Other blocks (```json, ```sh, plain ```)
  are text, never run.

Expected and printed output are compared line by line: runs of spaces count as one space, blank
lines at the end do not count, and

* `<name>` (lower-case letters, digits and `-` between angle brackets) stands for one word that
  changes from run to run: a pid, an inode number, a temporary directory.  Within one session (or
  one Python example) the same `<name>` stands for the same word each time it appears, so
  `net:[<host-net>]` printed twice says the two are the same namespace;
* `<#>` stands for a number that may change from one version to the next, a different one each
  time: the step numbers of `oci-runtime plan` excerpts (every new operation shifts them);
* a line that is only `...` stands for any number of lines (none included).

OCI_DOCS_UPDATE=1: instead of failing on a difference, write what was printed into the document
(lines that still match keep their placeholders): how to regenerate the expected output after a
change in what a command prints (then review it with `git diff`).
"""
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import uuid

PLACEHOLDER = re.compile(r"<([a-z][a-z0-9-]*|#)>")
ANY_NUMBER = "#"
ANY_LINES = "..."
NEEDS = re.compile(r"^\*needs: (.+)\*$")
UPDATE = os.environ.get("OCI_DOCS_UPDATE") == "1"


@dataclasses.dataclass
class Command:
    text: str                 # the command; continuation lines joined by newlines
    expected: "list[str]"     # what it prints (placeholders and all)
    output_start: int         # the document's line index of the first expected line
    output_end: int           # ... and one past the last (blank lines at the end excluded)
    where: "tuple[int, int]" = (0, -1)  # (its block's index in parse(), its index there; -1:
    #                                      the ```text block of a Python block)


@dataclasses.dataclass
class Block:
    kind: str                 # "python" or "console"
    section: str              # the title of the "## " section it is in
    heading: str              # the title of the nearest heading above it (any level)
    needs: "str | None"       # "cgroup v1", "cgroup v2", "systemd" or None
    line: int                 # the document's line index of its opening fence
    code: str = ""            # python: the program
    commands: "list[Command]" = dataclasses.field(default_factory=list)  # console: the session
    output: "Command | None" = None  # python: the ```text block after it, as a Command


def parse(path: str) -> "list[Block]":
    """The runnable blocks of the Markdown document at ``path``, in order."""
    lines = open(path).read().split("\n")
    blocks: "list[Block]" = []
    section = heading = ""
    needs = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if line.startswith("## "):
                section = heading
        match = NEEDS.match(line.strip())
        if match:
            needs = match.group(1)
            index += 1
            continue
        if not line.startswith("```"):
            needs = None if line.strip() else needs
            index += 1
            continue
        info = line[3:].strip()
        end = index + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        body = lines[index + 1:end]
        if info == "python":
            blocks.append(Block("python", section, heading, needs, index,
                                code="\n".join(body) + "\n"))
        elif info == "console":
            commands = _session(body, index + 1)
            for number, command in enumerate(commands):
                command.where = (len(blocks), number)
            blocks.append(Block("console", section, heading, needs, index, commands=commands))
        elif info == "text" and blocks and blocks[-1].kind == "python" and \
                blocks[-1].output is None and not any(
                    text.strip() for text in lines[_after_fence(lines, blocks[-1].line):index]):
            blocks[-1].output = _output("", body, index + 1)
            blocks[-1].output.where = (len(blocks) - 1, -1)
        needs = None
        index = end + 1
    return blocks


def _after_fence(lines: "list[str]", opening: int) -> int:
    """The index of the line after the block whose opening fence is at ``opening``."""
    end = opening + 1
    while lines[end] != "```":
        end += 1
    return end + 1


def _output(text: str, body: "list[str]", start: int) -> Command:
    end = len(body)
    while end and not body[end - 1].strip():
        end -= 1
    return Command(text, body[:end], start, start + end)


def _session(body: "list[str]", start: int) -> "list[Command]":
    commands: "list[Command]" = []
    position = 0
    if body and not body[0].startswith("$ "):
        raise ValueError(f"line {start + 1}: a console block starts with a `$ ` command")
    while position < len(body):
        text = [body[position][2:]]
        position += 1
        while position < len(body) and body[position].startswith("> "):
            text.append(body[position][2:])
            position += 1
        output_start = position
        while position < len(body) and not body[position].startswith("$ "):
            position += 1
        commands.append(_output("\n".join(text), body[output_start:position],
                                start + output_start))
    return commands


# -- comparing what was printed with what the document says -----------------------------------

def _line_pattern(expected: str, bindings: "dict[str, str]") -> "tuple[re.Pattern[str], list[str]]":
    """A regular expression for one expected line, and the placeholder names it binds (in
    group order)."""
    pattern, names, last = "", [], 0
    normal = " ".join(expected.split())
    for match in PLACEHOLDER.finditer(normal):
        pattern += re.escape(normal[last:match.start()])
        name = match.group(1)
        if name == ANY_NUMBER:
            pattern += r"[0-9]+"
        elif name in bindings:
            pattern += re.escape(bindings[name])
        elif name in names:
            pattern += f"(?P=p{names.index(name)})"
        else:
            pattern += rf"(?P<p{len(names)}>\S+?)"
            names.append(name)
        last = match.end()
    pattern += re.escape(normal[last:])
    return re.compile(pattern), names


def match(expected: "list[str]", printed: "list[str]",
          bindings: "dict[str, str]") -> "dict[str, str] | None":
    """The placeholder bindings (``bindings`` extended) under which ``printed`` is what
    ``expected`` says, or None."""
    expected = _trimmed(expected)
    printed = _trimmed(printed)

    def walk(at_expected: int, at_printed: int, bound: "dict[str, str]") -> "dict[str, str] | None":
        if at_expected == len(expected):
            return bound if at_printed == len(printed) else None
        if expected[at_expected].strip() == ANY_LINES:
            for skip in range(len(printed) - at_printed + 1):
                found = walk(at_expected + 1, at_printed + skip, bound)
                if found is not None:
                    return found
            return None
        if at_printed == len(printed):
            return None
        pattern, names = _line_pattern(expected[at_expected], bound)
        found = pattern.fullmatch(" ".join(printed[at_printed].split()))
        if found is None:
            return None
        extended = dict(bound)
        extended.update((name, found.group(f"p{number}")) for number, name in enumerate(names))
        return walk(at_expected + 1, at_printed + 1, extended)

    return walk(0, 0, dict(bindings))


def _trimmed(lines: "list[str]") -> "list[str]":
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def regenerated(expected: "list[str]", printed: "list[str]",
                bindings: "dict[str, str]") -> "list[str]":
    """What the document should say instead of ``expected``: the printed lines, except that an
    expected line (with its placeholders) stays where it still matches the line printed there,
    and that in a new line a word some placeholder already stands for (four characters or more:
    a pid, an inode number, not a 0 or 1) is written as that placeholder again, as is a word
    that was a whole placeholder (`<#>`, `<pid>`) in an old line of as many words."""
    expected, printed = _trimmed(expected), _trimmed(printed)
    if len(expected) != len(printed) or ANY_LINES in (line.strip() for line in expected):
        return [_placeholders_back(line, bindings) for line in printed]
    lines, bound = [], dict(bindings)
    for old, new in zip(expected, printed):
        found = match([old], [new], bound)
        if found is None:
            lines.append(_placeholders_back(_words_back(old, new), bound))
        else:
            lines.append(old)
            bound = found
    return lines


def _words_back(old: str, new: str) -> str:
    """``new``, with each word that was a whole placeholder in ``old`` at the same place put
    back (when both have as many words)."""
    old_words, parts = old.split(), re.split(r"(\s+)", new)
    offset = 2 if parts and parts[0] == "" else 0  # a line starting with spaces: "", spaces
    words = parts[offset::2]
    if len(words) != len(old_words):
        return new
    for number, word in enumerate(old_words):
        if PLACEHOLDER.fullmatch(word):
            parts[offset + 2 * number] = word
    return "".join(parts)


def _placeholders_back(line: str, bindings: "dict[str, str]") -> str:
    for name, value in sorted(bindings.items(), key=lambda item: -len(item[1])):
        if len(value) >= 4:
            line = re.sub(rf"(?<![\w/.-]){re.escape(value)}(?![\w/.-])", f"<{name}>", line)
    return line


def rewrite(path: str, outputs: "list[tuple[Command, list[str]]]") -> None:
    """Write new expected output for each (command, lines) of ``outputs`` into the document,
    read again (an earlier rewrite may have moved its lines)."""
    blocks = parse(path)
    lines = open(path).read().split("\n")
    spans = []
    for command, new in outputs:
        block, number = command.where
        now = blocks[block].output if number == -1 else blocks[block].commands[number]
        assert now is not None and now.text == command.text, f"{path} changed under the test"
        spans.append((now.output_start, now.output_end, new))
    for start, end, new in sorted(spans, reverse=True):
        lines[start:end] = new
    with open(path, "w") as document:
        document.write("\n".join(lines))


# -- running ----------------------------------------------------------------------------------

@dataclasses.dataclass
class Ran:
    command: Command
    printed: "list[str]"
    status: "int | None"     # None: the session ended before it (a timeout, an `exit`)


def run_session(commands: "list[Command]", *, cwd: str, env: "dict[str, str]",
                timeout: float) -> "list[Ran]":
    """Run ``commands`` in one bash session (stdout and stderr to one file, stdin empty),
    returning what each printed and its exit status."""
    marker = f"--- end of a command {uuid.uuid4().hex} ---"
    script = "shopt -s expand_aliases\n"  # as in an interactive shell: the documents use aliases
    for command in commands:
        script += f"{command.text}\nprintf '\\n%s %s\\n' '{marker}' \"$?\"\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sh") as program, \
            tempfile.TemporaryFile() as out:
        program.write(script)
        program.flush()
        # The output goes to a file, not a pipe: a container started in the background keeps
        # the session's stdout open after the session has ended.
        session = subprocess.Popen(["bash", "--noprofile", "--norc", program.name], cwd=cwd,
                                   env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            session.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(session.pid, 9)  # the session's own process group, made just above
            session.wait()
        out.seek(0)
        text = out.read().decode(errors="replace")
    ran, printed = [], []
    remaining = iter(commands)
    for line in text.split("\n"):
        if line.startswith(marker + " "):
            ran.append(Ran(next(remaining), printed, int(line.rsplit(" ", 1)[1])))
            printed = []
        else:
            printed.append(line)
    for command in remaining:
        ran.append(Ran(command, printed, None))
        printed = []
    return ran


def run_python(setup: str, code: str, cleanup: str, *, cwd: str, env: "dict[str, str]",
               timeout: float) -> "subprocess.CompletedProcess[str]":
    """Run ``setup`` then ``code`` (then ``cleanup``, however ``code`` ended) in a fresh
    interpreter, unbuffered so that what Python prints and what the containers print come in
    the order they happened; stdout and stderr together."""
    program = (setup + "\ntry:\n" + textwrap.indent(code, "    ") + "\nfinally:\n"
               + textwrap.indent(cleanup or "pass\n", "    "))
    with tempfile.TemporaryFile() as out:
        completed = subprocess.run([sys.executable, "-u", "-c", program], cwd=cwd, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, timeout=timeout)
        out.seek(0)
        return subprocess.CompletedProcess(completed.args, completed.returncode,
                                           out.read().decode(errors="replace"))


def transcript(ran: "list[Ran]") -> str:
    """A session as it would look in a terminal, with each command's exit status."""
    parts = []
    for item in ran:
        first, *rest = item.command.text.split("\n")
        parts.append("$ " + first + "".join("\n> " + line for line in rest))
        parts.extend(_trimmed(item.printed))
        parts.append(f"[exit status {item.status}]" if item.status is not None
                     else "[not run: the session ended before it]")
    return "\n".join(parts)
