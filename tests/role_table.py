"""The table tests/test_role_table.py checks: for every URL pattern, each method with the rule
that says what each role gets (see that module's docstring)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import PASSWORD
from tests.jobs.factories import LINES

ROLES = ["owner", "admin", "member", "viewer", "shared", "outsider", "anonymous"]
SECRET = "Secret lab"  # in the names of the team, its dataset and its jobs

OK = "ok"  # anything but 401, 403, 404, a 5xx or a redirect to sign in
ALL = dict.fromkeys(ROLES[:-1], OK)
# Who may do what with the team's job, its dataset and the team itself.
RULES = {
    "mine": ALL,  # the user's own lists and pages: only what they may see is in them
    "public": {**ALL, "anonymous": OK},
    "job_see": {**ALL, "outsider": 404},
    "job_change": {**ALL, "viewer": 403, "shared": 403, "outsider": 404},
    "job_manage": {
        **ALL,
        "admin": 403,
        "member": 403,
        "viewer": 403,
        "shared": 403,
        "outsider": 404,
    },
    "dataset_see": {**ALL, "shared": 404, "outsider": 404},
    "dataset_change": {**ALL, "viewer": 403, "shared": 404, "outsider": 404},
    "dataset_manage": {
        **ALL,
        "admin": 403,
        "member": 403,
        "viewer": 403,
        "shared": 404,
        "outsider": 404,
    },
    "team_see": {**ALL, "shared": 404, "outsider": 404},
    "team_admin": {
        **ALL,
        "owner": 403,
        "member": 403,
        "viewer": 403,
        "shared": 404,
        "outsider": 404,
    },
    # a team's webhook and its deliveries: its admins only (see the docstring for the 404s)
    "hook_admin": {**dict.fromkeys(ROLES[:-1], 404), "admin": OK},
    # registering a webhook for the team: members are told only admins may; outside, no team
    "hook_create": {
        **ALL,
        "owner": 403,
        "member": 403,
        "viewer": 403,
        "shared": 404,
        "outsider": 404,
    },
    "own_token": {**dict.fromkeys(ROLES[:-1], 404), "owner": OK},
    # launching or uploading into the team: a viewer is refused, anyone outside names an
    # unknown dataset or team (a 404 naming the field, as for an id that does not exist)
    "team_create": {**ALL, "viewer": 403, "shared": 404, "outsider": 404},
    # a personal fine-tune on the team's file: a viewer may not train on it
    "file_train": {**ALL, "viewer": 400, "shared": 404, "outsider": 404},
    # an estimate on the team's dataset from the team's model
    "estimate": {**ALL, "viewer": 400, "shared": 404, "outsider": 404},
    # a checkpoint step the job does not keep: whoever sees the job is told which steps it
    # keeps (a 404 naming them), an outsider gets the plain 404 of a job that does not exist
    # operators' view of the fleet: staff only, and nobody in the world is staff
    "staff_only": dict.fromkeys(ROLES[:-1], 403),
    "checkpoint_see": {**dict.fromkeys(ROLES[:-1], "missing step"), "outsider": 404},
    # the team's evaluation: its members see it, members and admins change it; a job's share
    # does not reach the team's evaluations
    "evaluation_see": {**ALL, "shared": 404, "outsider": 404},
    "evaluation_change": {**ALL, "viewer": 403, "shared": 404, "outsider": 404},
    # a query naming the team's dataset: anyone outside names an unknown dataset (a 404)
    "dataset_query": {**ALL, "shared": 404, "outsider": 404},
}


def _upload():
    return {"file": SimpleUploadedFile("fox.txt", LINES.encode()), "name": "Up", "team": "{T}"}


def _openai_upload():
    return {
        "file": SimpleUploadedFile("fox.jsonl", b'{"text": "hello"}\n' * 20),
        "purpose": "fine-tune",
    }


# route (as Django writes the pattern) -> [(method, rule, body, query)]
TABLE = {
    "healthz": [("get", "public", None, "")],
    "favicon.ico": [("get", "public", None, "")],
    "accounts/login/": [("get", "public", None, "")],
    "accounts/logout/": [("post", "public", None, "")],
    "accounts/signup/": [("get", "public", None, "")],
    "accounts/signup/done/": [("get", "public", None, "")],
    "accounts/signup/<uidb64>/<token>/": [("get", "public", None, "")],
    "accounts/profile/": [("get", "mine", None, "")],
    "accounts/teams/": [("get", "mine", None, ""), ("post", "mine", {"name": "Mine"}, "")],
    "accounts/teams/<int:pk>/": [("get", "team_see", None, "")],
    "accounts/teams/<int:pk>/rename/": [("post", "team_admin", {"name": "Renamed"}, "")],
    "accounts/teams/<int:pk>/delete/": [("post", "team_admin", None, "")],
    "accounts/teams/<int:pk>/members/": [
        ("post", "team_admin", {"username": "bob", "role": "viewer"}, "")
    ],
    "accounts/teams/<int:pk>/members/<int:user_id>/role/": [
        ("post", "team_admin", {"role": "viewer"}, "")
    ],
    "accounts/teams/<int:pk>/members/<int:user_id>/remove/": [("post", "team_admin", None, "")],
    "accounts/teams/<int:pk>/invitations/<int:invitation_id>/revoke/": [
        ("post", "team_admin", None, "")
    ],
    "accounts/tokens/": [("post", "mine", {"name": "new"}, "")],
    "accounts/tokens/<int:pk>/rename/": [("post", "own_token", {"name": "renamed"}, "")],
    "accounts/tokens/<int:pk>/revoke/": [("post", "own_token", None, "")],
    "accounts/password/change/": [("get", "mine", None, "")],
    "accounts/password/change/done/": [("get", "mine", None, "")],
    "accounts/password/reset/": [("get", "public", None, "")],
    "accounts/password/reset/done/": [("get", "public", None, "")],
    "accounts/reset/<uidb64>/<token>/": [("get", "public", None, "")],
    "accounts/reset/done/": [("get", "public", None, "")],
    "api/v1/auth/token/": [("post", "public", {"username": "ada", "password": PASSWORD}, "")],
    "api/v1/auth/logout/": [("post", "mine", None, "")],
    "api/v1/me/": [("get", "mine", None, "")],
    "api/v1/workers/": [("get", "staff_only", None, "")],
    "api/v1/teams/": [("get", "mine", None, ""), ("post", "mine", {"name": "Mine"}, "")],
    "api/v1/teams/<int:pk>/": [
        ("get", "team_see", None, ""),
        ("patch", "team_admin", {"name": "Renamed"}, ""),
        ("delete", "team_admin", None, ""),
    ],
    "api/v1/teams/<int:pk>/members/": [
        ("get", "team_see", None, ""),
        ("post", "team_admin", {"username": "bob", "role": "viewer"}, ""),
    ],
    "api/v1/teams/<int:pk>/members/<int:user_id>/": [
        ("patch", "team_admin", {"role": "viewer"}, ""),
        ("delete", "team_admin", None, ""),
    ],
    "api/v1/teams/<int:pk>/invitations/": [("get", "team_see", None, "")],
    "api/v1/teams/<int:pk>/invitations/<int:invitation_id>/": [("delete", "team_admin", None, "")],
    "api/v1/datasets/": [("get", "mine", None, ""), ("post", "team_create", _upload, "")],
    "api/v1/datasets/<int:pk>/": [
        ("get", "dataset_see", None, ""),
        ("patch", "dataset_change", {"name": "Renamed"}, ""),
        ("delete", "dataset_change", None, ""),
    ],
    "api/v1/datasets/<int:pk>/preview/": [("get", "dataset_see", None, "")],
    "api/v1/datasets/<int:pk>/download/": [("get", "dataset_see", None, "")],
    "api/v1/base-models/": [("get", "mine", None, "")],
    "evaluations/": [("get", "mine", None, "?dataset={D}")],
    "evaluations/new/": [
        ("get", "mine", None, "?model=job-{M}&dataset={D}"),
        ("post", "mine", {"model": "builtin-tiny", "dataset": "{D}", "team": "{T}"}, ""),
    ],
    "evaluations/leaderboard/": [("get", "dataset_see", None, "?dataset={D}&metric=exact_match")],
    "evaluations/compare/": [("get", "evaluation_see", None, "?a={E}&b={E}")],
    "evaluations/<int:pk>/": [("get", "evaluation_see", None, "")],
    "evaluations/<int:pk>/live/": [("get", "evaluation_see", None, "")],
    "evaluations/<int:pk>/cancel/": [("post", "evaluation_change", None, "")],
    "evaluations/<int:pk>/delete/": [("post", "evaluation_change", None, "")],
    "api/v1/evaluations/": [
        ("get", "mine", None, ""),
        ("post", "team_create", {"model": "builtin-tiny", "dataset": "{D}", "team": "{T}"}, ""),
    ],
    "api/v1/evaluations/leaderboard/": [
        ("get", "dataset_query", None, "?dataset={D}&metric=exact_match")
    ],
    "api/v1/evaluations/<int:pk>/": [
        ("get", "evaluation_see", None, ""),
        ("delete", "evaluation_change", None, ""),
    ],
    "api/v1/evaluations/<int:pk>/cancel/": [("post", "evaluation_change", None, "")],
    "api/v1/evaluations/<int:pk>/examples/": [("get", "evaluation_see", None, "")],
    "api/v1/evaluations/<int:pk>/events/": [("get", "evaluation_see", None, "")],
    "api/v1/jobs/estimate/": [
        ("post", "estimate", {"dataset": "{D}", "base_model": "job-{M}"}, "")
    ],
    "api/v1/jobs/<int:pk>/shares/": [
        ("get", "job_manage", None, ""),
        ("post", "job_manage", {"username": "zed"}, ""),
    ],
    "api/v1/jobs/<int:pk>/shares/<int:user_id>/": [("delete", "job_manage", None, "")],
    "api/v1/jobs/<int:pk>/invitations/": [("get", "job_manage", None, "")],
    "api/v1/jobs/<int:pk>/invitations/<int:invitation_id>/": [("delete", "job_manage", None, "")],
    "api/v1/jobs/": [
        ("get", "mine", None, "?search=secret"),
        (
            "post",
            "team_create",
            {"name": "New", "dataset": "{D}", "base_model": "builtin-tiny", "team": "{T}"},
            "",
        ),
    ],
    "api/v1/jobs/<int:pk>/": [
        ("get", "job_see", None, ""),
        ("patch", "job_change", {"notes": "changed"}, ""),
        ("delete", "job_change", None, ""),
    ],
    "api/v1/jobs/<int:pk>/cancel/": [("post", "job_change", None, "")],
    "api/v1/jobs/<int:pk>/checkpoints/": [("get", "job_see", None, "")],
    "api/v1/jobs/<int:pk>/checkpoints/<int:step>/model/": [("get", "checkpoint_see", None, "")],
    "api/v1/jobs/<int:pk>/events/": [("get", "job_see", None, "")],
    "api/v1/jobs/<int:pk>/generate/": [("post", "job_see", {"prompt": "Hi"}, "")],
    "api/v1/jobs/<int:pk>/metrics/": [("get", "job_see", None, "")],
    "api/v1/jobs/<int:pk>/model/": [("get", "job_see", None, "")],
    "api/v1/schema/": [("get", "public", None, "")],
    "api/v1/docs/": [("get", "public", None, "")],
    "openai/v1/files": [("get", "mine", None, ""), ("post", "mine", _openai_upload, "")],
    "openai/v1/files/<str:file_id>": [
        ("get", "dataset_see", None, ""),
        ("delete", "dataset_change", None, ""),
    ],
    "openai/v1/files/<str:file_id>/content": [("get", "dataset_see", None, "")],
    "openai/v1/fine_tuning/jobs": [
        ("get", "mine", None, ""),
        ("post", "file_train", {"training_file": "file-{D}", "model": "builtin-tiny"}, ""),
    ],
    "openai/v1/fine_tuning/jobs/<str:job_id>": [("get", "job_see", None, "")],
    "openai/v1/fine_tuning/jobs/<str:job_id>/cancel": [("post", "job_change", None, "")],
    "openai/v1/fine_tuning/jobs/<str:job_id>/pause": [("post", "job_change", None, "")],
    "openai/v1/fine_tuning/jobs/<str:job_id>/resume": [("post", "job_change", None, "")],
    "openai/v1/fine_tuning/jobs/<str:job_id>/events": [("get", "job_see", None, "")],
    "openai/v1/fine_tuning/jobs/<str:job_id>/checkpoints": [("get", "job_see", None, "")],
    "openai/v1/models": [("get", "mine", None, "")],
    "openai/v1/models/<path:model_id>": [("get", "job_see", None, "")],
    "openai/v1/openapi.json": [("get", "public", None, "")],
    "openai/v1/completions": [
        ("post", "job_see", {"model": "{MODEL}", "prompt": "Hi", "max_tokens": 2}, "")
    ],
    "openai/v1/chat/completions": [
        (
            "post",
            "job_see",
            {"model": "{MODEL}", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2},
            "",
        )
    ],
    # the dashboard; a visitor who is not signed in gets the landing page
    "": [
        ("get", "public", None, "?q=secret"),
        ("get", "public", None, "?space=team-{T}"),
        ("get", "public", None, "?space=shared"),
    ],
    "jobs/new/": [("get", "mine", None, "?from={J}")],
    "jobs/compare/": [("get", "mine", None, "?ids={J}&ids={M}")],
    "jobs/<int:pk>/": [("get", "job_see", None, "")],
    "jobs/<int:pk>/live/": [("get", "job_see", None, "")],
    "jobs/<int:pk>/edit/": [("post", "job_change", {"name": "Renamed", "notes": ""}, "")],
    "jobs/<int:pk>/cancel/": [("post", "job_change", None, "")],
    "jobs/<int:pk>/pause/": [("post", "job_change", None, "")],
    "jobs/<int:pk>/resume/": [("post", "job_change", None, "")],
    "jobs/<int:pk>/delete/": [("get", "job_change", None, ""), ("post", "job_change", None, "")],
    "jobs/<int:pk>/model/": [("get", "job_see", None, "")],
    "jobs/<int:pk>/checkpoints/<int:step>/model/": [("get", "job_see", None, "")],
    "jobs/<int:pk>/playground/": [("get", "job_see", None, "")],
    "jobs/<int:pk>/move/": [("post", "job_manage", {"team": ""}, "")],
    "jobs/<int:pk>/shares/": [("post", "job_manage", {"username": "zed"}, "")],
    "jobs/<int:pk>/shares/<int:user_id>/revoke/": [("post", "job_manage", None, "")],
    "jobs/<int:pk>/invitations/<int:invitation_id>/revoke/": [("post", "job_manage", None, "")],
    "datasets/": [("get", "mine", None, "")],
    "datasets/sample/": [("post", "mine", None, "")],
    "datasets/<int:pk>/": [("get", "dataset_see", None, "")],
    "datasets/<int:pk>/download/": [("get", "dataset_see", None, "")],
    "datasets/<int:pk>/delete/": [("post", "dataset_change", None, "")],
    "datasets/<int:pk>/move/": [("post", "dataset_manage", {"team": ""}, "")],
}
# Notifications: the menu, email choices, personal and team webhooks.
TABLE |= {
    "notifications/": [("get", "mine", None, "")],
    "notifications/email/": [("post", "mine", {"job_failed": "on"}, "")],
    "api/v1/webhooks/": [
        ("get", "mine", None, ""),
        ("post", "mine", {"url": "http://127.0.0.1:9/own", "events": ["job.failed"]}, ""),
        (
            "post",
            "hook_create",
            {"url": "http://127.0.0.1:9/team", "events": ["job.failed"], "team": "{T}"},
            "",
        ),
    ],
    "api/v1/webhooks/<int:pk>/": [
        ("get", "hook_admin", None, ""),
        ("delete", "hook_admin", None, ""),
    ],
    "api/v1/webhooks/<int:pk>/deliveries/": [("get", "hook_admin", None, "")],
    "api/v1/webhooks/deliveries/<int:pk>/redeliver/": [("post", "hook_admin", None, "")],
    # the portal form offers only the teams one administers: anyone else's choice of the team
    # is the form's "Select a valid choice" on the profile page (test_team_webhooks)
    "webhooks/": [
        (
            "post",
            "mine",
            {"url": "http://127.0.0.1:9/team", "events": "job.failed", "team": "{T}"},
            "",
        )
    ],
    "webhooks/<int:pk>/": [("get", "hook_admin", None, "")],
    "webhooks/<int:pk>/delete/": [("post", "hook_admin", None, "")],
    "webhooks/deliveries/<int:pk>/redeliver/": [("post", "hook_admin", None, "")],
}
# Patterns with no object of a user's behind them, each with why it is not in the table.
SKIPPED = {
    "api/v1/^(?P<unmatched>(?s:.*))$": "the API's JSON 404 for any unknown path",
    "openai/v1/^(?P<unmatched>(?s:.*))$": "the OpenAI surface's 404 for any unknown path",
}
