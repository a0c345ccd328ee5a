"""The definitions layer: what a valid script, flow, app, schedule, trigger, variable,
resource, resource type and folder is, in one module per kind.

Each kind's module owns its rules (`check`, raising ArgumentError naming the field), its
API shape (`api_shape`), its sync-file shape (`sync_shape`, what Windmill's sync layout
holds) and its reads and writes on its store (`read`, `read_all`, `apply`, `delete`).
The API routes, Git sync, `tidemill import` and the workspace export call only these, so a
rule has one home whatever way a definition arrives.

`sync.py` goes over every kind: `read_item`, `all_items` and `apply_item` — the
functions an export or an import calls.
"""
