"""Flows: OpenFlow definitions run as parent jobs whose steps are child jobs."""
