"""The Python msgraph-beta-sdk against `/beta`, unmodified but for its base URL and token provider:
the same scenarios as the v1.0 suite (directory, chats, members, installed apps, chat messages
with `lastMessagePreview`, mail draft → send → inbox → reply → move, and folders, copies, MIME,
reply drafts and forwards), and the two beta seed pages
(create chatMessageInfo; `installedApps/{id}/chat/$ref`). Paging goes through msgraph-core's
PageIterator, errors arrive as the beta SDK's ODataError; every body is also held to the beta
models by graph_fidelity.py."""

import asyncio
import datetime
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph_beta.generated.app_catalogs.teams_apps.teams_apps_request_builder import TeamsAppsRequestBuilder
from msgraph_beta.generated.chats.chats_request_builder import ChatsRequestBuilder
from msgraph_beta.generated.chats.item.chat_item_request_builder import ChatItemRequestBuilder
from msgraph_beta.generated.chats.item.installed_apps.item.upgrade.upgrade_post_request_body import UpgradePostRequestBody
from msgraph_beta.generated.chats.item.mark_chat_read_for_user.mark_chat_read_for_user_post_request_body import MarkChatReadForUserPostRequestBody
from msgraph_beta.generated.chats.item.mark_chat_unread_for_user.mark_chat_unread_for_user_post_request_body import (
    MarkChatUnreadForUserPostRequestBody,
)
from msgraph_beta.generated.chats.item.messages.item.set_reaction.set_reaction_post_request_body import SetReactionPostRequestBody
from msgraph_beta.generated.chats.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph_beta.generated.groups.item.members.ref.ref_request_builder import RefRequestBuilder
from msgraph_beta.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph_beta.generated.models.body_type import BodyType
from msgraph_beta.generated.models.chat import Chat
from msgraph_beta.generated.models.chat_message import ChatMessage
from msgraph_beta.generated.models.chat_message_body import ChatMessageBody
from msgraph_beta.generated.models.chat_message_info import ChatMessageInfo
from msgraph_beta.generated.models.chat_message_type import ChatMessageType
from msgraph_beta.generated.models.chat_type import ChatType
from msgraph_beta.generated.models.email_address import EmailAddress
from msgraph_beta.generated.models.importance import Importance
from msgraph_beta.generated.models.item_body import ItemBody
from msgraph_beta.generated.models.mail_folder import MailFolder
from msgraph_beta.generated.models.message import Message
from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_beta.generated.models.password_profile import PasswordProfile
from msgraph_beta.generated.models.recipient import Recipient
from msgraph_beta.generated.models.reference_create import ReferenceCreate
from msgraph_beta.generated.models.teams_app import TeamsApp
from msgraph_beta.generated.models.teams_app_definition import TeamsAppDefinition
from msgraph_beta.generated.models.teams_app_installation import TeamsAppInstallation
from msgraph_beta.generated.models.teamwork_user_identity import TeamworkUserIdentity
from msgraph_beta.generated.models.user import User
from msgraph_beta.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder as FolderMessagesRequestBuilder,
)
from msgraph_beta.generated.users.item.messages.item.copy.copy_post_request_body import CopyPostRequestBody
from msgraph_beta.generated.users.item.messages.item.create_reply.create_reply_post_request_body import CreateReplyPostRequestBody
from msgraph_beta.generated.users.item.messages.item.forward.forward_post_request_body import ForwardPostRequestBody
from msgraph_beta.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
from msgraph_beta.generated.users.item.messages.item.reply.reply_post_request_body import ReplyPostRequestBody
from msgraph_beta.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import PageIterator

from sdk_clients import PASSWORD, app_token, beta_client, user_token


def run(coroutine, timeout=90):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def new_user(sb, alias: str, display_name: str) -> User:
    return User(
        account_enabled=True,
        display_name=display_name,
        mail_nickname=alias,
        user_principal_name=f"{alias}@{sb.domain}",
        password_profile=PasswordProfile(force_change_password_next_sign_in=False, password=PASSWORD),
    )


def member(sb, user_id: str) -> AadUserConversationMember:
    return AadUserConversationMember(roles=["owner"], additional_data={"user@odata.bind": f"{sb.base}/beta/users('{user_id}')"})


async def create_people(sb, admin, tag: str, count: int) -> list[User]:
    return [await admin.users.post(new_user(sb, f"b{tag}{i}", f"Beta {tag} {i}")) for i in range(count)]


def test_beta_directory(switchboard):
    sb = switchboard
    admin = beta_client(sb, app_token(sb))
    tag = uuid.uuid4().hex[:6]

    async def scenario():
        people = await create_people(sb, admin, tag, 5)
        assert people[0].user_principal_name == f"b{tag}0@{sb.domain}"
        got = await admin.users.by_user_id(people[1].user_principal_name).get()
        assert got.id == people[1].id and got.display_name == f"Beta {tag} 1"

        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            top=2, filter=f"startswith(displayName,'Beta {tag}')", select=["id", "displayName"]
        )
        first = await admin.users.get(RequestConfiguration(query_parameters=query))
        assert len(first.value) == 2 and first.odata_next_link.startswith(f"{sb.base}/beta/users?")
        seen = []
        await PageIterator(first, admin.request_adapter).iterate(lambda user: seen.append(user.id) or True)
        assert sorted(seen) == sorted(p.id for p in people)

        me = beta_client(sb, user_token(sb, people[0].user_principal_name))
        # msgraph-beta-sdk's `me` is a method, where msgraph-sdk's is a property.
        assert (await me.me().get()).id == people[0].id

        with pytest.raises(ODataError) as caught:
            await admin.users.by_user_id(f"nobody-{tag}@{sb.domain}").get()
        assert caught.value.response_status_code == 404
        assert caught.value.error.code == "Request_ResourceNotFound"
        assert caught.value.error.inner_error.request_id

    run(scenario())


def test_beta_chats_members_apps_and_messages(switchboard):
    sb = switchboard
    admin = beta_client(sb, app_token(sb))
    tag = uuid.uuid4().hex[:6]

    async def scenario():
        people = await create_people(sb, admin, tag, 4)
        ids = [p.id for p in people]
        me, them = (beta_client(sb, user_token(sb, p.user_principal_name)) for p in people[:2])

        one = await me.chats.post(Chat(chat_type=ChatType.OneOnOne, members=[member(sb, ids[0]), member(sb, ids[1])]))
        assert one.id == "19:{}_{}@unq.gbl.spaces".format(*sorted(ids[:2]))
        group = await me.chats.post(Chat(chat_type=ChatType.Group, topic=f"Beta {tag}", members=[member(sb, i) for i in ids[:3]]))
        assert group.chat_type == ChatType.Group and group.topic == f"Beta {tag}"
        for n in range(2):
            await me.chats.post(Chat(chat_type=ChatType.Group, topic=f"Extra {n}", members=[member(sb, ids[0]), member(sb, ids[2])]))

        # Members: add one, list, remove.
        members = me.chats.by_chat_id(group.id).members
        added = await members.post(member(sb, ids[3]))
        assert isinstance(added, AadUserConversationMember) and added.user_id == ids[3]
        assert sorted(m.user_id for m in (await members.get()).value) == sorted(ids)
        await members.by_conversation_member_id(added.id).delete()
        assert ids[3] not in [m.user_id for m in (await members.get()).value]
        mine = next(m for m in (await members.get()).value if m.user_id == ids[0])
        assert (await members.by_conversation_member_id(mine.id).get()).display_name == f"Beta {tag} 0"

        # The caller's read marker; the chats of a user, as an application.
        chat = me.chats.by_chat_id(group.id)
        marker = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        await chat.mark_chat_unread_for_user.post(
            MarkChatUnreadForUserPostRequestBody(user=TeamworkUserIdentity(id=ids[0]), last_message_read_date_time=marker)
        )
        assert (await chat.get()).viewpoint.last_message_read_date_time == marker
        await chat.mark_chat_read_for_user.post(MarkChatReadForUserPostRequestBody(user=TeamworkUserIdentity(id=ids[0])))
        assert (await chat.get()).viewpoint.last_message_read_date_time > marker
        theirs = await admin.users.by_user_id(ids[0]).chats.get()
        assert {one.id, group.id} <= {c.id for c in theirs.value}

        # Messages: send, page newest first, edit, react, soft delete.
        messages = me.chats.by_chat_id(group.id).messages
        hello = await messages.post(ChatMessage(body=ChatMessageBody(content="Hello beta")))
        assert hello.chat_id == group.id and hello.message_type == ChatMessageType.Message
        assert isinstance(hello.from_.user, TeamworkUserIdentity) and hello.from_.user.id == ids[0]
        for i in range(3):
            await them.chats.by_chat_id(group.id).messages.post(ChatMessage(body=ChatMessageBody(content=f"reply {i}")))
        config = RequestConfiguration(query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=2))
        first = await messages.get(config)
        assert len(first.value) == 2 and first.odata_next_link
        seen = []
        await PageIterator(first, me.request_adapter).iterate(lambda m: seen.append(m) or True)
        said = [m.body.content for m in seen if m.message_type == ChatMessageType.Message]
        assert said == ["reply 2", "reply 1", "reply 0", "Hello beta"]
        item = messages.by_chat_message_id(hello.id)
        assert await item.patch(ChatMessage(body=ChatMessageBody(content="Hello, edited"))) is None
        await them.chats.by_chat_id(group.id).messages.by_chat_message_id(hello.id).set_reaction.post(
            SetReactionPostRequestBody(reaction_type="👍")
        )
        got = await item.get()
        assert got.body.content == "Hello, edited" and got.reactions[0].reaction_type == "👍"
        await item.soft_delete.post()
        assert (await item.get()).deleted_date_time is not None
        await item.undo_soft_delete.post()

        # lastMessagePreview (seed "Create chatMessageInfo"): read through the SDK, on the chat and
        # expanded on the list; the page's create has no collection in Graph, so writing is refused.
        last = await them.chats.by_chat_id(group.id).messages.post(ChatMessage(body=ChatMessageBody(content="last word")))
        preview = await me.chats.by_chat_id(group.id).last_message_preview.get()
        assert isinstance(preview, ChatMessageInfo)
        assert preview.id == last.id and preview.body.content == "last word" and preview.is_deleted is False
        assert preview.from_.user.id == ids[1] and isinstance(preview.created_date_time, datetime.datetime)
        config = RequestConfiguration(
            query_parameters=ChatsRequestBuilder.ChatsRequestBuilderGetQueryParameters(top=2, expand=["lastMessagePreview"])
        )
        page = await me.chats.get(config)
        chats = []
        await PageIterator(page, me.request_adapter).iterate(lambda chat: chats.append(chat) or True)
        assert len(chats) == 4
        assert next(c for c in chats if c.id == group.id).last_message_preview.id == last.id
        with pytest.raises(ODataError) as caught:
            await me.chats.by_chat_id(group.id).last_message_preview.patch(
                ChatMessageInfo(body=ChatMessageBody(content="forged"), message_type=ChatMessageType.Message)
            )
        assert caught.value.response_status_code == 405 and caught.value.error.code == "MethodNotAllowed"

        # Across chats, as an application.
        everything = await admin.users.by_user_id(ids[0]).chats.get_all_messages.get()
        assert {hello.id, last.id} <= {m.id for m in everything.value}

        # An app from the catalogue, installed in the group chat.
        app = await admin.app_catalogs.teams_apps.post(
            TeamsApp(display_name=f"Beta poll {tag}", external_id=str(uuid.uuid4()), additional_data={"version": "1.0.0"})
        )
        catalog_query = TeamsAppsRequestBuilder.TeamsAppsRequestBuilderGetQueryParameters(filter=f"id eq '{app.id}'")
        assert [a.display_name for a in (await admin.app_catalogs.teams_apps.get(RequestConfiguration(query_parameters=catalog_query))).value] == [f"Beta poll {tag}"]
        apps = me.chats.by_chat_id(group.id).installed_apps
        await apps.post(TeamsAppInstallation(additional_data={"teamsApp@odata.bind": f"{sb.base}/beta/appCatalogs/teamsApps/{app.id}"}))
        installed = (await apps.get()).value
        assert len(installed) == 1
        installation = installed[0].id
        assert (await apps.by_teams_app_installation_id(installation).get()).id == installation

        # A new version in the catalogue, and the installation upgraded to it.
        definitions = admin.app_catalogs.teams_apps.by_teams_app_id(app.id).app_definitions
        newer = await definitions.post(
            TeamsAppDefinition(display_name=f"Beta poll {tag} 2", version="1.1.0", additional_data={"externalId": app.external_id})
        )
        assert newer.version == "1.1.0"
        assert sorted(d.version for d in (await definitions.get()).value) == ["1.0.0", "1.1.0"]
        assert (await definitions.by_teams_app_definition_id(newer.id).get()).display_name == f"Beta poll {tag} 2"
        assert (await admin.app_catalogs.teams_apps.by_teams_app_id(app.id).get()).display_name == f"Beta poll {tag} 2"
        await apps.by_teams_app_installation_id(installation).upgrade.post(UpgradePostRequestBody())

        # Seed "Add chat": POST installedApps/{id}/chat/$ref. msgraph-beta-sdk has no request
        # builder for an installation's `chat` or its `$ref` (the OpenAPI description it is
        # generated from leaves them out), so the SDK's own builders for the same shapes are
        # pointed at the URL with `with_url`: a chat item builder for GET …/chat, and the
        # `$ref` builder of group members (POST ReferenceCreate, DELETE) for …/chat/$ref; PUT,
        # which no builder of that shape has, goes through the SDK's request adapter.
        chat_url = f"{sb.base}/beta/chats/{group.id}/installedApps/{installation}/chat"
        bound = ChatItemRequestBuilder(me.request_adapter, {}).with_url(chat_url)
        ref = RefRequestBuilder(me.request_adapter, {}).with_url(f"{chat_url}/$ref")
        assert (await bound.get()).id == group.id
        await ref.post(ReferenceCreate(odata_id=f"{sb.base}/beta/chats('{one.id}')"))
        assert (await bound.get()).id == one.id
        await ref.delete()
        with pytest.raises(ODataError) as caught:
            await bound.get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "NotFound"
        # The seed's own body is a chat object; with the chat's id it names that chat.
        await ref.post(ReferenceCreate(additional_data={"@odata.type": "#Microsoft.Teams.GraphSvc.chat", "id": group.id, "topic": "String"}))
        assert (await bound.get()).id == group.id
        # PUT (no builder of any shape has it): a request of its own, through the SDK's request adapter.
        put = RequestInformation(Method.PUT)
        put.url = f"{chat_url}/$ref"
        put.set_content_from_parsable(me.request_adapter, "application/json", ReferenceCreate(odata_id=f"{sb.base}/beta/chats/{one.id}"))
        await me.request_adapter.send_no_response_content_async(put, {"XXX": ODataError})
        assert (await bound.get()).id == one.id

        # The app leaves the catalogue (and the chat); an administrator deletes the 1:1 chat.
        await apps.by_teams_app_installation_id(installation).delete()
        await admin.app_catalogs.teams_apps.by_teams_app_id(app.id).delete()
        assert (await apps.get()).value == []
        await admin.chats.by_chat_id(one.id).delete()
        with pytest.raises(ODataError) as caught:
            await me.chats.by_chat_id(one.id).get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "NotFound"

    run(scenario(), timeout=120)


def test_beta_mail_draft_send_reply_move(switchboard):
    sb = switchboard
    admin = beta_client(sb, app_token(sb))
    tag = uuid.uuid4().hex[:6]

    async def scenario():
        sender, receiver = await create_people(sb, admin, tag, 2)
        me, them = (beta_client(sb, user_token(sb, p.user_principal_name)) for p in (sender, receiver))
        subject = f"Beta numbers {tag}"
        draft = await me.me().messages.post(
            Message(
                subject=subject,
                importance=Importance.High,
                body=ItemBody(content_type=BodyType.Html, content=f"<p>The <b>airship{tag}</b> figures.</p>"),
                to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
            )
        )
        assert draft.is_draft is True and draft.importance == Importance.High
        await me.me().messages.by_message_id(draft.id).send.post()

        inbox = them.me().mail_folders.by_mail_folder_id("inbox").messages
        query = FolderMessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters
        found = await inbox.get(RequestConfiguration(query_parameters=query(filter=f"subject eq '{subject}'")))
        assert len(found.value) == 1
        got = found.value[0]
        assert got.is_draft is False and got.from_.email_address.address == sender.user_principal_name

        await them.me().messages.by_message_id(got.id).reply.post(ReplyPostRequestBody(comment="Thanks, noted."))
        replies = await me.me().mail_folders.by_mail_folder_id("inbox").messages.get(
            RequestConfiguration(query_parameters=query(filter=f"subject eq 'RE: {subject}'"))
        )
        assert len(replies.value) == 1 and replies.value[0].conversation_id == got.conversation_id

        # The reply: its MIME, a folder of its own (with a subfolder) for a copy, then a reply to
        # it drafted, edited and sent, and a forward.
        reply = replies.value[0]
        mime = await me.me().messages.by_message_id(reply.id).content.get()
        assert f"Subject: RE: {subject}".encode() in mime
        projects = await me.me().mail_folders.post(MailFolder(display_name=f"Projects {tag}"))
        child = await me.me().mail_folders.by_mail_folder_id(projects.id).child_folders.post(MailFolder(display_name="2026"))
        assert [f.id for f in (await me.me().mail_folders.by_mail_folder_id(projects.id).child_folders.get()).value] == [child.id]
        assert projects.id in [f.id for f in (await me.me().mail_folders.get()).value]
        copy = await me.me().messages.by_message_id(reply.id).copy.post(CopyPostRequestBody(destination_id=child.id))
        assert copy.parent_folder_id == child.id and copy.id != reply.id
        await me.me().messages.by_message_id(copy.id).permanent_delete.post()
        answer = await me.me().messages.by_message_id(reply.id).create_reply.post(CreateReplyPostRequestBody())
        assert answer.is_draft is True and answer.subject == f"RE: {subject}"  # Outlook does not stack prefixes
        await me.me().messages.by_message_id(answer.id).patch(Message(body=ItemBody(content_type=BodyType.Text, content="Good.")))
        await me.me().messages.by_message_id(answer.id).send.post()
        await them.me().messages.by_message_id(got.id).forward.post(
            ForwardPostRequestBody(comment="FYI", to_recipients=[Recipient(email_address=EmailAddress(address=sender.user_principal_name))])
        )
        forwarded = await me.me().mail_folders.by_mail_folder_id("inbox").messages.get(
            RequestConfiguration(query_parameters=query(filter=f"subject eq 'FW: {subject}'"))
        )
        assert len(forwarded.value) == 1

        moved = await them.me().messages.by_message_id(got.id).move.post(MovePostRequestBody(destination_id="archive"))
        archive = await them.me().mail_folders.by_mail_folder_id("archive").get()
        assert moved.parent_folder_id == archive.id and archive.total_item_count == 1

        # Paging through the inbox (Outlook's $skip links) with the SDK's iterator.
        for i in range(3):
            await me.me().messages.post(
                Message(subject=f"Page {tag} {i}", to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))])
            )
        drafts = await me.me().mail_folders.by_mail_folder_id("drafts").messages.get(RequestConfiguration(query_parameters=query(top=2)))
        assert drafts.odata_next_link
        subjects = []
        await PageIterator(drafts, me.request_adapter).iterate(lambda m: subjects.append(m.subject) or True)
        assert sorted(subjects) == [f"Page {tag} {i}" for i in range(3)]

        with pytest.raises(ODataError) as caught:
            await me.me().messages.by_message_id("AAMkAGnope").get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "ErrorItemNotFound"

    run(scenario())
