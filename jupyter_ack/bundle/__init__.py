"""The handoff bundle: its format, publishing it to S3, and verifying what was published."""
