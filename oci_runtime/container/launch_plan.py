"""Everything the forked stages need, prepared by the parent before it forks.

The children are forks, not new programs: they read this object from the memory they share with
the parent, so nothing here is serialised, and nothing heavy is imported after the fork."""


class LaunchPlan:
    def __init__(self, container_id, config, bundle, state_dir, *, no_pivot=False,
                 no_new_keyring=False, preserve_fds=0, console_socket=None):
        self.container_id = container_id
        self.config = config
        self.bundle = bundle
        self.state_dir = state_dir
        self.no_pivot = no_pivot
        self.no_new_keyring = no_new_keyring
        self.preserve_fds = preserve_fds
        self.console_socket = console_socket
        self.console = None  # terminal.ConsoleEndpoint when process.terminal is true
        self.start_listener = None  # socket the init accepts `start` on
        self.cgroup_mounts = None  # see rootfs.mounts.MountContext
        self.seccomp_program = None  # compiled by the parent; installed just before execve
        self.warnings = []
