import pytest

from s3transfer.plan import Part, PartPlan
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
