import pytest

from s3transfer.plan import S3_LIMITS, GrowthSchedule, Part, PartPlan, S3Limits
from s3transfer.utils import calculate_range_parameter


def test_parts_cover_the_object_with_a_shorter_last_part():
    plan = PartPlan(total_size=25, part_size=10)
    assert list(plan) == [Part(1, 0, 10), Part(2, 10, 10), Part(3, 20, 5)]
    assert len(plan) == 3
    assert plan.is_last(plan.part(3)) and not plan.is_last(plan.part(2))


def test_exact_multiple_and_empty_object():
    assert [p.size for p in PartPlan(20, 10)] == [10, 10]
    assert list(PartPlan(0, 10)) == []


def test_part_outside_the_plan_is_an_index_error():
    plan = PartPlan(25, 10)
    with pytest.raises(IndexError):
        plan.part(0)
    with pytest.raises(IndexError):
        plan.part(4)


def test_parts_from_a_later_number():
    assert [p.number for p in PartPlan(50, 10).parts(first=4)] == [4, 5]


@pytest.mark.parametrize(
    'size,part_size', [(25, 10), (30, 10), (1, 8), (8 << 20, 5 << 20)]
)
def test_range_headers_match_the_spec_helper(size, part_size):
    plan = PartPlan(size, part_size)
    for part in plan:
        closed = calculate_range_parameter(part_size, part.index, len(plan), size)
        opened = calculate_range_parameter(part_size, part.index, len(plan))
        assert part.range_header() == closed
        assert part.range_header(open_ended=plan.is_last(part)) == opened


def test_round_trip_and_bad_dicts():
    plan = PartPlan(123, 7)
    assert PartPlan.from_dict(plan.to_dict()) == plan
    for bad in (None, {}, {'total_size': '1', 'part_size': 2}, [1, 2]):
        with pytest.raises(ValueError):
            PartPlan.from_dict(bad)
    with pytest.raises(ValueError):
        PartPlan(10, 0)
    with pytest.raises(ValueError):
        PartPlan(-1, 5)


# --- growth schedule for streams of unknown size ----------------------------------

MiB = 1024**2
GiB = 1024**3
TiB = 1024**4


def _sizes(schedule):
    return [schedule.part_size(n) for n in range(1, schedule.limits.max_parts + 1)]


@pytest.mark.parametrize('first', [5 * MiB, 8 * MiB, 64 * MiB])
def test_growth_schedule_with_s3s_real_limits(first):
    assert (S3_LIMITS.max_parts, S3_LIMITS.min_part_size) == (10_000, 5 * MiB)
    assert (S3_LIMITS.max_part_size, S3_LIMITS.max_object_size) == (5 * GiB, 5 * TiB)
    schedule = GrowthSchedule(first)
    sizes = _sizes(schedule)
    assert sizes[0] == first
    assert sum(sizes) >= 5 * TiB  # any stream up to S3's object limit fits
    assert all(5 * MiB <= size <= 5 * GiB for size in sizes)
    assert sizes == sorted(sizes)
    # Doubling happens in equal tiers, and small streams keep the first size.
    assert sizes[: schedule.tier_parts] == [first] * schedule.tier_parts
    with pytest.raises(ValueError, match='larger than'):
        schedule.part_size(10_001)


def test_growth_schedule_for_the_default_8_mib():
    schedule = GrowthSchedule(8 * MiB)
    assert (schedule.tiers, schedule.tier_parts) == (10, 1000)
    assert schedule.part_size(1000) == 8 * MiB
    assert schedule.part_size(1001) == 16 * MiB
    assert schedule.part_size(10_000) == 4 * GiB
    # 78 GiB, where a fixed 8 MiB part size stopped, is still in the first tiers.
    assert sum(schedule.part_size(n) for n in range(1, 3001)) < 60 * GiB


def test_growth_schedule_for_5_mib_needs_an_extra_tier():
    schedule = GrowthSchedule(5 * MiB)
    assert schedule.tiers == 11 and schedule.tier_parts == 909
    assert schedule.part_size(10_000) == 5 * GiB  # the largest part S3 allows
    assert schedule.capacity >= 5 * TiB


def test_growth_schedule_with_injected_small_limits():
    limits = S3Limits(
        max_parts=100,
        min_part_size=64 * 1024,
        max_part_size=5 * GiB,
        max_object_size=4000 * 64 * 1024,
    )
    schedule = GrowthSchedule(64 * 1024, limits)
    sizes = _sizes(schedule)
    assert sum(sizes) >= 4000 * 64 * 1024
    assert sizes[0] == 64 * 1024 and len(sizes) == 100


def test_growth_schedule_refuses_impossible_limits_and_bad_first_sizes():
    tiny = S3Limits(max_parts=2, min_part_size=1, max_part_size=4, max_object_size=100)
    with pytest.raises(ValueError, match='cannot hold'):
        GrowthSchedule(1, tiny).part_size(1)
    with pytest.raises(ValueError, match='below the minimum'):
        GrowthSchedule(1 * MiB)
    with pytest.raises(ValueError, match='above the maximum'):
        GrowthSchedule(6 * GiB)


# --- download_part_size='auto' -------------------------------------------------------

MIB = 1024**2


@pytest.mark.parametrize(
    'size,expected_part,expected_parts',
    [
        (1024 * MIB, 52 * MIB, 20),  # two whole waves of 10 ranges
        (100 * MIB, 10 * MIB, 10),  # one wave
        (80 * MIB, 8 * MIB, 10),  # fits the configured part size: unchanged
        (50 * MIB, 8 * MIB, 7),
        (640 * MIB, 64 * MIB, 10),  # one wave at the largest range
        (10 * 1024 * MIB, 64 * MIB, 160),
    ],
)
def test_auto_download_part_size(size, expected_part, expected_parts):
    from s3transfer.plan import auto_download_part_size

    part = auto_download_part_size(size, 8 * MIB, 10)
    assert part == expected_part
    assert PartPlan(size, part).num_parts == expected_parts


def test_auto_download_part_size_never_goes_below_the_configured_size():
    from s3transfer.plan import auto_download_part_size

    assert auto_download_part_size(10 * 1024 * MIB, 100 * MIB, 10) == 100 * MIB
    assert auto_download_part_size(5 * MIB, 8 * MIB, 10) == 8 * MIB
