"""What a hook event is: the triggers we follow and the rules an event must meet.

The one definition shared by the stdlib-only hook (which refuses a bad event in Stash's log, so
it is never spooled) and the supervisor (``actors.messages.HookEvent`` checks the same rules, and
a test keeps the two equal). Standard library only: the hook copies this package next to itself.
"""

from __future__ import annotations

import time

from . import lean_os, wire

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Triggers whose ``id`` is a scene; the event carries it as ``scene_id``.
SCENE_TRIGGERS = ("Scene.Create.Post", "Scene.Update.Post", "Scene.Destroy.Post")
#: Triggers whose ``id`` is a performer, studio, tag or group; the event carries it as
#: ``object_id``. Stash fires no scene hook when one is renamed and leaves the linked scenes'
#: ``updated_at`` alone, so these hooks are the only timely sign that Plex shows an old name.
UPDATE_TRIGGERS = (
    "Performer.Update.Post",
    "Studio.Update.Post",
    "Tag.Update.Post",
    "Group.Update.Post",
)
#: A tag merge moves the sources' links to the destination (the hook's ``id``; ``input.source``
#: names the sources) and deletes the sources; a destroy drops the object's links. Neither
#: touches the scenes' ``updated_at`` nor fires a scene hook. (Stash also fires the deprecated
#: ``Movie.*`` alias with each ``Group.*``: following one of them is enough.)
MERGE_TRIGGERS = ("Tag.Merge.Post",)
DESTROY_TRIGGERS = (
    "Performer.Destroy.Post",
    "Studio.Destroy.Post",
    "Tag.Destroy.Post",
    "Group.Destroy.Post",
)
#: Every trigger about a performer, studio, tag or group.
RELATED_TRIGGERS = UPDATE_TRIGGERS + MERGE_TRIGGERS + DESTROY_TRIGGERS
#: The triggers we handle; the manifest registers only these.
HOOK_TRIGGERS = SCENE_TRIGGERS + RELATED_TRIGGERS
#: Stash ids are SQLite integers; more digits than this is not a Stash id.
MAX_ID_DIGITS = 18
#: Largest whole number a key (a Plex rating key, a dead letter's id) may be: SQLite's INTEGER.
MAX_KEY = 2**63 - 1
#: An update input has at most a few dozen fields (a performer ~35); more than this is not Stash.
MAX_INPUT_FIELDS = 200
#: The characters a session cookie may hold (RFC 6265 cookie-octets). Anything else cannot be
#: sent in an HTTP header: kept, it would fail every Stash request made with it.
COOKIE_OCTETS = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset(' ",;\\')
#: Stash's cookies are a few hundred characters; browsers stop at 4096.
MAX_COOKIE_CHARS = 4096

#: Strings longer than this that are data URLs (covers) are replaced by a marker.
DATA_URL_LIMIT = 1024
#: Any other string longer than this is cut.
LONG_STRING_LIMIT = 64 * 1024
#: If the shrunk input is still larger, it is dropped: the supervisor re-reads the scene anyway.
INPUT_BUDGET_BYTES = wire.MAX_FRAME_BYTES // 2


class BadInputError(ValueError):
    """Stdin that is not what Stash sends; exit code 2."""


def build_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The supervisor's event from Stash's hook input, or ``BadInputError`` naming the bad field.

    Accepts exactly what the supervisor accepts, so that a refusal can only be transient.
    """
    args = payload.get("args")
    if not isinstance(args, dict):
        raise BadInputError("hook input has no 'args' object")
    context = args.get("hookContext")
    if not isinstance(context, dict):
        raise BadInputError("hook input has no 'args.hookContext' object (is this a hook run?)")
    trigger = context.get("type")
    if not isinstance(trigger, str) or not trigger:
        raise BadInputError("'args.hookContext.type' must be a non-empty string")
    if trigger not in HOOK_TRIGGERS:
        shown = trigger if len(trigger) <= 80 else trigger[:80] + "..."
        raise BadInputError(
            f"'args.hookContext.type' must be one of {', '.join(HOOK_TRIGGERS)}, not {shown!r}; "
            "the plugin's manifest should hook only these (reinstall the plugin)"
        )
    object_id = context.get("id")
    if isinstance(object_id, str) and object_id.isascii() and object_id.isdigit():
        object_id = int(object_id)
    if type(object_id) is not int or not 0 < object_id < 10**MAX_ID_DIGITS:
        raise BadInputError(
            f"'args.hookContext.id' must be a positive integer of at most {MAX_ID_DIGITS} digits"
        )
    fields = context.get("inputFields") or []
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        raise BadInputError("'args.hookContext.inputFields' must be a list of strings")
    if len(fields) > MAX_INPUT_FIELDS:
        raise BadInputError(
            f"'args.hookContext.inputFields' has {len(fields)} names; "
            f"at most {MAX_INPUT_FIELDS} are accepted"
        )
    # A performer's id is not a scene's: naming it apart keeps it out of every per-scene path.
    id_key = "scene_id" if trigger in SCENE_TRIGGERS else "object_id"
    return {
        "trigger": trigger,
        id_key: str(object_id),
        "input_fields": fields,
        "input": shrink_input(context.get("input")),
        "received_at": time.time(),
        "hook_pid": lean_os.getpid(),
        "connection": connection_from(payload.get("server_connection")),
    }


def subject(event: dict[str, Any]) -> str:
    """What the event is about, for Stash's log: ``scene 45``, ``tag 12``."""
    if "scene_id" in event:
        return f"scene {event['scene_id']}"
    return f"{event['trigger'].partition('.')[0].lower()} {event['object_id']}"


def connection_from(server_connection: Any) -> dict[str, Any] | None:
    """How the supervisor can call Stash back; the session cookie is a credential."""
    if server_connection is None:
        return None
    if not isinstance(server_connection, dict):
        raise BadInputError("'server_connection' must be a JSON object")
    scheme = server_connection.get("Scheme") or "http"
    if scheme not in ("http", "https"):
        raise BadInputError("'server_connection.Scheme' must be http or https")
    host = server_connection.get("Host")
    # Stash reports its listen address; a wildcard means "this machine".
    if not isinstance(host, str) or host.strip("[]") in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    port = server_connection.get("Port", 9999)
    if type(port) is not int or not 0 < port < 65536:
        raise BadInputError("'server_connection.Port' must be an integer port number")
    cookie = server_connection.get("SessionCookie")
    value = cookie.get("Value") if isinstance(cookie, dict) else None
    if isinstance(value, str) and value and not valid_cookie(value):
        raise BadInputError(
            "'server_connection.SessionCookie.Value' is not a usable cookie: at most "
            f"{MAX_COOKIE_CHARS} printable ASCII characters without spaces, quotes, commas, "
            "semicolons or backslashes"
        )
    return {
        "scheme": scheme,
        "host": host,
        "port": port,
        "session_cookie": value if isinstance(value, str) and value else None,
    }


def event_problem(event: Any) -> str | None:
    """Why the host's ``HookEvent`` would refuse ``event``, or None.

    For the watchdog's front door, which checks what a hook sent before acknowledging it
    (``build_event`` makes events that pass). Refused there, the hook hears it at once (and
    Stash's log shows it), where a refusal in the host's drain could only set the event aside.
    ``test_frontdoor`` keeps this in step with ``actors.messages.HookEvent``.
    """
    if not isinstance(event, dict):
        return "event: should be an object"
    return _subject_problem(event) or _fields_problem(event) or _connection_problem(event)


def _subject_problem(event: dict[str, Any]) -> str | None:
    trigger = event.get("trigger")
    if trigger not in HOOK_TRIGGERS:
        return f"trigger: should be one of {', '.join(HOOK_TRIGGERS)}"
    for key in ("scene_id", "object_id"):
        value = event.get(key)
        if value is not None and not (isinstance(value, str) and _digits(value)):
            return f"{key}: should be a string of 1 to {MAX_ID_DIGITS} digits"
    named = "scene_id" if trigger in SCENE_TRIGGERS else "object_id"
    other = "object_id" if named == "scene_id" else "scene_id"
    if event.get(named) is None or event.get(other) is not None:
        return f"{trigger} names its subject in {named} (and no {other})"
    return None


def _fields_problem(event: dict[str, Any]) -> str | None:
    fields = event.get("input_fields", [])
    if not isinstance(fields, list) or not all(isinstance(name, str) for name in fields):
        return "input_fields: should be a list of strings"
    if len(fields) > MAX_INPUT_FIELDS:
        return f"input_fields: at most {MAX_INPUT_FIELDS} names"
    received = event.get("received_at")
    number = isinstance(received, int | float) and not isinstance(received, bool)
    if received is not None and not number:
        return "received_at: should be a number"
    return None


def _connection_problem(event: dict[str, Any]) -> str | None:
    connection = event.get("connection")
    if connection is not None and not isinstance(connection, dict):
        return "connection: should be an object"
    cookie = (connection or {}).get("session_cookie")
    if cookie is not None and not (isinstance(cookie, str) and valid_cookie(cookie)):
        return (
            f"connection: session_cookie is not a usable cookie (at most "
            f"{MAX_COOKIE_CHARS} printable ASCII characters without spaces, quotes, "
            "commas, semicolons or backslashes)"
        )
    return None


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit() and 1 <= len(value) <= MAX_ID_DIGITS


def valid_cookie(value: str) -> bool:
    """Whether ``value`` can be sent as Stash's session cookie."""
    return 0 < len(value) <= MAX_COOKIE_CHARS and all(ch in COOKIE_OCTETS for ch in value)


def shrink_input(value: Any) -> Any:
    """The hook input with huge values (base64 covers) replaced so the event stays small."""
    shrunk = _shrink(value)
    size = len(wire.to_json(shrunk))
    return shrunk if size <= INPUT_BUDGET_BYTES else f"<input omitted: {size} bytes>"


def _shrink(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > DATA_URL_LIMIT and value.startswith("data:"):
            return f"<data URL omitted: {len(value)} chars>"
        if len(value) > LONG_STRING_LIMIT:
            return value[:LONG_STRING_LIMIT] + f"<cut: {len(value)} chars>"
        return value
    if isinstance(value, dict):
        return {key: _shrink(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shrink(item) for item in value]
    return value
