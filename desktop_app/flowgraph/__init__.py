"""The flow designer's plain-Python side (no Qt): the document, undoable edits, validation
shown on nodes, and the automatic layout the canvas draws."""
