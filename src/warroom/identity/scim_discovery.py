"""What /scim/v2 says of itself (RFC 7644 §4): its configuration, resource types and schemas."""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Group,
    ListResponse,
    Meta,
    NotFoundException,
    Patch,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    User,
)

MAX_RESULTS = 200


def _dump(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    return dumped


def service_provider_config() -> dict[str, Any]:
    scheme = AuthenticationScheme(
        type="oauthbearertoken", name="Bearer token", primary=True,
        description="The token set as WARROOM_SCIM_TOKEN, sent as `Authorization: Bearer <token>`.",
    )  # fmt: skip
    return _dump(
        ServiceProviderConfig(
            patch=Patch(supported=True),
            bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
            filter=Filter(supported=True, max_results=MAX_RESULTS),
            change_password=ChangePassword(supported=False),
            sort=Sort(supported=False),
            etag=ETag(supported=False),
            authentication_schemes=[scheme],
        )
    )


def resource_types(base: str) -> list[ResourceType]:
    found = []
    for model in (User, Group):
        kind = ResourceType.from_resource(model)
        meta = Meta(resource_type="ResourceType", location=f"{base}/ResourceTypes/{kind.id}")
        found.append(kind.model_copy(update={"meta": meta}))
    return found


def schemas(base: str) -> list[Schema]:
    found = []
    for model in (User, Group):
        schema = model.to_schema()
        meta = Meta(resource_type="Schema", location=f"{base}/Schemas/{schema.id}")
        found.append(schema.model_copy(update={"meta": meta}))
    return found


def listed(items: list[Any], model: Any) -> dict[str, Any]:
    answer = ListResponse[model](total_results=len(items), start_index=1, items_per_page=len(items),
                                 resources=items)  # fmt: skip
    dumped: dict[str, Any] = answer.model_dump(mode="json", scim_ctx=Context.SEARCH_RESPONSE)
    return dumped


def one(items: list[Any], wanted: str, kind: str) -> dict[str, Any]:
    for item in items:
        if item.id == wanted:
            return _dump(item)
    raise NotFoundException(detail=f"no {kind} {wanted!r}")
