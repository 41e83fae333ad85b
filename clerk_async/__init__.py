"""clerk-async: the async-first Python client for Clerk's Backend API."""

from clerk_async._version import __version__

__all__ = ["__version__"]
