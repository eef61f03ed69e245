"""The evaluation pages in Chromium, on evaluations run for real (the sync queue, built-in
models with random weights): an evaluation's figures with their intervals and its examples
sorted, filtered and marked against their references; a dataset's leaderboard with the paired
test; two models side by side; the form; a running evaluation's progress; the job page's card;
and every page at a phone's width."""

import re

import pytest
from playwright.sync_api import expect

from jobs.evaluations.services import evaluation_auto_create, evaluation_create
from jobs.models import Evaluation
from tests.jobs.evaluations.conftest import qa_rows, upload
from tests.jobs.factories import give_tiny_model, make_job

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long test password 93"
FAST = {"max_new_tokens": 6, "batch_size": 8}
PATTERN = r"^ WORDNUM-\d+:"


@pytest.fixture
def sync_queue(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


@pytest.fixture
def eve(django_user_model):
    return django_user_model.objects.create_user("eve", "eve@example.com", PASSWORD)


@pytest.fixture
def dataset(eve):
    return upload(eve, qa_rows(24), name="Numbers QA")


@pytest.fixture
def pair(sync_queue, eve, dataset):
    """The same dataset evaluated by two built-in models, run at once on the sync queue."""
    made = []
    for model in ("builtin-tiny", "builtin-small"):
        made.append(
            evaluation_create(
                owner=eve, model=model, dataset=dataset, regex=PATTERN, generation=FAST
            )
        )
    for evaluation in made:
        evaluation.refresh_from_db()
        assert evaluation.status == Evaluation.Status.SUCCEEDED, evaluation.error
    return made


def sign_in(page, live_server, violations):
    """Signs eve in; what the browser reports of the Content-Security-Policy goes in
    `violations`."""
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("eve")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def violations():
    return []


@pytest.fixture
def desktop(new_context, live_server, eve, violations):
    page = new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server, violations)
    return page


def scores(page):
    values = page.locator("#example-rows tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.score)"
    )
    return [float(v) for v in values]


def test_the_evaluation_page_shows_each_metric_with_its_interval_and_n(
    desktop, live_server, pair, shots
):
    evaluation = pair[0]
    desktop.goto(f"{live_server.url}/evaluations/{evaluation.pk}/")
    expect(desktop.locator("#evaluation-status")).to_have_text("Succeeded")
    for name in evaluation.metrics:
        row = desktop.locator(f".summary-table tr[data-metric={name}]")
        expect(row.locator(".figure-value")).not_to_have_text("—")
        expect(row.locator(".figure-interval")).to_have_text(re.compile(r"^\S+ to \S+$"))
        expect(row.locator(".figure-n")).to_have_text("24")
    exact = desktop.locator(".summary-table tr[data-metric=exact_match]")
    expect(exact.locator(".figure-value")).to_have_text("0.0%")  # random weights
    expect(desktop.locator("#example-rows tbody tr")).to_have_count(24)
    shots(desktop).take("evaluation-detail")


def test_the_examples_sort_worst_and_best_filter_and_mark_the_difference(
    desktop, live_server, pair
):
    desktop.goto(f"{live_server.url}/evaluations/{pair[0].pk}/")
    desktop.select_option("#ex-metric", "chrf")
    desktop.select_option("#ex-order", "worst")
    desktop.get_by_role("button", name="Apply").click()
    expect(desktop).to_have_url(re.compile(r"order=worst"))
    worst = scores(desktop)
    assert len(worst) == 24 and worst == sorted(worst)
    desktop.select_option("#ex-order", "best")
    desktop.get_by_role("button", name="Apply").click()
    expect(desktop).to_have_url(re.compile(r"order=best"))
    assert scores(desktop) == sorted(worst, reverse=True)

    # The regex metric: an output is right when it starts like a reference.
    counts = {}
    for show in ("right", "wrong"):
        desktop.goto(f"{live_server.url}/evaluations/{pair[0].pk}/?metric=regex&show={show}")
        rows = desktop.locator("#example-rows tbody tr")
        counts[show] = rows.count()
        expect(desktop.locator(f"#example-rows tbody tr:not(.{show})")).to_have_count(0)
    assert counts["right"] + counts["wrong"] == 24

    # Each output beside its reference: what the output lacks is struck in the reference.
    desktop.goto(f"{live_server.url}/evaluations/{pair[0].pk}/")
    first = desktop.locator("#example-rows tbody tr[data-index='0']")
    expect(first.locator("td[data-label=Reference]")).to_have_text(" WORDNUM-0: number 0")
    assert first.locator(".ex-reference del").count() >= 1
    assert desktop.locator("#example-rows .ex-output ins").count() >= 1


def test_the_leaderboard_ranks_both_models_with_the_paired_test(
    desktop, live_server, pair, dataset, shots
):
    desktop.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    desktop.locator("#dataset-leaderboard").click()
    expect(desktop.locator("h1")).to_have_text("Leaderboard: Numbers QA")
    desktop.select_option("#lb-metric", "perplexity")
    desktop.get_by_role("button", name="Show").click()
    rows = desktop.locator("#leaderboard tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.locator(".rank")).to_have_text(["1", "2"])
    ranked = [e.model for e in sorted(pair, key=lambda e: e.summary["perplexity"]["value"])]
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.model)") == ranked
    sentence = rows.first.locator(".versus-text")
    expect(sentence).to_have_text(
        re.compile(
            rf"^{ranked[0]} (beats|trails|is not distinguishable from) {ranked[1]} on "
            r"perplexity.*95% CI -?[\d.]+ to -?[\d.]+"
        )
    )
    expect(rows.nth(1).locator("td[data-label='Against the next']")).to_have_text("—")
    shots(desktop).take("evaluation-leaderboard")


def test_two_models_side_by_side_win_tie_or_loss(desktop, live_server, pair, shots):
    a, b = pair
    desktop.goto(f"{live_server.url}/evaluations/compare/?a={a.pk}&b={b.pk}&metric=chrf")
    expect(desktop.locator("#verdict")).to_contain_text(f"{a.model}")
    expect(desktop.locator("#verdict")).to_contain_text("95% CI")
    counts = {k: int(desktop.locator(f"#count-{k}").inner_text()) for k in ("win", "tie", "loss")}
    assert sum(counts.values()) == 24
    outcomes = desktop.locator("#pair-rows tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.outcome)"
    )
    assert {o: outcomes.count(o) for o in counts} == counts
    shots(desktop).take("evaluation-compare")
    desktop.select_option("#cmp-outcome", "tie")
    desktop.locator("#pairs").get_by_role("button", name="Apply").click()
    expect(desktop.locator("#pair-rows tbody tr[data-outcome=tie]")).to_have_count(counts["tie"])
    expect(desktop.locator("#pair-rows tbody tr:not([data-outcome=tie])")).to_have_count(0)


def test_the_form_starts_an_evaluation_and_shows_a_field_error(
    sync_queue, desktop, live_server, dataset, shots
):
    desktop.goto(f"{live_server.url}/datasets/{dataset.pk}/")
    desktop.locator("#evaluate-on-dataset").click()
    expect(desktop.get_by_label("Evaluation dataset")).to_have_value(str(dataset.pk))
    desktop.get_by_label("Model", exact=True).select_option("builtin-tiny")
    desktop.get_by_label("Pattern (regex metric)").fill("(unclosed")
    desktop.get_by_label("Examples", exact=True).fill("8")
    desktop.get_by_label("Max new tokens").fill("6")
    desktop.get_by_label("Batch size").fill("8")
    desktop.get_by_role("button", name="Start the evaluation").click()
    expect(desktop.locator(".field.has-error")).to_contain_text("regex")
    shots(desktop).take("evaluation-new")
    assert not Evaluation.objects.exists()

    desktop.get_by_label("Pattern (regex metric)").fill(PATTERN)
    desktop.get_by_role("button", name="Start the evaluation").click()
    expect(desktop.locator("#evaluation-status")).to_have_text("Succeeded")
    evaluation = Evaluation.objects.get()
    assert evaluation.examples_total == 8 and "regex" in evaluation.metrics
    assert evaluation.generation["max_new_tokens"] == 6
    expect(desktop.locator("#example-rows tbody tr")).to_have_count(8)
    desktop.goto(f"{live_server.url}/evaluations/")
    row = desktop.locator("#evaluation-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label=Result]")).to_have_text("Exact match 0.0%")
    shots(desktop).take("evaluation-list")


def test_a_running_evaluation_shows_its_progress_eta_and_log_live(
    desktop, live_server, eve, dataset, shots, violations
):
    """No worker: the test claims the evaluation and writes its progress as a worker would."""
    evaluation = evaluation_create(owner=eve, model="builtin-tiny", dataset=dataset)
    desktop.goto(f"{live_server.url}/evaluations/{evaluation.pk}/")
    expect(desktop.locator("#evaluation-status")).to_have_text("Queued")
    expect(desktop.locator("#fig-examples")).to_have_text("0 / 24")
    expect(desktop.locator("#evaluation-log")).to_contain_text("Queued")

    claimed = Evaluation.objects.claim_next(evaluation.pool, "w1")
    assert claimed.pk == evaluation.pk
    claimed.record_progress("w1", examples_done=12, eta_seconds=75)
    claimed.log("Generated 12 of 24 outputs")
    expect(desktop.locator("#evaluation-status")).to_have_text("Running")
    expect(desktop.locator("#fig-examples")).to_have_text("12 / 24")
    expect(desktop.locator("#fig-eta")).to_have_text("1 min 15 s")
    expect(desktop.locator("#evaluation-log")).to_contain_text("Generated 12 of 24")
    shots(desktop).take("evaluation-running")

    desktop.get_by_role("button", name="Cancel").click()
    desktop.locator("#confirm-yes").click()
    expect(desktop.locator(".message")).to_contain_text("Cancelling")
    claimed.cancelled_by_worker("w1", "Cancelled after 12 examples")
    expect(desktop.locator("#evaluation-status")).to_have_text("Cancelled")

    desktop.get_by_role("button", name="Delete").click()
    desktop.locator("#confirm-yes").click()
    expect(desktop.locator(".message")).to_contain_text(f"Deleted evaluation #{evaluation.pk}")
    assert not Evaluation.objects.exists()
    assert violations == []


def test_the_job_page_shows_the_automatic_evaluation_and_links_its_pages(
    sync_queue, desktop, live_server, eve, dataset, shots
):
    job = make_job(eve, validation_dataset=dataset, name="Numbers job")
    job.samples = [{"prompt": "Question 3: name the number.", "output": ""}]
    job.save(update_fields=["samples"])
    give_tiny_model(job)
    tuned, base = evaluation_auto_create(job=job)
    desktop.goto(f"{live_server.url}/jobs/{job.pk}/")
    card = desktop.locator("#job-evaluation")
    expect(card.locator("#evaluation-headline")).to_contain_text("exact match 0% → 0%")
    expect(card.locator("#evaluation-headline")).to_contain_text("24 validation examples")
    expect(card.locator("#evaluate-model")).to_have_attribute(
        "href", f"/evaluations/new/?model=job-{job.pk}"
    )
    grid = desktop.locator("#checkpoint-samples")
    expect(grid).to_contain_text("Question 3: name the number.")
    expect(grid.locator("thead")).to_contain_text("(the exported model)")
    shots(desktop).take("job-evaluation-card")
    desktop.set_viewport_size({"width": 390, "height": 844})
    assert desktop.evaluate("document.documentElement.scrollWidth") <= 390
    desktop.set_viewport_size({"width": 1280, "height": 900})

    card.locator("#evaluation-compare-link").click()
    expect(desktop.locator("#verdict")).to_contain_text(f"job-{job.pk}")
    desktop.go_back()
    card.locator("#base-evaluation-link").click()
    expect(desktop.locator("h1")).to_have_text(base.model_label)
    desktop.go_back()
    card.locator("#tuned-evaluation-link").click()
    expect(desktop.locator("#evaluation-about")).to_contain_text("Numbers QA")
    # The tuned model's examples can be filtered by what changed against the base model.
    expect(desktop.locator("#ex-show option[value=changed]")).to_have_count(1)
    expect(desktop.locator("#compare-with-base")).to_be_visible()
    assert tuned.pk != base.pk


def test_every_evaluation_page_fits_a_phone(new_context, live_server, pair, dataset, violations):
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, live_server, violations)
    a, b = pair
    for path in (
        "/evaluations/",
        "/evaluations/new/",
        f"/evaluations/{a.pk}/",
        f"/evaluations/{a.pk}/?order=worst&metric=chrf",
        f"/evaluations/leaderboard/?dataset={dataset.pk}",
        f"/evaluations/compare/?a={a.pk}&b={b.pk}",
    ):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    assert violations == []


def test_another_users_evaluation_does_not_exist_for_them(client, django_user_model, eve, dataset):
    evaluation = evaluation_create(owner=eve, model="builtin-tiny", dataset=dataset)
    django_user_model.objects.create_user("mal", "mal@example.com", PASSWORD)
    client.login(username="mal", password=PASSWORD)
    pk = evaluation.pk
    for path in (f"/evaluations/{pk}/", f"/evaluations/{pk}/live/"):
        assert client.get(path).status_code == 404, path
    for path in (f"/evaluations/{pk}/cancel/", f"/evaluations/{pk}/delete/"):
        assert client.post(path).status_code == 404, path
    assert client.get(f"/evaluations/compare/?a={pk}&b={pk}").status_code == 404
    assert client.get(f"/evaluations/leaderboard/?dataset={dataset.pk}").status_code == 404
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.QUEUED
