"""Geography helpers: great-circle distance and accent-blind name matching. Pure."""

from __future__ import annotations

import math
import unicodedata

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two WGS84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def fold(text: str) -> str:
    """Lowercase, accents removed, punctuation → spaces, whitespace collapsed: "Sénou-Bamako" → "senou bamako"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    cleaned = "".join(ch.lower() if ch.isalnum() else " " for ch in bare)
    return " ".join(cleaned.split())


def parse_lat_lon(text: str) -> tuple[float, float]:
    """Parse "LAT,LON" (decimal degrees); ValueError with a reason when it is not one."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError("expected LAT,LON")
    lat, lon = (float(p.strip()) for p in parts)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("latitude must be within ±90 and longitude within ±180")
    return lat, lon
