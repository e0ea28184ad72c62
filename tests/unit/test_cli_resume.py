"""The command line's resume parts: defaults, flags, list/discard, Ctrl-C message."""

from __future__ import annotations

import os

from s3transfer import cli
from s3transfer.cli import build_parser
from s3transfer.cli.config import transfer_config
from s3transfer.cli.resume import interrupted_message
from s3transfer.plan import PartPlan
from s3transfer.resume import DOWNLOAD, JournalStore, ResumeToken, write_atomically


def _cp(*extra: str):
    return build_parser().parse_args(['cp', 'a', 's3://b/k', *extra])


def test_cp_keeps_journals_by_default_in_the_state_folder(monkeypatch, tmp_path):
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path))
    config = transfer_config(_cp())
    assert config.resume_dir == str(tmp_path / 's3transfer' / 'resume')
    assert config.strict_resume is False


def test_cp_flags_turn_journals_off_or_move_them():
    assert transfer_config(_cp('--no-resume')).resume_dir is None
    config = transfer_config(_cp('--resume-dir', '/x', '--strict-resume'))
    assert (config.resume_dir, config.strict_resume) == ('/x', True)


def test_bench_keeps_no_journals():
    args = build_parser().parse_args(['bench', '--local'])
    assert transfer_config(args).resume_dir is None


def _download_journal(store: JournalStore, temp: str) -> str:
    os.makedirs(store.folder, exist_ok=True)
    token = ResumeToken(
        DOWNLOAD, 'b', 'k', '/data/out', PartPlan(100, 40), temp_filename=temp
    )
    token.parts = {1: {}}
    path = store.path_for(DOWNLOAD, '/data/out', 'b', 'k')
    write_atomically(path, token.to_json())
    return path


def test_resume_list_and_discard(tmp_path, capsys):
    store = JournalStore(str(tmp_path / 'state'))
    temp = tmp_path / 'out.tmp'
    temp.write_bytes(b'x')
    path = _download_journal(store, str(temp))
    name = os.path.basename(path)[: -len('.json')]

    assert cli.main(['resume', 'list', '--resume-dir', store.folder]) == 0
    listed = capsys.readouterr().out
    assert name in listed
    assert 's3://b/k -> /data/out (1/3 parts), 40 B of 100 B' in listed

    assert cli.main(['resume', 'discard', 'nope', '--resume-dir', store.folder]) == 2
    assert cli.main(['resume', 'discard', name, '--resume-dir', store.folder]) == 0
    assert 'discarded' in capsys.readouterr().out
    assert not temp.exists() and not os.path.exists(path)

    assert cli.main(['resume', 'list', '--resume-dir', store.folder]) == 0
    assert 'no unfinished transfers' in capsys.readouterr().out


def test_discard_needs_ids_or_all(tmp_path, capsys):
    assert cli.main(['resume', 'discard', '--resume-dir', str(tmp_path)]) == 2
    assert 'needs journal ids or --all' in capsys.readouterr().err


def test_ctrl_c_message_says_how_to_resume_only_when_something_was_kept(tmp_path):
    store = JournalStore(str(tmp_path / 'state'))
    args = _cp('--resume-dir', store.folder)
    assert interrupted_message(args) == 'interrupted: transfers cancelled'
    _download_journal(store, str(tmp_path / 'out.tmp'))
    message = interrupted_message(args)
    assert 'run the same command again' in message
    assert f's3transfer resume discard --all --resume-dir {store.folder}' in message
    assert interrupted_message(_cp('--no-resume')) == 'interrupted: transfers cancelled'
