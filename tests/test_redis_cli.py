"""``clerk-async ... --redis URL``: the CLI shares its rate limit through a real redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from clerk_async.cli import main
from tests._redis import RedisServer, needs_redis_server, redis_server

pytestmark = needs_redis_server
__all__ = ["redis_server"]  # the fixture, imported


def window_keys(server: RedisServer) -> list[bytes]:
    client = redis.Redis.from_url(server.url)
    try:
        return list(client.keys("clerk_async:{*}:i:*"))
    finally:
        client.close()


def test_demo_paces_through_redis(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["demo", "--machines", "40", "--rate-limit", "40/1", "--no-progress"]
    assert main([*argv, "--redis", redis_server.url]) == 0
    assert "demo: ok" in capsys.readouterr().out
    assert window_keys(redis_server)  # the window lived in Redis


def test_update_many_paces_through_redis(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(f'{{"machine_id": "mch_{i}", "name": "n{i}"}}\n' for i in range(15)))
    argv = ["--fake", "--rate-limit", "10/0.5", "--redis", redis_server.url]
    assert main([*argv, "machines", "update-many", str(source), "--no-progress"]) == 0
    assert "update-many: 15 succeeded, 0 failed" in capsys.readouterr().out
    assert window_keys(redis_server)


def test_redis_without_pacing_is_a_usage_error(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--machines", "5", "--redis", redis_server.url]) == 2
    assert "pacing is off" in capsys.readouterr().err
    assert main(["demo", "--redis", "http://cache:6379"]) == 2
    assert "redis://" in capsys.readouterr().err
