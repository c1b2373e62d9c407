"""A distributed crawl's worker at its end (CrawlRunExtension calls ``end_worker`` in place
of a single crawl's end): store its files and record, then either leave, or finish the
crawl if it is the last (crawler/distributed/finishing.py)."""

from __future__ import annotations

import json
import logging
import shutil

from crawler.distributed.finishing import (
    INCREMENTAL_PART,
    delete_parts,
    merge_items,
    merge_stats,
    pack_wacz,
    read_records,
    recover_dead,
    store_record,
    wait_for_role,
    worker_record,
)
from crawler.distributed.scheduler import REDIS_DOWN
from crawler.layout import manifest_key, worker_part_key
from crawler.publishing.manifest import crawl_manifest
from crawler.storage import StorageError

logger = logging.getLogger(__name__)

MEMBER, FINISHER, UNFINISHED, REFUSED = "member", "finisher", "unfinished", "refused"
# The stats the exit status judges a crawl by (crawler/commands/crawl.py).
CRAWL_JUDGED_BY = ("listing/pages", "items/accepted", "incremental/mode")


async def end_worker(run, coordinator, incremental) -> str:
    """Store this worker's files and record; finish the crawl if this worker is the last.
    The role it had; ``run.unstored`` the files left in its spool."""
    stats = run.crawler.stats
    publisher = run.publisher
    storage = publisher.storage
    crawl_id = run.crawl_id
    if coordinator.refused:
        # Too late to join the crawl: it joined nothing and fetched nothing.
        stats.set_value("distributed/role", REFUSED)
        if not stats.get_value("downloader/request_count"):
            shutil.rmtree(storage.spool(crawl_id).path, ignore_errors=True)  # empty feeds
        return REFUSED
    pending = await publisher.finish(crawl_id)
    if pending:
        stats.set_value("archive/unstored", len(pending))
    part = incremental.part() if incremental is not None and incremental.state else None
    record = worker_record(
        coordinator.me,
        storage,
        crawl_id,
        stats.get_stats(),
        finish_reason=run.finish_reason,
        unstored=[path.name for path in pending],
    )
    try:
        await publisher.run(store_record, storage, crawl_id, record, part)
    except StorageError as error:
        logger.error("could not store the record of worker %s: %s", coordinator.me, error)
        storage.spool(crawl_id).keep_record(record)  # stored with the spool, later
        pending = [*pending, storage.spool(crawl_id).path]
    run.unstored = pending
    if coordinator.stopping:
        # Redis lost the crawl: no agreement to be had. Another run of the same CRAWL_ID
        # finishes it, with this worker's record (its files are stored: the spool goes).
        stats.set_value("distributed/role", UNFINISHED)
        if not pending:
            storage.spool(crawl_id).remove()
        return UNFINISHED
    try:
        coordinator.stored()
        role, dead = await wait_for_role(coordinator)
    except REDIS_DOWN as error:
        logger.error(
            "Redis does not answer (%s): worker %s cannot tell whether it is the last; its "
            "files are stored, running the crawl again with the same CRAWL_ID finishes it",
            error,
            coordinator.me,
        )
        stats.set_value("distributed/role", UNFINISHED)
        return UNFINISHED
    stats.set_value("distributed/role", role)
    if role == MEMBER or coordinator.stopping:
        if not pending:
            storage.spool(crawl_id).remove()
        logger.info("worker %s done; crawl %s finished by another worker", coordinator.me, crawl_id)
        return MEMBER
    try:
        await _finish_crawl(run, coordinator, incremental, dead)
    except StorageError as error:
        logger.error(
            "crawl %s not finished: %s; what it archived is stored or in the spools: run "
            "it again with the same CRAWL_ID to finish it",
            crawl_id,
            error,
        )
        run.unstored = [*run.unstored, storage.spool(crawl_id).path]
    if run.unstored:
        # Not finished: the next run's last worker must be free to finish it.
        try:
            coordinator.release_finisher()
        except REDIS_DOWN as error:
            logger.warning("finisher's place not given back (%s): it expires", error)
    return FINISHER


async def _finish_crawl(run, coordinator, incremental, dead: list[dict]) -> None:
    stats = run.crawler.stats
    publisher = run.publisher
    storage = publisher.storage
    crawl_id = run.crawl_id
    logger.info("worker %s finishes crawl %s", coordinator.me, crawl_id)
    for worker in dead:
        await publisher.run(recover_dead, storage, crawl_id, worker)
    if coordinator.replaced and await publisher.run(storage.crawl_id_taken, crawl_id):
        # The finisher replaced died after storing the manifest, while deleting the parts:
        # finishing again would merge what is left of them. The crawl is finished; this
        # worker's files are added to its manifest, the parts and keys go.
        logger.warning("crawl %s was finished by worker %s", crawl_id, coordinator.replaced)
        # The finisher's status is the crawl's: judged by what the manifest stored says of
        # the whole crawl, not by what this worker fetched (maybe no listing page).
        stored = json.loads(await publisher.run(storage.store.get_bytes, manifest_key(crawl_id)))
        for key in CRAWL_JUDGED_BY:
            if key in stored["stats"]:
                stats.set_value(key, stored["stats"][key])
        run.unstored = await publisher.complete(crawl_id, None)
        if not run.unstored:
            await _forget(publisher, storage, coordinator, crawl_id)
        return
    records = await publisher.run(read_records, storage, crawl_id)
    merged = merge_stats(stats.get_stats(), records, coordinator.me)
    for key, value in merged.items():
        stats.set_value(key, value)
    stats.set_value("distributed/workers", len(records))
    try:
        items, duplicates = await publisher.run(merge_items, storage, crawl_id, records)
    except StorageError as error:
        logger.error("crawl %s: items not merged (%s); run it again to finish it", crawl_id, error)
        run.unstored = [*run.unstored, storage.spool(crawl_id).path]
        return
    # One WACZ for the crawl only when one is wanted at its end (WACZ_ENABLED); else
    # `scrapy wacz` packs the stored crawl on request.
    if storage.pack_wacz and not await publisher.run(pack_wacz, storage, crawl_id, records):
        logger.error("crawl %s: its WACZ could not be stored", crawl_id)
    # The crawl's articles: each once (summed, the workers' counts hold any article
    # itemised by a dead worker and by the survivor that fetched it again).
    stats.set_value("distributed/items_by_workers", stats.get_value("items/accepted", 0))
    stats.set_value("items/accepted", items)
    if duplicates:
        stats.set_value("distributed/items_duplicates", duplicates)
    stored = {entry["key"] for record in records for entry in record["files"]}
    stored |= set(storage.spool(crawl_id).stored())
    if incremental is not None and incremental.state is not None:
        for record in records:
            if record["worker"] == coordinator.me or record.get("recovered"):
                continue
            key = worker_part_key(crawl_id, record["worker"], INCREMENTAL_PART)
            incremental.merge_part(await publisher.run(storage.store.get_bytes, key))
        await incremental.finish(stored, run.finish_reason)
    manifest = crawl_manifest(
        crawl_id,
        run.crawler.settings,
        stats.get_stats(),
        run.root,
        run.started_at,
        run.finish_reason,
    )
    manifest["workers"] = [record["worker"] for record in records]
    manifest["files"] = [entry for record in records for entry in record["files"]]
    run.unstored = await publisher.complete(crawl_id, manifest)
    if not run.unstored:
        await _forget(publisher, storage, coordinator, crawl_id)


async def _forget(publisher, storage, coordinator, crawl_id: str) -> None:
    """The crawl is finished: its parts in the store and its keys in Redis go."""
    await publisher.run(delete_parts, storage, crawl_id)
    try:
        coordinator.forget_crawl()
    except REDIS_DOWN as error:
        logger.warning("crawl %s finished; its Redis keys stay (%s)", crawl_id, error)
