import pytest
from pydantic import ValidationError

from actors.messages import HookEvent
from stashplex.runtime.validation import first_error


def refusal_of(event: dict) -> str:
    with pytest.raises(ValidationError) as error:
        HookEvent.model_validate(event)
    return first_error(error.value.errors(), "event")


def test_a_hook_event_refused_by_our_rule_says_the_rule_without_pydantics_code_word():
    # Given a scene hook that names its scene in the wrong field
    event = {"trigger": "Scene.Update.Post", "object_id": "12"}
    # When it is refused
    words = refusal_of(event)
    # Then the refusal reads as our rule, for the whole event
    assert words == "event: Scene.Update.Post names its scene in scene_id (and no object_id)"


def test_a_hook_event_refused_by_a_type_rule_keeps_pydantics_description_and_the_field():
    # Given a scene id that is not an id
    event = {"trigger": "Scene.Update.Post", "scene_id": "12; drop"}
    # When it is refused
    words = refusal_of(event)
    # Then the field is named and the description is pydantic's own
    assert words.startswith("scene_id: String should match pattern")
    assert "Value error" not in words
