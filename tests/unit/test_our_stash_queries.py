import pytest

from stashplex.stash.queries import ALL_QUERIES
from tests.support.stash_schema import assert_query_valid


@pytest.mark.parametrize("name", sorted(ALL_QUERIES))
def test_every_query_we_send_is_valid_against_the_real_stash_schema(name):
    assert_query_valid(ALL_QUERIES[name])
