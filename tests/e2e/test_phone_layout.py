"""At a phone's width (390 px) the job pages fit the screen: nothing scrolls the page sideways,
the hyperparameter reasons get room, and a comparison says its table scrolls."""

import pytest
from playwright.sync_api import expect

from tests.jobs.factories import give_tiny_model, make_dataset, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"
REASONS = {
    "learning_rate": "small model with random weights: a higher rate is safe and learns faster",
    "gradient_accumulation_steps": "1: the batch is already large enough for stable gradients",
}


@pytest.fixture
def jobs(django_user_model):
    user = django_user_model.objects.create_user("ivy", "ivy@example.com", PASSWORD)
    dataset = make_dataset(user)
    hp = {"learning_rate": 0.001, "gradient_accumulation_steps": 1}
    first = make_job(
        user,
        dataset,
        name="A rather long job name",
        hyperparameters=hp,
        hyperparameter_reasons=REASONS,
    )
    second = make_job(user, dataset, name="Another long job name", hyperparameters=hp)
    give_tiny_model(first)
    give_tiny_model(second)
    return first, second


@pytest.fixture
def phone(new_context, live_server, jobs):
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    return page


def page_width(page):
    return page.evaluate("document.documentElement.scrollWidth")


def test_job_pages_fit_a_phone_screen(phone, live_server, jobs):
    first, second = jobs
    for path in (
        f"/jobs/{first.pk}/playground/",
        f"/jobs/{first.pk}/",
        f"/jobs/compare/?ids={first.pk}&ids={second.pk}",
    ):
        phone.goto(live_server.url + path)
        assert page_width(phone) <= 390, path


def test_the_hyperparameter_reasons_get_the_width_of_the_card(phone, live_server, jobs):
    phone.goto(f"{live_server.url}/jobs/{jobs[0].pk}/")
    why = phone.locator(".hp-table td[data-label=Why]").first
    expect(why).to_contain_text("a higher rate is safe")
    assert why.bounding_box()["width"] > 250


def test_a_comparison_on_a_phone_says_its_table_scrolls(phone, live_server, jobs):
    first, second = jobs
    phone.goto(f"{live_server.url}/jobs/compare/?ids={first.pk}&ids={second.pk}")
    expect(phone.locator(".scroll-hint").first).to_be_visible()
    phone.set_viewport_size({"width": 1280, "height": 900})
    expect(phone.locator(".scroll-hint").first).to_be_hidden()


def test_the_upload_toggle_does_not_sit_on_the_validation_label(phone, live_server):
    phone.goto(f"{live_server.url}/jobs/new/")
    toggle = phone.locator("details.inline-upload").bounding_box()
    label = phone.get_by_text("Validation dataset (optional)").bounding_box()
    assert label["y"] - (toggle["y"] + toggle["height"]) >= 12
