"""What a container process is made of and how the runtime waits for it: capability and rlimit
tables (capabilities.py), scheduler/ioPriority/personality/LSM attributes (attributes.py), and
waiting with signal forwarding (children.py)."""
