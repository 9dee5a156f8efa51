"""Paths that may be URLs: local files, or object stores through fsspec (``s3://``, ``gs://``, ``hf://``, ``https://``).

Every path datacraft reads or writes goes through here (this module gathers the parts:
:mod:`~datacraft.io.remote` URLs as paths, :mod:`~datacraft.io.objects` simple operations,
:mod:`~datacraft.io.scratch` the local scratch folder, :mod:`~datacraft.io.transfer` uploads and
downloads, :mod:`~datacraft.io.storage_errors` one-line errors). A local path stays a :class:`pathlib.Path` and
uses the operating system directly (rename makes writes atomic). A URL becomes a :class:`RemotePath`
over an fsspec filesystem (s3fs, gcsfs, huggingface_hub, HTTP), configured the standard way (for S3:
``AWS_ENDPOINT_URL``, ``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ~/.aws files).

Object stores have no rename, so files are *staged*: written under a local scratch folder
(``DATACRAFT_SCRATCH``, default the system temp folder) and uploaded as the final object on commit
(:func:`replace`); a PUT makes an object appear whole or not at all. Completion markers are written
last and list each file's size, so a run killed between two uploads is redone, never trusted.
"""

from __future__ import annotations

from datacraft.errors import StorageError
from datacraft.io.objects import check_access, identity, open_input, parquet_source, rmtree, size
from datacraft.io.remote import (
    WRITABLE,
    AnyPath,
    RemotePath,
    as_path,
    check_writable,
    filesystem,
    is_url,
    join,
    protocol,
    reset,
    resolve,
)
from datacraft.io.scratch import (
    HOST,
    clean_dead_staging,
    clean_staging,
    pid_alive,
    scratch_dir,
    staging_path,
    tmp_tag,
)
from datacraft.io.storage_errors import storage_errors
from datacraft.io.transfer import download_dir, local_copy, local_dir, replace, synced_dir, upload_dir

__all__ = [
    "HOST",
    "WRITABLE",
    "AnyPath",
    "RemotePath",
    "StorageError",
    "as_path",
    "check_access",
    "check_writable",
    "clean_dead_staging",
    "clean_staging",
    "download_dir",
    "filesystem",
    "identity",
    "is_url",
    "join",
    "local_copy",
    "local_dir",
    "open_input",
    "parquet_source",
    "pid_alive",
    "protocol",
    "replace",
    "reset",
    "resolve",
    "rmtree",
    "scratch_dir",
    "size",
    "staging_path",
    "storage_errors",
    "synced_dir",
    "tmp_tag",
    "upload_dir",
]
