"""OpenAPI links: what a created resource's id leads to (clients and stateful fuzzing follow them)."""

from __future__ import annotations

from typing import Any

# (created by POST path, its id field) -> the operations that take that id, by path parameter.
LINKS: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("/api/v1/calls", "id"): [
        ("get", "/api/v1/calls/{ref}", "ref"),
        ("get", "/api/v1/calls/{ref}/timeline", "ref"),
        ("post", "/api/v1/calls/{ref}/answer", "ref"),
        ("post", "/api/v1/calls/{ref}/abandoned", "ref"),
        ("post", "/api/v1/calls/{ref}/ended", "ref"),
    ],
    ("/api/v1/incidents", "id"): [
        ("get", "/api/v1/incidents/{incident_id}", "incident_id"),
        ("patch", "/api/v1/incidents/{incident_id}", "incident_id"),
        ("get", "/api/v1/incidents/{incident_id}/recommendations", "incident_id"),
    ],
    ("/api/v1/assignments", "id"): [
        ("get", "/api/v1/assignments/{assignment_id}", "assignment_id"),
        ("post", "/api/v1/assignments/{assignment_id}/acknowledge", "assignment_id"),
        ("post", "/api/v1/assignments/{assignment_id}/decline", "assignment_id"),
        ("post", "/api/v1/assignments/{assignment_id}/cancel", "assignment_id"),
    ],
    ("/api/v1/zones", "id"): [
        ("get", "/api/v1/zones/{zone_id}", "zone_id"),
        ("patch", "/api/v1/zones/{zone_id}", "zone_id"),
        ("get", "/api/v1/zones/{zone_id}/revisions", "zone_id"),
        ("delete", "/api/v1/zones/{zone_id}", "zone_id"),
    ],
    ("/api/v1/hospitals", "id"): [
        ("get", "/api/v1/hospitals/{hospital_id}", "hospital_id"),
        ("patch", "/api/v1/hospitals/{hospital_id}", "hospital_id"),
        ("get", "/api/v1/hospitals/{hospital_id}/capacity", "hospital_id"),
        ("post", "/api/v1/hospitals/{hospital_id}/suspend", "hospital_id"),
        ("delete", "/api/v1/hospitals/{hospital_id}", "hospital_id"),
    ],
    ("/api/v1/devices", "id"): [
        ("post", "/api/v1/devices/{device_id}/revoke", "device_id"),
    ],
}


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare, on each creating operation's 201, the operations its new id leads to."""
    paths = schema.get("paths", {})
    for (created_by, id_field), targets in LINKS.items():
        created = paths.get(created_by, {}).get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        links = created.setdefault("links", {})
        for method, path, parameter in targets:
            operation = paths.get(path, {}).get(method)
            if operation is not None:
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"],
                    "parameters": {parameter: f"$response.body#/{id_field}"},
                }
    return schema
