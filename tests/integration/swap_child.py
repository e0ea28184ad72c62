"""Run the command line with a hook that swaps a folder for a symlink at the moment
the download of one key is submitted (after planning, before its file is opened).

Usage: swap_child.py KEY FOLDER TARGET CLI-ARGS...
The hook wraps ``TransferManager.download``, so it makes the swap deterministic
whatever the directory layer does inside.
"""

import os
import sys

from s3transfer.cli import main
from s3transfer.manager import TransferManager

key, folder, target, *cli_args = sys.argv[1:]
real_download = TransferManager.download


def download(self, bucket, object_key, fileobj, *args, **kwargs):
    if object_key == key and not os.path.islink(folder):
        if os.path.isdir(folder):
            os.rename(folder, folder + '.moved')
        os.makedirs(os.path.dirname(folder), exist_ok=True)
        os.symlink(target, folder)
    return real_download(self, bucket, object_key, fileobj, *args, **kwargs)


TransferManager.download = download
sys.exit(main(cli_args))
