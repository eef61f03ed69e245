"""Every URL pattern of the portal, the REST API and the OpenAI-compatible API, asked by each
role, against a table of expected answers.

The roles around one team job (and its dataset and team): its owner (a member of the team), the
team's admin, a member, a viewer, a user the job is shared with read-only, an outsider and an
anonymous visitor. An outsider always gets 404 (and no answer of theirs names the team's
things), a viewer or a share gets 403 on changes, anonymous visitors are sent to sign in (401 in
the APIs). The test fails when a URL pattern has no row: a new endpoint must say who may use it.

A team's webhook (registered by the team's admin, with one delivery) is admin business: only
the team's admins see, list, read the deliveries of, redeliver and delete it. For its owner, a
member or a viewer it answers 404, not 403: they cannot list the team's endpoints, so the ids of
the endpoints (whose URLs and delivery logs name the team's receivers) must not be confirmed to
them either, exactly as for an outsider. Registering one for the team is different: the team is
one they know, so a member or viewer gets a 403 saying only admins may, while a user outside the
team names an unknown team (a 404 naming the field, as for datasets and jobs).

Each request runs in a transaction that is rolled back, so every role meets the same world.
"""

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver

from accounts.models import ApiToken, TeamInvitation
from jobs.models import Evaluation, Job, Webhook, WebhookDelivery
from jobs.models.share import JobShare, ShareInvitation
from jobs.openai_api.shaping import model_name
from tests.jobs.factories import add_history, give_tiny_model, make_dataset, make_job
from tests.role_table import OK, ROLES, RULES, SECRET, SKIPPED, TABLE
from tests.teams_fixtures import make_team, make_user

pytestmark = pytest.mark.django_db


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route != "admin/":  # staff only: test_the_admin_site_is_for_staff_only
                yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def test_the_table_has_a_row_for_every_url_pattern():
    routes = set(_routes(get_resolver().url_patterns)) - set(SKIPPED)
    assert sorted(routes - set(TABLE)) == [], "URL patterns without a row in the role table"
    assert sorted(set(TABLE) - routes) == [], "rows for URL patterns that no longer exist"


@pytest.fixture
def world(owner, other_user, django_user_model, settings):
    """ada owns the team's dataset and jobs (as a member); tad is the admin, meg a member, vic a
    viewer; sam has the jobs shared with him; bob is outside; zed is the member admins act on;
    tad registered the team's webhook, which has one delivery of the team's job."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    users = {"owner": owner, "outsider": other_user}
    for role, name in [("admin", "tad"), ("member", "meg"), ("viewer", "vic"), ("shared", "sam")]:
        users[role] = make_user(django_user_model, name)
    zed = make_user(django_user_model, "zed")
    team = make_team(
        users["admin"],
        name=f"{SECRET} team",
        member=owner,
        viewer=users["viewer"],
    )
    team.memberships.create(user=users["member"], role="member")
    team.memberships.create(user=zed, role="member")
    dataset = make_dataset(owner, name=f"{SECRET} data")
    dataset.team = team
    dataset.save(update_fields=["team"])
    job = make_job(owner, dataset, team=team, name=f"{SECRET} job", status=Job.Status.RUNNING)
    add_history(job)
    model_job = make_job(owner, dataset, team=team, name=f"{SECRET} model")
    give_tiny_model(model_job)
    for shared in (job, model_job):
        JobShare.objects.create(job=shared, user=users["shared"])
    token, _ = ApiToken.issue(user=owner, name="ada's laptop")
    team_invitation = TeamInvitation.objects.create(team=team, email="ivy@example.com")
    share_invitation = ShareInvitation.objects.create(job=job, email="ivy@example.com")
    hook = Webhook.objects.create(
        owner=users["admin"], team=team, url="http://127.0.0.1:9/lab", events=["job.failed"]
    )
    evaluation = Evaluation.objects.create(
        owner=owner,
        team=team,
        model="builtin-tiny",
        dataset=dataset,
        metrics=["exact_match"],
        status=Evaluation.Status.RUNNING,
    )
    delivery = WebhookDelivery.objects.create(
        webhook=hook,
        event_id="msg_1",
        event_type="job.failed",
        payload={"id": "msg_1", "type": "job.failed", "data": {"name": job.name}},
        state=WebhookDelivery.State.FAILED,
        attempts=1,
    )
    ids = {
        "T": team.pk,
        "D": dataset.pk,
        "J": job.pk,
        "M": model_job.pk,
        "MODEL": model_name(model_job),
        "zed": zed.pk,
        "sam": users["shared"].pk,
        "token": token.pk,
        "W": hook.pk,
        "WD": delivery.pk,
        "E": evaluation.pk,
        "TI": team_invitation.pk,
        "SI": share_invitation.pk,
    }
    return users, ids


def _clients(users):
    """Per role: a signed-in portal client, a REST client (Token) and an OpenAI one (Bearer)."""
    clients = {}
    for role in ROLES:
        portal, rest, openai = Client(), Client(), Client()
        user = users.get(role)
        if user is not None:
            portal.force_login(user)
            portal.session_key = portal.cookies[settings.SESSION_COOKIE_NAME].value
            _, key = ApiToken.issue(user=user, name="role table")
            rest.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
            openai.defaults["HTTP_AUTHORIZATION"] = f"Bearer {key}"
        clients[role] = {"portal": portal, "rest": rest, "openai": openai}
    return clients


def _url(route, ids, query):
    path = route
    for name, value in [
        ("<int:pk>", "{J}"),
        ("<int:user_id>", "{zed}"),
        ("<int:step>", "999"),
        ("<int:invitation_id>", "{SI}"),
        ("<str:file_id>", "file-{D}"),
        ("<str:job_id>", "ftjob-{J}"),
        ("<path:model_id>", "{MODEL}"),
        ("<uidb64>", "MQ"),
        ("<token>", "set-password"),
    ]:
        path = path.replace(name, value)
    if route.startswith(("accounts/teams/", "api/v1/teams/")):
        path = path.replace("{J}", "{T}").replace("{SI}", "{TI}")
    if route.startswith(("datasets/", "api/v1/datasets/")):
        path = path.replace("{J}", "{D}")
    if route.startswith("accounts/tokens/"):
        path = path.replace("{J}", "{token}")
    if route.startswith(("webhooks/", "api/v1/webhooks/")):
        path = path.replace("{J}", "{WD}" if "deliveries/<" in route else "{W}")
    if route.startswith(("evaluations/", "api/v1/evaluations/")):
        path = path.replace("{J}", "{E}")
    if "shares/<" in route:
        path = path.replace("{zed}", "{sam}")
    return "/" + (path + query).format(**ids)


def _body(body, ids):
    """The body with its placeholders filled: "{D}" alone is the id itself (a number, as JSON
    clients send ids), inside text it is spelled out ("job-{M}"). A file upload's form keeps
    every value as text."""
    if callable(body):
        body = body()
    if body is None:
        return None
    form = any(hasattr(value, "read") for value in body.values())
    filled = {}
    for key, value in body.items():
        if isinstance(value, str) and "{" in value:
            text = value.format(**ids)
            whole_id = value.startswith("{") and value.endswith("}") and text.isdigit()
            value = int(text) if whole_id and not form else text
        filled[key] = value
    return filled


def _ask(client, method, url, body, kind):
    """The response, inside a transaction rolled back afterwards."""

    class Rollback(Exception):
        pass

    kwargs = {}
    if body is not None:
        multipart = any(hasattr(value, "read") for value in body.values())
        kwargs = {"data": body}
        if kind != "portal" and not multipart:
            kwargs["content_type"] = "application/json"
    response = None
    if getattr(client, "session_key", None):  # signing out (or a password change) drops it
        client.cookies[settings.SESSION_COOKIE_NAME] = client.session_key
    try:
        with transaction.atomic():
            response = getattr(client, method)(url, **kwargs)
            raise Rollback
    except Rollback:
        pass
    return response


def _answer(response):
    """ "ok", a status the table names (400, 403, 404), or "login" for a sign-in redirect."""
    status = response.status_code
    if status in (302, 303) and "/accounts/login/" in response.get("Location", ""):
        return "login"
    if status == 404 and b"kept" in response.content:
        return "missing step"
    if status in (401, 403, 404) or status >= 500:
        return status
    if status == 400:
        return 400
    return OK


# Rules whose allowed answer may also be a 400 about the request itself (a wrong password, a
# dataset a viewer may not train on): access was granted, the request was judged.
MAY_BE_400 = {"public", "mine", "team_create", "file_train", "estimate"}


def _fine(got, role, rule, kind, method):
    if rule == "public":
        return got not in (404,) and not (isinstance(got, int) and got >= 500)
    if role == "anonymous":
        return got == "login" if kind == "portal" else got in (401, 403)
    expected = RULES[rule][role]
    if expected == OK and (rule in MAY_BE_400 or method == "delete"):
        return got in (OK, 400)
    return got == expected


def _kind(route):
    if route.startswith("api/"):
        return "rest"
    return "openai" if route.startswith("openai/") else "portal"


def test_every_role_gets_the_expected_answer_on_every_url(world):
    users, ids = world
    clients = _clients(users)
    wrong = []
    for route, rows in TABLE.items():
        kind = _kind(route)
        for method, rule, body, query in rows:
            url = _url(route, ids, query)
            for role in ROLES:
                response = _ask(clients[role][kind], method, url, _body(body, ids), kind)
                got = _answer(response)
                if not _fine(got, role, rule, kind, method):
                    expected = "sign-in" if role == "anonymous" else RULES[rule][role]
                    wrong.append(f"{method.upper()} {url} as {role}: {got}, expected {expected}")
                if role in ("outsider", "anonymous") and not getattr(response, "streaming", False):
                    if SECRET.encode() in response.content:
                        wrong.append(f"{method.upper()} {url} as {role} names the team's things")
    assert wrong == []


def test_what_each_member_lists_includes_the_teams_things(world):
    users, ids = world
    clients = _clients(users)
    for role in ("admin", "member", "viewer"):
        jobs = clients[role]["rest"].get("/api/v1/jobs/").json()
        assert {f"{SECRET} job", f"{SECRET} model"} <= {j["name"] for j in jobs["results"]}
        models = clients[role]["rest"].get("/api/v1/base-models/").json()
        assert f"job-{ids['M']}" in [m["key"] for m in models]
    shared = clients["shared"]["openai"].get("/openai/v1/models").json()
    assert ids["MODEL"] in [m["id"] for m in shared["data"]]


def test_the_admin_site_is_for_staff_only(world):
    users, ids = world
    clients = _clients(users)
    for role in ROLES:
        response = clients[role]["portal"].get(f"/admin/jobs/job/{ids['J']}/change/")
        assert response.status_code == 302, role
        assert response["Location"].startswith("/admin/login/"), role
