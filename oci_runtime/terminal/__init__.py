"""process.terminal: the pty handed to --console-socket (console.py)."""
