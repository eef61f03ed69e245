"""Security headers: a strict CSP on every page (a relaxed style rule only on the API docs),
a Permissions-Policy, and private, no-store caching for anything a signed-in user receives."""

import pytest

from tests.jobs.factories import give_tiny_model, make_job

pytestmark = pytest.mark.django_db


def directives(response):
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


@pytest.mark.parametrize("url", ["/accounts/login/", "/accounts/signup/", "/healthz"])
def test_public_pages_carry_a_strict_policy(client, url):
    response = client.get(url)
    csp = directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "camera=()" in response["Permissions-Policy"]


def test_signed_in_pages_are_strict_and_never_stored(client, owner):
    client.force_login(owner)
    for url in ["/", "/datasets/", "/accounts/profile/", "/jobs/new/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "unsafe" not in response["Content-Security-Policy"], url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


def test_api_answers_and_downloads_to_a_token_are_never_stored(owner, owner_api):
    job = make_job(owner)
    give_tiny_model(job)
    for url in ["/api/v1/jobs/", f"/api/v1/jobs/{job.pk}/", f"/api/v1/jobs/{job.pk}/model/"]:
        response = owner_api.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url


def test_the_api_docs_page_loads_its_script_from_a_file_and_only_relaxes_styles(client, owner):
    client.force_login(owner)
    page = client.get("/api/v1/docs/")
    html = page.content.decode()
    csp = directives(page)
    assert csp["script-src"] == "'self'"
    assert "'unsafe-inline'" in csp["style-src"]
    assert "<script>" not in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_no_template_uses_inline_script_or_event_handler_attributes():
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert not re.search(r"\sstyle\s*=", text), path
