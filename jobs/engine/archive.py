"""The model zip users download. No torch and no Django here: the web process imports it too."""

import os
import uuid
import zipfile
from pathlib import Path


def zip_folder(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """A zip of `source` at `target`, written to a temporary name and renamed: a file named
    model.zip is always complete. The GGUF files (gguf/) are downloads of their own, left out.
    Returns `target`."""
    source, target = Path(source), Path(target)
    tmp = target.with_name(f".{target.stem}-{uuid.uuid4().hex}.zip")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if path.is_file() and relative.parts[0] != "gguf":
                archive.write(path, relative)
    os.replace(tmp, target)
    return target
