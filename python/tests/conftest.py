"""pytest fixtures: a dnnqd of the tests' own (daemon.py), started for the
session or for one test and always stopped by the fixture's finalizer, as
tests/daemon-fixture.h does for the Check suites."""
import pytest

from daemon import Daemon, dnnq  # daemon first: it puts this tree's dnnq on sys.path


def _daemon(request):
    d = Daemon()
    request.addfinalizer(d.destroy)
    d.start()
    return d


@pytest.fixture(scope="session")
def daemon(request):
    """One dnnqd for the tests that leave it as they found it."""
    d = _daemon(request)
    yield d
    assert d.stop() == 0, d.tail()


@pytest.fixture
def own_daemon(request):
    """A dnnqd for one test (which may stop, kill or restart it)."""
    return _daemon(request)


@pytest.fixture
def client(daemon):
    with dnnq.Client(daemon.socket) as c:
        yield c
