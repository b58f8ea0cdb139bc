"""The container's root filesystem as the runtime prepares it: mount options, device nodes,
idmapped mounts, the devices of a user namespace, and leftover mounts after delete."""
