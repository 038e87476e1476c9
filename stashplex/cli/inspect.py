"""``status``, ``doctor`` and ``unmatched``: is it running, can it work, what does not map?"""

from __future__ import annotations

import argparse
import json
import textwrap

from stashplex.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    add_data_dir,
    ask,
    data_dir_of,
)


def register(sub: argparse._SubParsersAction) -> None:
    status = sub.add_parser("status", help="what the running supervisor is doing")
    add_data_dir(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    doctor = sub.add_parser(
        "doctor", help="check Stash and Plex reachability, token, libraries, path-map coverage"
    )
    add_data_dir(doctor)
    doctor.set_defaults(func=cmd_doctor)

    trust = sub.add_parser(
        "trust-plex",
        help="accept the Plex server plex_url points at now as the one the Plex token is for",
    )
    add_data_dir(trust)
    trust.set_defaults(func=cmd_trust_plex)
    unmatched = sub.add_parser(
        "unmatched",
        help="list every Stash scene whose files do not map to a Plex item, with the reason",
    )
    add_data_dir(unmatched)
    unmatched.add_argument("--json", action="store_true", help="machine-readable output")
    unmatched.set_defaults(func=cmd_unmatched)


def cmd_status(args: argparse.Namespace) -> int:
    status = ask(data_dir_of(args), {"type": "status"})
    status.pop("ok", None)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return EXIT_OK
    print(render_status(status))
    return EXIT_OK


#: ``stashplex status`` fits a terminal this narrow.
STATUS_WIDTH = 50
LABEL_WIDTH = 10
#: A list item this short ("303 syncs sent") is never split across two lines.
SHORT_ITEM = 24
#: textwrap breaks only at ASCII whitespace, so a no-break space glues an item's words.
GLUE = "\xa0"


def _glued(value: str) -> str:
    return ", ".join(
        item.replace(" ", GLUE) if len(item) <= SHORT_ITEM else item for item in value.split(", ")
    )


def render_status(status: dict, *, width: int = STATUS_WIDTH) -> str:
    """The status rows as a table in user words, each line at most ``width`` characters."""
    from stashplex.ops.statusline import status_rows

    lines = []
    for label, value in status_rows(status):
        lines += textwrap.wrap(
            _glued(value),
            width=width,
            initial_indent=f"{label:<{LABEL_WIDTH}}  ",
            subsequent_indent=" " * (LABEL_WIDTH + 2),
            break_on_hyphens=False,
        ) or [label]
    return "\n".join(lines).replace(GLUE, " ")


def cmd_doctor(args: argparse.Namespace) -> int:
    from stashplex.config.loading import load_effective_settings
    from stashplex.config.settings import SettingsError
    from stashplex.ops.doctor import doctor_checks, report_text

    data = data_dir_of(args)
    try:
        load_effective_settings(data.config_file)
    except SettingsError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    checks = doctor_checks(data.root)
    print(report_text(checks))
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED


def cmd_unmatched(args: argparse.Namespace) -> int:
    """Exit 0 when every scene maps to a Plex item, 1 when some do not (they are listed)."""
    from dataclasses import asdict

    from stashplex.config.loading import load_effective_settings
    from stashplex.config.settings import SettingsError
    from stashplex.ops.unmatched import Coverage, find_unmatched
    from stashplex.plex.connection import PLEX_ERRORS, classify
    from stashplex.stash import StashError

    data = data_dir_of(args)
    try:
        settings = load_effective_settings(data.config_file)
    except SettingsError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if not settings.plex_url:
        raise CommandError("plex_url is not set; `stashplex doctor` checks the setup", EXIT_USAGE)
    coverage = Coverage()
    try:
        rows = list(find_unmatched(settings, coverage))
    except PLEX_ERRORS as exc:
        raise CommandError(f"Plex's libraries cannot be listed: {classify(exc).message}") from None
    except StashError as exc:
        raise CommandError(f"Stash's scenes cannot be read: {exc}") from None
    if args.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    elif not rows:
        items = coverage.plex_items
        print(f"all {coverage.scenes} scenes map to a Plex item ({items} items in Plex)")
    else:
        print(f"{len(rows)} of {coverage.scenes} scenes do not map to a Plex item:")
        for row in rows:
            print(f"scene {row.scene_id} {row.title!r}: {row.reason}: {row.detail}")
    return EXIT_FAILED if rows else EXIT_OK


def cmd_trust_plex(args: argparse.Namespace) -> int:
    """Record the identity of the server at ``plex_url`` (asked without the token).

    Needed when ``plex_url`` comes from Stash's plugin settings but the token does not: the
    supervisor then sends the token only to the server recorded here.
    """
    from stashplex.config.loading import load_effective_settings
    from stashplex.config.settings import SettingsError
    from stashplex.plex.connection import plex_session
    from stashplex.plex.trust import (
        UntrustedServerError,
        identity_file,
        record_identity,
        server_identity,
    )

    data = data_dir_of(args)
    try:
        settings = load_effective_settings(data.config_file)
    except SettingsError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    if not settings.plex_url:
        raise CommandError("plex_url is not set", EXIT_USAGE)
    try:
        found = server_identity(
            settings.plex_url, plex_session(settings), settings.plex_read_timeout_seconds
        )
    except UntrustedServerError as exc:
        raise CommandError(str(exc)) from None
    data.ensure()
    record_identity(identity_file(data), found, settings.plex_url)
    print(
        f"the Plex token may now go to {settings.plex_url} (machineIdentifier {found}); "
        "`stashplex dlq retry --reason unauthorized` runs the refused jobs again"
    )
    return EXIT_OK
