"""Gazetteer reads the screens need: the places to choose from, a region's capital."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

KIND_ORDER = "CASE kind WHEN 'region_capital' THEN 0 WHEN 'cercle_capital' THEN 1 ELSE 2 END"


def places(
    db: sqlite_utils.Database, *, region: str | None = None, kinds: Iterable[str] | None = None, by_kind: bool = True
) -> list[tuple[str, str]]:
    """(id, name) of gazetteer places, one region's or all; capitals first (by_kind), then by name."""
    sql = "SELECT id, name FROM localities"
    where: list[str] = []
    params: list[str] = []
    if region:
        where.append("region = ?")
        params.append(region)
    kind_list = list(kinds or [])
    if kind_list:
        where.append(f"kind IN ({', '.join('?' for _ in kind_list)})")
        params.extend(kind_list)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {KIND_ORDER}, name" if by_kind else " ORDER BY name"
    return [(str(r[0]), str(r[1])) for r in db.execute(sql, params).fetchall()]


def region_capital(db: sqlite_utils.Database, region: str) -> str | None:
    """The gazetteer id of a region's capital, None when the gazetteer has none."""
    row = db.execute("SELECT id FROM localities WHERE kind = 'region_capital' AND region = ?", [region]).fetchone()
    return str(row[0]) if row else None
