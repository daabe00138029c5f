"""The ``newsdedup`` command as a user runs it (real model, real files)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from samples.make_sample_feed import feed
from service.cli import main
from tests.pages import CAPTION, scraped_page


def _write_feed(path: Path, extra: list[str]) -> None:
    lines = [json.dumps(row) for row in feed()] + extra
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_cluster_writes_one_line_per_article_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "feed.jsonl", tmp_path / "out" / "clusters.jsonl"
    _write_feed(src, ['{"id": "broken"', json.dumps({"id": "chess-1", "text": "replaced"})])
    assert main(["cluster", str(src), "-o", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(feed())
    assert set(rows[0]) == {
        "id",
        "duplicate_group",
        "canonical_id",
        "story",
        "is_duplicate",
        "similarity",
        "flags",
        "evidence",
    }
    report = capsys.readouterr().out
    assert "articles: 10" in report
    assert "largest duplicate groups:" in report
    assert "skipped line 11: field '(line)': malformed JSON" in report
    assert "id 'chess-1' on line 12 repeats line 10: skipped" in report
    chess = next(r for r in rows if r["id"] == "chess-1")
    assert chess["flags"] == [] and not chess["is_duplicate"]  # the first line's article


def test_strict_mode_fails_on_a_bad_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "feed.jsonl"
    _write_feed(src, [json.dumps({"id": "x", "text": "t", "published_at": "soon"})])
    assert main(["cluster", str(src), "--strict", "-o", str(tmp_path / "o.jsonl")]) == 2
    assert "line 11: field 'published_at'" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_single_page_prints_flags_and_clean_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.txt"
    page.write_text(scraped_page(), encoding="utf-8")
    assert main(["cluster", str(page), "--text"]) == 0
    out = capsys.readouterr().out
    assert "[repeated_caption x2 at " in out and CAPTION in out
    clean = out.split("clean text:\n", 1)[1]
    assert "(Image: Coast Agency)" not in clean
    assert main(["cluster", str(page), "--text", "-o", str(tmp_path / "report.txt")]) == 0
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == out


def test_missing_file_and_bad_settings_are_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["cluster", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    monkeypatch.setenv("NEWSDEDUP_STORY_SIMILARITY", "2")
    assert main(["cluster", str(tmp_path / "nope.jsonl")]) == 2
    assert "story_similarity" in capsys.readouterr().err
    monkeypatch.setenv("NEWSDEDUP_STORY_SIMILARITY", "0.6")
    monkeypatch.setenv("NEWSDEDUP_MODEL", str(tmp_path / "no-model"))
    _write_feed(tmp_path / "f.jsonl", [])
    assert main(["cluster", str(tmp_path / "f.jsonl")]) == 2
    assert "NEWSDEDUP_MODEL" in capsys.readouterr().err


def test_reindex_command_runs_once_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSDEDUP_DATA_DIR", str(tmp_path / "data"))
    assert main(["reindex"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["status"] == "done" and report["version"] == 1 and report["index"] == "flat"

    from service.settings import Settings
    from service.store import Store, connect
    from service.store.lock import reindex_lock

    settings = Settings()
    with reindex_lock(settings.data_dir, Store(connect(settings.store_url))):
        assert main(["reindex"]) == 3
    assert "another reindex is running" in capsys.readouterr().err


def test_compact_packs_a_sqlite_store_and_waits_for_no_reindex(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.settings import Settings
    from service.store import Store, connect
    from service.store.lock import reindex_lock
    from service.store.migrate import upgrade

    monkeypatch.setenv("NEWSDEDUP_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    engine = connect(settings.store_url)
    upgrade(engine)
    with engine.begin() as conn:  # pages written, then freed: what a moved column leaves
        conn.exec_driver_sql("CREATE TABLE scratch (b BLOB)")
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
            "INSERT INTO scratch SELECT randomblob(10000) FROM n"
        )
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE scratch")
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar_one() > 400
    with reindex_lock(settings.data_dir, Store(engine)):
        assert main(["compact"]) == 3
    assert "another reindex is running" in capsys.readouterr().err
    assert main(["compact"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["compacted"] and report["bytes_freed"] > 2_000_000
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar_one() == 0
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    engine.dispose()


def test_the_ray_engine_without_its_extra_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSDEDUP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setitem(sys.modules, "ray", None)  # as where the extra is not installed
    assert main(["reindex", "--engine", "ray"]) == 2
    assert "pip install 'newsdedup[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before the store was touched
    monkeypatch.setenv("NEWSDEDUP_REINDEX_ENGINE", "ray")
    assert main(["reindex"]) == 2
    monkeypatch.setenv("NEWSDEDUP_REINDEX_ENGINE", "spark")
    assert main(["reindex"]) == 2
    assert "reindex_engine" in capsys.readouterr().err


def test_serve_refuses_a_bad_port_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 2
    assert "invalid serve option" in capsys.readouterr().err
