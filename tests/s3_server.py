"""A real S3-compatible server for tests: moto's standalone server on 127.0.0.1, as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class S3Server:
    """Where the server listens and the environment a client (datacraft, s3fs) needs to use it."""

    endpoint: str
    env: dict[str, str]
    home: Path
    log: Path  # the server's output: one line per request ("GET /bucket/key HTTP/1.1" 200 -)

    def client_env(self, **extra: str) -> dict[str, str]:
        """os.environ plus this server's endpoint and credentials (for a datacraft subprocess)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.env)
        env.update(extra)
        return env

    def fs(self) -> Any:
        """A fresh s3fs filesystem on this server (for the test's own uploads and downloads)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=self.env["AWS_ACCESS_KEY_ID"],
            secret=self.env["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=self.endpoint,
            skip_instance_cache=True,
        )


def start_moto(tmp: Path) -> tuple[subprocess.Popen[bytes], S3Server]:
    """Start ``moto.server`` on a free port of 127.0.0.1 and wait until it answers."""
    pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    pytest.importorskip("s3fs", reason="needs s3fs (the dev or s3 extra)")
    port = free_port()
    log = open(tmp / "moto.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited: {(tmp / 'moto.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("moto server did not start within 60 s")
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        # No ~/.aws of the person running the tests.
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
    }
    return proc, S3Server(endpoint, env, home, tmp / "moto.log")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A moto S3 server for the tests of one module; the test process's environment points at it."""
    proc, server = start_moto(tmp_path_factory.mktemp("moto"))
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    for k in saved:
        del os.environ[k]
    os.environ.update(server.env)
    from datacraft.io import fs

    fs.reset()
    try:
        yield server
    finally:
        for k in server.env:
            os.environ.pop(k, None)
        os.environ.update(saved)
        fs.reset()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
