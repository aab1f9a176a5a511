"""The canonical genres: their names (what the database and URLs hold), labels and translations. The
sources' own words, in English, French, Spanish, German, Italian or Portuguese, are mapped to these names
when films are stored (`canonical_genres()`, last defined in migration 082)."""

from __future__ import annotations

from hypertube.i18n import N_
from hypertube.i18n import gettext as _

# Name (kept in `movies.genres` and in `?genre=`) -> English label, translated when shown.
GENRES: dict[str, str] = {
    "Action": N_("Action"),
    "Adventure": N_("Adventure"),
    "Animation": N_("Animation"),
    "Biography": N_("Biography"),
    "Comedy": N_("Comedy"),
    "Crime": N_("Crime"),
    "Documentary": N_("Documentary"),
    "Drama": N_("Drama"),
    "Family": N_("Family"),
    "Fantasy": N_("Fantasy"),
    "Film-Noir": N_("Film noir"),
    "History": N_("History"),
    "Horror": N_("Horror"),
    "Music": N_("Music"),
    "Musical": N_("Musical"),
    "Mystery": N_("Mystery"),
    "Romance": N_("Romance"),
    "Sci-Fi": N_("Science fiction"),
    "Sport": N_("Sport"),
    "Thriller": N_("Thriller"),
    "War": N_("War"),
    "Western": N_("Western"),
}
_BY_LOWER = {name.lower(): name for name in GENRES}


def genre_label(name: str) -> str:
    """The genre's label in the current language (an unknown name is shown as it is)."""
    label = GENRES.get(name)
    return _(label) if label else name


def genre_choices() -> list[tuple[str, str]]:
    """(name, label) of every genre, sorted by label in the current language."""
    return sorted(((name, genre_label(name)) for name in GENRES), key=lambda c: c[1].casefold())


def known_name(raw: str | None) -> str | None:
    """The canonical name for a `?genre=` value spelt in another case ("sci-fi"), else the value."""
    if raw is None:
        return None
    return _BY_LOWER.get(raw.lower(), raw)
