"""Catalog: film sources (YTS, Internet Archive, demo), enrichment, merge, search index and comments."""
