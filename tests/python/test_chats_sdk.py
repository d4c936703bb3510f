"""The Python msgraph-sdk drives Teams chats end to end, unmodified but for its base URL and token
provider: one-on-one and group chats, listing through the SDK's PageIterator, members added and
removed, an app installed. Delegated tokens come from Switchboard's token endpoint (password
grant), handed to the SDK by a static token provider, as graph-sdk-clients.md §2 shows."""

import asyncio
import ssl
import uuid
from typing import Any

import httpx
import requests
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.chats.chats_request_builder import ChatsRequestBuilder
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation
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


def member(sb, user_id: str) -> AadUserConversationMember:
    return AadUserConversationMember(
        roles=["owner"],
        additional_data={"user@odata.bind": f"{sb.graph}/users('{user_id}')"},
    )


def test_chats_members_and_apps_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    def create_user(alias):
        r = requests.post(
            f"{sb.graph}/users",
            json={
                "accountEnabled": True,
                "displayName": f"Chat {alias}",
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

    people = [create_user(f"c{tag}{i}") for i in range(4)]
    ids = [p["id"] for p in people]
    me = client_for(sb, token(sb, grant_type="password", username=people[0]["userPrincipalName"], password=PASSWORD, scope=".default"))

    async def scenario():
        one = await me.chats.post(Chat(chat_type=ChatType.OneOnOne, members=[member(sb, ids[0]), member(sb, ids[1])]))
        assert one.id == "19:{}_{}@unq.gbl.spaces".format(*sorted(ids[:2]))
        assert one.chat_type == ChatType.OneOnOne
        group = await me.chats.post(
            Chat(chat_type=ChatType.Group, topic=f"Launch {tag}", members=[member(sb, i) for i in ids[:3]])
        )
        assert group.topic == f"Launch {tag}"
        for n in range(3):
            await me.chats.post(Chat(chat_type=ChatType.Group, topic=f"Extra {n}", members=[member(sb, ids[0]), member(sb, ids[2])]))

        # Five chats, two per page, through the SDK's own iterator.
        config = RequestConfiguration(query_parameters=ChatsRequestBuilder.ChatsRequestBuilderGetQueryParameters(top=2, expand=["members"]))
        first = await me.chats.get(request_configuration=config)
        assert len(first.value) == 2 and first.odata_next_link
        seen = []
        await PageIterator(first, me.request_adapter).iterate(lambda chat: seen.append(chat.id) or True)
        assert len(seen) == 5 and len(set(seen)) == 5
        assert one.id in seen and group.id in seen

        # Members: add one, then remove them again.
        added = await me.chats.by_chat_id(group.id).members.post(member(sb, ids[3]))
        assert isinstance(added, AadUserConversationMember) and added.user_id == ids[3]
        listed = await me.chats.by_chat_id(group.id).members.get()
        assert sorted(m.user_id for m in listed.value) == sorted(ids)
        await me.chats.by_chat_id(group.id).members.by_conversation_member_id(added.id).delete()
        listed = await me.chats.by_chat_id(group.id).members.get()
        assert ids[3] not in [m.user_id for m in listed.value]

        # An app from the tenant's catalogue, installed in the group chat.
        catalog = requests.post(
            f"{sb.graph}/appCatalogs/teamsApps",
            json={"displayName": f"Poll {tag}", "externalId": str(uuid.uuid4()), "version": "1.0.0"},
            headers={"Authorization": f"Bearer {app_token}"},
            verify=sb.cert,
            timeout=30,
        )
        assert catalog.status_code == 201, catalog.text
        app_id = catalog.json()["id"]
        await me.chats.by_chat_id(group.id).installed_apps.post(
            TeamsAppInstallation(additional_data={"teamsApp@odata.bind": f"{sb.graph}/appCatalogs/teamsApps/{app_id}"})
        )
        installed = await me.chats.by_chat_id(group.id).installed_apps.get()
        assert len(installed.value) == 1

    asyncio.run(asyncio.wait_for(scenario(), 60))
