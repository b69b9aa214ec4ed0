import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class RedisServer:
    """A throwaway redis-server process on a unix socket."""

    sock: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Stop it for good, as `systemctl stop redis-server` would: the socket is gone."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def redis_cache(tmp_path, settings):
    """A real redis-server on a unix socket in tmp_path (no TCP port), as the cache."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    sock = tmp_path / "redis.sock"
    server = RedisServer(
        sock,
        subprocess.Popen(  # noqa: S603 - fixed argv
            [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"]
            + ["--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        ),
    )
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"unix://{sock}?db=0",
        }
    }
    yield server
    server.stop()
