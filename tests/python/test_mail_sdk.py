"""The Python msgraph-sdk drives Outlook mail end to end, unmodified but for its base URL and token
provider: a draft created and sent, found in the recipient's inbox with $filter and with $search,
read, replied to, moved to the archive; sendMail as the SDK writes it (PascalCase parameters); the
mailbox paged through the SDK's PageIterator; errors as the SDK's ODataError; a file attachment
added to a draft and received, another inside sendMail's message found with a KQL search and read
with $expand=attachments; folder message delta followed with `with_url`."""

import asyncio
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.importance import Importance
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.mail_folder import MailFolder
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.users.item.messages.item.message_item_request_builder import MessageItemRequestBuilder
from msgraph.generated.users.item.messages.item.create_forward.create_forward_post_request_body import CreateForwardPostRequestBody
from msgraph.generated.users.item.messages.item.create_reply_all.create_reply_all_post_request_body import CreateReplyAllPostRequestBody
from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
from msgraph.generated.users.item.messages.item.reply_all.reply_all_post_request_body import ReplyAllPostRequestBody
from msgraph.generated.users.item.messages.item.reply.reply_post_request_body import ReplyPostRequestBody
from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder as AllMessagesRequestBuilder
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from msgraph_core import PageIterator

from sdk_clients import PASSWORD, create_users, token, v1_client as client_for


def test_draft_send_find_and_move_through_the_sdk(switchboard):
    sb = switchboard
    tag = uuid.uuid4().hex[:6]

    sender, receiver = create_users(sb, [f"m{tag}a", f"m{tag}b"], "Mail")

    def client(user):
        return client_for(sb, token(sb, grant_type="password", username=user.user_principal_name, password=PASSWORD, scope=".default"))

    me, them = client(sender), client(receiver)
    subject = f"Quarterly numbers {tag}"

    async def scenario():
        draft = await me.me.messages.post(
            Message(
                subject=subject,
                importance=Importance.High,
                body=ItemBody(content_type=BodyType.Html, content=f"<p>The <b>zeppelin{tag}</b> figures are in.</p>"),
                to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
            )
        )
        assert draft.id and draft.is_draft is True
        assert draft.importance == Importance.High
        assert draft.body_preview == f"The zeppelin{tag} figures are in."
        await me.me.messages.by_message_id(draft.id).send.post()

        inbox = them.me.mail_folders.by_mail_folder_id("inbox").messages
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters
        filtered = await inbox.get(RequestConfiguration(query_parameters=query(filter=f"subject eq '{subject}'", top=5)))
        assert len(filtered.value) == 1
        got = filtered.value[0]
        assert got.is_read is False and got.is_draft is False
        assert got.from_.email_address.address == sender.user_principal_name
        searched = await inbox.get(RequestConfiguration(query_parameters=query(search=f'"zeppelin{tag}"')))
        assert [m.id for m in searched.value] == [got.id]

        # Read it, mark it read, reply to it (the reply lands in the sender's inbox, same thread).
        item = them.me.messages.by_message_id(got.id)
        assert (await item.get()).subject == subject
        assert (await item.patch(Message(is_read=True))).is_read is True
        await item.reply.post(ReplyPostRequestBody(comment="Thanks, noted."))
        mine = me.me.mail_folders.by_mail_folder_id("inbox").messages
        replies = await mine.get(RequestConfiguration(query_parameters=query(filter=f"subject eq 'RE: {subject}'")))
        assert len(replies.value) == 1 and replies.value[0].conversation_id == got.conversation_id

        # Reply-all and forward drafts, and a reply-all sent at once.
        draft_all = await item.create_reply_all.post(CreateReplyAllPostRequestBody())
        assert draft_all.is_draft is True and draft_all.subject == f"RE: {subject}"
        draft_forward = await item.create_forward.post(
            CreateForwardPostRequestBody(to_recipients=[Recipient(email_address=EmailAddress(address=sender.user_principal_name))])
        )
        assert draft_forward.subject == f"FW: {subject}" and draft_forward.to_recipients[0].email_address.address == sender.user_principal_name
        await item.reply_all.post(ReplyAllPostRequestBody(comment="All good."))

        # A folder of one's own: a draft made in it, the folder renamed, then deleted.
        folder = await them.me.mail_folders.post(MailFolder(display_name=f"Notes {tag}"))
        note = await them.me.mail_folders.by_mail_folder_id(folder.id).messages.post(Message(subject=f"Note {tag}"))
        assert note.parent_folder_id == folder.id
        renamed = await them.me.mail_folders.by_mail_folder_id(folder.id).patch(MailFolder(display_name=f"Notes {tag} (old)"))
        assert renamed.display_name == f"Notes {tag} (old)" and renamed.total_item_count == 1
        await them.me.mail_folders.by_mail_folder_id(folder.id).delete()
        with pytest.raises(ODataError) as caught:
            await them.me.mail_folders.by_mail_folder_id(folder.id).get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "ErrorItemNotFound"
        for draft in (draft_all, draft_forward):
            await them.me.messages.by_message_id(draft.id).permanent_delete.post()

        moved = await them.me.messages.by_message_id(got.id).move.post(MovePostRequestBody(destination_id="archive"))
        assert moved.id != got.id
        archive = await them.me.mail_folders.by_mail_folder_id("archive").get()
        assert moved.parent_folder_id == archive.id and archive.total_item_count == 1

        await me.me.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject=f"Follow-up {tag}",
                    body=ItemBody(content_type=BodyType.Text, content="See above."),
                    to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
                ),
                save_to_sent_items=True,
            )
        )
        follow = await inbox.get(RequestConfiguration(query_parameters=query(filter=f"subject eq 'Follow-up {tag}'")))
        assert len(follow.value) == 1
        sent = await me.me.mail_folders.by_mail_folder_id("sentitems").messages.get()
        assert sorted(m.subject for m in sent.value) == sorted([subject, f"Follow-up {tag}"])

        # Every message of the mailbox, two a page (Outlook's $skip links), through the SDK's
        # iterator; then one deleted, and gone.
        first = await them.me.messages.get(RequestConfiguration(query_parameters=AllMessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=2)))
        assert len(first.value) == 2 and first.odata_next_link
        everything = []
        await PageIterator(first, them.request_adapter).iterate(lambda m: everything.append(m.subject) or True)
        assert sorted(everything) == sorted([subject, f"Follow-up {tag}", f"RE: {subject}", f"RE: {subject}"])  # the replies, sent
        await them.me.messages.by_message_id(moved.id).delete()
        with pytest.raises(ODataError) as caught:
            await them.me.messages.by_message_id(moved.id).get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "ErrorItemNotFound"

        # A file attachment on a draft, as the SDK writes it, travels with the send.
        draft = await me.me.messages.post(
            Message(
                subject=f"With a file {tag}",
                to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
            )
        )
        added = await me.me.messages.by_message_id(draft.id).attachments.post(
            FileAttachment(name="notes.txt", content_type="text/plain", content_bytes=b"zeppelin notes")
        )
        assert isinstance(added, FileAttachment) and added.size == 14
        await me.me.messages.by_message_id(draft.id).send.post()
        got = await inbox.get(RequestConfiguration(query_parameters=query(filter=f"subject eq 'With a file {tag}'")))
        assert got.value[0].has_attachments is True
        files = await them.me.messages.by_message_id(got.value[0].id).attachments.get()
        assert [(f.name, f.content_bytes) for f in files.value] == [("notes.txt", b"zeppelin notes")]

        # Files inside sendMail's message, as the SDK serialises them; found with a KQL
        # hasAttachment:/received: search and read back with $expand=attachments.
        await me.me.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject=f"Inline files {tag}",
                    to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
                    attachments=[FileAttachment(name="data.csv", content_type="text/csv", content_bytes=b"1,2,3")],
                ),
            )
        )
        found = await inbox.get(RequestConfiguration(query_parameters=query(search='"hasAttachment:true AND received:today AND subject:Inline"')))
        assert [m.subject for m in found.value] == [f"Inline files {tag}"]
        expanded = await them.me.messages.by_message_id(found.value[0].id).get(
            RequestConfiguration(query_parameters=MessageItemRequestBuilder.MessageItemRequestBuilderGetQueryParameters(expand=["attachments"]))
        )
        assert [(f.name, f.content_bytes) for f in expanded.attachments] == [("data.csv", b"1,2,3")]

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_message_delta_through_the_sdk(switchboard):
    """The SDK's delta builder for a folder, then its links followed with `with_url`, as the SDK
    documents: the initial round in pages, then exactly the new message, then a removal."""
    sb = switchboard
    tag = uuid.uuid4().hex[:6]

    sender, receiver = create_users(sb, [f"d{tag}a", f"d{tag}b"], "Delta")

    def client(user):
        return client_for(sb, token(sb, grant_type="password", username=user.user_principal_name, password=PASSWORD, scope=".default"))

    me, them = client(sender), client(receiver)

    async def send(subject):
        await me.me.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject=subject,
                    body=ItemBody(content_type=BodyType.Text, content=subject),
                    to_recipients=[Recipient(email_address=EmailAddress(address=receiver.user_principal_name))],
                ),
                save_to_sent_items=False,
            )
        )

    async def scenario():
        for i in range(3):
            await send(f"first {i} {tag}")
        delta = them.me.mail_folders.by_mail_folder_id("inbox").messages.delta
        config = RequestConfiguration()
        config.headers.add("Prefer", "odata.maxpagesize=2")
        page = await delta.get(config)
        seen = list(page.value)
        pages = 1
        while page.odata_next_link:
            page = await delta.with_url(page.odata_next_link).get(config)
            seen += page.value
            pages += 1
        assert pages == 2 and page.odata_delta_link
        assert sorted(m.subject for m in seen) == sorted(f"first {i} {tag}" for i in range(3))

        await send(f"later {tag}")
        changes = await delta.with_url(page.odata_delta_link).get()
        assert [m.subject for m in changes.value] == [f"later {tag}"]
        assert changes.odata_delta_link and not changes.odata_next_link

        gone = changes.value[0].id
        await them.me.messages.by_message_id(gone).move.post(MovePostRequestBody(destination_id="archive"))
        removed = await delta.with_url(changes.odata_delta_link).get()
        assert [m.id for m in removed.value] == [gone]
        assert removed.value[0].additional_data["@removed"] == {"reason": "deleted"}

    asyncio.run(asyncio.wait_for(scenario(), 60))
