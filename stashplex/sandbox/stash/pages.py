"""The HTML the emulator serves: Stash's login page, in the emulator's own words.

Real Stash renders `ui/login/login.html` for `GET /login` when credentials are configured
(internal/api/session.go, `serveLoginPage`): HTTP 200, `Content-Type: text/html`, a form posting
`username`/`password` and carrying the `returnURL`. A client that follows the 302 an anonymous
image request gets therefore ends up with an HTML page and status 200, not with an image and not
with an error status: exactly what an image downloader must not mistake for a cover.
"""

from __future__ import annotations

import html

LOGIN_TITLE = "Login"


def login_page(return_url: str, error: str = "") -> bytes:
    """A small login form; the emulator's markup, Stash's fields and behaviour."""
    error_html = f'<div class="login-error">{html.escape(error)}</div>' if error else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>{LOGIN_TITLE}</title>
</head>
<body>
<form class="login" method="post" action="login">
  <input type="hidden" id="returnURL" name="returnURL" value="{html.escape(return_url)}">
  <label for="username">Username</label>
  <input type="text" id="username" name="username" autocomplete="username">
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password">
  <button type="submit">Login</button>
  {error_html}
</form>
</body>
</html>
""".encode()
