"""Names a `jupyter-ack validate FILE.py:NAME` case can point at: none is a pipeline."""

count = 42
text = "not json at all"


def broken() -> dict[str, object]:
    """A builder that fails, as a notebook cell can."""
    raise RuntimeError("the data set is not there")


def needs_arguments(region: str) -> dict[str, object]:
    """A builder that cannot be called without arguments."""
    return {"Version": "2020-12-01", "Steps": [], "Region": region}
