"""Stopping cleanly: real processes, real signals. A qcluster whose whole process group gets
SIGTERM (systemd's way) or SIGINT (a terminal's Ctrl-C) stops within 10 s with nothing left
behind; Ctrl-C on scripts/run.sh stops web and worker within 5 s without gunicorn's "SIGKILL"."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent


def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"not within {seconds} s: {what}")


def cluster_log(tmp_path):
    return (tmp_path / "qcluster-0.log").read_text(errors="replace")


def process_tree(pid):
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def still_there(processes):
    """Processes of the tree that still exist, zombies included."""
    left = []
    for process in processes:
        try:
            left.append(f"{process.pid} {process.status()}")
        except psutil.NoSuchProcess:
            pass
    return left


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_an_idle_clusters_whole_group_stops_it_within_10_s(qcluster, tmp_path, signum):
    cluster = qcluster()
    wait_for(lambda: "running." in cluster_log(tmp_path), 90, "the cluster starts")
    tree = process_tree(cluster.pid)
    assert len(tree) >= 4  # main, sentinel, pusher, monitor, worker(s)
    os.killpg(cluster.pid, signum)
    started = time.monotonic()
    cluster.wait(timeout=10)
    assert time.monotonic() - started < 10
    assert cluster.returncode == 0
    wait_for(lambda: not still_there(tree[1:]), 2, "every process of the tree ends")
    log = cluster_log(tmp_path)
    assert "has stopped" in log
    for trouble in ["Traceback", "reincarnated", "KeyboardInterrupt"]:
        assert trouble not in log


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(port):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def test_ctrl_c_on_run_sh_stops_web_and_worker_within_5_s(qcluster, tmp_path):
    # The qcluster fixture has checked the database can be shared; run.sh starts its own.
    from django.db import connection

    db = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "ADDRESS": f"127.0.0.1:{port}",
        "SKIP_SETUP": "1",
        "Q_POLL_S": "0.2",
    }
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # run.sh plays the terminal's foreground group
        )
        tree = []
        try:
            wait_for(lambda: healthy(port), 120, "the web server answers")
            wait_for(lambda: "running." in log_path.read_text(), 60, "the worker starts")
            tree = process_tree(run.pid)
            os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            started = time.monotonic()
            run.wait(timeout=10)
            assert time.monotonic() - started < 5
        finally:
            if run.poll() is None:
                # Shown with the failure: how far run.sh's stop() got (once seen, unexplained).
                print(log_path.read_text()[-6000:])
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
                for process in tree[1:]:  # each in a session of its own: not in run.sh's group
                    with contextlib.suppress(psutil.NoSuchProcess):
                        process.kill()
    wait_for(lambda: not still_there(tree[1:]), 2, "every process of the tree ends")
    output = log_path.read_text()
    assert "SIGKILL" not in output and "out of memory" not in output
    assert "has stopped" in output  # the worker stopped in order, not killed
