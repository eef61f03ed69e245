"""A team admin registers a team webhook on the profile page, at a phone's and a desktop's
width: the space is chosen in the form and the list says which team the endpoint is for."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import WIDTHS
from tests.teams_fixtures import make_team

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


@pytest.mark.parametrize("width", WIDTHS.values())
def test_a_team_admin_chooses_the_team_as_a_webhook_s_space(
    width, new_context, live_server, django_user_model, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    admin = django_user_model.objects.create_user("tad", "tad@example.com", PASSWORD)
    make_team(admin, name="Lab")
    page = new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("tad")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.goto(f"{live_server.url}/accounts/profile/#webhooks")
    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/lab")
    page.get_by_label("Space").select_option(label="Team Lab")
    page.get_by_role("button", name="Add webhook").click()

    expect(page.locator("#new-webhook-secret")).to_contain_text("whsec_")
    row = page.locator("#webhooks tbody tr", has_text="http://127.0.0.1:9/lab")
    expect(row.locator('td[data-label="Space"]')).to_have_text("Team Lab")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    row.get_by_role("link", name="Deliveries").click()
    expect(page.get_by_text("Team Lab's endpoint")).to_be_visible()
