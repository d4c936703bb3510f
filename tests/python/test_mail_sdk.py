"""The Python msgraph-sdk drives Outlook mail end to end, unmodified but for its base URL and token
provider: a draft created and sent, found in the recipient's inbox with $filter and with $search,
moved to the archive; sendMail as the SDK writes it (PascalCase parameters); a file attachment
added to a draft and received; folder message delta followed with `with_url`."""

import asyncio
import ssl
import uuid

import httpx
import requests
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.file_attachment import FileAttachment
from msgraph.generated.models.importance import Importance
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import MessagesRequestBuilder
from msgraph.generated.users.item.messages.item.move.move_post_request_body import MovePostRequestBody
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.graph_request_adapter import options as graph_options
from msgraph_core import GraphClientFactory

from test_chats_sdk import PASSWORD, StaticTokenProvider, token


def client_for(sb, access_token: str) -> GraphServiceClient:
    """As test_chats_sdk's, with the SDK's own middleware options, which include the
    `/users/me-token-to-replace` → `/me` rewrite that `client.me` relies on."""
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.cert)), options=graph_options
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(access_token)), client=http)
    adapter.base_url = sb.graph
    return GraphServiceClient(request_adapter=adapter)


def test_draft_send_find_and_move_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    def create_user(alias):
        r = requests.post(
            f"{sb.graph}/users",
            json={
                "accountEnabled": True,
                "displayName": f"Mail {alias}",
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

    sender, receiver = create_user(f"m{tag}a"), create_user(f"m{tag}b")

    def client(user):
        return client_for(sb, token(sb, grant_type="password", username=user["userPrincipalName"], password=PASSWORD, scope=".default"))

    me, them = client(sender), client(receiver)
    subject = f"Quarterly numbers {tag}"

    async def scenario():
        draft = await me.me.messages.post(
            Message(
                subject=subject,
                importance=Importance.High,
                body=ItemBody(content_type=BodyType.Html, content=f"<p>The <b>zeppelin{tag}</b> figures are in.</p>"),
                to_recipients=[Recipient(email_address=EmailAddress(address=receiver["userPrincipalName"]))],
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
        assert got.from_.email_address.address == sender["userPrincipalName"]
        searched = await inbox.get(RequestConfiguration(query_parameters=query(search=f'"zeppelin{tag}"')))
        assert [m.id for m in searched.value] == [got.id]

        moved = await them.me.messages.by_message_id(got.id).move.post(MovePostRequestBody(destination_id="archive"))
        assert moved.id != got.id
        archive = await them.me.mail_folders.by_mail_folder_id("archive").get()
        assert moved.parent_folder_id == archive.id and archive.total_item_count == 1

        await me.me.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject=f"Follow-up {tag}",
                    body=ItemBody(content_type=BodyType.Text, content="See above."),
                    to_recipients=[Recipient(email_address=EmailAddress(address=receiver["userPrincipalName"]))],
                ),
                save_to_sent_items=True,
            )
        )
        follow = await inbox.get(RequestConfiguration(query_parameters=query(filter=f"subject eq 'Follow-up {tag}'")))
        assert len(follow.value) == 1
        sent = await me.me.mail_folders.by_mail_folder_id("sentitems").messages.get()
        assert sorted(m.subject for m in sent.value) == sorted([subject, f"Follow-up {tag}"])

        # A file attachment on a draft, as the SDK writes it, travels with the send.
        draft = await me.me.messages.post(
            Message(
                subject=f"With a file {tag}",
                to_recipients=[Recipient(email_address=EmailAddress(address=receiver["userPrincipalName"]))],
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


def test_message_delta_through_the_sdk(switchboard):
    """The SDK's delta builder for a folder, then its links followed with `with_url`, as the SDK
    documents: the initial round in pages, then exactly the new message, then a removal."""
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    def create_user(alias):
        r = requests.post(
            f"{sb.graph}/users",
            json={
                "accountEnabled": True,
                "displayName": f"Delta {alias}",
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

    sender, receiver = create_user(f"d{tag}a"), create_user(f"d{tag}b")

    def client(user):
        return client_for(sb, token(sb, grant_type="password", username=user["userPrincipalName"], password=PASSWORD, scope=".default"))

    me, them = client(sender), client(receiver)

    async def send(subject):
        await me.me.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject=subject,
                    body=ItemBody(content_type=BodyType.Text, content=subject),
                    to_recipients=[Recipient(email_address=EmailAddress(address=receiver["userPrincipalName"]))],
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
