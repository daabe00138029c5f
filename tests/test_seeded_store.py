"""The benchmarks' seeded store: rows as large as a real page's when asked."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from service_seed import seed

from service.settings import Settings
from service.store import connect


def _lengths(data: Path) -> set[tuple[int, int, int]]:
    engine = connect(Settings(data_dir=data).store_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT length(t.raw), length(t.clean_text), length(a.title)"
                " FROM articles a JOIN article_texts t ON t.member = a.member"
            )
        )
        found = [tuple(row) for row in rows]
        assert len(found) == conn.scalar(text("SELECT count(*) FROM articles")) >= 40
    engine.dispose()
    return set(found)  # type: ignore[arg-type]


def test_seeded_pages_carry_the_asked_bytes_of_text(tmp_path: Path) -> None:
    seed(Settings(data_dir=tmp_path / "big"), 40, page_bytes=3000)
    assert {(raw, clean) for raw, clean, _ in _lengths(tmp_path / "big")} == {(3000, 3000)}
    seed(Settings(data_dir=tmp_path / "small"), 40)
    assert all(raw == clean == title for raw, clean, title in _lengths(tmp_path / "small"))
