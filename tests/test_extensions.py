"""The crawl's garbage-collector setting (archiver.extensions.GarbageCollection)."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from archiver import settings as archiver_settings
from archiver.extensions import GarbageCollection


@pytest.fixture
def collector_as_it_was():
    """Whatever a test does to the collector is undone."""
    thresholds, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


def extension(**settings) -> GarbageCollection:
    return GarbageCollection.from_crawler(get_crawler(settings_dict=settings))


def test_the_shipped_setting_freezes_start_up_and_raises_the_threshold_while_the_engine_runs(collector_as_it_was):
    before = gc.get_threshold()
    tuned = extension(GC_THRESHOLDS=archiver_settings.GC_THRESHOLDS)
    tuned.engine_started()
    assert gc.get_threshold() == tuple(archiver_settings.GC_THRESHOLDS)
    assert archiver_settings.GC_THRESHOLDS[0] > before[0]
    assert gc.get_freeze_count() > 1000  # the modules, classes and functions loaded so far
    tuned.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_objects_someone_else_froze_stay_theirs(collector_as_it_was):
    gc.freeze()
    frozen = gc.get_freeze_count()
    tuned = extension(GC_THRESHOLDS="5000")
    tuned.engine_started()
    assert gc.get_threshold()[0] == 5000
    tuned.engine_stopped()
    assert gc.get_freeze_count() == frozen


def test_a_frozen_collector_still_collects_new_cycles(collector_as_it_was):
    tuned = extension(GC_THRESHOLDS="10000,10,10")
    tuned.engine_started()

    class Node:
        pass

    node = Node()
    node.self = node
    del node
    assert gc.collect() >= 1  # the cycle made after the freeze is found
    tuned.engine_stopped()


def test_an_empty_setting_leaves_the_collector_alone():
    with pytest.raises(NotConfigured):
        extension(GC_THRESHOLDS="")
    with pytest.raises(NotConfigured):
        extension(GC_THRESHOLDS=[])


@pytest.mark.parametrize("value", ["0", "700,10,10,10", "-5", "lots"])
def test_a_wrong_setting_is_refused_with_its_value(value):
    with pytest.raises(ValueError) as refused:
        extension(GC_THRESHOLDS=value)
    assert "GC_THRESHOLDS" in str(refused.value)
