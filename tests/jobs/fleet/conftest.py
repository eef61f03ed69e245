"""A real S3-API server for the fleet's tests: moto's standalone server (the one installable
here; MinIO or AWS S3 in production), on a port of its own, with a fresh bucket."""

import socket

import pytest

ACCESS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
REGION = "us-east-1"


def _free_port(first=8600, last=8699):
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


@pytest.fixture
def s3_store(settings, tmp_path):
    """Starts the server, makes a bucket and points this process's storage at it. Returns the
    variables a worker process needs to reach the same store."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    bucket = f"tuner-{tmp_path.name.lower().replace('_', '-')[:40]}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **_lower(ACCESS))
    client.create_bucket(Bucket=bucket)
    variables = {
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        **ACCESS,
    }
    for name, value in variables.items():
        setattr(settings, name, value)
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_QUERYSTRING_AUTH = True
    settings.AWS_QUERYSTRING_EXPIRE = 300
    settings.AWS_S3_FILE_OVERWRITE = True
    settings.WORKER_SCRATCH_DIR = tmp_path / "web-scratch"
    # Last: changing STORAGES makes Django build the default storage again, with the above.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    store = type("Store", (), {})()
    store.env, store.client, store.bucket = variables, client, bucket
    store.keys = lambda prefix="": sorted(
        o["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    )
    yield store
    server.stop()


def _lower(access):
    return {name.lower(): value for name, value in access.items()}
