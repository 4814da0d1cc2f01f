"""A blocking query longer than nginx's 60 s default read timeout, started when the session
began (see conftest), completes with 200 through nginx, including across the reloads above."""

from conftest import WAIT_S


def test_blocking_query_outlasts_nginx_default_timeout(blocking_query):
    blocking_query.join(WAIT_S + 90)
    assert not blocking_query.is_alive(), "the blocking query never returned"
    assert blocking_query.error is None, blocking_query.error
    assert blocking_query.status == 200, blocking_query.status
    # It really waited (nothing changed the key): Consul's wait plus at most wait/16 of jitter.
    assert blocking_query.new_index == blocking_query.index
    assert WAIT_S - 1 <= blocking_query.elapsed <= WAIT_S * 17 / 16 + 10, blocking_query.elapsed
