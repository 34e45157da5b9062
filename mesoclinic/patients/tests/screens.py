"""Screenshots of intermediate screens in browser tests, saved beside the end-of-test one."""

from __future__ import annotations

import os

from mesoclinic.conftest import ARTIFACTS


def snap(page, request, step: str) -> None:
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}--{step}.png"), full_page=True)
