"""Git sync: every item in a local Git repository in Windmill's sync layout, pushed to and
pulled from a shared remote; the import of a Windmill sync folder.

    layout    items ⇄ files (pure: no database)
    repo      the pygit2 repository: commit, push, fetch, merge
    items     the database ⇄ items, applying a parsed folder
    recorder  one commit per API change, in a background task
    routes    /api/w/{workspace}/sync/…
"""
