"""A tiny third-party plugin package, built as a wheel and installed with pip by the tests.

``counter`` answers every message with ``counted <message id>`` and writes a line to
``$VENN_TEST_COUNTER_LOG`` when it starts and when it finishes a job; a message that
contains ``$VENN_TEST_COUNTER_HANG`` makes it hang. ``broken`` fails to import.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

NAME = "venn_tiny_plugins"
DIST = "venn-tiny-plugins"
VERSION = "0.3.0"

FILES = {
    f"{NAME}/__init__.py": '''
import asyncio
import os

from venn_bots import Plugin, command, on_message


def _log(line):
    path = os.environ.get("VENN_TEST_COUNTER_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\\n")


class CounterPlugin(Plugin):
    name = "counter"
    description = "Counts messages (a plugin installed from a package)."
    version = "0.3.0"

    @command("count", help="Say how many messages were counted here.")
    async def count(self, ctx):
        await ctx.reply(str(await ctx.channel_store.get("count", 0)))

    @on_message
    async def seen(self, ctx):
        _log(f"start {ctx.job_id} {os.getpid()} {ctx.message.id}")
        hang = os.environ.get("VENN_TEST_COUNTER_HANG")
        if hang and hang in ctx.text:
            await asyncio.sleep(3600)
        await ctx.reply(f"counted {ctx.message.id}")
        _log(f"done {ctx.job_id} {os.getpid()} {ctx.message.id}")
''',
    f"{NAME}/broken.py": '''
import a_module_that_does_not_exist  # noqa: F401  (this plugin fails to import on purpose)
''',
    f"{NAME}-{VERSION}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n",
    f"{NAME}-{VERSION}.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: venn-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
    f"{NAME}-{VERSION}.dist-info/entry_points.txt": (
        f"[venn.plugins]\ncounter = {NAME}:CounterPlugin\nbroken = {NAME}.broken:Plugin\n"
    ),
}


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(out_dir: Path) -> Path:
    wheel = out_dir / f"{NAME}-{VERSION}-py3-none-any.whl"
    record_path = f"{NAME}-{VERSION}.dist-info/RECORD"
    lines = []
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in FILES.items():
            data = text.lstrip("\n").encode()
            zf.writestr(path, data)
            lines.append(_record_line(path, data))
        lines.append(f"{record_path},,")
        zf.writestr(record_path, "\n".join(lines) + "\n")
    return wheel


def install(target: Path) -> Path:
    """Build the wheel and install it with pip into ``target`` (a directory for sys.path)."""
    target.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(target.parent)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--disable-pip-version-check",
         "--target", str(target), str(wheel)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return target
