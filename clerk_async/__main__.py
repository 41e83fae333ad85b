"""``python -m clerk_async``: the clerk-async command."""

from clerk_async.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
