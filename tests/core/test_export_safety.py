"""Safe exports: never over the input (also through links), atomic on every failure,
derived DICOM details (ImageType, creator UID, pixel module consistency)."""

from __future__ import annotations

import errno
import os

import numpy as np
import pydicom
import pytest

from tests.support.dicom_factory import make_dicom
from xrayview.core.enhance.super_resolution import upsample
from xrayview.core.io import files, load_film
from xrayview.core.io.export import ExportError, save_film


def _pixels(h=20, w=24, seed=0):
    return np.random.default_rng(seed).random((h, w), dtype=np.float32)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def source(tmp_path):
    path = save_film(_pixels(), tmp_path / "in.png", None)
    return path, load_film(path)


def test_refuses_a_symlink_to_the_input(tmp_path, source):
    path, film = source
    before = path.read_bytes()
    link = tmp_path / "link.png"
    link.symlink_to(path)
    chain = tmp_path / "chain.tif"  # another name and extension, same file behind two links
    chain.symlink_to(link)
    for target in (link, chain):
        with pytest.raises(ExportError, match="refusing to write over the input"):
            save_film(1 - film.pixels, target, film)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []


def test_refuses_the_real_file_when_the_input_was_opened_through_a_link(tmp_path, source):
    path, _ = source
    link = tmp_path / "opened-as.png"
    link.symlink_to(path)
    film = load_film(link)
    with pytest.raises(ExportError, match="refusing"):
        save_film(film.pixels, path, film)
    other_dir = tmp_path / "sub"
    other_dir.mkdir()
    hard = other_dir / "hard.png"
    os.link(path, hard)
    with pytest.raises(ExportError, match="refusing"):
        save_film(film.pixels, hard, film)


def test_a_symlink_to_another_file_is_replaced_not_followed(tmp_path, source):
    _, film = source
    elsewhere = tmp_path / "elsewhere.png"
    elsewhere.write_bytes(b"keep me")
    out = tmp_path / "out.png"
    out.symlink_to(elsewhere)
    save_film(film.pixels, out, film)
    assert elsewhere.read_bytes() == b"keep me" and not out.is_symlink()
    assert load_film(out).shape == film.shape


@pytest.mark.parametrize("fail_at", ["write", "fsync", "replace"])
def test_failure_at_any_step_leaves_target_and_no_temporary_file(tmp_path, source, monkeypatch,
                                                                 fail_at):
    _, film = source
    target = tmp_path / "out.png"
    target.write_bytes(b"previous")
    disk_full = OSError(errno.ENOSPC, "No space left on device")
    if fail_at == "write":
        monkeypatch.setattr("PIL.Image.Image.save",
                            lambda *a, **k: (_ for _ in ()).throw(disk_full))
    else:
        real = getattr(os, fail_at)
        monkeypatch.setattr(files.os, fail_at,
                            lambda *a, **k: (_ for _ in ()).throw(disk_full) if a and
                            (fail_at != "replace" or str(a[1]) == str(target)) else real(*a, **k))
    with pytest.raises(ExportError, match="No space left on device") as err:
        save_film(film.pixels, target, film)
    assert "\n" not in str(err.value)
    assert target.read_bytes() == b"previous" and _leftovers(tmp_path) == []


def test_failing_dicom_write_is_an_export_error_without_leftovers(tmp_path, monkeypatch):
    src = load_film(make_dicom(tmp_path / "src.dcm", np.zeros((8, 8), np.uint16)))

    def broken(*args, **kwargs):
        raise ValueError("Invalid value for VR PN: 'Secret^Name'")

    monkeypatch.setattr(pydicom, "dcmwrite", broken)
    with pytest.raises(ExportError, match="cannot write out.dcm as DICOM") as err:
        save_film(src.pixels, tmp_path / "out.dcm", src)
    assert "Secret" not in str(err.value) and _leftovers(tmp_path) == []
    assert not (tmp_path / "out.dcm").exists()


def test_interrupt_during_write_removes_the_temporary_file(tmp_path):
    def interrupted(fh):
        fh.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(tmp_path / "x.png", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_derived_dicom_pixel_module_is_consistent(pydicom_data_dir, tmp_path):
    src = load_film(pydicom_data_dir / "RG3_UNCR.dcm")
    a = pydicom.dcmread(pydicom_data_dir / "RG3_UNCR.dcm", stop_before_pixels=True)
    ds = pydicom.dcmread(save_film(upsample(src.pixels[:300, :200], 3), tmp_path / "d.dcm",
                                   src, scale=3, description="vdsr x3"))
    assert (ds.Rows, ds.Columns) == (900, 600) == ds.pixel_array.shape
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, a.BitsStored, a.BitsStored - 1)
    assert ds.pixel_array.max() < 2 ** a.BitsStored and len(ds.PixelData) == 900 * 600 * 2
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.SamplesPerPixel == 1
    assert "InstanceCreatorUID" not in ds and ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_image_type_keeps_values_after_the_second(tmp_path):
    src_path = make_dicom(tmp_path / "dx.dcm", np.zeros((8, 8), np.uint16),
                          ImageType=["ORIGINAL", "PRIMARY", "", "RT"], PixelSpacing=[0.1, 0.1])
    src = load_film(src_path)
    ds = pydicom.dcmread(save_film(upsample(src.pixels, 2), tmp_path / "d.dcm", src, scale=2))
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY", "", "RT"]
    assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.05, 0.05])


# --- issue 17: names, stale temporary files, full disks and read-only targets ----------

def test_a_249_character_output_name_is_accepted(tmp_path, source):
    _, film = source
    name = "n" * 245 + ".png"
    out = save_film(film.pixels, tmp_path / name, film)
    assert out.name == name and load_film(out).shape == film.shape
    assert _leftovers(tmp_path) == []
    with pytest.raises(ExportError, match="longer than 255 bytes"):
        save_film(film.pixels, tmp_path / ("n" * 252 + ".png"), film)


@pytest.mark.parametrize("name", ["out.png", "l" * 245 + ".png"])
def test_stale_part_files_of_a_killed_export_are_removed_but_a_live_one_is_kept(
        tmp_path, source, name):
    import fcntl

    _, film = source
    prefix = files._part_prefix(name)
    stale = tmp_path / f"{prefix}deadbeef.part"
    live = tmp_path / f"{prefix}inflight.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    other = tmp_path / ".another.png.deadbeef.part"
    other.write_bytes(b"not ours")
    with open(live, "rb") as held:  # what a running export holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        save_film(film.pixels, tmp_path / name, film)
        assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / name).is_file()


_CLI_WITH_FILE_SIZE_LIMIT = r'''
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # CPython ignores SIGXFSZ: EFBIG
from xrayview.cli import main
sys.exit(main(["enhance", sys.argv[1], sys.argv[2], "--model", "none", "--scale", "1"]))
'''


@pytest.mark.parametrize("ext", [".png", ".tif", ".dcm"])
def test_a_write_that_runs_out_of_room_is_exit_2_with_one_plain_line(tmp_path, ext):
    """The file-size limit makes every write past 4 KiB fail as a full disk does: the
    CLI must print one line naming the file and the reason (no libtiff line, no
    pydicom traceback text) and leave nothing behind."""
    import subprocess
    import sys

    from tests.support.corpus_worker import REPO_ROOT

    src = save_film(_pixels(200, 200), tmp_path / "in.png", None)
    out = tmp_path / f"out{ext}"
    proc = subprocess.run([sys.executable, "-c", _CLI_WITH_FILE_SIZE_LIMIT, str(src), str(out)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"xrayview: cannot write out{ext} (File too large).\n"
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_read_only_folder_names_the_file_and_the_reason(tmp_path, source, monkeypatch):
    _, film = source

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError) as err:
        save_film(film.pixels, tmp_path / "out.png", film)
    assert str(err.value) == f"cannot write out.png in {tmp_path} (Permission denied)."


def test_os_reason_finds_the_errno_behind_a_rewrapped_error():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise OSError("With tag (7FE0,0010) got exception: [Errno 28] No space left on "
                          "device\nTraceback (most recent call last):\n  File ...") from exc
    except OSError as wrapped:
        assert files.os_reason(wrapped) == "No space left on device"
    assert files.os_reason(OSError("[Errno 28] No space left on device\nTraceback")) \
        == "No space left on device"


# --- issue 17: exports valid for every source ------------------------------------------

def _test_file(name, *folders):
    return next(p for d in folders for p in d.rglob(name))


def test_an_8_bit_source_stays_8_bit(pydicom_test_dir, pydicom_data_dir, tmp_path):
    src = _test_file("JPGLosslessP14SV1_1s_1f_8b.dcm", pydicom_test_dir, pydicom_data_dir)
    film = load_film(src)
    ds = pydicom.dcmread(save_film(film.pixels, tmp_path / "o.dcm", film))
    a = pydicom.dcmread(src, stop_before_pixels=True)
    assert ds.SOPClassUID == a.SOPClassUID and ds.BitsAllocated == 8 == a.BitsAllocated
    assert ds.pixel_array.dtype == np.uint8
    np.testing.assert_array_equal(ds.pixel_array, pydicom.dcmread(src).pixel_array)


@pytest.mark.parametrize("name", ["MR_small_bigendian.dcm", "MR_small_expb.dcm"])
def test_a_big_endian_source_is_written_little_endian(pydicom_test_dir, tmp_path, name):
    film = load_film(pydicom_test_dir / name)
    ds = pydicom.dcmread(save_film(film.pixels, tmp_path / "o.dcm", film))
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    src = pydicom.dcmread(pydicom_test_dir / name)
    np.testing.assert_array_equal(ds.pixel_array, src.pixel_array)
    assert ds.PatientName == src.PatientName and ds.Rows == src.Rows


@pytest.mark.parametrize("body,laterality,expected", [
    ("CHEST", None, None), ("HEAD", "", None), ("KNEE", None, ""), (None, None, ""),
    ("CHEST", "R", "R")])
def test_laterality_only_where_its_condition_holds(tmp_path, body, laterality, expected):
    attrs = {"BodyPartExamined": body} if body else {}
    if laterality is not None:
        attrs["Laterality"] = laterality
    src = load_film(make_dicom(tmp_path / "src.dcm", np.zeros((3, 8, 8), np.uint16),
                               **attrs))  # multi-frame: the Secondary Capture path
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "o.dcm", src))
    assert ds.SOPClassUID == pydicom.uid.SecondaryCaptureImageStorage
    assert ds.get("Laterality") == expected


def test_a_frame_is_referenced_only_for_a_multi_frame_class(pydicom_test_dir,
                                                           pydicom_data_dir, tmp_path):
    folders = (pydicom_test_dir, pydicom_data_dir)
    sc = load_film(_test_file("SC_rgb_2frame.dcm", *folders), frame=1)  # single-frame IOD
    ref = pydicom.dcmread(save_film(sc.pixels, tmp_path / "a.dcm", sc)).SourceImageSequence[0]
    assert "ReferencedFrameNumber" not in ref
    mr = load_film(_test_file("emri_small.dcm", *folders), frame=3)  # Enhanced MR
    ref = pydicom.dcmread(save_film(mr.pixels, tmp_path / "b.dcm", mr)).SourceImageSequence[0]
    assert ref.ReferencedFrameNumber == 4


def test_a_source_with_an_invalid_uid_is_not_referenced(tmp_path):
    src = load_film(make_dicom(tmp_path / "src.dcm", np.zeros((8, 8), np.uint16),
                               SOPInstanceUID="999.999.2.1994"))
    ds = pydicom.dcmread(save_film(src.pixels, tmp_path / "o.dcm", src))
    assert "SourceImageSequence" not in ds
