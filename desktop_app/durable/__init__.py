"""Workflow-as-code: `@workflow` bodies replayed from checkpoints, each task its own job."""
