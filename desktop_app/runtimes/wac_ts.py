"""Workflow-as-code for TypeScript: one round of a `workflow(async (...) => …)` body with
windmill-client's own `WorkflowCtx` (kept here as JavaScript text, inserted into the Bun
and Deno wrappers). The server side is the Python one's (`durable/engine.py`): the round's outcome
goes to JOB_DIR/wac_round.json as {"round", "keys"} in the same shapes.

windmill-client's context signals a step to run by throwing `StepSuspend` with its
`dispatchInfo` (`sequential`/`parallel` steps, `sleep`, `approval`, `inline_checkpoint`,
and in a task's own job `step_complete`); the runner maps each to a round. The keys the
body allocates are recorded, and in a task's job compared with the order the workflow
dispatched it under (`_tidemill_order`): a body that now calls other steps fails with
NondeterminismError instead of waiting forever for a step it never reaches. The context is
shared through `globalThis.__wmill_wf_ctx`, so a script importing another copy of
windmill-client than the wrapper's still finds it.
"""

from __future__ import annotations

from desktop_app.runtimes.base import JobContext, Outcome


def wac_outcome(ctx: JobContext) -> Outcome | None:
    """The round a workflow job left in its folder, if it ran one."""
    wac_round = ctx.workdir / "wac_round.json"
    if wac_round.exists():
        return Outcome(True, wac_round.read_text(encoding="utf-8"), wac=True)
    return None


RUNNER = r"""
class NondeterminismError extends Error {
  constructor(message) { super(message); this.name = "NondeterminismError"; }
}

async function runWorkflowRound(main, args, checkpoint, wm) {
  const ctx = new wm.WorkflowCtx(checkpoint);
  const keys = [];
  const expected = checkpoint._tidemill_order;
  let diverged = null;
  const alloc = ctx._allocKey.bind(ctx);
  ctx._allocKey = (name) => {
    const key = alloc(name);
    if (!diverged && expected && keys.length < expected.length && key !== expected[keys.length]) {
      diverged = new NondeterminismError(
        `the workflow's replay diverged at step ${keys.length + 1}: expected ` +
        `'${expected[keys.length]}', got '${key}'. Steps must be called in the same order on ` +
        "every replay; put time, randomness and I/O inside step().");
    }
    keys.push(key);
    if (diverged) throw diverged;
    return key;
  };
  wm.setWorkflowCtx(ctx);
  let info = null;
  let result;
  try {
    result = await main(...args);
  } catch (e) {
    if (diverged) throw diverged;
    if (!(e && e.name === "StepSuspend" && e.dispatchInfo)) throw e;
    info = e.dispatchInfo;
  }
  if (diverged) throw diverged;
  // A `catch` in the body must not hide a step's failure or a suspend: the SDK keeps both.
  const failure = ctx._takePendingStepFailure ? ctx._takePendingStepFailure() : null;
  if (failure) throw failure.error;
  const swallowed = ctx._takePendingSuspend ? ctx._takePendingSuspend() : null;
  if (!info && swallowed) info = swallowed.dispatchInfo;
  if (!info) {
    const unawaited = ctx._flushPending ? ctx._flushPending() : [];
    if (unawaited.length) info = { mode: "parallel", steps: unawaited };
  }
  return { round: roundOf(info, result), keys };
}

function roundOf(info, result) {
  if (!info) return { type: "complete", result: result === undefined ? null : result };
  switch (info.mode) {
    case "sequential":
    case "parallel":
      return { type: "dispatch", mode: info.mode, steps: info.steps };
    case "sleep":
      return { type: "sleep", key: info.key, seconds: info.seconds };
    case "approval":
      return { type: "approval", key: info.key, timeout: info.timeout, form: info.form,
               skin: info.skin, description: info.description,
               self_approval_disabled: Boolean(info.self_approval_disabled) };
    case "inline_checkpoint":
      return { type: "inline_checkpoint", key: info.key, result: info.result ?? null,
               started_at: info.started_at, duration_ms: info.duration_ms };
    case "step_complete":
      return { type: "complete", result: info.result ?? null };
    default:
      return { type: String(info.mode) };  // the server names it as unknown
  }
}
"""
