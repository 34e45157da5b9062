"""Chart steps the browser walks share: the same clicks a nurse makes on every session."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect


def chart_up_to_the_injections(page: Page, clock, *, numbing_at: datetime) -> None:
    """Re-screen (every answer "No"), consent and photos (placeholders), numbing at `numbing_at`
    (the countdown runs); the alcohol swab is refused until the wait is over, and the injections stay locked."""
    rescreen = page.locator("#step-rescreen")
    for radio in rescreen.locator("input[type=radio][value=no]").all():
        radio.check()
    rescreen.get_by_role("button", name="Record the re-screen").click()
    page.locator("#step-rescreen .done-badge").wait_for()
    page.get_by_label(re.compile("A signed consent form is on file")).check()
    page.get_by_role("button", name="Confirm consent").click()
    page.locator("#step-consent .done-badge").wait_for()
    page.get_by_label(re.compile("Before-photos were taken")).check()
    page.get_by_role("button", name="Confirm photos").click()
    page.locator("#step-photos .done-badge").wait_for()
    clock.move_to(numbing_at)
    page.get_by_role("textbox", name="Numbing cream").fill("EMLA 5% cream")
    page.get_by_role("button", name="Record numbing").click()
    page.locator("#step-numbing .done-badge").wait_for()
    unlock = numbing_at + timedelta(minutes=30)  # the hair protocol's wait
    assert f"Injections unlock at {unlock:%H:%M}" in page.locator("[data-countdown]").inner_text()
    page.wait_for_function("document.querySelector('[data-remaining]').textContent.includes('left')")
    page.get_by_label("The area was cleaned with an alcohol swab").check()
    page.get_by_role("button", name="Confirm antisepsis").click()  # the catalog's steps: not before the wait is over
    expect(page.locator("#step-antisepsis").get_by_text(f"comes after the numbing wait: not before {unlock:%H:%M}").first).to_be_visible()
    assert not page.get_by_role("button", name="Save this area").is_visible()


def swab_after_the_wait(page: Page) -> None:
    """The alcohol swab, once the numbing wait is over (the clock has been moved on and the page reloaded)."""
    page.get_by_label("The area was cleaned with an alcohol swab").check()
    page.get_by_role("button", name="Confirm antisepsis").click()
    page.locator("#step-antisepsis .done-badge").wait_for()


def record_mild_redness(page: Page) -> None:
    """The immediate reactions: mild redness; then only the sign-off is left (7 of 8)."""
    reactions = page.locator("#step-reactions")
    reactions.get_by_label("Redness", exact=True).check()
    reactions.get_by_label("Redness: severity").select_option("mild")
    reactions.get_by_role("button", name="Save the reactions").click()
    page.locator("#step-reactions .done-badge").wait_for()
    expect(page.get_by_text("7 of 8")).to_be_visible()
