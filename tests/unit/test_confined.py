"""ConfinedFolder / ConfinedTempFile: writing beneath a folder without symlinks."""

import os

import pytest

from s3transfer.confined import ConfinedFolder, ConfinedTempFile

pytestmark = pytest.mark.skipif(
    not __import__('s3transfer.confined').confined.SUPPORTED,
    reason='needs O_NOFOLLOW and dir_fd (POSIX)',
)


def _write(temp, data):
    """Write as a download does: positionally, else (fast paths off) seek and write."""
    if not temp.write_at(data, 0):
        temp.seek(0)
        temp.write(data)


def test_commit_renames_into_place_creating_folders(tmp_path):
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path / 'd')), ['a', 'b', 'f'])
    _write(temp, b'hello')
    temp.commit()
    assert (tmp_path / 'd' / 'a' / 'b' / 'f').read_bytes() == b'hello'
    assert os.listdir(tmp_path / 'd' / 'a' / 'b') == ['f']


def test_commit_of_an_empty_download_creates_the_empty_file(tmp_path):
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path)), ['empty'])
    temp.commit()
    assert (tmp_path / 'empty').read_bytes() == b''


def test_discard_removes_the_temp_file_and_the_folders_it_created(tmp_path):
    (tmp_path / 'a').mkdir()
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path)), ['a', 'b', 'c', 'f'])
    _write(temp, b'partial')
    temp.discard()
    assert os.listdir(tmp_path) == ['a']
    assert os.listdir(tmp_path / 'a') == []


def test_a_symlinked_folder_is_refused_at_open(tmp_path):
    (tmp_path / 'd').mkdir()
    (tmp_path / 'out').mkdir()
    (tmp_path / 'd' / 'z').symlink_to(tmp_path / 'out')
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path / 'd')), ['z', 'f'])
    with pytest.raises(OSError, match='symlink'):
        _write(temp, b'x')
    temp.discard()
    assert os.listdir(tmp_path / 'out') == []


def test_a_replaced_root_is_refused(tmp_path):
    (tmp_path / 'd').mkdir()
    (tmp_path / 'out').mkdir()
    root = ConfinedFolder(str(tmp_path / 'd'))
    os.rename(tmp_path / 'd', tmp_path / 'd.old')
    (tmp_path / 'd').symlink_to(tmp_path / 'out')
    temp = ConfinedTempFile(root, ['f'])
    with pytest.raises(OSError, match='replaced'):
        _write(temp, b'x')
    assert os.listdir(tmp_path / 'out') == []


def test_no_write_after_discard(tmp_path):
    """A cancelled download never creates its file later (issue 21 point 3)."""
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path)), ['f'])
    temp.discard()
    with pytest.raises(OSError):
        _write(temp, b'late')
    assert os.listdir(tmp_path) == []


def test_a_folder_named_for_a_file_says_so(tmp_path):
    (tmp_path / 'a').write_bytes(b'')
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path)), ['a', 'f'])
    with pytest.raises(NotADirectoryError, match='is a file'):
        _write(temp, b'x')


def test_pickles_as_its_path(tmp_path):
    import pickle

    copy = pickle.loads(pickle.dumps(ConfinedFolder(str(tmp_path))))
    assert copy.path == str(tmp_path)
    os.close(copy.open_root())


def test_a_failed_rename_leaves_no_temp_file(tmp_path):
    (tmp_path / 'f').mkdir()  # a folder where the file must go
    temp = ConfinedTempFile(ConfinedFolder(str(tmp_path)), ['f'])
    temp.write(b'data')
    with pytest.raises(IsADirectoryError):
        temp.commit()
    assert [p.name for p in tmp_path.iterdir()] == ['f']
    assert list((tmp_path / 'f').iterdir()) == []
