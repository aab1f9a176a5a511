"""One frozen, typed settings object read from HYPERTUBE_* environment variables and `.env`."""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

PREFIX = "HYPERTUBE_"
# Node ids appear in Traefik router names, pid file names and query strings.
NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


class SettingsError(ValueError):
    """A setting has a value the application cannot use; the message says which and why."""


@dataclass(frozen=True)
class OAuthProvider:
    name: str
    client_id: str
    client_secret: str
    base_url: str


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "Hypertube <no-reply@hypertube.local>"
    secure_cookies: str = "auto"
    sources: tuple[str, ...] = ("yts", "archive")
    yts_url: str = "https://yts.mx/api/v2"
    archive_url: str = "https://archive.org"
    tmdb_url: str = "https://api.themoviedb.org/3"
    omdb_url: str = "https://www.omdbapi.com"
    opensubtitles_url: str = "https://api.opensubtitles.com/api/v1"
    tmdb_key: str | None = None
    omdb_key: str | None = None
    opensubtitles_key: str | None = None
    oauth_ft_id: str | None = None
    oauth_ft_secret: str | None = None
    oauth_ft_url: str = "https://api.intra.42.fr"
    oauth_github_id: str | None = None
    oauth_github_secret: str | None = None
    oauth_github_url: str = "https://github.com"
    oauth_github_api_url: str = "https://api.github.com"
    oauth_google_id: str | None = None
    oauth_google_secret: str | None = None
    oauth_google_url: str = "https://accounts.google.com"
    oauth_google_token_url: str = "https://oauth2.googleapis.com"
    oauth_google_api_url: str = "https://openidconnect.googleapis.com"
    cors_origins: tuple[str, ...] = ()
    # Hosts that server-side fetches (profile pictures, .torrent files) may reach on non-public addresses.
    fetch_allowed_hosts: tuple[str, ...] = ()
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    bcrypt_cost: int = 12
    unwatched_days: int = 30
    disk_quota_gb: float = 0.0
    torrent_port: int = 0
    # Trackers every torrent announces to, besides the ones its source names.
    torrent_trackers: tuple[str, ...] = ()
    header_timeout: float = 10.0
    max_transcodes: int = 2
    demo: bool = False
    log_level: str = "INFO"
    node_id: str = ""
    node_url: str = ""
    redis_prefix: str = "ht:"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def secure(self) -> bool:
        if self.secure_cookies == "auto":
            return self.base_url.startswith("https://")
        return self.secure_cookies in ("1", "true", "yes", "on")

    @property
    def download_dir(self) -> Path:
        return self.data_dir / "downloads"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def oauth_provider(self, name: str) -> OAuthProvider | None:
        cid = getattr(self, f"oauth_{name}_id")
        secret = getattr(self, f"oauth_{name}_secret")
        if not cid or not secret:
            return None
        return OAuthProvider(name, cid, secret, getattr(self, f"oauth_{name}_url"))

    @property
    def oauth_providers(self) -> list[OAuthProvider]:
        return [p for n in ("ft", "github", "google") if (p := self.oauth_provider(n))]

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments and optional quotes. Unknown keys are kept for the caller."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def _convert(name: str, annotation: str, raw: str):
    try:
        if annotation == "Path":
            return Path(raw)
        if annotation == "int":
            return int(raw)
        if annotation == "float":
            return float(raw)
        if annotation == "bool":
            lowered = raw.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off", ""):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes", "on")
        if annotation.startswith("tuple"):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}{name.upper()}={raw!r} is not a valid {annotation}") from exc
    return raw or None if "None" in annotation else raw


def _read_value_file(key: str, path: str) -> str:
    """`KEY_FILE=/run/secrets/x` gives KEY the file's content, so secrets can come from mounted files."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{key}_FILE={path!r} cannot be read: {exc.strerror}") from exc


def load_settings(
    env: dict[str, str] | None = None, dotenv: Path | None = Path(".env"), **overrides
) -> Settings:
    """Builds settings from `.env`, then the environment, then keyword overrides; validates them."""
    source = dict(read_dotenv(dotenv)) if dotenv else {}
    source.update(os.environ if env is None else env)
    values: dict[str, object] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        key = PREFIX + f.name.upper()
        if key not in source and key + "_FILE" in source:
            source[key] = _read_value_file(key, source[key + "_FILE"])
        if key in source:
            values[f.name] = _convert(f.name, str(f.type), source[key])
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    parsed = urlparse(settings.base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"HYPERTUBE_BASE_URL must be an http(s) URL, got {settings.base_url!r}")
    if settings.database_url and not settings.database_url.startswith(("postgres://", "postgresql://")):
        raise SettingsError("HYPERTUBE_DATABASE_URL must start with postgresql://")
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("HYPERTUBE_REDIS_URL must start with redis://")
    if settings.smtp_url and urlparse(settings.smtp_url).scheme not in ("smtp", "smtps"):
        raise SettingsError("HYPERTUBE_SMTP_URL must look like smtp://user:pass@host:port")
    if settings.secure_cookies not in ("auto", "1", "0", "true", "false", "yes", "no", "on", "off"):
        raise SettingsError("HYPERTUBE_SECURE_COOKIES must be auto, true or false")
    if not 4 <= settings.bcrypt_cost <= 16:
        raise SettingsError("HYPERTUBE_BCRYPT_COST must be between 4 and 16 (12 or more in production)")
    if settings.header_timeout <= 0:
        raise SettingsError("HYPERTUBE_HEADER_TIMEOUT must be a positive number of seconds")
    if settings.max_transcodes < 1:
        raise SettingsError("HYPERTUBE_MAX_TRANSCODES must be at least 1")
    unknown = set(settings.sources) - {"yts", "archive", "demo"}
    if unknown:
        raise SettingsError(f"HYPERTUBE_SOURCES has unknown sources: {', '.join(sorted(unknown))}")
    if settings.node_id and not NODE_ID.fullmatch(settings.node_id):
        raise SettingsError("HYPERTUBE_NODE_ID may hold only letters, digits, '.', '_' and '-' (at most 63)")
    if settings.node_url and urlparse(settings.node_url).scheme not in ("http", "https"):
        raise SettingsError(f"HYPERTUBE_NODE_URL must be an http(s) URL, got {settings.node_url!r}")
    if settings.access_token_ttl <= 0 or settings.refresh_token_ttl <= settings.access_token_ttl:
        raise SettingsError(
            "token lifetimes must be positive and the refresh token must outlive the access token"
        )


def generated_once(path: Path, make: Callable[[], str]) -> str:
    """The value kept in `path`, written there (mode 0600) by `make()` the first time it is needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process sharing the data dir wrote it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
    return path.read_text().strip()


def ensure_secret_key(settings: Settings) -> Settings:
    """Returns settings with a secret key: the configured one, else one generated once into the data dir."""
    if settings.secret_key:
        return settings
    key = generated_once(settings.data_dir / "secret_key", lambda: secrets.token_urlsafe(48))
    return settings.replace(secret_key=key)
