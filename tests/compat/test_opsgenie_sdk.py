"""Atlassian's `opsgenie-sdk` (Alert API v2) against a real warroom server.

The SDK deserialises every answer into its models (SuccessResponse, GetRequestStatusResponse with an
AlertRequestStatus), and SuccessResponse.id short-polls GET /v2/alerts/requests/{id} itself, so these tests
prove our answer shapes fit the SDK as much as our parsing of its requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import opsgenie_sdk
import pytest
from opsgenie_sdk import (
    AcknowledgeAlertPayload,
    AddNoteToAlertPayload,
    AlertApi,
    ApiClient,
    CloseAlertPayload,
    Configuration,
    CreateAlertPayload,
    SuccessResponse,
)
from opsgenie_sdk.exceptions import ApiException, AuthenticationException, ConfigurationException

from tests.compat.conftest import Warroom


@pytest.fixture
def clients() -> Iterator[list[ApiClient]]:
    """Closes the connection pools of every SDK client a test makes."""
    made: list[ApiClient] = []
    yield made
    for client in made:
        client.rest_client.pool_manager.clear()


def alert_api(warroom: Warroom, key: str, made: list[ApiClient]) -> AlertApi:
    conf = Configuration()
    conf.host = warroom.base_url
    conf.api_key["Authorization"] = key  # sent as "GenieKey <key>": api_key_prefix defaults to GenieKey
    conf.retry_enabled = False  # else it retries 5 times, up to 30 s apart
    conf.short_polling_max_retries = 3
    client = ApiClient(conf)
    made.append(client)
    return AlertApi(client)


def accepted(response: SuccessResponse) -> str:
    """The request id of an accepted request, after checking the SuccessResponse fields."""
    assert isinstance(response, SuccessResponse)
    assert response.result == "Request will be processed"
    assert isinstance(response.took, float)
    assert isinstance(response.request_id, str) and len(response.request_id) == 36
    return response.request_id


def test_create_status_ack_note_unack_close(warroom: Warroom, clients: list[ApiClient]) -> None:
    integration = warroom.integration("opsgenie")
    api = alert_api(warroom, integration["key"], clients)
    created = api.create_alert(
        CreateAlertPayload(
            message="CPU high on web-1",
            alias="cpu-web-1",
            priority="P1",
            description="CPU above 95% for 10 minutes",
            tags=["web", "cpu"],
            details={"region": "eu-west-1", "host": "web-1"},
            entity="web-1",
            source="prometheus",
            user="monitor@example.com",
            note="first seen",
        )
    )
    request_id = accepted(created)
    alert = warroom.alert("cpu-web-1")
    assert (alert["title"], alert["description"], alert["status"], alert["count"]) == (
        "CPU high on web-1",
        "CPU above 95% for 10 minutes",
        "triggered",
        1,
    )
    assert (alert["severity"], alert["raw_severity"], alert["source"]) == ("critical", "P1", "prometheus")
    assert alert["labels"] == {"tags": "web,cpu", "entity": "web-1"}
    assert alert["details"]["details"] == {"region": "eu-west-1", "host": "web-1"}
    assert alert["details"]["tags"] == ["web", "cpu"]

    status = api.get_request_status(request_id=request_id)
    assert isinstance(status, opsgenie_sdk.GetRequestStatusResponse)
    assert status.request_id == request_id
    data = status.data
    assert isinstance(data, opsgenie_sdk.AlertRequestStatus)
    assert (data.is_success, data.action, data.alert_id, data.alias) == (
        True,
        "Create",
        alert["uid"],
        "cpu-web-1",
    )
    assert data.integration_id == str(integration["id"])
    assert isinstance(data.processed_at, datetime) and data.processed_at.tzinfo is not None
    assert created.id == alert["uid"]  # the SDK's own short polling of the request status

    again = api.create_alert(CreateAlertPayload(message="CPU still high on web-1", alias="cpu-web-1"))
    accepted(again)
    alert = warroom.alert("cpu-web-1")
    assert (alert["count"], alert["title"], alert["status"]) == (2, "CPU still high on web-1", "triggered")
    assert alert["raw_severity"] == "P3"  # the default priority of a create without one

    ack = api.acknowledge_alert(
        identifier="cpu-web-1",
        identifier_type="alias",
        acknowledge_alert_payload=AcknowledgeAlertPayload(user="ops@example.com", note="looking"),
    )
    ack_status = api.get_request_status(request_id=accepted(ack)).data
    assert (ack_status.action, ack_status.is_success, ack_status.alert_id) == (
        "Acknowledge",
        True,
        alert["uid"],
    )
    alert = warroom.alert("cpu-web-1")
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "ops@example.com")

    note = api.add_note(
        identifier=alert["uid"],
        identifier_type="id",
        add_note_to_alert_payload=AddNoteToAlertPayload(user="ops@example.com", note="restarted nginx"),
    )
    assert api.get_request_status(request_id=accepted(note)).data.action == "AddNote"
    history = warroom.events(alert["id"])
    assert history[-1]["action"] == "note" and history[-1]["data"]["note"] == "restarted nginx"
    assert history[-1]["actor"] == "ops@example.com"
    assert warroom.alert("cpu-web-1")["status"] == "acknowledged"

    unack = api.un_acknowledge_alert(identifier=str(alert["id"]), identifier_type="tiny")
    assert api.get_request_status(request_id=accepted(unack)).data.action == "UnAcknowledge"
    alert = warroom.alert("cpu-web-1")
    assert (alert["status"], alert["acknowledged_by"]) == ("triggered", None)

    closed = api.close_alert(
        identifier=alert["uid"],
        close_alert_payload=CloseAlertPayload(user="ops@example.com", note="fixed", source="sdk"),
    )  # identifierType defaults to id
    close_status = api.get_request_status(request_id=accepted(closed)).data
    assert (close_status.action, close_status.is_success) == ("Close", True)
    alert = warroom.alert("cpu-web-1")
    assert (alert["status"], alert["resolved_by"]) == ("resolved", "ops@example.com")
    assert [e["action"] for e in warroom.events(alert["id"])] == [
        "trigger",
        "trigger",
        "acknowledge",
        "note",
        "unacknowledge",
        "resolve",
    ]


def test_actions_on_unknown_alerts_are_accepted_but_report_failure(
    warroom: Warroom, clients: list[ApiClient]
) -> None:
    api = alert_api(warroom, warroom.integration("opsgenie")["key"], clients)
    closed = api.close_alert(identifier="never-created", identifier_type="alias")
    status = api.get_request_status(request_id=accepted(closed)).data
    assert (status.is_success, status.action, status.alert_id) == (False, "Close", "")
    assert warroom.alerts() == []


def test_refusals_raise_the_sdk_errors_and_store_nothing(warroom: Warroom, clients: list[ApiClient]) -> None:
    integration = warroom.integration("opsgenie")
    pagerduty_key = warroom.integration("pagerduty")["key"]
    with pytest.raises(AuthenticationException) as unknown:
        alert_api(warroom, "not-a-key", clients).create_alert(CreateAlertPayload(message="x"))
    assert unknown.value.status == 401
    with pytest.raises(AuthenticationException) as wrong_kind:
        alert_api(warroom, pagerduty_key, clients).create_alert(CreateAlertPayload(message="x"))
    assert wrong_kind.value.status == 403
    api = alert_api(warroom, integration["key"], clients)
    with pytest.raises(ConfigurationException) as too_long:
        api.create_alert(CreateAlertPayload(message="m" * 131))
    assert too_long.value.status == 422
    assert "130" in too_long.value.body
    with pytest.raises(ConfigurationException) as bad_type:
        api.acknowledge_alert(identifier="cpu-web-1", identifier_type="name")
    assert bad_type.value.status == 422
    with pytest.raises(ApiException) as missing:
        api.get_request_status(request_id="00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    assert warroom.alerts() == []
    assert warroom.admin.get(f"/api/v1/integrations/{integration['id']}").json()["last_event_at"] is None
