"""Do sign-up and password reset tell whether an address has an account? The time the client
waits for the answer, for an address with an account and for one without, with mail going to an
SMTP relay that takes --smtp-ms per message (a real relay takes tens to hundreds of
milliseconds). Sign-up mails both kinds of address; a password reset mails only an account's.

Usage:  .venv/bin/python bench/signup_timing.py [--rounds 15] [--smtp-ms 150]

1. Migrate a fresh SQLite database; one account with taken@example.com; throttles off; mail
   through Django's SMTP backend to a relay on 127.0.0.1 that waits --smtp-ms before accepting.
2. Each round posts the sign-up form through the WSGI application as a server does, once with
   the taken address and once with a new one, then the password-reset form for the taken
   address and for an unknown one; "answered" is the time until the response body is in hand,
   "with its mail" adds closing the response, when tunerproject.mail sends.
3. Print the median and the spread (min-max) of each, in milliseconds.
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "violet kettle 19 drums"


def setup_django(workdir, smtp_port):
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tunerproject.settings")
    os.environ.update(
        LOG_LEVEL="ERROR",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        THROTTLE_SIGNUP_USER="off",
        THROTTLE_SIGNUP_IP="off",
        THROTTLE_PASSWORD_RESET_USER="off",
        THROTTLE_PASSWORD_RESET_IP="off",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def slow_relay(delay_s):
    """A minimal SMTP relay on 127.0.0.1 that accepts every message after `delay_s`."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve(conn):
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 bench\r\n")
            in_data = False
            for line in lines:
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        time.sleep(delay_s)
                        conn.sendall(b"250 queued\r\n")
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    in_data = True
                    conn.sendall(b"354 go on\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def accept():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1]


def post_sign_up(application, username, email):
    """(seconds until the body is in hand, seconds until the response is closed)."""
    form = {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return post_form(application, "/accounts/signup/", form)


def post_form(application, path, form):
    from django.test import RequestFactory

    secret = "b" * 32  # the CSRF cookie's secret, sent back as the form's token
    request = RequestFactory().post(
        path, {**form, "csrfmiddlewaretoken": secret}, HTTP_COOKIE=f"csrftoken={secret}"
    )
    statuses = []
    start = time.perf_counter()
    body = application(request.environ, lambda status, headers, *args: statuses.append(status))
    b"".join(body)
    answered = time.perf_counter() - start
    body.close()
    closed = time.perf_counter() - start
    if not statuses[0].startswith("302"):
        raise SystemExit(f"{path} answered {statuses[0]}, not a redirect to the next page")
    return answered, closed


def summary(values):
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):7.1f} ms ({min(ms):.1f}-{max(ms):.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--smtp-ms", type=float, default=150)
    args = parser.parse_args()
    port = slow_relay(args.smtp_ms / 1000)
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp), port)
        from django.contrib.auth.models import User

        from tunerproject.wsgi import application

        User.objects.create_user("taken", "taken@example.com", PASSWORD)
        post_sign_up(application, "warmup", "warmup@example.com")
        reset = "/accounts/password/reset/"
        times = {"sign-up taken": [], "sign-up new": [], "reset account": [], "reset none": []}
        for i in range(args.rounds):
            times["sign-up taken"].append(post_sign_up(application, f"t{i}", "taken@example.com"))
            times["sign-up new"].append(post_sign_up(application, f"n{i}", f"n{i}@example.com"))
            times["reset account"].append(
                post_form(application, reset, {"email": "taken@example.com"})
            )
            times["reset none"].append(post_form(application, reset, {"email": f"z{i}@x.org"}))
    print(f"{args.rounds} rounds, SMTP relay {args.smtp_ms:.0f} ms a message")
    print("form, address    answered (median, min-max)   with its mail")
    for kind, pairs in times.items():
        answered, closed = zip(*pairs, strict=True)
        print(f"{kind:15}  {summary(answered)}      {summary(closed)}")


if __name__ == "__main__":
    main()
