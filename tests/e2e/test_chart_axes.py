"""Chart axes a person can read: a constant learning rate is drawn mid-chart on an axis around
its value (no negative rates, no "-6e-17" for zero), and a falling loss gets round ticks."""

import pytest
from playwright.sync_api import expect

from jobs.models import MetricPoint
from tests.jobs.factories import add_history, make_dataset, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"
Y_TICKS = "#{chart} .axes text[text-anchor=end]:not(.axis-label)"  # x ticks are centred


def _number(text):
    return float(text.replace("−", "-"))


def test_a_constant_learning_rate_and_a_falling_loss_get_readable_axes(
    new_context, live_server, django_user_model, shots
):
    user = django_user_model.objects.create_user("axel", "axel@example.com", PASSWORD)
    job = make_job(user, make_dataset(user))
    add_history(job, steps=8)  # learning rate 1e-3 at every step, train loss 4.5 down to 1.0
    MetricPoint.objects.filter(job=job).exclude(learning_rate=None).update(learning_rate=0.01)
    page = new_context().new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("axel")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator("#lr-chart path.series")).to_be_attached()

    lr_ticks = page.locator(Y_TICKS.format(chart="lr-chart")).all_text_contents()
    assert len(lr_ticks) >= 3, lr_ticks
    assert all(0 < _number(t) < 0.02 for t in lr_ticks), lr_ticks  # around 0.01, none below
    assert not any("e" in t for t in lr_ticks), lr_ticks
    # The flat line is drawn inside the chart, between the top and bottom ticks.
    box = page.locator("#lr-chart svg").bounding_box()
    line = page.locator("#lr-chart path.series").bounding_box()
    assert box["y"] + 0.2 * box["height"] < line["y"] < box["y"] + 0.8 * box["height"]

    loss_ticks = page.locator(Y_TICKS.format(chart="loss-chart")).all_text_contents()
    assert len(loss_ticks) >= 3 and all(_number(t) >= 0 for t in loss_ticks), loss_ticks
    assert "0" in loss_ticks or all(len(t) <= 4 for t in loss_ticks), loss_ticks
    assert not any("e" in t for t in loss_ticks), loss_ticks
    shots(page).take("job-chart-axes")
