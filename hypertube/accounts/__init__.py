"""Accounts: users, passwords, tokens, OAuth providers, password reset and the mail outbox."""
