"""What /proc says about a process, read with ``posix`` alone (the state store's hot path)."""
import posix


def running_in_user_namespace():
    """Whether this process is in a user namespace other than the host's, whose map is every id
    to itself in one range of 2^32 - 1 ids (posix only: default_root is on the hot path)."""
    try:
        fd = posix.open("/proc/self/uid_map", posix.O_RDONLY)
    except OSError:
        return False
    try:
        return posix.read(fd, 256).split() != [b"0", b"0", b"4294967295"]
    finally:
        posix.close(fd)


def process_start_time(pid):
    """(state letter, start time in clock ticks) from /proc/<pid>/stat, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])
