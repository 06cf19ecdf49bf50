"""The explorer page in headless Chromium (Debian's package, driven by Playwright), against the real app
served by uvicorn over local_bigquery: segment cards with personas, sizes and the profile chart, customer
search, drill-down to members, and a persona carrying HTML shown as text, never run. One browser session;
the screenshot goes to `.local/screenshots/segments-explorer.png`."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from google.cloud import bigquery

from local_bigquery.server import free_port
from services.segments.api import create_app
from tests.ops.test_ui_browser import CHROMIUM_ARGS, SCREENSHOTS, chromium, sync_playwright  # ruff: ignore[unused-import]
from tests.services.conftest import SEGMENTS, make_service, publish_dataset, snapshots_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

HOSTILE_TITLE = (
    '<img src=x onerror="window.__injected = true">Champions</h2><script>window.__injected = true</script>'
)


@pytest.fixture(scope="module")
def explorer(bq_client):
    """The app on a free loopback port, over two snapshots whose segment 1 persona title carries HTML."""
    published = publish_dataset(bq_client, snapshots_of(400, seed=3))
    bq_client.query_and_wait(
        f"UPDATE `{published.dataset}.segment_personas` SET title = @title WHERE segment_id = 1",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ScalarQueryParameter("title", "STRING", HOSTILE_TITLE)]
        ),
    )
    service = make_service(bq_client, published.dataset)
    assert service.refresh()
    port = free_port()
    config = uvicorn.Config(
        create_app(service, service.settings, background_refresh=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the explorer did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", published, service
    server.should_exit = True
    thread.join(timeout=10)
    bq_client.delete_dataset(published.dataset, delete_contents=True, not_found_ok=True)


def test_explorer_shows_segments_finds_customers_and_drills_into_members(explorer, chromium, sync_playwright):  # ruff: ignore[redefined-while-unused]
    url, published, service = explorer
    latest = published.latest
    store = service.state.store
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "segments-explorer.png"
    screenshot.unlink(missing_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{url}/explorer/")
            cards = page.locator("article.card")
            cards.nth(SEGMENTS - 1).wait_for()
            assert cards.count() == SEGMENTS
            assert not page.locator("#key-form").is_visible(), "a service without a key asked for one"
            for position, segment in enumerate(store.segments.values()):
                card = cards.nth(position)
                text = card.inner_text()
                assert f"Segment {segment['segment_id']}" in text
                assert f"{segment['customers']:,} customers" in text
                assert segment["persona"]["title"] in text
                assert segment["persona"]["next_marketing_steps"][0] in text
                assert card.locator("svg.chart rect").count() == len(segment["profile"])
                share = segment["predicted_value"]["predicted_value_share"]
                assert f"predicted value share: {share:.1%}".replace(".0%", "%") in text
            # The persona's HTML is text on the page: no element made of it, no script run.
            assert HOSTILE_TITLE in cards.first.locator("h2").inner_text()
            assert page.locator("article.card img, article.card script").count() == 0
            assert page.evaluate("window.__injected") is None
            status = page.get_by_role("status")
            assert f"{len(latest.features):,} customers in {SEGMENTS} segments" in status.inner_text()

            customer_id = int(latest.features.customer_id.iloc[10])
            segment_id = int(latest.segments.set_index("customer_id").segment_id[customer_id])
            page.get_by_label("Customer id").fill(str(customer_id))
            page.get_by_role("button", name="Look up").click()
            customer = page.locator("#customer")
            customer.get_by_text(f"Customer {customer_id}: segment {segment_id}").wait_for()
            assert "recency_days" in customer.inner_text()

            page.get_by_label("Customer id").fill("999999999")
            page.get_by_role("button", name="Look up").click()
            page.get_by_text("customer 999999999 is in no segment").wait_for()

            members_of_2 = sorted(latest.segments[latest.segments.segment_id == 2].customer_id)
            cards.nth(1).get_by_role("button", name="Members").click()
            rows = page.locator("#member-table tbody tr")
            rows.nth(24).wait_for()
            assert rows.count() == 25
            page.get_by_role("button", name="More members").click()
            rows.nth(min(50, len(members_of_2)) - 1).wait_for()
            shown = [
                int(text) for text in page.locator("#member-table tbody tr td:first-child").all_inner_texts()
            ]
            assert shown == members_of_2[:50]
            page.locator("#member-table").get_by_role("button", name=str(members_of_2[3])).click()
            customer.get_by_text(f"Customer {members_of_2[3]}: segment 2").wait_for()
            page.screenshot(path=str(screenshot), full_page=True)
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / "segments-explorer-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert screenshot.stat().st_size > 30_000
