"""How tests/docs/markdown_examples.py reads a document's examples and compares their output
(the rules docs/tutorial.md's "Reading the examples" gives its readers)."""
import os

from tests.docs.markdown_examples import match, parse, regenerated, rewrite, run_session

DOCUMENT = """# A document

```python
setup = 1
```

## First

```python
print(setup)
```

```text
1
```

*needs: cgroup v2*
```console
$ echo one
one
$ for word in a b; do
>   echo $word
> done
a
b

```

```json
{"not": "run"}
```

### Later

```console
$ true
```
"""


def test_blocks_their_sections_headings_and_needs(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(DOCUMENT)
    setup, example, session, later = parse(str(path))
    assert (setup.kind, setup.section, setup.code, setup.output) == ("python", "", "setup = 1\n", None)
    assert (example.section, example.heading, example.output.expected) == ("First", "First", ["1"])
    assert session.kind == "console" and session.needs == "cgroup v2"
    assert [command.text for command in session.commands] == [
        "echo one", "for word in a b; do\n  echo $word\ndone"]
    assert [command.expected for command in session.commands] == [["one"], ["a", "b"]]
    assert (later.section, later.heading, later.needs) == ("First", "Later", None)
    assert later.commands[0].expected == []


def test_placeholders_stand_for_one_word_and_the_same_word_each_time():
    assert match(["pid <pid>"], ["pid 4321"], {}) == {"pid": "4321"}
    assert match(["net:[<inode>]"], ["net:[4026531833]"], {}) == {"inode": "4026531833"}
    assert match(["<a> and <a>"], ["x and x"], {}) == {"a": "x"}
    assert match(["<a> and <a>"], ["x and y"], {}) is None
    assert match(["pid <pid>"], ["pid 12"], {"pid": "4321"}) is None
    assert match(["pid <pid>"], ["pid two words"], {}) is None
    assert match(["<BROADCAST,UP>"], ["<BROADCAST,UP>"], {}) == {}  # not a placeholder
    assert match(["<BROADCAST,UP>"], ["<LOOPBACK>"], {}) is None
    # <#>: any number, a different one each time, bound to nothing
    assert match([" <#>  mount", "<#> pivot_root"], ["  6  mount", "67 pivot_root"], {}) == {}
    assert match(["<#> mount"], ["six mount"], {}) is None


def test_spaces_blank_lines_at_the_end_and_any_lines():
    assert match(["a  b", ""], ["a\tb", "", ""], {}) == {}
    assert match(["a", "b"], ["a"], {}) is None
    assert match(["a"], ["a", "b"], {}) is None
    assert match(["first", "...", "last <n>"], ["first", "x", "y", "last 3"], {}) == {"n": "3"}
    assert match(["first", "...", "last"], ["first", "last"], {}) == {}
    assert match(["...", "<n> end"], ["1 a", "2 end"], {}) == {"n": "2"}


def test_regenerated_output_keeps_what_still_matches():
    assert regenerated(["pid <pid>", "changed"], ["pid 99", "new"], {}) == ["pid <pid>", "new"]
    # a word a placeholder already stands for is written as the placeholder again
    assert regenerated(["NSpid: <pid> 2"], ["NSpid: 4321 1"], {"pid": "4321"}) == ["NSpid: <pid> 1"]
    assert regenerated(["a", "..."], ["x", "y"], {}) == ["x", "y"]
    # a whole-word placeholder stays where the line has as many words
    assert regenerated([" <#>  mount  'proc'"], [" 7  mount  - 64 'proc'"], {}) == [
        " 7  mount  - 64 'proc'"]
    assert regenerated([" <#>  mount  'x'"], ["  7  mount  'proc'"], {}) == ["  <#>  mount  'proc'"]


def test_rewrite_finds_the_command_again(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text(DOCUMENT)
    _, example, session, _ = parse(str(path))
    # the second rewrite uses what parse() said before the first one moved the lines
    rewrite(str(path), [(session.commands[0], ["one", "and more"])])
    rewrite(str(path), [(session.commands[1], ["b"]), (example.output, ["2"])])
    _, example, session, _ = parse(str(path))
    assert [command.expected for command in session.commands] == [["one", "and more"], ["b"]]
    assert example.output.expected == ["2"]


def test_a_session_keeps_its_shell_and_reports_each_status(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("```console\n$ alias say=echo\n$ x=1; cd /\n$ say $x $PWD\n$ false\n```\n")
    commands = parse(str(path))[0].commands
    ran = run_session(commands, cwd=str(tmp_path), env=dict(os.environ), timeout=30)
    assert [(item.printed[:1], item.status) for item in ran] == [
        ([""], 0), ([""], 0), (["1 /"], 0), ([""], 1)]
