"""The console in a real browser (Debian's chromium, driven by Playwright): log in, create a subscription from
a template, preview it, run it now and see the e-mail arrive with its attachment; a viewer cannot edit; a form
without its CSRF token is refused; the API with a client's token. Screenshots of the main pages are saved
under var/test-artifacts/console/."""

from __future__ import annotations

import io
import socket

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
    page.fill("#to", "2026-11-29")
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
    page.click("button:has-text('Run now')")
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
        editor.click("button:has-text('Run now')")
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


# Dates and periods that wrap onto a second line (each cell's text taller than one line).
WRAPPED = """() => Array.from(document.querySelectorAll('td.when, td.period, td.datetime, td.date')).filter((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  return range.getBoundingClientRect().height > parseFloat(getComputedStyle(td).lineHeight) * 1.5;
}).map((td) => td.textContent.trim())"""


def test_failures_read_as_sentences_the_audit_shows_changes_and_no_date_wraps_at_1280_or_800_px(
        browser, local_env, smtp_server, tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # the mail server is down: nothing listens on this port
    console = start_console(local_env, smtp_server, tmp_path, exports={"require_complete_data": "true"},
                            mail_server={"host": "127.0.0.1", "port": str(closed.getsockname()[1])},
                            retry={"attempts": "1"})
    try:
        console.add_user("editor@example.com", "editor")
        page = log_in(browser, console, "editor@example.com")
        page.goto(console.url + "/subscriptions/acme_daily_conversations")
        assert "is not complete yet" in page.inner_text("#not-ready")  # flagged before the click

        def run_now(date: str) -> str:
            page.fill("#run-date", date)
            page.click("button:has-text('Run now')")
            assert "queued" in page.inner_text("main")

            def ended() -> bool:
                page.reload()
                return page.locator("#runs tbody tr").first.locator(".status", has_text="failed").count() == 1
            wait_for(ended, what="the run to fail")
            return page.locator("#runs tbody tr").first.locator(".outcome").inner_text()

        missing = run_now("2026-11-30")
        assert missing.startswith("acme_daily_conversations: the data for 2026-11-29 is not complete yet")
        assert "pipeline sync" in missing and "luigi" not in missing.lower()
        with local_env.warehouse() as connection:
            for region in local_env.mongo_uris:
                connection.execute("insert into analytics.transform_audit (region, window_start, window_end, "
                                   "keys_touched, declared, transformed_at) values (%s, '2026-11-29', '2026-11-30', "
                                   "0, '', now())", (region,))
        unsent = run_now("2026-11-30")
        assert "was not sent: the mail server 127.0.0.1:" in unsent and "refused the connection" in unsent
        failed = page.locator("#failed-deliveries tbody tr").first.inner_text()
        assert "2026-11-29" in failed and "refused the connection" in failed and "Run now for 2026-11-30" in failed
        screenshot(page, "6-failed-delivery")

        page.goto(console.url + "/subscriptions/new?template=daily_client_conversations")
        page.fill("#name", "acme_audit_browser")
        page.fill("#description", "Before")
        page.select_option("#param_client_id", "acme")
        page.fill("#recipients", "cs@example.com")
        page.click("#subscription-form button[type=submit]")
        page.wait_for_url("**/subscriptions/acme_audit_browser")
        page.click("a.button:has-text('Edit')")
        page.wait_for_url("**/subscriptions/acme_audit_browser/edit**")
        page.fill("#description", "After")
        page.click("#subscription-form button[type=submit]")
        page.wait_for_url("**/subscriptions/acme_audit_browser")
        page.goto(console.url + "/audit")
        change = page.locator("#audit tbody tr", has_text="subscription changed").first
        assert change.locator("del").inner_text() == "Before" and change.locator("ins").inner_text() == "After"

        for width in (1280, 800):
            page.set_viewport_size({"width": width, "height": 900})
            for path, name in (("/subscriptions", "subscriptions"), ("/subscriptions/acme_daily_conversations",
                                                                      "subscription-failed-delivery"),
                               ("/audit", "audit"), ("/preview?template=daily_client_conversations&start=2026-11-29"
                                                     "&to=2026-11-29&param_client_id=acme&run=1", "preview")):
                page.goto(console.url + path)
                assert page.evaluate(WRAPPED) == [], (width, path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, path)  # no sideways
                screenshot(page, f"{width}-{name}")
    finally:
        closed.close()
        stop_console(console)
