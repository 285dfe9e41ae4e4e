"""The intake writer derives a whole group of requests set-wise (alerts/intake/derive.py): one upsert for a
segment's triggers, one UPDATE per kind of change. Whatever the grouping, the result must be what applying
the same requests one at a time, in order, gives."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.integration.conftest import Api
from tests.integration.test_intake import integration
from warroom.alerts.domain import AlertEventIn
from warroom.alerts.intake.derive import Item, segments
from warroom.alerts.intake.store import apply_work, apply_works
from warroom.alerts.intake.work import IntakeWork
from warroom.alerts.models import Alert, AlertEvent, Integration

# (action, key, actor): a key's events in every order the segments must keep
SCRIPT: list[list[tuple[str, str | None, str | None]]] = [
    [("trigger", "a", None), ("trigger", "b", None), ("trigger", "a", None)],
    [("acknowledge", "a", "ann"), ("acknowledge", "b", "ann"), ("acknowledge", "zz", "ann")],
    [("resolve", "a", "bob"), ("trigger", "a", None), ("note", "b", "cy")],
    [("acknowledge", "a", "dee"), ("acknowledge", "a", "dee"), ("unacknowledge", "a", "dee")],
    [("trigger", "c", None), ("resolve", "c", "ed"), ("resolve", "c", "ed"), ("resolve", None, "ed")],
    [("trigger", None, None), ("trigger", None, None), ("update", "b", None)],
]


def _work(
    api: Api, integration: tuple[int, int], number: int, events: list[tuple[str, str | None, str | None]]
) -> IntakeWork:
    integration_id, service_id = integration
    return IntakeWork(
        integration_id=integration_id,
        service_id=service_id,
        request_id=f"{integration_id}-{number}",
        received_at=api.clock.now(),
        content_type="application/json",
        headers={},
        body=b"{}",
        route={"kind": "webhook", "op": "webhook"},
        events=[
            AlertEventIn(
                action=action,
                dedup_key=key,
                title=f"t{number}",
                actor=actor,
                details={"updated": "message"} if action == "update" else {},
            )
            for action, key, actor in events
        ],
    )


def _named(key: str | None) -> str | None:
    """A key the script names, else "generated" (a generated key hashes the integration's id)."""
    return key if key is None or len(key) < 32 else "generated"


ALERT_COLUMNS = (
    Alert.dedup_key,
    Alert.status,
    Alert.count,
    Alert.title,
    Alert.acknowledged_by,
    Alert.resolved_by,
)


async def _state(api: Api, integration_id: int) -> dict[str, Any]:
    ours = Alert.integration_id == integration_id
    async with api.context.db.read() as session:
        alerts = (await session.execute(select(*ALERT_COLUMNS).where(ours).order_by(Alert.id))).all()
        event_rows = (
            select(AlertEvent.action, AlertEvent.data).join(Alert).where(ours).order_by(AlertEvent.id)
        )
        events = (await session.execute(event_rows)).all()
    return {
        "alerts": [(_named(row[0]), *row[1:]) for row in alerts],
        "events": [(action, data["outcome"]) for action, data in events],
    }


def _plain(outcomes: list[list[Any]]) -> list[list[tuple[str, str, str | None]]]:
    return [[(o.action, o.outcome, _named(o.dedup_key)) for o in per_request] for per_request in outcomes]


async def _made(api: Api) -> tuple[int, int]:
    """A webhook integration: its id and its service's."""
    made = (await integration(api, "webhook"))["id"]
    async with api.context.db.read() as session:
        service = await session.scalar(select(Integration.service_id).where(Integration.id == made))
    return made, int(service or 0)


async def test_a_group_applied_at_once_equals_its_requests_one_by_one(api: Api) -> None:
    one_by_one = await _made(api)
    grouped = await _made(api)
    singly = []
    for number, events in enumerate(SCRIPT):
        async with api.context.db.write() as session:
            singly.append(await apply_work(session=session, work=_work(api, one_by_one, number, events)))
            await session.commit()
    async with api.context.db.write() as session:
        works = [_work(api, grouped, number, events) for number, events in enumerate(SCRIPT)]
        together = await apply_works(session=session, works=works)
        await session.commit()
    assert _plain(together) == _plain(singly)
    assert _plain(together)[1] == [
        ("acknowledge", "acknowledged", "a"),
        ("acknowledge", "acknowledged", "b"),
        ("acknowledge", "dropped", "zz"),
    ]
    assert [o.outcome for o in together[3]] == ["acknowledged", "unchanged", "unacknowledged"]
    assert [o.outcome for o in together[4]] == ["created", "resolved", "dropped", "dropped"]
    expected, got = await _state(api, one_by_one[0]), await _state(api, grouped[0])
    assert got == expected
    assert [row[:3] for row in got["alerts"]] == [
        ("a", "resolved", 2),
        ("b", "acknowledged", 1),
        ("a", "triggered", 1),
        ("c", "resolved", 1),
        ("generated", "triggered", 2),  # two triggers without a key: one generated key
    ]
    assert got["alerts"][1][3] == "t5"  # the update renamed b


def test_segments_never_name_a_key_twice_and_keep_order() -> None:
    def item(position: int, key: str | None, integration_id: int = 1) -> Item:
        work = IntakeWork(integration_id, 1, "r", None, "", {}, b"", {}, [])
        return Item(position, work, AlertEventIn(action="trigger", dedup_key=key), key)

    items = [
        item(0, "a"),
        item(1, "b"),
        item(2, "a", 2),
        item(3, "a"),
        item(4, "b"),
        item(5, "c"),
        item(6, "c"),
    ]
    cut = [[i.position for i in segment] for segment in segments(items)]
    assert cut == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(segments([])) == []


def test_intake_routes_are_matched_before_any_other(api: Api) -> None:
    """Routes are tried in order; intake ahead of the ~40 other routers was worth 18% of intake throughput
    (PagerDuty, one process: 1,286 -> 1,518 requests/s)."""
    from tests.integration.test_restricted_matrix import flat_routes

    plain = ("/api/v1/openapi.json", "/api/v1/docs", "/docs/oauth2-redirect", "/healthz")  # one regex each
    paths = [path for path, _ in flat_routes(api.app.routes) if path not in plain]
    intake = [path.startswith(("/v2/", "/intake/")) for path in paths]
    assert "/v2/enqueue" in paths and sum(intake) >= 10
    assert intake[: sum(intake)] == [True] * sum(intake), paths[: sum(intake) + 1]


def test_health_is_matched_before_the_routers_routes(api: Api) -> None:
    """A route added after the routers' was found only after every one of them had been tried: GET /healthz
    spent 1.6 ms matching (SQLite, wrk -c32: 670 -> 1,000 requests/s once it came first)."""
    paths = [getattr(route, "path", None) for route in api.app.routes]
    assert paths.index("/healthz") < paths.index("/v2/enqueue") < paths.index("/api/v1/incidents")


def test_the_app_holds_its_routes_not_included_routers(api: Api) -> None:
    """warroom.route_table: an included router is a node whose routes FastAPI builds again for each app on
    its first request (~350 ms, and every test makes an app); the app holds the routes themselves."""
    nodes = [route for route in api.app.routes if getattr(route, "original_router", None) is not None]
    assert nodes == []
    assert len(api.app.routes) > 250
