"""Where a study's results may be written: never into the study folder, never over a source.

Every file a study command writes outside the study folder (the CSV export, the VGC plot)
goes through :func:`check_output` and is then written with ``core.io.files.atomic_write``
(temporary file in the target folder, flush, fsync, rename), so a failed or interrupted
write (a full disk, a kill) leaves the previous file as it was and no partial file.
"""

from __future__ import annotations

import os
from pathlib import Path

from xrayview.core.study.definition import Study, StudyError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(out: str | Path, root: str | Path, study: Study, what: str = "--out") -> Path:
    """``out`` as an absolute path if a study result may be written there, else StudyError.

    Refused: a path inside the study folder ``root`` (its definition, images and reader
    databases: the folder is what readers and analysis rely on), the folder itself, a
    path that is (or links to) one of the study's source films, an existing folder, and a
    path whose folder does not exist.
    """
    path = Path(out).expanduser().resolve()
    study_root = Path(root).resolve()
    if path == study_root or study_root in path.parents:
        raise StudyError(f"{what} {out} is inside the study folder {root}; write results "
                         "elsewhere.")
    for case in study.cases:
        if path == Path(case.path).resolve() or _same_file(path, Path(case.path)):
            raise StudyError(f"{what} {out} is one of the study's source films.")
    if path.is_dir():
        raise StudyError(f"{what} {out} is a folder; give a file name.")
    if not path.parent.is_dir():
        raise StudyError(f"folder of {what} does not exist: {out}")
    return path
