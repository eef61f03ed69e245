"""The wizard in a real browser: an error from a refused launch stays beside its field after the
page's own estimate runs, until the user edits that field."""

import pytest
from playwright.sync_api import expect

from tests.jobs.factories import make_dataset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"


@pytest.fixture
def page(new_context, live_server, django_user_model):
    user = django_user_model.objects.create_user("wren", "wren@example.com", PASSWORD)
    make_dataset(user)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("wren")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/new/")
    return page


def test_a_launch_error_stays_visible_until_its_field_is_edited(page):
    page.locator("#id_dataset").select_option(index=1)
    page.get_by_role("button", name="Auto-configure").click()
    expect(page.locator("#est-status")).to_contain_text("Every field is filled in")
    # A tiny job costs less than a cent: written as the job page writes it, not 0.0001.
    expect(page.locator("#est-cost")).to_have_text("< 0.01 USD")
    # Too long for the server (the input's maxlength stops typing, not a script or old browser).
    page.locator("#id_name").evaluate("(input) => { input.removeAttribute('maxlength'); }")
    page.locator("#id_name").fill("x" * 201)
    page.get_by_role("button", name="Launch training").click()
    error = page.locator("#error-name")
    expect(error).to_contain_text("at most 200 characters")
    expect(page.locator("#est-status")).to_contain_text("Up to date")  # the estimate has run
    expect(error).to_contain_text("at most 200 characters")
    page.locator("#id_name").fill("Short enough")
    expect(error).to_have_text("")
