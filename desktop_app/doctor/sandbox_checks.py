"""Whether jobs run sandboxed here (desktop_app/runtimes/sandbox.py): without it a job can
read the daemon's home, so this is a warning, with how to turn it on."""

from __future__ import annotations

from desktop_app.doctor.checks import Context, Finding, check


@check("sandbox")
def job_sandbox(ctx: Context) -> Finding:
    from desktop_app.runtimes import sandbox

    status = sandbox.status()
    if status.enabled:
        return Finding("sandbox", "ok", status.detail)
    if "TIDEMILL_SANDBOX=0" in status.detail:
        fix = "unset TIDEMILL_SANDBOX (or set it to 1) and restart the daemon"
    elif "not installed" in status.detail:
        fix = "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap) and " \
              "restart the daemon"
    else:
        fix = "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, " \
              "or the AppArmor rule for bwrap on Ubuntu), then restart the daemon"
    return Finding("sandbox", "warn", status.detail, fix)
