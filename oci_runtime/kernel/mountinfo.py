"""/proc/self/mountinfo, parsed once for the whole runtime (proc(5): fields, then " - ", then the
filesystem type, source and super options; octal escapes \\040 \\011 \\012 \\134 in paths)."""


def unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (space, tab, newline, backslash)."""
    if "\\" not in field:
        return field
    out = []
    index = 0
    while index < len(field):
        if field[index] == "\\" and len(field[index + 1:index + 4]) == 3 and field[index + 1:index + 4].isdigit():
            out.append(chr(int(field[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


class MountEntry:
    __slots__ = ("mount_id", "parent_id", "root", "mount_point", "options", "fstype", "source",
                 "super_options")

    def __init__(self, line: str) -> None:
        pre, _, post = line.rstrip("\n").partition(" - ")
        fields = pre.split(" ")
        self.mount_id = int(fields[0])
        self.parent_id = int(fields[1])
        self.root = unescape(fields[3])
        self.mount_point = unescape(fields[4])
        self.options = fields[5]
        rest = post.split(" ")
        self.fstype = rest[0]
        self.source = unescape(rest[1]) if len(rest) > 1 else ""
        self.super_options = rest[2] if len(rest) > 2 else ""


def parse(text: str) -> "list[MountEntry]":
    """One MountEntry per line of a mountinfo file's ``text``."""
    return [MountEntry(line) for line in text.splitlines() if line.strip()]


def entries(path: str = "/proc/self/mountinfo") -> "list[MountEntry]":
    """The mounts listed in ``path`` (OSError when it cannot be read)."""
    with open(path) as mountinfo:
        return parse(mountinfo.read())


def mount_points(path: str = "/proc/self/mountinfo") -> "list[str]":
    return [entry.mount_point for entry in entries(path)]
