"""``--watch``: rebuild the index when notes change on disk (watchdog)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from watchdog.events import EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_OPENED, FileSystemEventHandler
from watchdog.observers import Observer

# A build reads every changed note: reading must not count as a change, or builds would loop.
READS = (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE)


class Watcher(FileSystemEventHandler):
    """Calls ``rebuild()`` once the files under ``corpus`` have not changed for ``quiet`` seconds
    (an editor's save or a ``git pull`` is a burst of events: one rebuild follows it). Changes
    under ``ignore`` (the index, if it lives inside the corpus) are not the notes': the
    rebuild's own writes there must not start another."""

    def __init__(self, corpus: str | Path, rebuild, quiet: float = 1.0,
                 ignore: str | Path | None = None):
        self.corpus, self.rebuild, self.quiet = Path(corpus), rebuild, quiet
        self.ignore = os.path.join(os.path.realpath(ignore), "") if ignore else None
        self._observer = Observer()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def start(self) -> "Watcher":
        self._observer.schedule(self, str(self.corpus), recursive=True)
        self._observer.start()
        return self

    def stop(self):
        self._observer.stop()
        self._observer.join()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def _ignored(self, event) -> bool:
        paths = [event.src_path, getattr(event, "dest_path", "") or event.src_path]
        return self.ignore is not None and all(
            os.path.join(os.path.realpath(os.fsdecode(p)), "").startswith(self.ignore)
            for p in paths)

    def on_any_event(self, event):
        if event.event_type in READS or self._ignored(event):
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.quiet, self.rebuild)
            self._timer.daemon = True
            self._timer.start()
