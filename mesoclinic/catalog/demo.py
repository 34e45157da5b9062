"""Demo data: the default catalog (every scale; it is small)."""

from __future__ import annotations

from mesoclinic.core.seeding import SeedRun

from .services import load_default_catalog


def seed(run: SeedRun) -> None:
    version = load_default_catalog()
    run.shared["catalog_version"] = version
    counts = {name: len(items) for name, items in version.snapshot.items() if isinstance(items, list)}
    run.say(
        f"Catalog version {version.number}: {counts['protocols']} protocols, {counts['products']} products, "
        f"{counts['contraindication_rules']} contraindication rules."
    )
