"""Production mode refuses the demo keys (issue 9: no secrets in the repository take effect)."""
from __future__ import annotations

import pytest

from hall_queue import create_app
from hall_queue.config import DEMO_DATA_KEY, DEMO_SECRET_KEY, InsecureConfig


def test_production_refuses_demo_keys(tmp_path):
    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "ENV": "production",
            "PUBLIC_BASE_URL": "https://zwfw.example.gov.cn"}
    with pytest.raises(InsecureConfig, match="ONEVISIT_SECRET_KEY"):
        create_app({**base, "SECRET_KEY": DEMO_SECRET_KEY, "DATA_KEY": "d" * 40})
    with pytest.raises(InsecureConfig, match="ONEVISIT_DATA_KEY"):
        create_app({**base, "SECRET_KEY": "s" * 40, "DATA_KEY": DEMO_DATA_KEY})
    with pytest.raises(InsecureConfig):
        create_app({**base, "SECRET_KEY": "short", "DATA_KEY": "d" * 40})
    app = create_app({**base, "SECRET_KEY": "s" * 40, "DATA_KEY": "d" * 40})
    assert app.config["ENV"] == "production"


def test_development_accepts_demo_keys(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": DEMO_SECRET_KEY})
    assert app.config["SECRET_KEY"] == DEMO_SECRET_KEY


@pytest.mark.parametrize("url", ["", "zwfw.example.gov.cn", "ftp://zwfw.example.gov.cn", "https://", "https://x/?a=1"])
def test_production_refuses_to_start_without_a_public_url(tmp_path, url):
    """Issue 13, finding 3: links and QR codes never follow the Host header, so production needs the base."""
    with pytest.raises(InsecureConfig, match="ONEVISIT_PUBLIC_URL"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "ENV": "production", "SECRET_KEY": "s" * 40,
                    "DATA_KEY": "d" * 40, "PUBLIC_BASE_URL": url})
