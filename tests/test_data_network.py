"""Downloads from the npm registry (run with -m network); the offline tests use fixture excerpts."""

import json
import shutil

import pytest

from artzoo.data import build, npm
from artzoo.data.recipes import fluent_emoji
from artzoo.data.layout import SPLITS, aligned_ids

pytestmark = pytest.mark.network


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs npm")
def test_fluent_emoji_builds_from_the_npm_registry(tmp_path):
    cache = tmp_path / "npm"  # empty: forces `npm pack` of the pinned versions
    meta = build("fluent-emoji", tmp_path / "out", size=32, limit=5, cache=str(cache), progress=False)
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        npm.tarball_name(package, version) for package, version in fluent_emoji.PACKAGES.values()
    )
    assert sum(meta["counts"].values()) == 5 and meta["skipped"] == {}
    assert sum(len(aligned_ids(tmp_path / "out", s, meta["stages"])) for s in SPLITS) == 5
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["sources"][0]["licence"] == "MIT"
