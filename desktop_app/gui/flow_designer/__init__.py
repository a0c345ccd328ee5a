"""The flow designer: a node graph of an OpenFlow flow, its side panels, YAML and runs."""
