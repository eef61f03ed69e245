"""The training engine. engine.py and data.py run without Django (so benchmarks can measure the
loop on its own); run.py is the Django side that feeds a job into it."""
