"""The header's per-visitor parts, filled into shared pages for each request (app.common.caching).

Shared pages are rendered as a guest sees them, so whatever differs for a signed-in visitor (the
account links, their email offered in a form) comes from here, never from the kept copy.
"""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from markupsafe import Markup, escape


def account_links() -> Markup:
    """Sign in and Register for a guest; Account (Staff) and Sign out for whoever is signed in."""
    # On every page, so rendered bare: only what the links need, no context processors.
    links = current_app.jinja_env.get_template("accounts/_header_links.html")
    return Markup(
        links.render(
            current_user=current_user,
            staff_area="dashboard.index" in current_app.view_functions,
        )
    )


def visitor_email() -> Markup:
    """The signed-in visitor's email, escaped for an attribute; nothing for a guest."""
    if current_user.is_authenticated:
        return escape(current_user.email)
    return Markup("")
