"""The Python msgraph-sdk sends, reads, edits, reacts to and deletes chat messages, unmodified but
for its base URL and token provider, and reads them back across chats with getAllMessages. What
the SDK sends (its `@odata.type`s, its casing) and what it parses (enums, flags, identity
subtypes, dates) is the point: every call here is a typed SDK call."""

import asyncio
import datetime
import ssl
import uuid
from typing import Any

import httpx
import requests
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.chats.item.messages.item.set_reaction.set_reaction_post_request_body import SetReactionPostRequestBody
from msgraph.generated.chats.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_message import ChatMessage
from msgraph.generated.models.chat_message_actions import ChatMessageActions
from msgraph.generated.models.chat_message_importance import ChatMessageImportance
from msgraph.generated.models.chat_message_mention import ChatMessageMention
from msgraph.generated.models.chat_message_mentioned_identity_set import ChatMessageMentionedIdentitySet
from msgraph.generated.models.chat_message_type import ChatMessageType
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.teamwork_user_identity import TeamworkUserIdentity
from msgraph.generated.models.teamwork_user_identity_type import TeamworkUserIdentityType
from msgraph_core import GraphClientFactory, PageIterator

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


def test_chat_messages_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    def create_user(alias):
        r = requests.post(
            f"{sb.graph}/users",
            json={
                "accountEnabled": True,
                "displayName": f"Messenger {alias}",
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

    people = [create_user(f"m{tag}{i}") for i in range(2)]
    ids = [p["id"] for p in people]
    clients = [
        client_for(sb, token(sb, grant_type="password", username=p["userPrincipalName"], password=PASSWORD, scope=".default"))
        for p in people
    ]
    app = client_for(sb, app_token)
    me, them = clients

    def member(user_id):
        return AadUserConversationMember(roles=["owner"], additional_data={"user@odata.bind": f"{sb.graph}/users('{user_id}')"})

    async def scenario():
        chat = await me.chats.post(Chat(chat_type=ChatType.Group, topic=f"Messages {tag}", members=[member(i) for i in ids]))
        messages = me.chats.by_chat_id(chat.id).messages

        # The seed: only a body.
        hello = await messages.post(ChatMessage(body=ItemBody(content="Hello world")))
        assert hello.id.isdigit() and hello.etag == hello.id
        assert hello.chat_id == chat.id
        assert hello.message_type == ChatMessageType.Message
        assert hello.body.content_type == BodyType.Text and hello.body.content == "Hello world"
        assert isinstance(hello.from_.user, TeamworkUserIdentity)
        assert hello.from_.user.id == ids[0] and hello.from_.user.user_identity_type == TeamworkUserIdentityType.AadUser
        assert isinstance(hello.created_date_time, datetime.datetime) and hello.created_date_time.tzinfo
        assert hello.reactions == [] and hello.mentions == [] and hello.attachments == []

        # A mention, as the SDK writes it (typed identities, @odata.type everywhere).
        mention = ChatMessageMention(
            id=0,
            mention_text="Messenger 1",
            mentioned=ChatMessageMentionedIdentitySet(
                user=TeamworkUserIdentity(id=ids[1], display_name="Messenger 1", user_identity_type=TeamworkUserIdentityType.AadUser)
            ),
        )
        hi = await messages.post(
            ChatMessage(
                body=ItemBody(content_type=BodyType.Html, content='Hi <at id="0">Messenger 1</at>'),
                mentions=[mention],
                importance=ChatMessageImportance.High,
            )
        )
        assert hi.importance == ChatMessageImportance.High
        assert hi.mentions[0].mentioned.user.id == ids[1]

        for i in range(3):
            await them.chats.by_chat_id(chat.id).messages.post(ChatMessage(body=ItemBody(content=f"reply {i}")))

        # Newest first, two per page, through the SDK's iterator.
        config = RequestConfiguration(query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=2))
        first = await messages.get(request_configuration=config)
        assert len(first.value) == 2 and first.odata_next_link
        seen = []
        await PageIterator(first, me.request_adapter).iterate(lambda m: seen.append(m) or True)
        users = [m for m in seen if m.message_type == ChatMessageType.Message]
        assert [m.body.content for m in users[:3]] == ["reply 2", "reply 1", "reply 0"]
        assert len(users) == 5
        assert any(m.message_type == ChatMessageType.UnknownFutureValue for m in seen)

        # Edit (204), react, soft delete; read it back typed.
        item = messages.by_chat_message_id(hello.id)
        assert await item.patch(ChatMessage(body=ItemBody(content="Hello, edited"))) is None
        await them.chats.by_chat_id(chat.id).messages.by_chat_message_id(hello.id).set_reaction.post(
            SetReactionPostRequestBody(reaction_type="💘")
        )
        got = await item.get()
        assert got.body.content == "Hello, edited" and got.last_edited_date_time is not None
        assert got.reactions[0].reaction_type == "💘" and got.reactions[0].user.user.id == ids[1]
        assert got.message_history[0].actions == [ChatMessageActions.ReactionAdded]  # a flags enum
        await item.soft_delete.post()
        gone = await item.get()
        assert gone.deleted_date_time is not None and gone.body.content == ""
        await item.undo_soft_delete.post()
        back = await item.get()
        assert back.deleted_date_time is None and back.body.content == "Hello, edited"

        # Across chats, as an application.
        everything = await app.users.by_user_id(ids[0]).chats.get_all_messages.get()
        assert {m.id for m in everything.value} >= {hello.id, hi.id}
        assert all(isinstance(m, ChatMessage) and m.chat_id == chat.id for m in everything.value)

    asyncio.run(asyncio.wait_for(scenario(), 60))
