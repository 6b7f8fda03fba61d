"""Fetch pinned npm packages as tarballs (`npm pack`) into a local cache and read files from them."""

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from artzoo.errors import ArtzooError

CACHE_ENV = "ARTZOO_NPM_CACHE"


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """The tarball cache: `cache` if given, else $ARTZOO_NPM_CACHE, else ~/.cache/artzoo/npm."""
    if cache is None:
        cache = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "artzoo" / "npm"
    return Path(cache).expanduser()


def tarball_name(package: str, version: str) -> str:
    """The file name `npm pack` gives: '@scope/name' -> 'scope-name-VERSION.tgz'."""
    return f"{package.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(package: str, version: str, cache: str | os.PathLike | None = None) -> Path:
    """Path of the package tarball, downloading it with `npm pack` unless it is cached."""
    folder = cache_dir(cache)
    path = folder / tarball_name(package, version)
    if path.is_file():
        return path
    npm = shutil.which("npm")
    if npm is None:
        raise ArtzooError(
            f"npm is needed to download {package}@{version} but was not found; install Node.js/npm, "
            f"or put {path.name} (from the npm registry) into {folder}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "pack", f"{package}@{version}", "--pack-destination", str(folder)],
        capture_output=True, text=True,
    )
    if done.returncode != 0 or not path.is_file():
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ArtzooError(
            f"could not download {package}@{version} with npm (is the registry reachable?): "
            + " | ".join(detail)
            + f"; alternatively put {path.name} into {folder}"
        )
    return path


def read_json(tarball: Path, member: str) -> dict:
    """A JSON file from a package tarball; npm puts package files under 'package/'."""
    with tarfile.open(tarball) as tar:
        try:
            data = tar.extractfile(f"package/{member}")
        except KeyError:
            raise ArtzooError(f"{tarball} has no package/{member}; is it the right package?") from None
        return json.load(data)


def read_files(tarball: Path, folder: str) -> dict[str, bytes]:
    """All regular files under package/{folder}/ as {name relative to that folder: bytes}."""
    prefix = f"package/{folder.strip('/')}/"
    files = {}
    with tarfile.open(tarball) as tar:
        for member in tar:
            if member.isfile() and member.name.startswith(prefix):
                files[member.name[len(prefix):]] = tar.extractfile(member).read()
    return files
