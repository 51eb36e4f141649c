"""One model of a run and of a pipeline, merged from the ACK objects and SageMaker's steps,
and the followers that keep it current. Every view renders these values and nothing else."""
