"""Account pages and their routes: sign-up and sign-in, provider sign-in, passwords, profiles and avatars."""

from __future__ import annotations

from aiohttp import web

from hypertube.http import auth
from hypertube.http.accounts import password, profile, provider_signin, signup
from hypertube.http.accounts.workers import janitor, mail_sender, picture_imports

__all__ = ["janitor", "mail_sender", "picture_imports", "setup"]


def setup(app: web.Application) -> None:
    """Adds the account routes; their background workers are opened in `hypertube.lifecycle`."""
    auth.setup(app)
    r = app.router
    r.add_get("/register", signup.register_page, name="register")
    r.add_post("/register", signup.register)
    r.add_get("/login", signup.login_page, name="login")
    r.add_post("/login", signup.login)
    r.add_post("/logout", signup.logout, name="logout")
    r.add_get("/password/forgot", password.forgot_page, name="forgot")
    r.add_post("/password/forgot", password.forgot)
    r.add_get("/password/reset/{token}", password.reset_page, name="reset")
    r.add_post("/password/reset/{token}", password.reset_password)
    r.add_get("/password/common.txt", password.common_passwords)
    r.add_get("/email/verify/{token}", signup.verify_email, name="verify_email")
    r.add_post("/email/verify", signup.resend_verification)
    r.add_get("/profile", profile.profile_page, name="profile")
    r.add_post("/profile", profile.update_profile)
    r.add_post("/profile/password", password.change_password)
    r.add_get("/users/{username}", profile.user_page, name="user")
    r.add_get("/media/avatars/{name}", profile.avatar)
    r.add_get("/auth/choose-username", provider_signin.choose_username_page)
    r.add_post("/auth/choose-username", provider_signin.choose_username)
    r.add_get("/auth/{provider}/login", provider_signin.oauth_login)
    r.add_get("/auth/{provider}/callback", provider_signin.oauth_callback)
