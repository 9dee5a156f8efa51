"""Failures of a remote store as one line: credentials, bucket, permissions, network (StorageError, exit 1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from datacraft.errors import DatacraftError, StorageError


def _describe(err: BaseException, where: str) -> str:
    name = type(err).__name__
    text = str(err).strip().splitlines()[0] if str(err).strip() else name
    if name in ("NoCredentialsError", "PartialCredentialsError") or "Unable to locate credentials" in text:
        return (
            f"{where}: no credentials for the object store ({text}); set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or ~/.aws/credentials), and AWS_ENDPOINT_URL for a "
            "store other than AWS"
        )
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower() or name == "NoSuchBucket":
        return f"{where}: the bucket does not exist ({text})"
    if isinstance(err, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"{where}: access denied ({text}); check the credentials and the bucket's permissions"
    if "EndpointConnectionError" in name or "Could not connect" in text or "Cannot connect" in text:
        return f"{where}: cannot reach the object store ({text}); check AWS_ENDPOINT_URL and the network"
    return f"{where}: {name}: {text}"


@contextlib.contextmanager
def storage_errors(where: str, writing: bool = False) -> Iterator[None]:
    """Turn a remote store's failures into one-line :class:`StorageError`.

    FileNotFoundError passes through when reading (callers handle a missing file); when writing it
    means the bucket is missing.
    """
    try:
        yield
    except DatacraftError:
        raise
    except FileNotFoundError as e:
        if not writing:
            raise
        raise StorageError(f"{where}: cannot write: the bucket does not exist or is not writable ({e})") from None
    except Exception as e:
        if type(e).__module__.split(".")[0] in ("builtins",) and not isinstance(e, OSError):
            raise
        raise StorageError(_describe(e, where)) from None


__all__ = ["StorageError", "storage_errors"]
