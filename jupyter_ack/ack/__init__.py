"""The ACK SageMaker objects on Kubernetes: their resource facts, the manifests we build, the
cluster connection, and the shared list-then-watch."""
