"""/approve/{workspace}/{job_id}/{resume_id}/{signature} (a flow's suspend step) and
/approve/{workspace}/wac/{job_id}/{step_key}/{signature} (a workflow's `wait_for_approval`):
the approval page a link's `approvalPage` opens in any browser (Windmill's page: the step's resume form, Approve and
Reject, who is approving).

The page is the link: the same signature is checked before anything is shown, and it holds
nothing the link does not already give (the form, the flow's path, the rules; never the
flow's inputs, results or any secret). Its buttons POST to the signed resume/cancel URLs on
this origin. A strict Content-Security-Policy allows only its own inline script (a nonce)
and requests to this origin; `Referrer-Policy: no-referrer` keeps the signed URL out of
other sites' logs.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from desktop_app.api import approval_links
from desktop_app.api.inputs import JobId
from desktop_app.api.routes_flows import _check
from desktop_app.flows import approvers

router = APIRouter(tags=["approvals"])


@router.get("/approve/{workspace}/{job_id}/{resume_id}/{signature}",
            response_class=HTMLResponse)
async def approval_page(workspace: str, job_id: JobId, resume_id: int, signature: str,
                        request: Request, approver: str | None = None) -> HTMLResponse:
    """The approval page of a flow's suspend step (no credentials: the link is signed)."""
    jid = _check(request, job_id, resume_id, signature, approver)
    async with request.app.state.tidemill.pool.connection() as conn:
        info = await approvers.page_info(conn, jid)
    tail = f"{jid}/{resume_id}/{signature}" + (f"?approver={quote(approver)}"
                                               if approver else "")
    return _respond(workspace, info, tail, approver, ("resume", "cancel"))


@router.get("/approve/{workspace}/wac/{job_id}/{step_key}/{signature}",
            response_class=HTMLResponse)
async def workflow_approval_page(workspace: str, job_id: JobId, step_key: str, signature: str,
                                 request: Request, approver: str | None = None) -> HTMLResponse:
    """The approval page of a workflow-as-code `wait_for_approval` (the link is signed)."""
    from desktop_app.api import routes_durable

    jid = routes_durable._uuid(job_id)
    approval_links.check(request.app.state.tidemill.token_key,
                         routes_durable._subject(jid, step_key, approver), signature)
    async with request.app.state.tidemill.pool.connection() as conn:
        cur = await conn.execute("SELECT script_path, created_by, extra->'wac'->'approval'"
                                 " FROM job_queue WHERE id = %s", (jid,))
        row = await cur.fetchone()
    info = None
    if row is not None and isinstance(row[2], dict) and row[2].get("key") == step_key:
        given = row[2].get("form")
        form: dict[str, Any] = given if isinstance(given, dict) else {}
        info = {"flow_path": row[0], "step_id": step_key, "started_by": row[1],
                "summary": row[2].get("description") or f"approval {step_key}",
                "waiting": True, "needs_sign_in": approvers.needs_sign_in(row[2]),
                "self_approval_disabled": bool(row[2].get("self_approval_disabled")),
                "groups": None, "required": 1, "approved": 0,
                # Windmill's `form` is a schema, or its properties alone
                "form": form if "properties" in form else {"properties": form}}
    tail = f"{jid}/{quote(step_key)}/{signature}" + (f"?approver={quote(approver)}"
                                                     if approver else "")
    return _respond(workspace, info, tail, approver, ("wac_resume", "wac_cancel"))


def _respond(workspace: str, info: dict[str, Any] | None, tail: str, approver: str | None,
             routes: tuple[str, str]) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    body = render(workspace, info, tail, approver, nonce, routes)
    return HTMLResponse(body, status_code=200 if info else 404, headers={
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline';"
            " connect-src 'self'; form-action 'none'; frame-ancestors 'none';"
            " base-uri 'none'"),
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"})


_STYLE = """body{font:16px system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;
color:#1d2433}h1{font-size:1.35rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input,select,textarea{width:100%;box-sizing:border-box;padding:.45rem;font:inherit}
input[type=checkbox]{width:auto}.who{background:#eef3fb;padding:.6rem;border-radius:6px}
.buttons{display:flex;gap:.8rem;margin-top:1.2rem}button{flex:1;padding:.7rem;font:inherit;
border:0;border-radius:6px;color:#fff;cursor:pointer}#approve{background:#1f7a3f}
#reject{background:#a3282b}#outcome{margin-top:1rem;font-weight:600}.err{color:#a3282b}
.small{color:#555;font-size:.9rem}"""


def render(workspace: str, info: dict[str, Any] | None, tail: str, approver: str | None,
           nonce: str, routes: tuple[str, str] = ("resume", "cancel")) -> str:
    e = html.escape
    if info is None:
        return _page("Nothing to approve", "<h1>Nothing to approve</h1><p>This flow is not"
                     " waiting for an approval (any more): it was approved, rejected, timed"
                     " out or canceled.</p>", "")
    rows = []
    props = info["form"].get("properties") or {}
    order = info["form"].get("order") or list(props)
    for name in [n for n in order if n in props] + [n for n in props if n not in order]:
        rows.append(_field(name, props[name] if isinstance(props[name], dict) else {},
                           name in (info["form"].get("required") or [])))
    who = (f"Approving as <b>{e(approver)}</b>" if approver else
           "Approving as the user whose token you enter below" if info["needs_sign_in"]
           else "Approving anonymously")
    sign_in = ""
    if info["needs_sign_in"]:
        rules = []
        if info["groups"]:
            rules.append("approvers must be in: " + e(", ".join(info["groups"])))
        if info["self_approval_disabled"]:
            rules.append(f"{e(info['started_by'])}, who started this flow, may not approve it")
        sign_in = ('<label for="tm-token">Your Tidemill token</label>'
                   '<input id="tm-token" type="password" autocomplete="off">'
                   '<p class="small">This step needs a signed-in approver'
                   + (": " + "; ".join(rules) if rules else "") + ".</p>")
    count = (f'<p class="small">Approvals: {info["approved"]} of {info["required"]}</p>'
             if info["required"] > 1 else "")
    title = info["summary"] or f"step {info['step_id']}"
    what = "Workflow" if routes[0] == "wac_resume" else "Flow"
    content = (f"<h1>Approval requested</h1><p>{what} <b>{e(str(info['flow_path']))}</b>,"
               f" {e(str(title))}</p>{count}"
               f'<p class="who" id="who">{who}</p>'
               f'<form id="form">{"".join(rows)}{sign_in}'
               '<div class="buttons"><button id="approve" type="button">Approve</button>'
               '<button id="reject" type="button">Reject</button></div></form>'
               '<p id="outcome" role="status"></p>')
    config = json.dumps({"resume": f"/api/w/{workspace}/jobs_u/{routes[0]}/{tail}",
                         "cancel": f"/api/w/{workspace}/jobs_u/{routes[1]}/{tail}",
                         "fields": {n: (props[n] or {}).get("type", "string")
                                    for n in props if isinstance(props[n], dict)}})
    return _page("Approval requested", content, _SCRIPT.replace("CONFIG", _js_safe(config)),
                 nonce)


def _js_safe(text: str) -> str:
    """JSON inside a <script>: no `</script>` or HTML comment can end it early."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _field(name: str, spec: dict[str, Any], required: bool) -> str:
    e = html.escape
    label = e(str(spec.get("title") or spec.get("description") or name))
    ident = f"f-{e(name)}"
    attrs = f'id="{ident}" name="{e(name)}"' + (" required" if required else "")
    default = spec.get("default")
    kind = spec.get("type", "string")
    if isinstance(spec.get("enum"), list):
        options = "".join(f'<option{" selected" if v == default else ""}>{e(str(v))}</option>'
                          for v in spec["enum"])
        control = f"<select {attrs}>{options}</select>"
    elif kind == "boolean":
        control = f'<input type="checkbox" {attrs}{" checked" if default else ""}>'
    elif kind in ("number", "integer"):
        step = ' step="1"' if kind == "integer" else ' step="any"'
        value = f' value="{e(str(default))}"' if default is not None else ""
        control = f'<input type="number"{step} {attrs}{value}>'
    elif kind in ("object", "array"):
        value = e(json.dumps(default)) if default is not None else ""
        control = f'<textarea rows="4" {attrs}>{value}</textarea>'
    else:
        value = f' value="{e(str(default))}"' if default is not None else ""
        control = f'<input type="text" {attrs}{value}>'
    return f'<label for="{ident}">{label}</label>{control}'


def _page(title: str, content: str, script: str, nonce: str = "") -> str:
    tag = f'<script nonce="{nonce}">{script}</script>' if script else ""
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(title)} · Tidemill</title><style>{_STYLE}</style></head>"
            f"<body>{content}{tag}</body></html>")


_SCRIPT = r"""
const cfg = CONFIG;
const out = document.getElementById('outcome');
document.getElementById('form').addEventListener('submit', (ev) => ev.preventDefault());
function value(name, type) {
  const el = document.getElementById('f-' + name);
  if (type === 'boolean') return el.checked;
  if (el.value === '') return null;
  if (type === 'number' || type === 'integer') return Number(el.value);
  if (type === 'object' || type === 'array') return JSON.parse(el.value);
  return el.value;
}
async function send(url, body, done) {
  out.className = ''; out.textContent = 'Sending…';
  const headers = {'content-type': 'application/json'};
  const token = document.getElementById('tm-token');
  if (token && token.value) headers['authorization'] = 'Bearer ' + token.value;
  let r;
  try {
    r = await fetch(url, {method: 'POST', headers, body: JSON.stringify(body),
                          credentials: 'omit'});
  } catch (e) { out.className = 'err'; out.textContent = 'Could not reach Tidemill: ' + e; return; }
  let data = null;
  try { data = await r.json(); } catch (e) {}
  if (r.ok) {
    out.textContent = done;
    for (const b of document.querySelectorAll('button')) b.disabled = true;
    return;
  }
  const err = data && (data.error || data.detail);
  const msg = err ? (err.message || err) : ('HTTP ' + r.status);
  out.className = 'err';
  out.textContent = 'Refused: ' + msg + (err && err.hint ? ' (' + err.hint + ')' : '');
}
document.getElementById('approve').addEventListener('click', () => {
  const payload = {};
  try {
    for (const [name, type] of Object.entries(cfg.fields)) payload[name] = value(name, type);
  } catch (e) { out.className = 'err'; out.textContent = 'A JSON field is not valid JSON: ' + e.message; return; }
  send(cfg.resume, payload, 'Approved. The flow goes on; you can close this page.');
});
document.getElementById('reject').addEventListener('click', () => {
  send(cfg.cancel, {}, 'Rejected. The flow was canceled; you can close this page.');
});
"""
