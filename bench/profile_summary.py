"""Top functions of a py-spy profile (``py-spy record --format raw``: collapsed stacks).

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--top 25]

A function's share is the part of all samples (every process of the crawl) in which it is
on the stack (inclusive) or at its top (self). Frames are named ``function (dir/file.py)``.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# One sample record: the process (its command line may hold newlines and ';'), the frames
# from the outermost, the count.
_RECORD = re.compile(r'^process \d+:"(?:.*?)";(?P<stack>.*?) (?P<count>\d+)$', re.M | re.S)
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*?)(?::\d+)?\)$")


def _frame(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    parts = match["file"].split("/")
    return f"{match['name']} ({'/'.join(parts[-2:])})"


def summarise(path: Path) -> tuple[int, Counter, Counter]:
    """Total samples, inclusive and self samples per function."""
    total = 0
    inclusive: Counter = Counter()
    own: Counter = Counter()
    for record in _RECORD.finditer(path.read_text(encoding="utf-8", errors="replace")):
        samples = int(record["count"])
        frames = [_frame(frame) for frame in record["stack"].split(";")]
        total += samples
        if not frames:
            continue
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    return total, inclusive, own


# Functions whose share the issue follows (issue 13), shown whatever their rank.
FOCUS = (
    "clean_text", "linearise", "_is_header_leftover", "extract_article", "GzipPlugin.write",
    "ThreadedGzipPlugin", "GzipFile.write", "build_wacz", "_write_wacz", "_writer_main",
    "export_item", "WarcArchiveMiddleware", "process_response", "LinkExtractor.extract_links",
)  # fmt: skip


def print_summary(path: Path, title: str, top: int = 25) -> None:
    total, inclusive, own = summarise(path)
    print(f"\n{title}: {total} samples, top functions by share (inclusive / self)")
    if not total:
        return
    print(f"{'incl %':>7} {'self %':>7}  function")
    names = [name for name, _ in inclusive.most_common()]
    shown = [name for name in names if inclusive[name] / total < 0.97][:top]
    for name in shown:
        print(f"{100 * inclusive[name] / total:>7.1f} {100 * own[name] / total:>7.1f}  {name}")
    print(f"top self: {'; '.join(f'{n} {100 * c / total:.1f}%' for n, c in own.most_common(8))}")
    focus = [
        (name, count)
        for name, count in inclusive.most_common()
        if any(name.startswith(f) or f".{f}" in name for f in FOCUS)
    ]
    print(f"followed: {'; '.join(f'{n} {100 * c / total:.1f}%' for n, c in focus[:14])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print_summary(args.profile, str(args.profile), args.top)


if __name__ == "__main__":
    main()
