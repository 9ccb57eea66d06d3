from __future__ import annotations

import pytest

from tests.staff.builders import build_atelier


@pytest.fixture(autouse=True)
def private_uploads(app, tmp_path):
    """Uploads of this test go to its own folder, not the checkout's instance/."""
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")


@pytest.fixture
def atelier(app):
    with app.app_context():
        return build_atelier()
