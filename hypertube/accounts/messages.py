"""Marks user-visible messages of the accounts package for translation; they are translated when shown."""


def N_(message: str) -> str:
    """Returns the message unchanged; the catalog extractor picks up the literal."""
    return message
