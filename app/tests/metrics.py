"""The app's metrics as a test reads them: this process's prometheus-client registry."""

from prometheus_client import REGISTRY


def sample(name: str, **labels) -> float:
    """A sample's value; 0 before the first increment (a labelled child exists only then)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def degraded(dependency: str) -> float:
    return sample("board_degraded_requests_total", dependency=dependency)
