"""The Python msgraph-sdk's JSON batching (msgraph_core BatchRequestContent, client.batch.post)
against Switchboard, unmodified. The SDK writes a sub-request URL absolute when the request's URL
is (`https://127.0.0.1:P/v1.0/me`, here from create_with_urllib_request) and every dependency as
`depends_on` (graph-sdk-clients.md §2): this scenario passes only because the server reads both. The SDK drops JSON sub-response bodies
(it decodes base64 only), so bodies are read from the raw batch answer, as the reference's
workaround does."""

import asyncio
import json
import ssl
import urllib.request
import uuid
from typing import Any

import httpx
import requests
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem

PASSWORD = "Switchboard-Test-1"


class StaticTokenProvider(AccessTokenProvider):
    def __init__(self, token: str):
        self._token, self._hosts = token, AllowedHostsValidator([])

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


def token(sb, **form) -> str:
    answer = requests.post(
        f"{sb.base}/{sb.tenant_id}/oauth2/v2.0/token",
        data={"client_id": sb.client_id, "client_secret": sb.client_secret, **form},
        verify=sb.cert,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def client_for(sb, access_token: str) -> GraphServiceClient:
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.cert))
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(access_token)), client=http)
    adapter.base_url = sb.graph
    return GraphServiceClient(request_adapter=adapter)


def create_user(sb, app_token: str, alias: str) -> dict:
    r = requests.post(
        f"{sb.graph}/users",
        json={
            "accountEnabled": True,
            "displayName": f"Batch {alias}",
            "mailNickname": alias,
            "userPrincipalName": f"{alias}@{sb.domain}",
            "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": PASSWORD},
        },
        headers={"Authorization": f"Bearer {app_token}"},
        verify=sb.cert,
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return r.json()


def member(sb, user_id: str) -> AadUserConversationMember:
    return AadUserConversationMember(
        roles=["owner"],
        additional_data={"user@odata.bind": f"{sb.graph}/users('{user_id}')"},
    )


def test_batch_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]
    users = [create_user(sb, app_token, f"batch{tag}{i}") for i in range(2)]
    delegated = token(
        sb, grant_type="password", username=users[0]["userPrincipalName"], password=PASSWORD, scope=".default"
    )
    client = client_for(sb, delegated)

    def content() -> BatchRequestContent:
        topic = f"Batched {tag}"
        chat = Chat(chat_type=ChatType.Group, topic=topic, members=[member(sb, u["id"]) for u in users])
        # A native request (the SDK's create_with_urllib_request) keeps its absolute URL.
        me = BatchRequestItem.create_with_urllib_request(urllib.request.Request(f"{sb.graph}/me"), id="me")
        create = BatchRequestItem(
            request_information=client.chats.to_post_request_information(chat), id="create", depends_on=["me"]
        )
        missing = BatchRequestItem(
            request_information=client.users.by_user_id(f"nobody-{tag}@{sb.domain}").to_get_request_information(),
            id="missing",
            depends_on=["create"],
        )
        never = Chat(chat_type=ChatType.Group, topic=f"Never {tag}", members=[member(sb, u["id"]) for u in users])
        skipped = BatchRequestItem(
            request_information=client.chats.to_post_request_information(never), id="skipped", depends_on=["missing"]
        )
        batch = BatchRequestContent({"me": me})
        for item in (create, missing, skipped):
            batch.add_request(item.id, item)
        # What the SDK will send: absolute URLs and snake_case dependencies.
        assert me.url.startswith(f"{sb.graph}/"), me.url
        return batch

    async def run():
        answer = await client.batch.post(batch_request_content=content())
        statuses = answer.get_response_status_codes()
        # The raw answer of a second, identical batch: the SDK itself drops JSON bodies.
        info = await client.batch.to_post_request_information(content())
        raw = await client.request_adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
        after = await client.chats.get()
        return statuses, json.loads(raw), after

    statuses, raw, after = asyncio.run(run())
    assert statuses == {"me": 200, "create": 201, "missing": 404, "skipped": 424}, statuses
    bodies = {r["id"]: r for r in raw["responses"]}
    assert bodies["me"]["body"]["id"] == users[0]["id"]
    assert bodies["create"]["body"]["topic"] == f"Batched {tag}"
    assert bodies["missing"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert bodies["skipped"]["body"]["error"]["code"] == "FailedDependency"
    # The chat behind the failed dependency was never created.
    topics = [c.topic for c in after.value]
    assert f"Batched {tag}" in topics and f"Never {tag}" not in topics, topics
