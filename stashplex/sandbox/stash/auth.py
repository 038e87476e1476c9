"""Stash's authentication middleware, as a decision the HTTP front then carries out.

Source: internal/api/authentication.go (`authenticateHandler`, `allowUnauthenticated`) and
pkg/session/session.go (`Store.Authenticate`, `GetSessionUserID`):

1. An `ApiKey` header, else an `apikey` query parameter, that is non-empty must equal the
   configured key, or the request is 401 (even when no credentials are configured at all).
   A matching key logs in the configured username; no cookie is touched.
2. Otherwise a valid `session` cookie logs in its user and is refreshed (`Set-Cookie`); an
   expired, forged or garbled cookie is ignored (not an error).
3. Only when credentials are configured (`HasCredentials`: username and password set) is a
   login required. Then an anonymous request is let through only for `/login...`, `/logout`,
   `/css` and `/assets...`; `/graphql` and any path with an extension other than `.html` get
   401 with `WWW-Authenticate: FormBased` and an empty body; every other path (the image routes
   such as `/scene/{id}/screenshot` among them) gets `302 Found` to
   `<prefix>/login?returnURL=<url-encoded original path and query>`.

Separately, the hook chain is read from any valid cookie (`VisitedPluginHandler`, registered
after the auth middleware), so an ApiKey request that also carries a plugin cookie keeps its
chain, and an expired cookie loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode

from stashplex.sandbox.stash.contracts import HookChain, HTTPBackend, Session
from stashplex.sandbox.stash.sessions import COOKIE_NAME

LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
GRAPHQL_PATH = "/graphql"
RETURN_URL_PARAM = "returnURL"


@dataclass(frozen=True)
class AuthOutcome:
    """`status` is "allow", "unauthorized" or "redirect"; the rest fills the answer."""

    status: str
    user_id: str = ""
    chain: HookChain = ()
    set_cookie: str | None = None
    location: str | None = None


def allow_unauthenticated(path: str) -> bool:
    """#2715 in Stash: the login page's own files must load without a session."""
    return path.startswith((LOGIN_PATH, "/assets")) or path in {LOGOUT_PATH, "/css"}


def read_cookie(raw_cookie: str | None, backend: HTTPBackend) -> Session | None:
    if not raw_cookie:
        return None
    try:
        morsel = SimpleCookie(raw_cookie).get(COOKIE_NAME)
    except CookieError:
        return None
    return None if morsel is None else backend.read_session(morsel.value)


def go_path_ext(path: str) -> str:
    """Go's `path.Ext`: from the last dot of the last element, or "" when it has no dot."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:] if dot >= 0 else ""


def login_redirect(prefix: str, raw_path: str, raw_query: str) -> str:
    """Where `authenticateHandler` sends an anonymous page request (Go `url.Values.Encode`)."""
    return_url = prefix + raw_path
    if raw_query:
        return_url += "?" + raw_query
    return f"{prefix}{LOGIN_PATH}?{urlencode({RETURN_URL_PARAM: return_url})}"


_GO_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}


def redirect_body(location: str) -> bytes:
    """Go's `http.Redirect` body for a GET (`htmlEscape`; `fmt.Fprintln` adds a 2nd newline)."""
    escaped = "".join(_GO_HTML_ESCAPES.get(char, char) for char in location)
    return f'<a href="{escaped}">Found</a>.\n\n'.encode()


def authenticate(
    backend: HTTPBackend,
    *,
    path: str,
    raw_query: str,
    query: dict[str, list[str]],
    api_key_header: str | None,
    raw_cookie: str | None,
    prefix: str,
) -> AuthOutcome:
    """Decide a request as Stash's middleware would (see the module docstring)."""
    session = read_cookie(raw_cookie, backend)
    chain = session.chain if session is not None else ()
    given = api_key_header or (query.get("apikey") or [""])[0]
    set_cookie: str | None = None
    if given:
        if given != (backend.api_key or ""):
            return AuthOutcome("unauthorized")
        user_id = backend.username or ""
    elif session is not None:
        user_id = session.user_id
        set_cookie = backend.refresh_cookie(session)
    else:
        user_id = ""
    if backend.login_required and not user_id and not allow_unauthenticated(path):
        if path == GRAPHQL_PATH or go_path_ext(path) not in ("", ".html"):
            return AuthOutcome("unauthorized")
        return AuthOutcome("redirect", location=login_redirect(prefix, path, raw_query))
    return AuthOutcome("allow", user_id=user_id, chain=chain, set_cookie=set_cookie)
