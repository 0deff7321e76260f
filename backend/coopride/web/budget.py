"""The JavaScript budget: at most 150 KB of gzip-compressed JavaScript on any page.

A page's JavaScript is its entry module, the chunks it imports at once, and the chunks it may import
later (the built-in wallet's signing code, loaded on first use): all of it counts. Each file is measured
gzipped at level 6 (a web server's usual setting; the build's own .gz copies are smaller, at level 9).

    python -m coopride.web.budget
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

BUDGET_BYTES = 150 * 1024


@dataclass(frozen=True)
class PageSize:
    eager_bytes: int
    lazy_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.eager_bytes + self.lazy_bytes


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def measure(manifest: dict, dist_dir: Path) -> dict[str, PageSize]:
    sizes = {}
    for page, files in sorted(manifest["pages"].items()):
        eager = gzipped_size(dist_dir / files["entry"]) + sum(gzipped_size(dist_dir / f) for f in files["preload"])
        lazy = sum(gzipped_size(dist_dir / f) for f in files["lazy"])
        sizes[page] = PageSize(eager, lazy)
    return sizes


def main() -> int:
    from coopride.web.assets import DIST_DIR, manifest

    sizes = measure(manifest(), DIST_DIR)
    budget_kb = BUDGET_BYTES / 1024
    print(f"{'page':<10} {'at load':>9} {'on use':>9} {'total':>9}   (KB of gzipped JS; budget {budget_kb:.0f} KB)")
    for page, size in sizes.items():
        print(
            f"{page:<10} {size.eager_bytes / 1024:>9.1f} {size.lazy_bytes / 1024:>9.1f} {size.total_bytes / 1024:>9.1f}"
        )
    over = [page for page, size in sizes.items() if size.total_bytes > BUDGET_BYTES]
    if over:
        print(f"over budget: {', '.join(over)}")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
