from __future__ import annotations

import pytest

from .factories import default_catalog, director


@pytest.fixture
def catalog(db):
    """The default catalog, loaded; returns its current CatalogVersion."""
    return default_catalog()


@pytest.fixture
def medical_director(location):
    return director(location)
