import pykka
import pytest


@pytest.fixture(autouse=True)
def _stop_all_actors():
    """No actor outlives its test, whatever the test did to it."""
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=10)
