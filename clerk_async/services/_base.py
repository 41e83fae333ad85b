"""What every generated service shares: the transport, and how deprecation is said."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from clerk_async.errors import ClerkConfigError

if TYPE_CHECKING:
    from clerk_async._transport import CallOptions, Transport

__all__ = ["MachineAuthService", "Service", "deprecated"]


class Service:
    """A group of operations of the Backend API, as ``clerk.<service>``."""

    __slots__ = ("_transport",)

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} service>"


class MachineAuthService(Service):
    """A service whose calls are authenticated with a machine secret key (``ak_...``).

    The key comes from the call's ``machine_secret_key=`` or else the client's
    ``Clerk(machine_secret_key=...)``. Operations that require one (creating an M2M token)
    refuse to fall back on the instance secret key, before any request.
    """

    __slots__ = ("_machine_secret_key",)

    def __init__(self, transport: Transport, *, machine_secret_key: str | None = None) -> None:
        super().__init__(transport)
        self._machine_secret_key = machine_secret_key

    def __repr__(self) -> str:
        state = "set" if self._machine_secret_key else "unset"
        return f"<{type(self).__name__} machine_secret_key={state}>"

    def _machine_auth(self, options: CallOptions, *, required: str | None = None) -> CallOptions:
        """The call's options with the machine secret key to use, if there is one;
        ``required`` names the operation that cannot go without one."""
        if options.get("machine_secret_key"):
            return options
        if self._machine_secret_key:
            return {**options, "machine_secret_key": self._machine_secret_key}
        if required:
            raise ClerkConfigError(
                "machine_secret_key",
                f"{required} needs a machine secret key (ak_...): pass machine_secret_key= "
                "to the call or Clerk(machine_secret_key=...)",
            )
        return options


def deprecated(operation: str, replacement: str | None) -> None:
    """Warn, pointing at the caller's line, that ``operation`` is deprecated in the spec."""
    instead = f"; use {replacement} instead" if replacement else ""
    warnings.warn(
        f"{operation} is deprecated in Clerk's Backend API{instead}",
        DeprecationWarning,
        stacklevel=3,
    )
