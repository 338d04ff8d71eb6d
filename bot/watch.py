"""``--watch``: rebuild the index when notes change on disk (watchdog)."""
from __future__ import annotations

import threading
from pathlib import Path

from watchdog.events import EVENT_TYPE_CLOSED_NO_WRITE, EVENT_TYPE_OPENED, FileSystemEventHandler
from watchdog.observers import Observer

# A build reads every changed note: reading must not count as a change, or builds would loop.
READS = (EVENT_TYPE_OPENED, EVENT_TYPE_CLOSED_NO_WRITE)


class Watcher(FileSystemEventHandler):
    """Calls ``rebuild()`` once the files under ``corpus`` have not changed for ``quiet`` seconds
    (an editor's save or a ``git pull`` is a burst of events: one rebuild follows it)."""

    def __init__(self, corpus: str | Path, rebuild, quiet: float = 1.0):
        self.corpus, self.rebuild, self.quiet = Path(corpus), rebuild, quiet
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

    def on_any_event(self, event):
        if event.event_type in READS:
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.quiet, self.rebuild)
            self._timer.daemon = True
            self._timer.start()
