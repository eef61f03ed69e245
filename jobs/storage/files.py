"""Where a job's files live: in MEDIA_ROOT (the embedded default, one machine or a shared
disk), or in an S3-compatible object store through django-storages when
AWS_STORAGE_BUCKET_NAME is set. Then workers share only PostgreSQL and the store: a worker
trains in its own scratch folder (WORKER_SCRATCH_DIR), uploads each checkpoint completely
before its row is written, uploads the final model and its zip, and downloads what it needs
(the newest recorded checkpoint, a parent job's model) into scratch.

A file's key is its path relative to the local root (`jobs/12/checkpoints/step-00000040`), the
same in the store and on disk, so Checkpoint.path and Job.output_dir read the same either way.
No torch here: the web process imports this too.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

COMPLETE = ".complete"  # written last into a folder fetched from the store


def remote():
    """Whether files live in the object store (else in MEDIA_ROOT)."""
    return bool(getattr(settings, "AWS_STORAGE_BUCKET_NAME", ""))


def local_root():
    """This machine's root for job files: MEDIA_ROOT, or its scratch folder with a store."""
    return Path(settings.WORKER_SCRATCH_DIR) if remote() else Path(settings.MEDIA_ROOT)


def key_of(path):
    """The key of a local file or folder under local_root()."""
    return Path(path).resolve().relative_to(local_root().resolve()).as_posix()


def local_path(key):
    return local_root() / key


def publish_folder(path):
    """Upload every file of a local folder (a checkpoint, the final model) under its key;
    returns the key. Without a store the folder already is where everyone reads it."""
    path = Path(path)
    if remote():
        for item in sorted(path.rglob("*")):
            if item.is_file():
                publish_file(item)
    return key_of(path)


def publish_file(path):
    """Upload one local file under its key (streamed by boto3); returns the key."""
    key = key_of(path)
    if remote():
        with Path(path).open("rb") as stream:
            saved = default_storage.save(key, stream)
        if saved != key:
            raise RuntimeError(f"The store saved {key} as {saved}")
    return key


def fetch_folder(key):
    """A local copy of a stored folder (a checkpoint, a model), downloaded once per machine;
    returns its local path. Without a store it is the folder itself."""
    target = local_path(key)
    if not remote() or (target / COMPLETE).exists():
        return target
    partial = target.with_name(f".fetch-{target.name}")
    shutil.rmtree(partial, ignore_errors=True)
    names = _keys_under(key)
    if not names:
        raise FileNotFoundError(f"Nothing is stored under {key}")
    for name in names:
        destination = partial / name[len(key) + 1 :]
        destination.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(name, "rb") as source, destination.open("wb") as out:
            shutil.copyfileobj(source, out, length=8 * 2**20)
    (partial / COMPLETE).touch()
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(target)
    return target


def remove_folder(key):
    """Delete a stored folder (an old checkpoint, a deleted job's files) and any local copy."""
    if remote():
        for name in _keys_under(key):
            default_storage.delete(name)
    shutil.rmtree(local_path(key), ignore_errors=True)


def exists(key):
    return default_storage.exists(key) if remote() else local_path(key).exists()


def folder_exists(key):
    """Whether a folder (a checkpoint, a model) is stored under `key`."""
    if remote():
        prefix = key.rstrip("/") + "/"
        return any(True for _ in default_storage.bucket.objects.filter(Prefix=prefix).limit(1))
    return local_path(key).is_dir()


def size(key):
    """Bytes of one stored file, or 0 when it is not there."""
    if remote():
        return default_storage.size(key) if default_storage.exists(key) else 0
    path = local_path(key)
    return path.stat().st_size if path.is_file() else 0


def download_url(key, filename):
    """A presigned URL for one stored file, valid AWS_QUERYSTRING_EXPIRE seconds, that saves it
    as `filename`: only ever handed to the user the caller checked may read it."""
    disposition = f'attachment; filename="{filename}"'
    return default_storage.url(key, parameters={"ResponseContentDisposition": disposition})


def _keys_under(key):
    prefix = key.rstrip("/") + "/"
    return sorted(obj.key for obj in default_storage.bucket.objects.filter(Prefix=prefix))
