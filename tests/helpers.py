"""Small test doubles shared by several test modules."""

from s3transfer.subscribers import BaseSubscriber


class Progress(BaseSubscriber):
    """A subscriber that records every ``on_progress`` amount, in order."""

    def __init__(self):
        self.amounts = []

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.amounts.append(bytes_transferred)


class WriteOnly:
    """A non-seekable download target: it has nothing but ``write()``."""

    def __init__(self):
        self.parts = []

    def write(self, data):
        self.parts.append(bytes(data))

    @property
    def value(self) -> bytes:
        return b''.join(self.parts)
