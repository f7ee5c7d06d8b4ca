"""What the records package announces once records are committed; other packages listen.

Records never import their listeners: integrity flags (and, later, background jobs) subscribe to
`records_committed` when the app is built (`fieldlog.services.integrity.hooks.listen`).
"""
from blinker import Namespace

_signals = Namespace()

# sent with kind="visit" or kind="photo" and ids=[...] right after the commit that stored them
records_committed = _signals.signal("records-committed")


def announce_committed(kind: str, ids: list[str]) -> None:
    """Tell the listeners that records of `kind` were just committed (no-op for none)."""
    if ids:
        records_committed.send(kind, ids=list(ids))
