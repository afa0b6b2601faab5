"""The growth benchmark's plot command turns its JSON into PNG files (no timings asserted)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

from bench import plot_growth


def _spread(value: float) -> dict[str, float]:
    return {"median": value, "min": value * 0.8, "max": value * 1.3, "n": 3}


def _tiny_results(folder: Path) -> None:
    common = {"delivered_pct": 100.0, "p50_ms": 3.0}
    rooms = [{"system": system, "members": m, "mode": mode, "sent_per_s": 10.0, "p99": _spread(m / 10 + 5),
              "per_s": _spread(m * 50.0), **common}
             for system in ("relay", "venn") for m in (10, 100, 1000) for mode in ("rate", "full")]
    sockets = [{"idle_sockets": n, "rss_mib": 150 + n / 30, "p99": _spread(6.0 + n / 2000),
                **({"kib": _spread(34.0), "failed": 0} if n else {}), **common} for n in (0, 1000, 5000)]
    data = [{"messages": n, "what": what, "system": system, "p99": _spread(n / 1e5), **common}
            for n in (100_000, 1_000_000) for what in ("history", "search common")
            for system in ("Venn GET page (HTTP)", "raw keyset query")]
    loads = [{"messages": 100_000, "added": 100_000, "load_s": 9.5}]
    for name, rows, extra in (("rooms", rooms, {"rate": 10}), ("sockets", sockets, {"listeners": 20, "rate": 100}),
                              ("data", data, {"loads": loads})):
        (folder / f"growth-{name}.json").write_text(json.dumps({"runs": 3, "rows": rows, **extra}))
    slower = [r for r in rooms if r["mode"] == "rate"]
    (folder / "growth-rooms-2.json").write_text(json.dumps({"runs": 3, "rate": 2, "rows": slower}))


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_plot_command_writes_a_png_per_series(tmp_path: Path) -> None:
    results, out = tmp_path / "results", tmp_path / "docs"
    results.mkdir()
    _tiny_results(results)
    done = subprocess.run([sys.executable, "-m", "bench.plot_growth", "--results", str(results), "--out", str(out),
                           "--tables"],
                          capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    for table in ("| idle sockets |", "| 1,000,000 | history |", "| rate msg/s |"):
        assert table in done.stdout
    names = {"growth-rooms.png", "growth-sockets.png", "growth-history-search.png"}
    assert {p.name for p in out.iterdir()} == names
    for name in names:
        width, height = _png_size(out / name)
        assert width > 300 and height > 200


def test_missing_results_draw_nothing(tmp_path: Path) -> None:
    assert plot_growth.draw(tmp_path, tmp_path / "docs") == []
