"""The worker's cache of tokenised datasets stays within its size: the least recently used
stores go first, and a store in use moments ago is never deleted."""

import os
import time

from jobs.engine.token_cache import prune_stores


def make_store(root, name, size, used_s_ago):
    folder = root / name
    folder.mkdir()
    (folder / "meta.json").write_text("{}")
    (folder / "tokens.bin").write_bytes(b"t" * size)
    when = time.time() - used_s_ago
    os.utime(folder, (when, when))
    return folder


def test_the_least_recently_used_stores_go_until_the_cache_fits(tmp_path):
    tmp_path = tmp_path / "tokens"
    tmp_path.mkdir()
    make_store(tmp_path, "oldest", 1000, used_s_ago=9000)
    make_store(tmp_path, "older", 1000, used_s_ago=8000)
    make_store(tmp_path, "recent", 1000, used_s_ago=7000)
    (tmp_path / "half-written").mkdir()  # no meta.json: not a store, left alone
    assert prune_stores(tmp_path, max_bytes=1500) == ["oldest", "older"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["half-written", "recent"]


def test_a_store_used_moments_ago_is_kept_even_over_the_budget(tmp_path):
    tmp_path = tmp_path / "tokens"
    tmp_path.mkdir()
    make_store(tmp_path, "old", 1000, used_s_ago=9000)
    make_store(tmp_path, "in-use", 5000, used_s_ago=5)
    assert prune_stores(tmp_path, max_bytes=100) == ["old"]
    assert (tmp_path / "in-use").is_dir()
    assert prune_stores(tmp_path / "missing", max_bytes=0) == []
