"""The Python msgraph-sdk's JSON batching (msgraph_core BatchRequestContent, client.batch.post)
against Switchboard, unmodified. The SDK writes a sub-request URL absolute when the request's URL
is (`https://127.0.0.1:P/v1.0/me`, here from create_with_urllib_request) and every dependency as
`depends_on` (graph-sdk-clients.md §2): this scenario passes only because the server reads both. The SDK drops JSON sub-response bodies
(it decodes base64 only), so bodies are read from the raw batch answer, as the reference's
workaround does."""

import asyncio
import json
import urllib.request
import uuid

import requests
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from sdk_clients import PASSWORD, app_token, user_token, v1_client as client_for


def create_user(sb, access_token: str, alias: str) -> dict:
    r = requests.post(
        f"{sb.graph}/users",
        json={
            "accountEnabled": True,
            "displayName": f"Batch {alias}",
            "mailNickname": alias,
            "userPrincipalName": f"{alias}@{sb.domain}",
            "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": PASSWORD},
        },
        headers={"Authorization": f"Bearer {access_token}"},
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
    tag = uuid.uuid4().hex[:6]
    app = app_token(sb)
    users = [create_user(sb, app, f"batch{tag}{i}") for i in range(2)]
    client = client_for(sb, user_token(sb, users[0]["userPrincipalName"]))

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
