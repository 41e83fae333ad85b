"""The sdist and the wheel, built as a release would build them (``python -m build``)."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: hatchling comes from the dev extra, so no download is needed.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_the_wheel_has_the_license_the_plugin_and_the_urls(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        message = email.message_from_bytes(zf.read(metadata))
        (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert zf.read(license_file).startswith(b"MIT License")
        entry_points = zf.read(metadata.replace("METADATA", "entry_points.txt")).decode()
    assert "_clerk_async_pytest.py" in names  # the plugin, beside the package
    assert "clerk_async = _clerk_async_pytest" in entry_points
    assert message["License-Expression"] == "MIT"
    assert message["License-File"] == "LICENSE"
    urls = dict(u.split(", ", 1) for u in message.get_all("Project-URL"))
    assert {"Documentation", "Source", "Issues", "Changelog"} <= urls.keys()


def test_the_sdist_has_the_license_and_the_docs(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    assert {"LICENSE", "_clerk_async_pytest.py", "mkdocs.yml", "docs/index.md"} <= names
