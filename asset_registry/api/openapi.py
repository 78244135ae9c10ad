"""The OpenAPI 3.0 description of /api/v1 (served at /api/v1/openapi.json): every field
returned, every status answered, and the conclusions each conclusion set accepts."""

from __future__ import annotations

from ..alerts.models import AlertRule, AlertStatus
from ..assets.models import AssetStatus
from ..inputs import MAX_ID
from ..inspections.models import ObligationKind
from ..inspections.rules import CONCLUSIONS
from ..inspections.safety import SafetyState
from ..inspections.services import DUE_WINDOWS
from ..pagination import MAX_PAGE

MAX_PER_PAGE = 200


def _values(enum) -> list[str]:
    return [member.value for member in enum]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _id_path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


_PAGE_PARAMS = [
    _query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
           "Page number; a page past the end has no items."),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE,
                        "default": 50}, "Items per page."),
]
_FLAG = {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no", "on", "off"]}
_STR = {"type": "string", "nullable": True}
_INT = {"type": "integer", "nullable": True}
_DATE = {"type": "string", "format": "date", "nullable": True}


def _ok(schema: dict, description: str = "OK", links: dict | None = None) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": schema}}}
    if links:
        response["links"] = links
    return response


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
}


def _listing(item: dict, **extra: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["items", "page", "per_page", "total", "pages", *extra],
        "properties": {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
            **extra,
        },
    }


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "additionalProperties": False,
            "required": required if required is not None else list(properties),
            "properties": properties}


ASSET = {
    "id": {"type": "integer"},
    "asset_code": {"type": "string"},
    "name": {"type": "string"},
    "org_id": {"type": "integer"},
    "organisation": _STR,
    "category": {
        "nullable": True,
        **_object({"id": {"type": "integer"}, "code": {"type": "string"},
                   "name": {"type": "string"}}),
    },
    "model": _STR,
    "manufacturer": _STR,
    "serial_no": _STR,
    "department": _STR,
    "location": _STR,
    "purchase_date": _DATE,
    "commissioned_on": _DATE,
    "design_life_years": _INT,
    "accounting_life_years": _INT,
    "design_life_end": _DATE,
    "original_value": {"type": "string", "nullable": True, "pattern": r"^\d+(\.\d+)?$",
                       "description": "CNY, a decimal string (never a float)"},
    "funding_source": _STR,
    "status": {"type": "string", "enum": _values(AssetStatus)},
    "is_special": {"type": "boolean"},
    "special_code": _STR,
    "equipment_code": _STR,
    "registration_no": _STR,
    "device_class": _STR,
    "permit_no": _STR,
    "compliance": {"type": "string", "nullable": True, "enum": [*_values(SafetyState), None],
                   "description": "The asset's safety state, from recorded inspections, "
                                  "open stopping faults and its status (README: safety states)"},
    "scan_url": {"type": "string", "description": "What the asset's QR label encodes"},
}
OBLIGATION = {
    "id": {"type": "integer"},
    "asset_id": {"type": "integer"},
    "kind": {"type": "string", "enum": _values(ObligationKind)},
    "name": {"type": "string"},
    "statutory": {"type": "boolean"},
    "interval_months": _INT,
    "interval_days": _INT,
    "last_done": _DATE,
    "next_due": _DATE,
    "failed": {"type": "boolean"},
    "active": {"type": "boolean"},
    "conclusion_set": {"type": "string", "enum": list(CONCLUSIONS)},
    "conclusions": {
        "type": "array",
        "items": {"type": "string"},
        "description": "The conclusions an inspection of this duty accepts",
    },
}
ALERT = {
    "id": {"type": "integer"},
    "org_id": {"type": "integer"},
    "organisation": {"type": "string"},
    "asset_id": _INT,
    "asset_code": _STR,
    "asset_name": _STR,
    "rule": {"type": "string", "enum": _values(AlertRule)},
    "due_date": _DATE,
    "status": {"type": "string", "enum": _values(AlertStatus)},
    "stage": {"type": "integer"},
}
ALL_CONCLUSIONS = sorted({c for accepted in CONCLUSIONS.values() for c in accepted})


def _conclusions_text() -> str:
    return "; ".join(f"{name}: {', '.join(accepted)}" for name, accepted in CONCLUSIONS.items())


def document(base_url: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Asset Registry API",
            "version": "1",
            "description": (
                "Equipment register of Jincheng's public institutions. Every call acts "
                "with the scope of the token's membership: the same rows its user sees "
                "in the web pages; anything else answers 404. Every response is JSON; "
                "errors carry `error` and `message` (and `parameter` for a bad query "
                "parameter). Unknown or repeated query parameters are refused (400)."
            ),
        },
        "servers": [{"url": f"{base_url.rstrip('/')}/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/assets": {
                "get": {
                    "operationId": "listAssets",
                    "summary": "Assets in scope, filtered and paginated",
                    "parameters": [
                        _query("q", {"type": "string", "maxLength": 100},
                               "Search in code, name, model, serial number…"),
                        _query("status", {"type": "string", "enum": _values(AssetStatus)},
                               "Asset status"),
                        _query("category_id", {"type": "integer", "minimum": 1,
                                               "maximum": MAX_ID},
                               "A category and its sub-categories"),
                        _query("org_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                               "One organisation (within the token's scope)"),
                        _query("department", {"type": "string", "maxLength": 100},
                               "Department (exact)"),
                        _query("special", _FLAG, "Special equipment only"),
                        _query("over_design_life", _FLAG, "Beyond design life only"),
                        _query("safety", {"type": "string", "enum": _values(SafetyState)},
                               "Safety state (see the README's safety states)"),
                        _query("sort", {"type": "string", "enum": ["code", "name",
                               "commissioned", "value", "life_end", "status", "org"]},
                               "Sort key"),
                        _query("direction", {"type": "string", "enum": ["asc", "desc"]},
                               "Sort direction"),
                        *_PAGE_PARAMS,
                    ],
                    "responses": {
                        "200": _ok(
                            _listing(_ref("Asset"), total_is_lower_bound={
                                "type": "boolean",
                                "description": "The count stopped at its cap"}),
                            links={"GetAsset": {
                                "operationId": "getAsset",
                                "parameters": {"asset_id": "$response.body#/items/0/id"}}},
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/assets/{asset_id}": {
                "get": {
                    "operationId": "getAsset",
                    "summary": "One asset with its inspection duties",
                    "parameters": [_id_path("asset_id")],
                    "responses": {
                        "200": _ok(_ref("AssetDetail"), links={"RecordInspection": {
                            "operationId": "recordInspection",
                            "parameters": {
                                "obligation_id": "$response.body#/obligations/0/id"}}}),
                        "404": {"$ref": "#/components/responses/NotFound"},
                        **_ERRORS,
                    },
                }
            },
            "/obligations/due": {
                "get": {
                    "operationId": "listDueObligations",
                    "summary": "Inspection duties due within 30, 60 or 90 days, or overdue",
                    "parameters": [
                        _query("days", {"type": "integer", "enum": list(DUE_WINDOWS),
                                        "default": 30}, "Window in days"),
                        *_PAGE_PARAMS,
                    ],
                    "responses": {
                        "200": _ok(
                            _listing(_ref("DueObligation"), days={
                                "type": "integer", "enum": list(DUE_WINDOWS)}),
                            links={"RecordInspection": {
                                "operationId": "recordInspection",
                                "parameters": {
                                    "obligation_id": "$response.body#/items/0/id"}}},
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/obligations/{obligation_id}/inspections": {
                "post": {
                    "operationId": "recordInspection",
                    "summary": "Record an inspection (editors only)",
                    "description": (
                        "`conclusion` must be one of the duty's `conclusions` (see the "
                        "obligation, or /conclusions). Conclusion sets: "
                        + _conclusions_text()
                    ),
                    "parameters": [_id_path("obligation_id")],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("InspectionInput")}},
                    },
                    "responses": {
                        "201": _ok(_ref("Recorded"), "Recorded"),
                        "403": _error("The token's role cannot record inspections"),
                        "404": {"$ref": "#/components/responses/NotFound"},
                        "422": _error(
                            "Well-formed but refused by the inspection rules (a conclusion "
                            "outside the duty's set, a date out of range…); `field` names "
                            "the field"
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/alerts": {
                "get": {
                    "operationId": "listAlerts",
                    "summary": "Alerts in scope (active by default)",
                    "parameters": [
                        _query("status", {"type": "string",
                                          "enum": ["active", *_values(AlertStatus)],
                                          "default": "active"}, "Alert status"),
                        _query("rule", {"type": "string", "enum": _values(AlertRule)},
                               "Alert rule"),
                        *_PAGE_PARAMS,
                    ],
                    "responses": {"200": _ok(_listing(_ref("Alert"))), **_ERRORS},
                }
            },
            "/conclusions": {
                "get": {
                    "operationId": "listConclusions",
                    "summary": "The conclusions each conclusion set accepts, and which pass",
                    "responses": {
                        "200": _ok(_object({"conclusion_sets": {
                            "type": "object",
                            "additionalProperties": {
                                "type": "object",
                                "additionalProperties": {"type": "boolean"},
                            },
                        }})),
                        "401": {"$ref": "#/components/responses/Unauthorized"},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Issued on the API token page, or with "
                    "flask --app asset_registry api-token create USER --name NAME",
                }
            },
            "responses": {
                "Unauthorized": _error("Missing, unknown, revoked or expired token"),
                "NotFound": _error("No such object in the token's scope"),
                "BadRequest": _error("An invalid, unknown or repeated query parameter "
                                     "(`parameter` names it), or a body that is not JSON"),
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "parameter": {"type": "string"},
                        "field": {"type": "string", "nullable": True},
                    },
                },
                "Asset": _object(ASSET),
                "AssetDetail": _object({
                    **ASSET,
                    "obligations": {"type": "array", "items": _ref("Obligation")},
                }),
                "Obligation": _object(OBLIGATION),
                "DueObligation": _object({
                    **OBLIGATION,
                    "asset_code": {"type": "string"},
                    "asset_name": {"type": "string"},
                }),
                "Alert": _object(ALERT),
                "Recorded": _object({
                    "id": {"type": "integer"},
                    "obligation": _ref("Obligation"),
                    "passed": {"type": "boolean"},
                    "next_due": _DATE,
                }),
                "InspectionInput": {
                    "type": "object",
                    "required": ["inspected_on", "conclusion"],
                    "properties": {
                        "inspected_on": {
                            "type": "string",
                            "format": "date",
                            "description": "Not before 1950-01-01 and not in the future",
                        },
                        "conclusion": {
                            "type": "string",
                            "enum": ALL_CONCLUSIONS,
                            "description": "One of the duty's conclusions: "
                            + _conclusions_text(),
                        },
                        "report_no": {"type": "string", "maxLength": 64},
                        "agency": {"type": "string", "maxLength": 200},
                        "next_due": {"type": "string", "format": "date"},
                        "problems": {"type": "string", "maxLength": 2000},
                        "inspection_type": {"type": "string"},
                        "safety_grade": {"type": "integer", "minimum": 1, "maximum": 5},
                    },
                },
            },
        },
    }
