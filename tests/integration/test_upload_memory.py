"""Memory bound of non-seekable uploads, measured as peak RSS in a child process."""

import json
import os
import subprocess
import sys
from pathlib import Path

MB = 1024 * 1024
CHILD = Path(__file__).with_name('upload_rss_child.py')
TOTAL = 256 * MB


def run_child(max_in_memory_upload_chunks):
    # glibc's dynamic mmap threshold would otherwise keep freed 8 MiB part buffers
    # cached in per-thread arenas (~20 MiB here); a fixed threshold returns them to
    # the OS, so RSS follows the memory the upload actually holds.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(1 * MB))
    completed = subprocess.run(
        [sys.executable, str(CHILD), str(TOTAL), str(max_in_memory_upload_chunks)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout)


def test_non_seekable_upload_buffers_at_most_the_configured_chunks():
    report = run_child(10)
    chunksize = report['chunksize']
    assert report['max_in_memory_upload_chunks'] == 10
    assert report['bytes_received'] == TOTAL
    parts = TOTAL // chunksize
    assert report['operations'] == [
        'CreateMultipartUpload',
        *['UploadPart'] * parts,
        'CompleteMultipartUpload',
    ]
    # The baseline is genuine: no peak inherited from the (large) test process.
    assert report['start_maxrss'] - report['start_rss'] < chunksize
    growth = report['peak_rss'] - report['start_rss']
    assert growth < (10 + 4) * chunksize, f'peak RSS grew by {growth / MB:.1f} MiB'


def test_the_measurement_sees_unbounded_buffering():
    # Same upload with a bound too large to matter: the reader outruns the senders
    # and the growth clearly exceeds the bound checked above.
    report = run_child(1000)
    growth = report['peak_rss'] - report['start_rss']
    assert growth > (10 + 4) * report['chunksize']
