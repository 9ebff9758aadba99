"""Offsets committed in the background (carepath/messaging/commits.py): only positions whose
batch was applied, the latest per partition, only for partitions still owned, and a failed
commit's positions kept for the next try unless a later batch moved them on."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from carepath.messaging.commits import OffsetCommits

A, B = TopicPartition("t", 0), TopicPartition("t", 1)


def record(tp: TopicPartition, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic=tp.topic, partition=tp.partition, offset=offset, timestamp=0,
                          timestamp_type=0, key=None, value=b"", checksum=None,
                          serialized_key_size=0, serialized_value_size=0, headers=())


class Consumer:
    def __init__(self, assigned: set[TopicPartition], fail: int = 0) -> None:
        self.assigned = assigned
        self.fail = fail
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.fail:
            self.fail -= 1
            raise CommitFailedError("rebalancing")
        self.commits.append(dict(offsets))


def commits_for(consumer: Consumer) -> OffsetCommits:
    found: Any = consumer
    return OffsetCommits(lambda: found)


async def test_nothing_is_committed_before_a_batch_is_applied() -> None:
    consumer = Consumer({A})
    assert await commits_for(consumer).flush()
    assert consumer.commits == []


async def test_batches_applied_between_commits_go_out_in_one_commit_of_their_last_positions(
) -> None:
    consumer = Consumer({A, B})
    commits = commits_for(consumer)
    commits.processed([record(A, 4), record(B, 9)])
    commits.processed([record(A, 7)])
    assert await commits.flush()
    assert consumer.commits == [{A: 8, B: 10}]
    assert await commits.flush()  # nothing new
    assert len(consumer.commits) == 1


async def test_a_partition_a_rebalance_took_away_is_not_committed() -> None:
    consumer = Consumer({B})
    commits = commits_for(consumer)
    commits.processed([record(A, 4), record(B, 2)])
    assert await commits.flush()
    assert consumer.commits == [{B: 3}]


async def test_a_failed_commit_is_retried_unless_a_later_batch_moved_the_partition_on() -> None:
    consumer = Consumer({A, B}, fail=1)
    commits = commits_for(consumer)
    commits.processed([record(A, 4), record(B, 2)])
    assert not await commits.flush()
    commits.processed([record(A, 6)])
    assert await commits.flush()
    assert consumer.commits == [{A: 7, B: 3}]
