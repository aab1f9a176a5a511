"""The BitTorrent engine: one libtorrent session, alerts bridged into asyncio, async piece readers."""
