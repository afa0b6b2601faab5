"""``venn plugins list``: the installed plugins, their commands and config schemas."""

from __future__ import annotations

import argparse
import json
import sys


def add_plugin_commands(subparsers: argparse._SubParsersAction) -> None:
    plugins = subparsers.add_parser("plugins", help="bot plugins")
    sub = plugins.add_subparsers(dest="plugins_command", required=True)
    listing = sub.add_parser("list", help="installed plugins with their commands and config schemas")
    listing.add_argument("--json", action="store_true", help="print JSON instead of text")
    listing.add_argument("--verbose", "-v", action="store_true", help="show why skipped plugins failed, in full")
    listing.set_defaults(func=cmd_plugins_list)


def cmd_plugins_list(args: argparse.Namespace) -> int:
    import logging

    from venn_bots.registry import discover

    logging.getLogger("venn.bots.registry").setLevel(logging.CRITICAL)  # reported below instead
    found = discover()
    if args.json:
        out = {
            "plugins": [{**f.cls.describe(), "source": f.source} for f in found.plugins.values()],
            "skipped": [{"source": f.source, "error": f.error} for f in found.failures],
        }
        print(json.dumps(out, indent=2))
        return 0
    if not found.plugins:
        print("No plugins installed.")
    for name in sorted(found.plugins):
        entry = found.plugins[name]
        info = entry.cls.describe()
        print(f"{name} {info['version']}  ({entry.source})")
        if info["description"]:
            print(f"  {info['description']}")
        if info["commands"]:
            print("  commands:")
            for c in info["commands"]:
                print(f"    {c['usage']}" + (f"  - {c['help']}" if c["help"] else ""))
        reacts = [k for k, v in (("messages", info["handles_messages"]), ("mentions", info["handles_mentions"])) if v]
        if reacts or info["events"]:
            print("  reacts to: " + ", ".join(reacts + [f"event {e}" for e in info["events"]]))
        if info["config_schema"].get("properties"):
            print("  config schema:")
            schema = json.dumps(info["config_schema"], indent=2)
            print("\n".join("    " + line for line in schema.splitlines()))
        else:
            print("  config: none")
        print()
    if found.failures:
        print("Skipped (failed to load):", file=sys.stderr)
        for failure in found.failures:
            print(f"  {failure.source}: {failure.error}", file=sys.stderr)
            if args.verbose and failure.detail:
                print("\n".join("      " + line for line in failure.detail.splitlines()), file=sys.stderr)
    return 0
