"""Multipart uploads: the ``multipart/form-data`` body of the few operations that send a
file (a user's profile image, an organization's or OAuth application's logo).

A file part is bytes or a binary file object open for reading. What can be checked without
reading it is checked when the params are built (``file_problem``): a text-mode file,
a ``StringIO``, an async file object, a closed file, a file name that is not UTF-8 are each
a ``ClerkValidationError`` naming the field. The file itself is read on ``await``, in
a worker thread (a large file never stalls the event loop), at most
``MAX_UPLOAD_BYTES`` of it, and once: a retry resends the same bytes.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import os
import uuid
from collections.abc import Iterable
from typing import Any

from clerk_async._convert import UNSET
from clerk_async.errors import ClerkValidationError

__all__ = ["MAX_UPLOAD_BYTES", "Upload", "file_problem", "form_body"]

# Clerk takes images of a few megabytes for these operations; past this a file is refused
# before it is read whole (and before it is sent).
MAX_UPLOAD_BYTES = 10 * 2**20
_CHUNK = 2**20


def _is_bytes(value: Any) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def _has_surrogate(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def file_name(value: Any) -> str | None:
    """The base name of a file object's ``name``, None when it has none (a BytesIO, a
    file opened from a descriptor). Raises ValueError for a name that is not UTF-8."""
    name = getattr(value, "name", None)
    if isinstance(name, bytes):
        try:
            name = name.decode()
        except UnicodeDecodeError:
            raise ValueError("its file name is not UTF-8: rename the file") from None
    if not isinstance(name, str) or not name:
        return None
    if _has_surrogate(name):  # a non-UTF-8 name on disk, decoded with surrogateescape
        raise ValueError("its file name is not UTF-8: rename the file")
    return os.path.basename(name) or None


def file_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a file part, or None if it can (nothing is read)."""
    if _is_bytes(value):
        size = value.nbytes if isinstance(value, memoryview) else len(value)
        if size > MAX_UPLOAD_BYTES:
            return f"is {size:,} bytes; at most {MAX_UPLOAD_BYTES:,} can be uploaded"
        return None
    read = getattr(value, "read", None)
    if read is None or not callable(read):
        return f"expected bytes or a binary file, got {type(value).__name__}"
    if inspect.iscoroutinefunction(read) or inspect.iscoroutinefunction(
        getattr(read, "__func__", None)
    ):
        return "is an async file object: pass bytes, or a file opened with open(path, 'rb')"
    if isinstance(value, io.TextIOBase):
        return "is a text file: open it in binary mode ('rb'), or pass bytes"
    mode = getattr(value, "mode", None)
    if isinstance(mode, str) and "b" not in mode and any(c in mode for c in "rwax+"):
        return f"is open in text mode ({mode!r}): open it in binary mode ('rb')"
    if getattr(value, "closed", False) is True:
        return "is a closed file"
    try:
        file_name(value)
    except ValueError as exc:
        return str(exc)
    return None


def _read_capped(field: str, value: Any) -> bytes:
    """Read a binary file to its end, refusing what is not bytes or passes the cap."""
    chunks: list[bytes] = []
    total = 0
    while True:
        try:
            chunk = value.read(min(_CHUNK, MAX_UPLOAD_BYTES + 1 - total))
        except ValueError:  # io's "I/O operation on closed file", "read of closed file"
            raise ClerkValidationError(field, "is a closed file") from None
        except (OSError, TypeError) as exc:  # a read error, or a read() without a size
            raise ClerkValidationError(
                field, f"could not be read: {type(exc).__name__}: {exc}"
            ) from None
        if inspect.isawaitable(chunk):
            close = getattr(chunk, "close", None)
            if close is not None:
                close()  # no "coroutine was never awaited" warning for the caller's object
            raise ClerkValidationError(field, "read() returned an awaitable: pass a sync file")
        if not _is_bytes(chunk):
            what = (
                "None (a non-blocking file with nothing ready?)"
                if chunk is None
                else (f"{type(chunk).__name__}, not bytes")
            )
            raise ClerkValidationError(field, f"read() returned {what}")
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_UPLOAD_BYTES:
            raise ClerkValidationError(
                field, f"is larger than the {MAX_UPLOAD_BYTES:,} bytes that can be uploaded"
            )
        chunks.append(bytes(chunk))


def _quoted(text: str) -> str:
    # A header parameter: no quote, backslash or line break may end it early.
    return text.replace("\\", "_").replace('"', "_").replace("\r", "_").replace("\n", "_")


class Upload:
    """A ``multipart/form-data`` body whose files are read on ``await``, off the event
    loop, once; ``read`` gives the same bytes to every attempt."""

    __slots__ = ("_body", "_boundary", "_parts")

    def __init__(self, parts: list[tuple[str, str, Any]], boundary: str) -> None:
        self._parts = parts  # (wire name, part head, bytes or a file object)
        self._boundary = boundary
        self._body: bytes | None = None

    async def read(self) -> bytes:
        if self._body is None:
            files = any(not _is_bytes(value) for _, _, value in self._parts)
            # A thread only when there is a file to read: bytes are joined in place.
            self._body = await asyncio.to_thread(self._build) if files else self._build()
        return self._body

    def _build(self) -> bytes:
        chunks: list[bytes] = []
        for name, head, value in self._parts:
            data = bytes(value) if _is_bytes(value) else _read_capped(name, value)
            chunks += [f"--{self._boundary}\r\n{head}\r\n\r\n".encode(), data, b"\r\n"]
        chunks.append(f"--{self._boundary}--\r\n".encode())
        return b"".join(chunks)


def form_body(fields: Iterable[tuple[str, Any]], text: Any) -> tuple[Upload, str]:
    """The body and Content-Type of a form from ``(wire name, value)`` pairs; nothing is
    read yet. Bytes and binary files are file parts; other values are text (``text``
    spells them, as in a query string)."""
    boundary = uuid.uuid4().hex
    parts: list[tuple[str, str, Any]] = []
    for name, value in fields:
        if value is None or value is UNSET:
            continue
        if _is_bytes(value) or hasattr(value, "read"):
            problem = file_problem(value)
            if problem is not None:
                raise ClerkValidationError(name, problem)
            filename = file_name(value) or name
            head = (
                f'Content-Disposition: form-data; name="{_quoted(name)}"; '
                f'filename="{_quoted(filename)}"\r\nContent-Type: application/octet-stream'
            )
            parts.append((name, head, value))
        else:
            head = f'Content-Disposition: form-data; name="{_quoted(name)}"'
            parts.append((name, head, text(value).encode()))
    return Upload(parts, boundary), f"multipart/form-data; boundary={boundary}"
