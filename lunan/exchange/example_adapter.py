"""An example of a city's own adapter: rows from a UTF-8 CSV file whose header names the
catalog entry's fields (e.g. a nightly export of the city's 户籍 system).

    lunan data configure --dir DIR --entry 371300-01-0001 --adapter python \
        --factory lunan.exchange.example_adapter:make --options '{"path": "/srv/hj/居民.csv"}'

The file is read at each call, so a new export is served at once; fine for thousands of rows,
and a real system would rather query its own database here.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lunan.exchange.adapters import AdapterError, ConfigError, matches


class CsvFileAdapter:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(
        self,
        params: Mapping[str, str],
        fields: Sequence[str],
        row_filter: Mapping[str, Sequence[str]],
        limit: int,
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as f:
                for row in csv.DictReader(f):
                    if matches(row, params, row_filter):
                        found.append({name: row.get(name) for name in fields})
                        if len(found) >= limit:
                            break
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            # For the operator's log: the file's name and the failure, never a value.
            raise AdapterError(f"CSV {self.path.name}: {type(e).__name__}") from None
        return found


def make(options: dict[str, Any]) -> CsvFileAdapter:
    """The factory `lunan data configure --factory` names: `options` is `--options`."""
    given = str(options.get("path", ""))
    path = Path(given)
    if not path.is_absolute() or not path.is_file():
        raise ConfigError(
            f"path须为CSV文件的绝对路径 the option path must be a CSV file's absolute path, "
            f"not {given!r}"
        )
    return CsvFileAdapter(path)
