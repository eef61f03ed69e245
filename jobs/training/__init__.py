"""The training engine and its Django side. engine.py and data.py run without Django (so
benchmarks can measure the loop on its own); run.py feeds a claimed job into the engine,
recording.py writes what the run reports, card.py writes the model card."""
