"""The console in a real browser (Debian's chromium, driven by Playwright): log in, create a subscription from
a template, preview it, run it now and see the e-mail arrive with its attachment; a viewer cannot edit; a form
without its CSRF token is refused; the API with a client's token. Screenshots of the main pages are saved
under var/test-artifacts/console/."""

from __future__ import annotations

import io

import openpyxl
import pytest

from tests.integration.browser import launch, screenshot
from tests.integration.console_stack import PASSWORD, start_console, stop_console, wait_for

pytestmark = pytest.mark.integration
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


@pytest.fixture
def console(local_env, smtp_server, tmp_path):
    running = start_console(local_env, smtp_server, tmp_path)
    running.add_user("editor@example.com", "editor")
    running.add_user("viewer@example.com", "viewer")
    smtp_server.messages.clear()
    yield running
    stop_console(running)


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def log_in(browser, console, email: str):
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.set_default_timeout(20_000)
    page.goto(console.url + "/subscriptions")
    assert "/login" in page.url  # not logged in yet: sent to the log-in page
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/subscriptions")
    return page


def test_an_editor_creates_previews_and_runs_a_subscription_and_the_mail_arrives(browser, console, smtp_server):
    page = log_in(browser, console, "editor@example.com")
    screenshot(page, "1-subscriptions")
    assert page.locator("#subscriptions tbody tr").count() == 3  # exports.yml's, read-only

    # A new subscription from a template: choosing the template reloads the form with its parameters.
    page.click("text=New subscription")
    page.select_option("#template", "weekly_client_engagement")
    page.wait_for_url("**/subscriptions/new?template=weekly_client_engagement")
    page.fill("#name", "acme_weekly_browser")
    page.fill("#description", "Acme weekly engagement")
    page.select_option("#param_client_id", "acme")
    page.select_option("#format", "xlsx")
    page.fill("#schedule", "weekly on monday")
    page.fill("#recipients", "not-an-address")
    page.click("#subscription-form button[type=submit]")
    assert "is not an e-mail address" in page.inner_text("#error-recipients")  # said beside the field
    page.fill("#recipients", "cs-browser@example.com")
    screenshot(page, "2-new-subscription")
    page.click("#subscription-form button[type=submit]")
    page.wait_for_url("**/subscriptions/acme_weekly_browser")
    assert "Subscription acme_weekly_browser created" in page.inner_text("main")

    # Preview the template: a table in the page, sortable, and a download of the whole result.
    page.goto(console.url + "/preview?template=weekly_client_engagement")
    page.select_option("#param_client_id", "acme")
    page.fill("#start", "2026-11-23")
    page.fill("#end", "2026-11-30")
    page.click("#preview-form button[type=submit]")
    table = page.locator("#preview")
    assert table.locator("thead th").all_inner_texts()[:3] == ["Language", "Device", "Conversations"]
    assert table.locator("tbody tr").first.locator("td").all_inner_texts()[2:5] == ["1,234", "617", "50.0%"]
    table.locator("thead th").nth(2).click()  # Conversations, ascending: the 3-conversation row first
    assert table.locator("tbody tr").first.locator("td").nth(2).inner_text() == "3"
    screenshot(page, "3-preview")
    with page.expect_download() as download:
        page.click("text=Download XLSX")
    assert download.value.suggested_filename == "weekly_client_engagement_2026-11-23_2026-11-29.xlsx"
    with open(download.value.path(), "rb") as handle:
        sheet = openpyxl.load_workbook(io.BytesIO(handle.read())).active
    assert sheet["A1"].value.startswith("Engagement by language & device · Client: acme")

    # Run now: the same export tasks deliver the interval, and the e-mail arrives with its attachment.
    page.goto(console.url + "/subscriptions/acme_weekly_browser")
    page.fill("#run-date", "2026-11-30")
    page.click("text=Run now")
    assert "queued" in page.inner_text("main")
    wait_for(lambda: any(m["To"] == "cs-browser@example.com" for m in smtp_server.messages), what="the e-mail")
    (message,) = [m for m in smtp_server.messages if m["To"] == "cs-browser@example.com"]
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "acme_weekly_browser_2026-11-23_2026-11-29.xlsx"
    delivered = openpyxl.load_workbook(io.BytesIO(attachment.get_payload(decode=True))).active
    assert delivered["C3"].value == 1234 and delivered.title == "Engagement by language & device"

    def delivered_shown() -> bool:
        page.reload()
        return page.locator("#runs .status", has_text="done").count() == 1
    wait_for(delivered_shown, what="the run to show as done")
    assert "sent" in page.locator("#deliveries tbody tr").first.inner_text()
    screenshot(page, "4-subscription")
    page.goto(console.url + "/audit")
    assert page.locator("#audit tbody tr", has_text="subscription created").count() == 1
    screenshot(page, "5-audit-log")


def test_a_viewer_cannot_edit_and_a_form_without_its_csrf_token_is_refused(browser, console):
    viewer = log_in(browser, console, "viewer@example.com")
    viewer.goto(console.url + "/subscriptions/acme_daily_conversations")
    assert viewer.locator("text=Run now").count() == 0 and viewer.locator("text=Edit").count() == 0
    response = viewer.goto(console.url + "/subscriptions/new")
    assert response.status == 403

    editor = log_in(browser, console, "editor@example.com")
    editor.goto(console.url + "/subscriptions/acme_daily_conversations")
    editor.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach((e) => e.remove())")
    with editor.expect_navigation():
        editor.click("text=Run now")
    assert "CSRF token is missing" in editor.content()


def test_the_api_in_the_browser_returns_the_tokens_client_only(browser, console):
    token = console.add_token("acme", "browser")
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"})
    rows = context.request.get(console.url + "/api/v1/reports/daily_client_conversations"
                                             "?start=2026-11-29&end=2026-11-30").json()
    assert len(rows) == 40
    other = context.request.get(console.url + "/api/v1/reports/daily_client_conversations"
                                              "?start=2026-11-29&end=2026-11-30&client_id=globex")
    assert other.status == 403 and other.json()["parameter"] == "client_id"
    context.close()
