"""``utils.get_file`` against a server on 127.0.0.1: download, cache, hashes, interrupted downloads, archives."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from lamina.utils import file_utils, get_file

CONTENT = b"lamina test file\n" * 100


@pytest.fixture(autouse=True)
def _keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def _tar(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def test_download_lands_in_keras_cache_and_is_reused(serve, tmp_path):
    server = serve({"data.bin": CONTENT})
    path = get_file("data.bin", server.url + "data.bin", file_hash=hashlib.sha256(CONTENT).hexdigest())
    assert path == str(tmp_path / "keras_home" / "datasets" / "data.bin")
    assert open(path, "rb").read() == CONTENT
    assert get_file("data.bin", server.url + "data.bin") == path
    assert server.requests == ["/data.bin"]  # the second call used the cache
    assert not [f for f in os.listdir(os.path.dirname(path)) if f.endswith(".part")]


def test_fname_from_origin_cache_subdir_and_cache_dir(serve, tmp_path):
    server = serve({"weights.h5": CONTENT})
    path = get_file(origin=server.url + "weights.h5", cache_subdir="models", cache_dir=str(tmp_path / "c"))
    assert path == str(tmp_path / "c" / "models" / "weights.h5")
    absolute = get_file(origin=server.url + "weights.h5", cache_subdir=str(tmp_path / "abs"))
    assert absolute == str(tmp_path / "abs" / "weights.h5")


def test_md5_hash_and_deprecated_md5_argument(serve):
    server = serve({"a.json": CONTENT})
    md5 = hashlib.md5(CONTENT).hexdigest()
    assert file_utils.validate_file(get_file("a.json", server.url + "a.json", file_hash=md5), md5)
    assert open(get_file("b.json", server.url + "a.json", md5_hash=md5), "rb").read() == CONTENT


def test_bad_hash_raises_and_leaves_nothing(serve, tmp_path):
    server = serve({"data.bin": CONTENT})
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected"):
        get_file("data.bin", server.url + "data.bin", file_hash="0" * 64)
    assert os.listdir(tmp_path / "keras_home" / "datasets") == []


def test_stale_cached_file_is_downloaded_again(serve, tmp_path, capsys):
    server = serve({"data.bin": CONTENT})
    folder = tmp_path / "keras_home" / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"old")
    path = get_file("data.bin", server.url + "data.bin", file_hash=hashlib.sha256(CONTENT).hexdigest())
    assert open(path, "rb").read() == CONTENT
    assert "re-download" in capsys.readouterr().out


def test_force_download(serve):
    server = serve({"data.bin": CONTENT})
    get_file("data.bin", server.url + "data.bin")
    get_file("data.bin", server.url + "data.bin", force_download=True)
    assert len(server.requests) == 2


def test_interrupted_download_keeps_no_partial_file(serve, tmp_path):
    server = serve({"data.bin": CONTENT})
    with pytest.raises(file_utils.DownloadError, match="URL fetch failure"):
        get_file("data.bin", server.url + "data.bin!cut")
    assert os.listdir(tmp_path / "keras_home" / "datasets") == []


def test_http_error_and_unreachable_server(serve):
    server = serve({})
    with pytest.raises(file_utils.DownloadError, match="404"):
        get_file("missing.bin", server.url + "missing.bin")
    with pytest.raises(Exception, match="URL fetch failure"):  # Keras users catch Exception
        get_file("x.bin", "http://127.0.0.1:9/x.bin")


def test_argument_errors():
    with pytest.raises(ValueError, match="origin"):
        get_file("x")
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file("a/b.txt", "http://127.0.0.1:9/b.txt")


@pytest.mark.parametrize("fmt", ["tar", "zip"])
def test_extract_archive(serve, tmp_path, fmt):
    members = {"flowers/roses/a.txt": b"rose", "flowers/tulips/b.txt": b"tulip"}
    server = serve({"flowers.tgz": _tar(members) if fmt == "tar" else _zip(members)})
    folder = get_file("flowers.tgz", server.url + "flowers.tgz", extract=True)
    assert folder == str(tmp_path / "keras_home" / "datasets" / "flowers_extracted")
    assert open(os.path.join(folder, "flowers", "roses", "a.txt"), "rb").read() == b"rose"
    # no extension: the name is the folder; the archive is kept beside it
    folder = get_file("flowers", server.url + "flowers.tgz", extract=True)
    assert folder.endswith(os.path.join("datasets", "flowers")) and os.path.isdir(os.path.join(folder, "flowers"))
    assert os.path.isfile(folder + "_archive")
    untarred = get_file(origin=server.url + "flowers.tgz", untar=True) if fmt == "tar" else None
    assert untarred is None or os.path.isdir(untarred)


def test_archive_members_escaping_the_folder_are_skipped(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar({"ok.txt": b"fine", "../escaped.txt": b"bad", "/tmp/abs_escape_lamina.txt": b"bad"},
                             links={"link_out": "../../outside", "link_in": "ok.txt"}))
    target = tmp_path / "out"
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        assert file_utils.extract_archive(archive, target)
    assert (target / "ok.txt").read_bytes() == b"fine"
    assert not (tmp_path / "escaped.txt").exists() and not os.path.exists("/tmp/abs_escape_lamina.txt")
    assert not (target / "link_out").exists() and os.path.islink(target / "link_in")
    zipped = tmp_path / "evil.zip"
    zipped.write_bytes(_zip({"ok.txt": b"fine", "../escaped_zip.txt": b"bad"}))
    with pytest.warns(UserWarning, match="Skipping invalid path"):
        assert file_utils.extract_archive(zipped, tmp_path / "zout")
    assert not (tmp_path / "escaped_zip.txt").exists() and (tmp_path / "zout" / "ok.txt").exists()


def test_not_an_archive(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(CONTENT)
    assert file_utils.extract_archive(plain, tmp_path / "x") is False
    assert file_utils.extract_archive(plain, tmp_path / "x", archive_format=None) is False
    assert not (tmp_path / "x").exists()


def test_hash_file_matches_hashlib(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(CONTENT)
    assert file_utils.hash_file(f) == hashlib.sha256(CONTENT).hexdigest()
    assert file_utils.hash_file(f, "md5") == hashlib.md5(CONTENT).hexdigest()
