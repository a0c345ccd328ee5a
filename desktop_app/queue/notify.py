"""Channel names. Pushing notifies workers; completing and cancelling notify waiters."""

QUEUE_CHANNEL = "tidemill_queue"  # payload: the tag that got work
DONE_CHANNEL = "tidemill_done"  # payload: the id of the job that finished
CANCEL_CHANNEL = "tidemill_cancel"  # payload: the id of a running job to kill
