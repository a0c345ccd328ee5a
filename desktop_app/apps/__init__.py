"""Apps: low-code internal tools (components on a grid bound to runnables). Plain Python, no Qt."""
