"""The durable actor runtime: mailboxes, stores, supervision, the data directory, the watchdog.

Generic machinery that knows nothing about Stash or Plex. Mailboxes (persist-queue, JSON, ack by
id) carry :class:`Envelope` s between actors; :class:`Store` is the SQLite file each actor keeps
its state in; :class:`Supervisor` restarts crashed actors; the watchdog restarts the host.

The names below load their module on first use: the watchdog runs for months as
``python -m stashplex.runtime.watchdog`` and must not pay for persist-queue or pydantic.
"""

from __future__ import annotations

import sys
import warnings

from stashplex.runtime.lazy import lazy_exports

# persist-queue's package imports its asyncio queues whatever one uses (asyncio, ~4 MB resident
# for the life of the host), and skips them when their module cannot be imported. Only its
# SQLite ack queue is used here; a module set to None in sys.modules is one that cannot be.
sys.modules.setdefault("persistqueue.async_queue", None)  # type: ignore[arg-type]
# requests guesses the encoding of an answer that names no charset with charset_normalizer (or
# chardet), 2.6 MB resident, and uses UTF-8 when neither can be imported (its documented
# fallback, ``Response.apparent_encoding``). Stash answers JSON and Plex XML, both UTF-8, so a
# guess is never needed; requests' one warning at import that neither is there says nothing to
# a user of this program.
sys.modules.setdefault("charset_normalizer", None)  # type: ignore[arg-type]
sys.modules.setdefault("chardet", None)  # type: ignore[arg-type]
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection")

_EXPORTS = {
    "AlreadyRunningError": "datadir",
    "DataDir": "datadir",
    "InstanceLock": "datadir",
    "default_data_dir": "datadir",
    "Envelope": "envelope",
    "Delivery": "mailbox",
    "Mailbox": "mailbox",
    "MailboxError": "mailbox",
    "PostOffice": "mailbox",
    "KeyValue": "store",
    "Store": "store",
    "ChildSpec": "supervision",
    "RestartIntensity": "supervision",
    "Supervisor": "supervision",
    "TraceSink": "trace",
    "configure_logging": "logs",
    "mask_secrets": "logs",
    "is_corruption": "corruption",
    "set_aside": "corruption",
    "lazy_exports": "lazy",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the names are the keys above

__getattr__ = lazy_exports(__name__, _EXPORTS)
