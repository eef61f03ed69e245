"""Upload and validate a large JSONL file through the real web server; report its peak memory.

Usage:  .venv/bin/python bench/dataset_upload_memory.py [--size-mb 500] [--keep]
        .venv/bin/python bench/dataset_upload_memory.py --single-line-mb 15

With --single-line-mb the file is 20 short records plus one record whose completion is that many
MB on one line; the preview is fetched too, and the memory kept afterwards is printed.

1. Generate a JSONL file of prompt/completion records (default 500 MB) in a temporary folder.
2. Start `manage.py runserver --noreload` (one process: the web process we measure) on a fresh
   SQLite database and media folder, with an API token for a new user.
3. Warm the server with a small upload (so the tokenizer is loaded), note its resident memory.
4. Stream the big file to POST /api/v1/datasets/ (the request body is sent in chunks; nothing
   holds the file in memory on either side) and wait for the validation report.
5. Print the wall time and the server's peak resident set size (VmHWM from /proc).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from server_harness import wait_until_healthy

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "model data train token learn fine tune language text example answer question prompt reply"
).split()


def generate(path, size_bytes):
    rng = random.Random(1234)
    written, count = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < size_bytes:
            prompt = " ".join(rng.choices(WORDS, k=rng.randint(5, 40)))
            completion = " ".join(rng.choices(WORDS, k=rng.randint(10, 120)))
            line = json.dumps({"prompt": prompt, "completion": completion}) + "\n"
            out.write(line)
            written += len(line)
            count += 1
    return count


def generate_single_line(path, size_bytes):
    rng = random.Random(1234)
    with path.open("w", encoding="utf-8") as out:
        for i in range(20):
            out.write(json.dumps({"prompt": f"question {i}", "completion": f"answer {i}"}) + "\n")
        words, written = [], 0
        while written < size_bytes:
            word = rng.choice(WORDS)
            words.append(word)
            written += len(word) + 1
        out.write(json.dumps({"prompt": "long", "completion": " ".join(words)}) + "\n")
    return 21


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kb(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def setup_environment(workdir):
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(workdir / "media"),
            "DEBUG": "1",
            "DATASET_MAX_UPLOAD_MB": "2048",
            "USER_STORAGE_QUOTA_MB": "4096",
            "TMPDIR": str(workdir / "tmp"),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "true",
        }
    )
    (workdir / "tmp").mkdir()
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    make_token = (
        "from django.contrib.auth import get_user_model;"
        "from accounts.models import ApiToken;"
        "u=get_user_model().objects.create_user('bench','b@example.com','bench-password-123');"
        "print(ApiToken.issue(user=u, name='bench')[1])"
    )
    result = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", make_token],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, result.stdout.strip().splitlines()[-1]


def start_server(env, port):
    server = subprocess.Popen(
        [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return wait_until_healthy(server, port, seconds=60)


def get(port, token, url):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    conn.request("GET", urlsplit(url).path, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    return response.status, response.read()


def upload(port, token, path):
    """POST a multipart body streamed from disk in 1 MB chunks."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nbench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    conn.putrequest("POST", "/api/v1/datasets/")
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--single-line-mb", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dataset-bench-"))
    try:
        run(workdir, args.size_mb, args.single_line_mb)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


def run(workdir, size_mb, single_line_mb):
    big = workdir / "big.jsonl"
    started = time.monotonic()
    if single_line_mb:
        size_mb = single_line_mb
        records = generate_single_line(big, single_line_mb * 1024 * 1024)
    else:
        records = generate(big, size_mb * 1024 * 1024)
    print(
        f"generated {big.stat().st_size / 2**20:.0f} MB, {records} records "
        f"in {time.monotonic() - started:.0f} s"
    )
    small = workdir / "small.jsonl"
    small.write_text("".join(json.dumps({"text": f"warm up line {i}"}) + "\n" for i in range(20)))
    env, token = setup_environment(workdir)
    port = free_port()
    server = start_server(env, port)
    try:
        upload(port, token, small)
        baseline = memory_kb(server.pid, "VmRSS")
        started = time.monotonic()
        status, body = upload(port, token, big)
        elapsed = time.monotonic() - started
        preview_status = get(port, token, body["preview_url"])[0] if "preview_url" in body else 0
        peak = memory_kb(server.pid, "VmHWM")
        kept = memory_kb(server.pid, "VmRSS")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"HTTP {status}: status={body.get('status')} examples={body.get('num_examples')} "
        f"tokens={body.get('total_tokens')} errors={body.get('error_count')}"
    )
    print(f"upload + validation: {elapsed:.0f} s ({size_mb / elapsed:.2f} MB/s)")
    print(
        f"web process resident memory: {baseline / 1024:.0f} MB after warm-up, "
        f"peak {peak / 1024:.0f} MB (+{(peak - baseline) / 1024:.0f} MB), "
        f"{kept / 1024:.0f} MB kept afterwards (+{(kept - baseline) / 1024:.0f} MB); "
        f"preview HTTP {preview_status}"
    )


if __name__ == "__main__":
    main()
