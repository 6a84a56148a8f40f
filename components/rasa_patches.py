"""Performance fix for Rasa 3.6, applied when the model's custom components load.

``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every
action server response. That call first checks the *schema itself* against the
JSON Schema meta-schema, and with jsonschema 4.17 this dominates the turn: a
py-spy profile of a waybill lookup (three action server calls) showed 80 % of the
Rasa server's time there. The response schema never changes, so we check it once
and keep the validator. Responses are validated exactly as before.
"""

from __future__ import annotations

from typing import Any, Dict

import jsonschema
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_validator: Any | None = None
_applied = False


def _response_validator() -> Any:
    global _validator
    if _validator is None:
        spec = RemoteAction.action_response_format_spec()
        cls = jsonschema.validators.validator_for(spec)
        cls.check_schema(spec)
        _validator = cls(spec)
    return _validator


def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    """Same contract as Rasa's method, with the schema checked only once."""
    error = jsonschema.exceptions.best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    if isinstance(error, ValidationError):
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
    raise error


def apply() -> None:
    """Install the patch (idempotent)."""
    global _applied
    if not _applied:
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
        _applied = True
