"""What crawls left undone, kept with the incremental state so that the next run does it.

- **Walks.** Each section's listing is walked to its end once (``complete``); until then, and
  whenever a walk is cut short (the crawl stopped, a listing page failed), the place where it
  stopped is kept as a resume point, and the next run walks on from there. Only a complete
  walk may stop early at a page of known articles (incremental mode): a walk that never
  reached its end says nothing about what lies beyond.
- **Pending pages.** Every article or image URL a crawl found but did not archive with a good
  answer is pending: the next run fetches it first. A run that fetched it and got a bad answer
  (an error status, an empty or unreadable page, no article in it) counts a try; after
  ``max_tries`` runs it is given up (reported), until the portal says it changed. A URL the
  crawl did not get to (it stopped first, or a limit held it back), or that failed in a way
  that says nothing about the page (a network failure, "come back later": 408, 429, 502, 503,
  504), keeps its tries: it is fetched again by every run until it answers.
- **Refused.** Article URLs robots.txt forbids: not archived, not fetched, but known to the
  listing walks (robots.txt is asked again on every run).

Pure data: ``RunProgress`` records what one run did, ``Frontier.after_run`` folds it in.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field

from crawler.incremental.spill import SpillMap

ARTICLE, IMAGE = "article", "image"
# How a walker ended: it reached the listing's end, or stopped at a page of known articles.
END, KNOWN = "end", "known"


@dataclass
class ResumePoint:
    url: str  # the last listing page read (read again: the listing may have shifted)
    page: int
    tries: int = 0  # runs that resumed here and read no page


@dataclass
class Walk:
    url: str  # the listing's first page
    section: dict
    complete: bool = False  # walked to its end at least once
    resume: list[ResumePoint] = field(default_factory=list)
    given_up: bool = False  # its resume points failed too often: not resumed any more


@dataclass
class PendingPage:
    url: str
    kind: str  # ARTICLE or IMAGE
    tries: int = 0  # runs that fetched it and got a bad answer
    last: str | None = None  # the last bad answer
    via: str | None = None
    section: dict | None = None


@dataclass
class Walker:
    """One walk through a section's listing pages in this run."""

    walk: str  # Walk.url
    start: ResumePoint | None  # None: from the first page
    position: tuple[str, int] | None = None  # the last page read: (url, page)
    outcome: str | None = None  # END, KNOWN, or None: cut short

    @property
    def walker_id(self) -> str:
        # A walk resumed at page 1 (its first page never read) runs beside the walk from
        # the first page: the two must not share an id.
        return f"{self.walk}#resumed-{self.start.page}" if self.start else f"{self.walk}#1"


@dataclass
class RunProgress:
    """What one run did to the frontier (filled as the crawl goes, on the crawl's thread)."""

    walkers: dict[str, Walker] = field(default_factory=dict)
    sections: dict[str, dict] = field(default_factory=dict)  # walk url -> section
    # One per article or image asked for: on disk (spill.py), read back at the crawl's end.
    asked: MutableMapping[str, PendingPage] = field(default_factory=SpillMap)
    answered: dict[str, str] = field(default_factory=dict)  # url -> a bad answer
    failed: dict[str, str] = field(default_factory=dict)  # url -> a failure, not a try
    produced: dict[str, str] = field(default_factory=dict)  # fetched url -> canonical url
    refused: set[str] = field(default_factory=set)

    def walker(self, walk: str, section: dict, start: ResumePoint | None) -> Walker:
        walker = Walker(walk, start)
        self.walkers[walker.walker_id] = walker
        self.sections[walk] = section
        return walker

    def ask(self, url: str, kind: str, via: str | None, section: dict | None) -> None:
        if url not in self.asked:
            self.asked[url] = PendingPage(url, kind, via=via, section=section)

    def answer(self, url: str, what: str) -> None:
        """``url`` answered badly in this run; ``what`` says how (a try). A later note about
        the same URL replaces it."""
        self.answered[url] = what

    def fail(self, url: str, what: str) -> None:
        """Fetching ``url`` failed in a way that says nothing about the page (not a try)."""
        self.failed[url] = what


@dataclass
class FrontierReport:
    """What the frontier looks like after a run (for the stats and the crawl report)."""

    sections: int
    incomplete_walks: int
    resume_points: int
    pending: int
    unfetched: int  # pending that no run has had an answer for yet
    retried_later: int  # pending now after a bad answer in this run
    given_up_now: int
    given_up: int
    refused: int


@dataclass
class Frontier:
    walks: dict[str, Walk] = field(default_factory=dict)
    pending: dict[str, PendingPage] = field(default_factory=dict)
    given_up: dict[str, PendingPage] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    # -- what the next run does -------------------------------------------------

    def walk(self, url: str) -> Walk | None:
        return self.walks.get(url)

    def may_stop_early(self, url: str, resumed: bool) -> bool:
        """Whether a walker of listing ``url`` may stop at a page of known articles: only
        when the listing was walked to its end before; a walker from the first page also
        when resume points take over where the last run stopped."""
        walk = self.walks.get(url)
        if walk is None:
            return False
        return walk.complete or (not resumed and bool(walk.resume))

    def resume_points(self) -> list[tuple[Walk, ResumePoint]]:
        return [
            (walk, point)
            for walk in self.walks.values()
            if not walk.given_up
            for point in walk.resume
        ]

    def open_pages(self) -> list[PendingPage]:
        return sorted(self.pending.values(), key=lambda page: (page.kind, page.url))

    def holds(self, url: str) -> bool:
        """Pending, given up or refused: the listing walks need not go on for it."""
        return url in self.pending or url in self.given_up or url in self.refused

    # -- folding a run in ---------------------------------------------------------

    def after_run(self, run: RunProgress, done, max_tries: int) -> FrontierReport:
        """Fold in what ``run`` did. ``done(url)``: whether the archive now holds ``url``
        with a good answer (an article with its item, an image), stored."""
        retried_later = given_up_now = 0
        for url in sorted(set(run.asked) | set(self.pending) | set(self.given_up)):
            page = self.pending.get(url) or self.given_up.get(url) or run.asked[url]
            canonical = run.produced.get(url)
            if done(url) or (canonical is not None and done(canonical)):
                self.pending.pop(url, None)
                self.given_up.pop(url, None)
                self.refused.discard(url)
                continue
            if url in run.refused:
                self.pending.pop(url, None)
                self.refused.add(url)
                continue
            if url in run.answered:
                page.tries += 1
                page.last = run.answered[url]
                if page.tries >= max_tries:
                    self.pending.pop(url, None)
                    if url not in self.given_up:
                        given_up_now += 1
                    self.given_up[url] = page
                    continue
                retried_later += 1
            elif url in run.failed:
                page.last = run.failed[url]
            if url in self.given_up:
                continue  # not asked again in this run: it stays given up
            self.pending[url] = page
        for walk_url, section in run.sections.items():
            self._walked(walk_url, section, run, max_tries)
        incomplete = [w for w in self.walks.values() if not w.complete and not w.given_up]
        return FrontierReport(
            sections=len(self.walks),
            incomplete_walks=len(incomplete),
            resume_points=sum(len(w.resume) for w in self.walks.values() if not w.given_up),
            pending=len(self.pending),
            unfetched=sum(1 for page in self.pending.values() if page.tries == 0),
            retried_later=retried_later,
            given_up_now=given_up_now,
            given_up=len(self.given_up),
            refused=len(self.refused),
        )

    def _walked(self, walk_url: str, section: dict, run: RunProgress, max_tries: int) -> None:
        walk = self.walks.setdefault(walk_url, Walk(walk_url, section))
        walk.section = section or walk.section
        walkers = [w for w in run.walkers.values() if w.walk == walk_url]
        if any(w.outcome == END for w in walkers):
            walk.complete, walk.resume, walk.given_up = True, [], False
            return
        resumed = {(w.start.url, w.start.page) for w in walkers if w.start is not None}
        # Resume points this run did not take up (it stopped before) stay as they were.
        points = [p for p in walk.resume if (p.url, p.page) not in resumed]
        for walker in walkers:
            if walker.outcome is not None:
                continue  # stopped at known articles: nothing left behind
            if walker.position is not None:
                url, page = walker.position
                points.append(ResumePoint(url, page))
            elif walker.start is not None:
                # Resumed, but read no page: one more try at this point.
                points.append(ResumePoint(walker.start.url, walker.start.page,
                                          walker.start.tries + 1))  # fmt: skip
        kept = {}
        for point in points:
            kept.setdefault((point.url, point.page), point)
        walk.resume = [p for p in kept.values() if p.tries < max_tries]
        if len(walk.resume) < len(kept) and not walk.resume and not walk.complete:
            walk.given_up = True

    # -- storage --------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "walks": {url: asdict(walk) for url, walk in sorted(self.walks.items())},
            "pending": [asdict(page) for page in self.open_pages()],
            "given_up": [asdict(page) for _url, page in sorted(self.given_up.items())],
            "refused": sorted(self.refused),
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Frontier:
        data = data or {}
        walks = {}
        for url, walk in data.get("walks", {}).items():
            points = [ResumePoint(**point) for point in walk.pop("resume", ())]
            walks[url] = Walk(**walk, resume=points)
        return cls(
            walks=walks,
            pending={page["url"]: PendingPage(**page) for page in data.get("pending", ())},
            given_up={page["url"]: PendingPage(**page) for page in data.get("given_up", ())},
            refused=set(data.get("refused", ())),
        )
