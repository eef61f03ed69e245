"""How close are the pre-launch estimates to what jobs really take? Small real jobs, one by one.

Usage:  .venv/bin/python bench/estimate_accuracy.py [--model builtin-tiny]
                                                    [--sizes 120,60,240,400,160]

1. A fresh SQLite database and media folder in a temporary directory (nothing of yours is touched).
2. One plain-text dataset per size (that many paragraphs of 10 to 60 words), uploaded through
   jobs.datasets.services.dataset_create, as a user would.
3. For each dataset in turn: launch a job with jobs.training.services.job_launch (everything
   auto-configured: the estimate is the one stored on the job), then run it in a fresh Python
   process with jobs.training.worker.job_run, as a django-q2 worker with recycle=1 does; wait for
   it. The first job has no history, so its estimate is the FLOPs guess; every later one is
   calibrated by the jobs that finished before it.
4. Print estimated against actual loop seconds (Job.actual["seconds"]) and peak memory (the
   worker process's peak RSS) for each job, and whether the calibrated ones are within ±25%,
   both as stored (calibrated by every job before it) and as job #1 alone would calibrate it;
   beside them the whole job's wall time (started to finished: loading, tokenising, export and
   samples included), estimated and measured.
"""

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 0.25
WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which "
    "but have an they you were her she there been one all we their has would when if so no what "
    "river stone light winter garden letter window morning silver harbour lantern meadow"
).split()


def setup_django(workdir):
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["Q_SYNC"] = "0"  # the bench runs each job itself, in a fresh process
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def paragraphs(count, seed):
    rng = random.Random(seed)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 60))) for _ in range(count)]
    return "\n\n".join(line.capitalize() + "." for line in lines) + "\n"


def make_dataset(owner, size):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jobs.datasets.services import dataset_create

    text = paragraphs(size, seed=size)
    upload = SimpleUploadedFile(f"bench-{size}.txt", text.encode())
    return dataset_create(owner=owner, upload=upload, name=f"{size} paragraphs")


def run_in_fresh_process(job_id):
    """The job runs as a worker runs it: a new process, so its peak memory is its own.

    Returns the share of a CPU the process got (its CPU seconds / its wall seconds): on a
    machine shared with other work a job can get half a core, and take twice as long."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import django; django.setup(); "
        "from jobs.training.worker import job_run; print(job_run(job_id=int(sys.argv[2])))"
    )
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(job_id)],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or "succeeded" not in done.stdout:
        sys.stderr.write(done.stdout[-2000:] + done.stderr[-4000:])
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu / wall


def bench_one(owner, size, model_key):
    from jobs.models import Job
    from jobs.training.services import job_launch

    dataset = make_dataset(owner, size)
    job = job_launch(owner=owner, name=f"bench {size}", dataset=dataset, base_model_key=model_key)
    cpu_share = run_in_fresh_process(job.pk)
    job = Job.objects.get(pk=job.pk)
    return job, dataset, cpu_share


def estimate_after_first(job, first):
    """The job's loop-time estimate had `first` been the only finished job: the seconds modelled
    for its planned work times first's measured / modelled ratio (what calibration() does
    with a history of one)."""
    from jobs.planning import estimates
    from jobs.planning.devices import device_profile

    if job.pk == first.pk or not (first.actual or {}).get("seconds"):
        return None
    profile = device_profile(job.estimate["device_kind"])
    modelled = estimates.time_breakdown(
        base_model=job.base_model,
        method=job.method,
        hyperparameters=job.hyperparameters,
        plan=job.estimate["plan"],
        profile=profile,
    )
    return sum(modelled.values()) * estimates.time_ratio(first, profile)


def row(job, dataset, cpu_share, first):
    est, act = job.estimate, job.actual or {}
    seconds, memory = act.get("seconds"), act.get("peak_memory_bytes")
    after_first = estimate_after_first(job, first)
    return {
        "job": f"#{job.pk}",
        "status": job.status,
        "size": f"{dataset.num_examples} ex / {dataset.total_tokens} tok",
        "steps": f"{est.get('total_steps', '?')}/{act.get('total_steps', '?')}",
        "basis": est.get("basis", ""),
        "est_s": est["seconds"],
        "act_s": seconds,
        "err_s": _error(est["seconds"], seconds),
        "first_s": after_first,
        "err_first": _error(after_first, seconds) if after_first else None,
        "est_mb": est["peak_memory_bytes"] / 1e6,
        "act_mb": memory / 1e6 if memory else None,
        "err_mb": _error(est["peak_memory_bytes"], memory),
        "est_wall": est.get("wall_seconds"),
        "job_wall": job.duration_seconds,
        "cpu_share": cpu_share,
    }


def print_details(job):
    """What the estimate was made of, beside what the run recorded."""
    hp, plan, act = job.hyperparameters, job.estimate["plan"], job.actual or {}
    shape = ("precision", "batch_size", "max_seq_length", "epochs", "eval_steps", "save_steps")
    print("    " + ", ".join(f"{name} {hp.get(name)}" for name in shape))
    print("    plan: " + ", ".join(f"{k} {v}" for k, v in plan.items()))
    print("    modelled s: " + ", ".join(f"{k} {v}" for k, v in job.estimate["breakdown"].items()))
    print(
        f"    actual: {act.get('seconds')} s, {act.get('tokens_seen')} tokens, "
        f"{act.get('tokens_per_second')} tokens/s"
    )


def _error(estimate, actual):
    return (estimate - actual) / actual if actual else None


def print_table(rows):
    head = (
        f"{'job':>5} {'size':>20} {'steps est/act':>14} {'est s':>8} {'actual s':>9} {'error':>7} "
        f"{'by #1 only':>10} {'error':>7} "
        f"{'est MB':>8} {'actual MB':>10} {'error':>7} {'est wall s':>10} {'job wall s':>10} "
        f"{'CPU got':>7}  basis"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['job']:>5} {r['size']:>20} {r['steps']:>14} {r['est_s']:>8.1f} "
            f"{_num(r['act_s'], 9, 1)} {_pct(r['err_s'])} "
            f"{_num(r['first_s'], 10, 1)} {_pct(r['err_first'])} {r['est_mb']:>8.0f} "
            f"{_num(r['act_mb'], 10, 0)} {_pct(r['err_mb'])} "
            f"{_num(r['est_wall'], 10, 1)} {_num(r['job_wall'], 10, 1)} "
            f"{r['cpu_share']:>7.2f}  {r['basis']}"
        )


def _num(value, width, digits):
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'—':>{width}}"


def _pct(value):
    return f"{100 * value:>+6.0f}%" if value is not None else f"{'—':>7}"


def verdict(rows):
    ok = True
    for key, what in (
        ("err_s", "Calibrated time estimates (each by the jobs before it)"),
        ("err_first", "Time estimates calibrated by job #1 alone"),
    ):
        errors = [abs(r[key]) for r in rows[1:] if r[key] is not None]
        if not errors:
            print(f"\n{what}: no calibrated job finished, nothing to judge.")
            ok = False
            continue
        within = max(errors) <= TOLERANCE
        ok = ok and within
        print(
            f"\n{what}: worst error {100 * max(errors):.0f}%, "
            f"median {100 * statistics.median(errors):.0f}% "
            f"({'within' if within else 'NOT within'} ±{100 * TOLERANCE:.0f}%)",
            end="",
        )
    print()
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="builtin-tiny", help="catalog key of the base model")
    parser.add_argument(
        "--sizes", default="120,60,240,400,160", help="paragraphs per dataset, in order"
    )
    parser.add_argument(
        "--details", action="store_true", help="also each job's shape, plan and modelled parts"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="estimate-bench-"))
    setup_django(workdir)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("bench", password="bench-password-123")
    print(
        f"Estimate accuracy: model {args.model}, "
        f"worker kind {os.environ.get('WORKER_KIND', 'cpu')}, data in {workdir}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    rows, first = [], None
    for size in (int(s) for s in args.sizes.split(",")):
        job, dataset, cpu_share = bench_one(owner, size, args.model)
        first = first or job
        rows.append(row(job, dataset, cpu_share, first))
        print(f"  job {rows[-1]['job']} ({size} paragraphs): {rows[-1]['status']}", flush=True)
        if args.details:
            print_details(job)
    print()
    print_table(rows)
    # Other processes on the machine slow a job down unpredictably: say how busy it was.
    print(
        "\nLoad average at the end (1, 5, 15 min): "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    sys.exit(0 if verdict(rows) else 1)


if __name__ == "__main__":
    main()
