"""Command line: serve the fixture portal, or write its ground truth.

python -m fixture_portal serve --seed 1 --articles 160 --theme classic [--port 0]
python -m fixture_portal truth --base-url URL --theme classic --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path

from .generate import build_site
from .model import THEMES
from .server import FixturePortal
from .truth import expected_items


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m fixture_portal")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "serve the portal until Ctrl-C"),
        ("truth", "write the expected items as JSON Lines"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--seed", type=int, default=1)
        command.add_argument("--articles", type=int, default=160)
        command.add_argument("--theme", choices=THEMES, default="classic")
    commands.choices["serve"].add_argument("--port", type=int, default=0)
    commands.choices["truth"].add_argument(
        "--base-url", required=True, help="the portal's base URL, ending in '/'"
    )
    commands.choices["truth"].add_argument(
        "--out", type=Path, required=True, help="directory for expected_items.jsonl"
    )
    return parser


def _serve(args: argparse.Namespace) -> None:
    site = build_site(seed=args.seed, n_articles=args.articles)
    with FixturePortal(site, theme=args.theme, port=args.port) as portal:
        print(portal.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping", flush=True)


def _truth(args: argparse.Namespace) -> None:
    site = build_site(seed=args.seed, n_articles=args.articles)
    items = expected_items(site, theme=args.theme, base_url=args.base_url)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "expected_items.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for url in sorted(items):
            out.write(json.dumps(items[url], ensure_ascii=False) + "\n")
    print(f"{len(items)} items -> {path}")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    {"serve": _serve, "truth": _truth}[args.command](args)


if __name__ == "__main__":
    main()
