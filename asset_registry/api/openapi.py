"""The OpenAPI 3.0 description of /api/v1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

_PAGE_PARAMS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
]


def _listing(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


def _ok(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
}
_DATE = {"type": "string", "format": "date", "nullable": True}


def document(base_url: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Asset Registry API",
            "version": "1",
            "description": (
                "Equipment register of Jincheng's public institutions. Every call acts "
                "with the scope of the token's membership: the same rows its user sees "
                "in the web pages; anything else answers 404."
            ),
        },
        "servers": [{"url": f"{base_url.rstrip('/')}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/assets": {
                "get": {
                    "summary": "Assets in scope, filtered and paginated",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                        {"name": "category_id", "in": "query", "schema": {"type": "integer"}},
                        {"name": "special", "in": "query", "schema": {"type": "string"}},
                        {"name": "over_design_life", "in": "query", "schema": {"type": "string"}},
                        *_PAGE_PARAMS,
                    ],
                    "responses": {"200": _ok(_listing("Asset")), **_ERRORS},
                }
            },
            "/assets/{asset_id}": {
                "get": {
                    "summary": "One asset with its inspection duties",
                    "parameters": [
                        {
                            "name": "asset_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": _ok({"$ref": "#/components/schemas/AssetDetail"}),
                        "404": {"$ref": "#/components/responses/NotFound"},
                        **_ERRORS,
                    },
                }
            },
            "/obligations/due": {
                "get": {
                    "summary": "Inspection duties due within 30, 60 or 90 days, or overdue",
                    "parameters": [
                        {
                            "name": "days",
                            "in": "query",
                            "schema": {"type": "integer", "enum": [30, 60, 90], "default": 30},
                        },
                        *_PAGE_PARAMS,
                    ],
                    "responses": {"200": _ok(_listing("Obligation")), **_ERRORS},
                }
            },
            "/obligations/{obligation_id}/inspections": {
                "post": {
                    "summary": "Record an inspection (editors only)",
                    "parameters": [
                        {
                            "name": "obligation_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/InspectionInput"}
                            }
                        },
                    },
                    "responses": {
                        "201": _ok({"type": "object"}, "Recorded"),
                        "403": {"description": "The token's role cannot record"},
                        "404": {"$ref": "#/components/responses/NotFound"},
                        "422": {"description": "Invalid input (field and message)"},
                        **_ERRORS,
                    },
                }
            },
            "/alerts": {
                "get": {
                    "summary": "Alerts in scope (active by default)",
                    "parameters": [
                        {"name": "status", "in": "query", "schema": {"type": "string"}},
                        {"name": "rule", "in": "query", "schema": {"type": "string"}},
                        *_PAGE_PARAMS,
                    ],
                    "responses": {"200": _ok(_listing("Alert")), **_ERRORS},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "flask --app asset_registry api-token create USER --name NAME",
                }
            },
            "responses": {
                "Unauthorized": {"description": "Missing, unknown or revoked token"},
                "NotFound": {"description": "No such object in the token's scope"},
            },
            "schemas": {
                "Asset": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "asset_code": {"type": "string"},
                        "name": {"type": "string"},
                        "org_id": {"type": "integer"},
                        "organisation": {"type": "string"},
                        "status": {"type": "string"},
                        "commissioned_on": _DATE,
                        "design_life_end": _DATE,
                        "original_value": {"type": "string", "nullable": True},
                        "is_special": {"type": "boolean"},
                        "compliance": {"type": "string", "nullable": True},
                        "scan_url": {"type": "string"},
                    },
                },
                "AssetDetail": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Asset"},
                        {
                            "type": "object",
                            "properties": {
                                "obligations": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Obligation"},
                                }
                            },
                        },
                    ]
                },
                "Obligation": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "asset_id": {"type": "integer"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "statutory": {"type": "boolean"},
                        "last_done": _DATE,
                        "next_due": _DATE,
                        "failed": {"type": "boolean"},
                    },
                },
                "Alert": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "asset_code": {"type": "string", "nullable": True},
                        "rule": {"type": "string"},
                        "due_date": _DATE,
                        "status": {"type": "string"},
                    },
                },
                "InspectionInput": {
                    "type": "object",
                    "required": ["inspected_on", "conclusion"],
                    "properties": {
                        "inspected_on": {"type": "string", "format": "date"},
                        "conclusion": {"type": "string", "example": "符合要求"},
                        "report_no": {"type": "string"},
                        "agency": {"type": "string"},
                        "next_due": {"type": "string", "format": "date"},
                        "problems": {"type": "string"},
                        "inspection_type": {"type": "string"},
                        "safety_grade": {"type": "integer", "minimum": 1, "maximum": 5},
                    },
                },
            },
        },
    }
