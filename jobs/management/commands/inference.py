"""`manage.py inference`: serve generation from this process, apart from the web server."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jobs.playground.pool import pool_from_settings
from jobs.playground.server import InferenceServer


class Command(BaseCommand):
    help = "Run the inference pool: models kept warm, a bounded queue, per-user limits."

    def add_arguments(self, parser):
        parser.add_argument(
            "--address",
            default=settings.INFERENCE_ADDRESS or "127.0.0.1:8001",
            help="host:port to listen on (default INFERENCE_ADDRESS, else 127.0.0.1:8001)",
        )

    def handle(self, *args, address, **options):
        import torch  # here: the web process never imports it for this

        # Generation shares the machine with the web server: leave it the other cores, and let
        # the scheduler serve pages first when the cores are contended.
        torch.set_num_threads(settings.INFERENCE_THREADS)
        os.nice(10)
        host, _, port = address.rpartition(":")
        try:
            server = InferenceServer((host, int(port)), pool_from_settings())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot listen on {address!r}: {exc}") from exc
        self.stdout.write(f"Inference pool listening on {address}", ending="\n")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
