"""Multipart uploads with hostile or odd file objects (issue 23, item 5), over real HTTP.

Each bad file part is a ClerkValidationError naming the field, before anything is sent; a
good file is read once, in a worker thread (never on the event loop), at most
``MAX_UPLOAD_BYTES`` of it, and a retry resends the same bytes.
"""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from clerk_async import Clerk, ClerkValidationError
from clerk_async._upload import MAX_UPLOAD_BYTES
from clerk_async.testing._spec import OPERATIONS
from tests._recorder import RecordingServer

# The spec's own sample answer of the operation (FakeClerk's table).
USER = json.loads(OPERATIONS["SetUserProfileImage"].answer or "{}")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def _upload(clerk: Clerk, file: Any) -> Any:
    return await clerk.users.set_profile_image("user_1", file=file)


def _file_part(body: bytes) -> bytes:
    boundary = body.split(b"\r\n", 1)[0]
    return body.split(boundary)[1].split(b"\r\n\r\n", 1)[1][: -len(b"\r\n")]


class _AsyncFile:
    name = "photo.png"

    async def read(self, size: int = -1) -> bytes:
        return PNG


class _Returns:
    """A file object whose read() returns ``value`` (None: a non-blocking file)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def read(self, size: int = -1) -> Any:
        return self.value


class _Broken(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise OSError(5, "Input/output error")


def _bad_files(tmp_path: Path) -> list[tuple[str, Any, str]]:
    text = tmp_path / "photo.txt"
    text.write_text("not binary")
    closed = open(tmp_path / "photo.txt", "rb")  # noqa: SIM115
    closed.close()
    odd = os.path.join(os.fsencode(tmp_path), b"caf\xe9.png")  # Latin-1 bytes: not UTF-8
    with open(odd, "wb") as f:
        f.write(PNG)
    return [
        ("text mode", open(text, encoding="utf-8"), "binary mode"),
        ("StringIO", io.StringIO("not binary"), "text file"),
        ("async file", _AsyncFile(), "async file"),
        ("closed", closed, "closed"),
        ("non-UTF-8 name (bytes)", open(odd, "rb"), "not UTF-8"),
        ("non-UTF-8 name (str)", open(os.fsdecode(odd), "rb"), "not UTF-8"),
        ("read() -> None", _Returns(None), "returned None"),
        ("read() -> int", _Returns(5), "returned int"),
        ("read() -> str", _Returns("text"), "returned str"),
        ("read() raises OSError", io.BufferedReader(_Broken()), "could not be read"),
        ("not a file", 12345, "expected bytes or a binary file"),
    ]


async def test_every_bad_file_part_is_a_validation_error_naming_the_field(
    clerk: Clerk, server: RecordingServer, tmp_path: Path
) -> None:
    bad = _bad_files(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited" either
        for label, file, words in bad:
            with pytest.raises(ClerkValidationError) as caught:
                await _upload(clerk, file)
            assert caught.value.field == "file", label
            assert words in caught.value.reason, (label, caught.value.reason)
            if hasattr(file, "close"):
                file.close()
    assert server.requests == []  # not one NUL byte uploaded


async def test_a_file_is_read_off_the_loop_once_and_a_retry_resends_it(
    clerk: Clerk, server: RecordingServer, tmp_path: Path
) -> None:
    readers: list[int] = []

    class Watched(io.BytesIO):
        name = str(tmp_path / "avatar.png")

        def read(self, size: int | None = -1) -> bytes:
            readers.append(threading.get_ident())
            return super().read(size)

    server.reply(429, {"errors": []}, headers={"Retry-After": "0"})  # never processed: retried
    server.reply(200, USER)
    await _upload(clerk, Watched(PNG))
    assert readers
    assert threading.get_ident() not in readers  # never on the loop's thread
    first, second = server.requests
    assert first.body == second.body  # the retry sent the same bytes, not an empty file
    assert _file_part(second.body) == PNG
    assert b'filename="avatar.png"' in second.body


async def test_a_real_file_from_its_position(
    clerk: Clerk, server: RecordingServer, tmp_path: Path
) -> None:
    path = tmp_path / "logo.png"
    path.write_bytes(b"HEADER" + PNG)
    server.reply(200, USER)
    with open(path, "rb") as f:  # noqa: ASYNC230 (the caller's file, as users pass it)
        f.seek(len(b"HEADER"))
        await _upload(clerk, f)
    assert _file_part(server.requests[0].body) == PNG


async def test_a_file_past_the_cap_is_refused_unsent(
    clerk: Clerk, server: RecordingServer, tmp_path: Path
) -> None:
    path = tmp_path / "huge.png"
    with open(path, "wb") as f:  # noqa: ASYNC230
        f.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no 10 MiB written
    with open(path, "rb") as f:  # noqa: ASYNC230
        with pytest.raises(ClerkValidationError, match="larger than the 10,485,760 bytes"):
            await _upload(clerk, f)
        assert f.tell() <= MAX_UPLOAD_BYTES + 1  # it stopped reading at the cap
    with pytest.raises(ClerkValidationError, match="file: is 10,485,761 bytes"):
        await _upload(clerk, bytes(MAX_UPLOAD_BYTES + 1))
    assert server.requests == []
    server.reply(200, USER)
    await _upload(clerk, memoryview(bytearray(PNG)))  # bytes-like values within the cap
    assert _file_part(server.requests[0].body) == PNG
