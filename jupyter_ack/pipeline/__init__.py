"""The pipeline definition and everything derived from it without I/O: loading, canonical JSON
and hash, SageMaker's rules, the step graph, its layout, and validation."""
