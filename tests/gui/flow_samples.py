"""Flows the designer's tests, screenshots and benchmark open."""

from __future__ import annotations

from typing import Any


def js(expr: str) -> dict[str, Any]:
    return {"type": "javascript", "expr": expr}


def py(step_id: str, summary: str, code: str, **inputs: str) -> dict[str, Any]:
    return {"id": step_id, "summary": summary, "value": {
        "type": "rawscript", "language": "python3", "content": code,
        "input_transforms": {k: js(v) for k, v in inputs.items()}}}


def order_pipeline() -> dict[str, Any]:
    """15 steps: a parallel loop, a branch to one, an approval, a branch to all, a step
    that fails but lets the flow go on, and an error handler."""
    enrich = py("p", "Enrich from CRM (optional)",
                "def main(orders: list):\n    raise RuntimeError('CRM is down')\n",
                orders="results.b")
    enrich["continue_on_error"] = True
    approval = py("j", "Manager approval", "def main(total: float):\n    return {'asked': total}\n",
                  total="results.f")
    approval["suspend"] = {"required_events": 1, "timeout": 3600}
    return {
        "summary": "Order pipeline",
        "description": "price each order, route large totals, ask a manager, then ship",
        "schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                   "properties": {"count": {"type": "integer", "default": 3},
                                  "customer": {"type": "string", "default": "ACME"}},
                   "required": ["count"]},
        "value": {
            "modules": [
                py("a", "Fetch orders", "def main(count: int):\n    return [{'id': i, 'total':"
                   " 40 * (i + 1)} for i in range(count)]\n", count="flow_input.count"),
                py("b", "Validate orders", "def main(orders: list):\n    return [o for o in "
                   "orders if o['total'] > 0]\n", orders="results.a"),
                enrich,
                {"id": "c", "summary": "For each order", "value": {
                    "type": "forloopflow", "iterator": js("results.b"), "parallel": True,
                    "skip_failures": False, "modules": [
                        py("d", "Price with tax", "def main(order: dict):\n    return "
                           "round(order['total'] * 1.2, 2)\n", order="flow_input.iter.value"),
                        py("e", "Tag size", "def main(price: float):\n    return 'big' if "
                           "price > 50 else 'small'\n", price="results.d"),
                    ]}},
                py("f", "Sum totals", "def main(orders: list):\n    return round(sum(o['total']"
                   " for o in orders) * 1.2, 2)\n", orders="results.b"),
                {"id": "g", "summary": "Route by total", "value": {
                    "type": "branchone", "branches": [
                        {"summary": "Large", "expr": "results.f > 1000", "modules": [
                            py("h", "Notify sales", "def main(total: float):\n    return "
                               "f'large order {total}'\n", total="results.f")]}],
                    "default": [{"id": "i", "summary": "Log small order",
                                 "value": {"type": "identity"}}]}},
                approval,
                py("k", "Ship", "def main(total: float):\n    return {'shipped': total}\n",
                   total="results.f"),
                {"id": "l", "summary": "Notify everyone", "value": {
                    "type": "branchall", "parallel": True, "branches": [
                        {"summary": "Email", "skip_failure": False, "modules": [
                            py("m", "Email customer", "def main(who: str):\n    return "
                               "f'mail {who}'\n", who="flow_input.customer")]},
                        {"summary": "Invoice", "skip_failure": False, "modules": [
                            py("n", "Write invoice", "def main(total: float):\n    return "
                               "{'invoice': total}\n", total="results.f")]}]}},
            ],
            "failure_module": py("failure", "Alert on-call", "def main(message: str):\n    "
                                 "return message\n", message="error.message"),
        },
    }


def long_flow(steps: int = 200) -> dict[str, Any]:
    """`steps` inline steps, every tenth a loop or a branch holding two of them."""
    modules: list[dict[str, Any]] = []
    n = 0
    while n < steps:
        sid = f"s{n}"
        if n % 20 == 10 and n + 2 < steps:
            modules.append({"id": sid, "value": {
                "type": "forloopflow", "iterator": js("[1, 2]"), "parallel": False,
                "skip_failures": False, "modules": [
                    py(f"s{n + 1}", "", "def main():\n    return 1\n"),
                    py(f"s{n + 2}", "", "def main():\n    return 2\n")]}})
            n += 3
        elif n % 20 == 0 and n + 2 < steps:
            modules.append({"id": sid, "value": {"type": "branchall", "parallel": True,
                                                 "branches": [
                {"modules": [py(f"s{n + 1}", "", "def main():\n    return 1\n")]},
                {"modules": [py(f"s{n + 2}", "", "def main():\n    return 2\n")]}]}})
            n += 3
        else:
            # Distinct code per step: nothing is parsed only once for all of them.
            modules.append(py(sid, f"Step {n}", f"def main(x=None):\n    return x  # {n}\n",
                              x="previous_result"))
            n += 1
    return {"summary": f"{steps} steps", "value": {"modules": modules},
            "schema": {"type": "object", "properties": {}, "required": []}}
