"""Database access: the asyncpg pool, the embedded PostgreSQL fallback and migrations."""

from hypertube.db.migrate import apply_migrations
from hypertube.db.pool import connect_pool, database_url

__all__ = ["apply_migrations", "connect_pool", "database_url"]
