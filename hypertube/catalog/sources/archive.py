"""The Internet Archive: advanced search over its feature films, `metadata/{id}` for files and torrents."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from hypertube.catalog.records import (
    FilmRecord,
    SearchFilters,
    SourceUnavailable,
    TorrentRecord,
    as_hash,
    as_imdb,
    as_int,
    as_list,
    as_names,
    as_text,
    as_year,
    first_text,
)
from hypertube.catalog.sources.remote import RemoteSource

IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
IMDB_IN_TEXT = re.compile(r"\b(tt[0-9]{5,10})\b")
FIELDS = ("identifier", "title", "year", "downloads", "description", "subject", "runtime", "imdb", "creator")
SORTS = {"name": "titleSorter", "year": "year", "popularity": "downloads", "rating": "downloads"}
# Characters with a meaning in the search syntax are dropped from the words people type.
OPERATORS = {"AND", "OR", "NOT", "TO"}
QUERY_JUNK = re.compile(r"[^\w\s'-]", re.UNICODE)


def _clean_html(text: str | None) -> str | None:
    if not text:
        return None
    return re.sub(r"\s+\n", "\n", re.sub(r"<[^>]{0,200}>", " ", text)).strip() or None


def _restricted(doc: dict[str, Any]) -> bool:
    return str(first_text(doc.get("access-restricted-item")) or "").lower() == "true"


class ArchiveSource(RemoteSource):
    name = "archive"
    label = "Internet Archive"

    def torrent_url(self, identifier: str) -> str:
        return f"{self.base_url}/download/{identifier}/{identifier}_archive.torrent"

    async def search(self, query: str, page: int, filters: SearchFilters) -> list[FilmRecord]:
        # Restricted items (lending library) have no torrent anyone can download.
        clauses = ["collection:(feature_films)", "mediatype:(movies)", "NOT access-restricted-item:(true)"]
        words = [w for w in QUERY_JUNK.sub(" ", query).split() if w not in OPERATORS][:8]
        if words:
            clauses.append("title:(" + " ".join(words) + ")")
        if filters.genre:
            clauses.append("subject:(" + QUERY_JUNK.sub(" ", filters.genre).strip() + ")")
        if filters.year_min is not None or filters.year_max is not None:
            clauses.append(f"year:[{filters.year_min or 1870} TO {filters.year_max or 2100}]")
        params: list[tuple[str, str]] = [("q", " AND ".join(clauses))]
        params += [("fl[]", f) for f in FIELDS]
        direction = "asc" if query and filters.sort == "name" and filters.order == "asc" else "desc"
        sort = SORTS.get(filters.sort, "downloads") if query else "downloads"
        params += [
            ("sort[]", f"{sort} {direction}"),
            ("rows", str(self.page_size)),
            ("page", str(page)),
            ("output", "json"),
        ]
        answer = await self.fetcher.get(
            self.name, f"{self.base_url}/advancedsearch.php", params, ttl=900, check=self._search_answer
        )
        docs = answer["response"].get("docs") or []
        if not isinstance(docs, list):
            raise SourceUnavailable(self.name, "sent a film list that is not a list")
        return [r for d in docs if (r := self.record(d)) is not None]

    def _search_answer(self, answer: Any) -> None:
        if not isinstance(answer, dict) or not isinstance(answer.get("response"), dict):
            message = answer.get("error") if isinstance(answer, dict) else None
            raise SourceUnavailable(self.name, f"said: {as_text(message, 200) or 'unexpected answer'}")

    def record(self, doc: Any, files: list[Any] | None = None) -> FilmRecord | None:
        if not isinstance(doc, dict):
            return None
        identifier = doc.get("identifier")
        if not isinstance(identifier, str) or not IDENTIFIER_RE.match(identifier):
            return None
        title = first_text(doc.get("title"), 500)
        if not title:
            return None
        description = _clean_html(as_text(doc.get("description")))
        imdb = as_imdb(first_text(doc.get("imdb")))
        for ident in doc.get("external-identifier") or []:
            if isinstance(ident, str) and ident.startswith("urn:imdb:"):
                imdb = imdb or as_imdb(ident.removeprefix("urn:imdb:"))
        runtime = doc.get("runtime")
        minutes = None
        if isinstance(runtime, str) and (m := re.match(r"^\s*(\d+):(\d{2})(?::(\d{2}))?\s*$", runtime)):
            minutes = int(m.group(1)) * 60 + int(m.group(2)) if m.group(3) else int(m.group(1))
        elif runtime is not None:
            minutes = as_int(re.sub(r"[^0-9]", "", str(runtime)) or None, 1, 2000)
        # Search results list no files: every item has its `_archive.torrent` until its metadata (read
        # when its page is first opened) says otherwise.
        torrent: TorrentRecord | None = TorrentRecord(
            quality="Archive", torrent_url=self.torrent_url(identifier)
        )
        if files is not None:
            torrent = self._torrent(identifier, files)
        if _restricted(doc):
            torrent = None
        return FilmRecord(
            source=self.name,
            external_id=identifier,
            title=title,
            imdb_id=imdb,
            year=as_year(doc.get("year") or doc.get("date")),
            runtime=minutes if minutes and 0 < minutes <= 2000 else None,
            genres=[g.title() for g in as_list(doc.get("subject"))][:6],
            summary=description,
            director=as_names(doc.get("director") or doc.get("creator")),
            cover_url=f"{self.base_url}/services/img/{identifier}",
            language=as_text(doc.get("language"), 20),
            popularity=float(as_int(doc.get("downloads"), 0) or 0),
            torrents=[torrent] if torrent else [],
            withdrawn=[] if torrent else [self.torrent_url(identifier)],
        )

    def _torrent(self, identifier: str, files: list[Any]) -> TorrentRecord | None:
        video_size = 0
        found: TorrentRecord | None = None
        for f in files:
            if not isinstance(f, dict):
                continue
            name = f.get("name")
            if name == f"{identifier}_archive.torrent":
                info_hash = as_hash(f.get("btih"))
                found = TorrentRecord(
                    quality="Archive",
                    info_hash=info_hash,
                    torrent_url=self.torrent_url(identifier),
                    magnet=f"magnet:?xt=urn:btih:{info_hash}&dn={quote(identifier)}" if info_hash else None,
                )
            elif isinstance(name, str) and name.lower().endswith((".mp4", ".mkv", ".avi", ".ogv", ".webm")):
                video_size = max(video_size, as_int(f.get("size"), 0) or 0)
        if found is not None and video_size:
            found.size_bytes = video_size
        return found

    async def details(self, external_id: str) -> FilmRecord | None:
        if not IDENTIFIER_RE.match(external_id):
            return None
        answer = await self.fetcher.get(
            self.name, f"{self.base_url}/metadata/{quote(external_id)}", None, ttl=3600, not_found_ok=True
        )
        if answer is None or answer == {}:
            return None  # the Archive answers {} for an identifier it does not know
        if not isinstance(answer, dict) or not isinstance(answer.get("metadata"), dict):
            raise SourceUnavailable(self.name, "sent metadata in an unexpected shape")
        files = answer.get("files") if isinstance(answer.get("files"), list) else []
        # Items with only derivatives (MP4, OGV) and no `_archive.torrent`, and lending-library items,
        # have no copy to offer: the one guessed from the search is withdrawn.
        record = self.record(answer["metadata"], files)
        if record is not None:
            record.has_details = True
        return record
