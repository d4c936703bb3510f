"""The Python msgraph-sdk sends, reads, edits, reacts to and deletes chat messages, unmodified but
for its base URL and token provider, and reads them back across chats with getAllMessages. What
the SDK sends (its `@odata.type`s, its casing) and what it parses (enums, flags, identity
subtypes, dates) is the point: every call here is a typed SDK call."""

import asyncio
import datetime
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.chats.chats_request_builder import ChatsRequestBuilder
from msgraph.generated.chats.item.messages.item.set_reaction.set_reaction_post_request_body import SetReactionPostRequestBody
from msgraph.generated.chats.item.messages.item.unset_reaction.unset_reaction_post_request_body import UnsetReactionPostRequestBody
from msgraph.generated.chats.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_message import ChatMessage
from msgraph.generated.models.chat_message_actions import ChatMessageActions
from msgraph.generated.models.chat_message_importance import ChatMessageImportance
from msgraph.generated.models.chat_message_info import ChatMessageInfo
from msgraph.generated.models.chat_message_mention import ChatMessageMention
from msgraph.generated.models.chat_message_mentioned_identity_set import ChatMessageMentionedIdentitySet
from msgraph.generated.models.chat_message_type import ChatMessageType
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.teamwork_user_identity import TeamworkUserIdentity
from msgraph.generated.models.teamwork_user_identity_type import TeamworkUserIdentityType
from msgraph.generated.users.item.chats.get_all_messages.get_all_messages_request_builder import GetAllMessagesRequestBuilder
from msgraph_core import PageIterator

from sdk_clients import PASSWORD, create_users, token, v1_client as client_for

def test_chat_messages_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    people = create_users(sb, [f"m{tag}{i}" for i in range(2)], "Messenger")
    ids = [p.id for p in people]
    clients = [
        client_for(sb, token(sb, grant_type="password", username=p.user_principal_name, password=PASSWORD, scope=".default"))
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
        await them.chats.by_chat_id(chat.id).messages.by_chat_message_id(hello.id).unset_reaction.post(
            UnsetReactionPostRequestBody(reaction_type="💘")
        )
        assert (await item.get()).reactions == []
        await item.soft_delete.post()
        gone = await item.get()
        assert gone.deleted_date_time is not None and gone.body.content == ""
        await item.undo_soft_delete.post()
        back = await item.get()
        assert back.deleted_date_time is None and back.body.content == "Hello, edited"

        # The chat's lastMessagePreview follows its newest message: on the chat, and expanded on
        # the list of chats.
        last = await them.chats.by_chat_id(chat.id).messages.post(ChatMessage(body=ItemBody(content="last word")))
        preview = await me.chats.by_chat_id(chat.id).last_message_preview.get()
        assert isinstance(preview, ChatMessageInfo) and preview.id == last.id
        assert preview.body.content == "last word" and preview.from_.user.id == ids[1] and preview.is_deleted is False
        expanded = await me.chats.get(
            RequestConfiguration(query_parameters=ChatsRequestBuilder.ChatsRequestBuilderGetQueryParameters(expand=["lastMessagePreview"]))
        )
        assert next(c for c in expanded.value if c.id == chat.id).last_message_preview.id == last.id

        with pytest.raises(ODataError) as caught:
            await messages.by_chat_message_id("1").get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "NotFound"

        # Across chats, as an application.
        everything = await app.users.by_user_id(ids[0]).chats.get_all_messages.get()
        assert {m.id for m in everything.value} >= {hello.id, hi.id, last.id}
        # Its delta, two a page, to the end: msgraph-sdk has no builder for getAllMessages/delta, so
        # the getAllMessages builder (same response shape) is pointed at it with `with_url`.
        delta = GetAllMessagesRequestBuilder(app.request_adapter, {}).with_url(
            f"{sb.graph}/users/{ids[0]}/chats/getAllMessages/delta?$top=2"
        )
        page = await delta.get()
        assert len(page.value) <= 2 and page.odata_next_link
        changed = []
        await PageIterator(page, app.request_adapter).iterate(lambda m: changed.append(m.id) or True)
        assert {hello.id, hi.id, last.id} <= set(changed)
        assert all(isinstance(m, ChatMessage) and m.chat_id == chat.id for m in everything.value)

    asyncio.run(asyncio.wait_for(scenario(), 60))
