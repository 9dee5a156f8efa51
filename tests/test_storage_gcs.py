"""gs:// input and output against a real GCS emulator on 127.0.0.1 (gcp-storage-emulator, pure Python).

gcsfs finds the emulator through ``STORAGE_EMULATOR_HOST``; skipped when gcsfs or the emulator is not
installed (both are in the dev extra).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_corpus, tree_digest
from tests.s3_server import free_port
from tests.test_storage_s3 import datacraft, write_pipeline

pytest.importorskip("gcsfs", reason="needs gcsfs (the gcs or dev extra)")
pytest.importorskip("gcp_storage_emulator", reason="needs gcp-storage-emulator (the dev extra)")

BUCKET = "datacraft-gcs"


def _emulator_env(endpoint: str) -> dict[str, str]:
    return {
        "STORAGE_EMULATOR_HOST": endpoint,
        "FSSPEC_GS_TOKEN": "anon",  # gcsfs's token: no Google credentials lookup (read by fsspec's config)
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # plain JSON API (the emulator has no gRPC control API)
        "GOOGLE_CLOUD_PROJECT": "datacraft-test",
    }


@pytest.fixture(scope="module")
def gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A GCS emulator on a free port; yields the environment a datacraft process needs to use it."""
    tmp = tmp_path_factory.mktemp("gcs")
    port = free_port()
    log = open(tmp / "gcs.log", "wb")  # noqa: SIM115 - closed with the process
    where = ["--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--in-memory", *where],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"GCS emulator exited: {(tmp / 'gcs.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("GCS emulator did not start within 60 s") from None
                time.sleep(0.1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "GCSFS_", "STORAGE_EMULATOR"))}
        env.update(_emulator_env(f"http://127.0.0.1:{port}"))
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _client(env: dict[str, str]) -> Any:
    import gcsfs

    return gcsfs.GCSFileSystem(token="anon", project="datacraft-test", endpoint_url=env["STORAGE_EMULATOR_HOST"])


def _digest(store: Any, prefix: str) -> dict[str, str]:
    import hashlib

    out = {}
    for sub in ("data", "rejected", "quarantine"):
        for key in sorted(store.find(f"{prefix}/{sub}")):
            out[key[len(prefix) + 1 :]] = hashlib.sha256(store.cat_file(key)).hexdigest()
    return out


def test_run_gs_to_gs_matches_local_and_verifies(gcs: dict[str, str], tmp_path: Path) -> None:
    make_corpus(tmp_path / "raw", shards=3, docs=200)
    store = _client(gcs)
    store.mkdir(BUCKET)
    store.put(str(tmp_path / "raw") + "/", f"{BUCKET}/raw/", recursive=True)
    local = write_pipeline(tmp_path / "local.yaml", str(tmp_path / "raw"), str(tmp_path / "out"))
    r = datacraft(["run", str(local), "--quiet"], gcs)
    assert r.returncode == 0, r.stderr
    remote = write_pipeline(tmp_path / "gs.yaml", f"gs://{BUCKET}/raw", f"gs://{BUCKET}/runs/a")
    r = datacraft(["run", str(remote)], gcs, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "no writer lock on gs://" in r.stderr  # gs:// has no conditional-create lock in datacraft: said so
    store.invalidate_cache()
    expected = tree_digest(tmp_path / "out")
    assert any(k.startswith("data/") for k in expected)
    assert _digest(store, f"{BUCKET}/runs/a") == expected
    assert not (tmp_path / "gs:").exists()
    r = datacraft(["verify", f"gs://{BUCKET}/runs/a"], gcs, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)
    r = datacraft(["run", str(remote), "--dry-run"], gcs, cwd=tmp_path)
    assert r.returncode == 0 and "0 to run, 3 complete" in r.stdout, (r.stdout, r.stderr)
