"""What one worker of a distributed crawl did to the frontier, merged by the worker that
finishes the crawl (crawler/distributed/) before the state is saved.

A listing walk is begun by the worker that fetched its first page; its later pages may be
read by any worker, which notes where the walk got (``WalkNotes``) for the walker it does
not hold; the finisher merges every worker's walkers and notes."""

from __future__ import annotations

from crawler.incremental.frontier import RunProgress


class WalkNotes(dict):
    """walker id -> [last page read (url, page) or None, outcome or None]."""

    def note(self, walker_id: str, index: int, value) -> None:
        note = self.setdefault(walker_id, [None, None])
        if index == 0 and note[0] is not None and note[0][1] > value[1]:
            return  # a later page was read already
        note[index] = value

    def merge(self, other: dict) -> None:
        for walker_id, (position, outcome) in other.items():
            if position is not None:
                self.note(walker_id, 0, tuple(position))
            if outcome is not None:
                self.note(walker_id, 1, outcome)

    def apply(self, progress: RunProgress) -> None:
        for walker_id, (position, outcome) in self.items():
            walker = progress.walkers.get(walker_id)
            if walker is None:
                continue  # its walker's worker died before telling: the walk goes on later
            if position is not None and (not walker.position or position[1] > walker.position[1]):
                walker.position = tuple(position)
            if outcome is not None and not walker.outcome:
                walker.outcome = outcome


def merge_progress(mine: RunProgress, other: RunProgress) -> None:
    """Add another worker's run progress to ``mine``."""
    for walker_id, walker in other.walkers.items():
        known = mine.walkers.get(walker_id)
        if known is None:
            mine.walkers[walker_id] = walker
            continue
        if walker.outcome and not known.outcome:
            known.outcome = walker.outcome
        if walker.position and (not known.position or walker.position[1] > known.position[1]):
            known.position = walker.position
    mine.sections.update(other.sections)
    for url, page in other.asked.items():
        mine.asked.setdefault(url, page)
    mine.answered.update(other.answered)
    mine.failed.update(other.failed)
    mine.produced.update(other.produced)
    mine.refused |= other.refused
