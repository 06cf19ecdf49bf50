"""Long-running applications built on the pipeline's tables."""
