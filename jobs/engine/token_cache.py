"""The worker's cache of tokenised datasets (jobs.engine.data.load_or_tokenise writes a store
per dataset and tokenizer under the run's data_cache_dir): kept within a size, least recently
used first."""

import os
import shutil
import time
from pathlib import Path


def prune_stores(
    cache_dir: str | os.PathLike[str] | None, max_bytes: int, *, idle_s: float = 600
) -> list[str]:
    """Delete the least recently used complete stores of `cache_dir` until the rest fit in
    `max_bytes` (load_or_tokenise marks a store used each time it opens one). A store used in
    the last `idle_s` seconds is kept whatever its size: a run on this machine may be reading
    it. Returns the names deleted."""
    root = Path(cache_dir) if cache_dir else None
    if root is None or not root.is_dir():
        return []
    stores = [p for p in root.iterdir() if p.is_dir() and (p / "meta.json").exists()]
    sizes = {p: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in stores}
    total, now, deleted = sum(sizes.values()), time.time(), []
    for store in sorted(stores, key=lambda p: p.stat().st_mtime):
        if total <= max_bytes:
            break
        if now - store.stat().st_mtime < idle_s:
            continue
        shutil.rmtree(store, ignore_errors=True)
        total -= sizes[store]
        deleted.append(store.name)
    return deleted
