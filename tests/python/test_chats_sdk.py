"""The Python msgraph-sdk drives Teams chats end to end, unmodified but for its base URL and token
provider: one-on-one and group chats, listing through the SDK's PageIterator, members added and
removed, an app installed and removed, errors as the SDK's ODataError. Delegated tokens come from Switchboard's token endpoint (password
grant), handed to the SDK by a static token provider, as graph-sdk-clients.md §2 shows."""

import asyncio
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.chats.chats_request_builder import ChatsRequestBuilder
from msgraph.generated.chats.item.hide_for_user.hide_for_user_post_request_body import HideForUserPostRequestBody
from msgraph.generated.chats.item.unhide_for_user.unhide_for_user_post_request_body import UnhideForUserPostRequestBody
from msgraph.generated.models.aad_user_conversation_member import AadUserConversationMember
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_type import ChatType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.teams_app import TeamsApp
from msgraph.generated.models.teams_app_installation import TeamsAppInstallation
from msgraph.generated.models.teamwork_user_identity import TeamworkUserIdentity
from msgraph_core import PageIterator

from sdk_clients import PASSWORD, create_users, token, v1_client as client_for

def member(sb, user_id: str) -> AadUserConversationMember:
    return AadUserConversationMember(
        roles=["owner"],
        additional_data={"user@odata.bind": f"{sb.graph}/users('{user_id}')"},
    )


def test_chats_members_and_apps_through_the_sdk(switchboard):
    sb = switchboard
    app_token = token(sb, grant_type="client_credentials", scope="https://graph.microsoft.com/.default")
    tag = uuid.uuid4().hex[:6]

    people = create_users(sb, [f"c{tag}{i}" for i in range(4)], "Chat")
    ids = [p.id for p in people]
    me = client_for(sb, token(sb, grant_type="password", username=people[0].user_principal_name, password=PASSWORD, scope=".default"))

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

        # One chat, renamed; hidden and shown again for the caller.
        chat = me.chats.by_chat_id(group.id)
        assert (await chat.get()).topic == f"Launch {tag}"
        renamed = await chat.patch(Chat(topic=f"Launch {tag} (renamed)"))
        assert renamed.topic == f"Launch {tag} (renamed)" and renamed.last_updated_date_time >= group.last_updated_date_time
        await chat.hide_for_user.post(HideForUserPostRequestBody(user=TeamworkUserIdentity(id=ids[0])))
        assert (await chat.get()).viewpoint.is_hidden is True
        await chat.unhide_for_user.post(UnhideForUserPostRequestBody(user=TeamworkUserIdentity(id=ids[0])))
        assert (await chat.get()).viewpoint.is_hidden is False

        # Members: add one, then remove them again.
        added = await me.chats.by_chat_id(group.id).members.post(member(sb, ids[3]))
        assert isinstance(added, AadUserConversationMember) and added.user_id == ids[3]
        got = await me.chats.by_chat_id(group.id).members.by_conversation_member_id(added.id).get()
        assert isinstance(got, AadUserConversationMember) and got.user_id == ids[3]
        with pytest.raises(ODataError) as caught:
            await me.chats.by_chat_id(group.id).members.post(member(sb, ids[3]))
        assert caught.value.response_status_code == 409 and caught.value.error.code == "Conflict"
        listed = await me.chats.by_chat_id(group.id).members.get()
        assert sorted(m.user_id for m in listed.value) == sorted(ids)
        await me.chats.by_chat_id(group.id).members.by_conversation_member_id(added.id).delete()
        listed = await me.chats.by_chat_id(group.id).members.get()
        assert ids[3] not in [m.user_id for m in listed.value]

        # An app from the tenant's catalogue, installed in the group chat.
        catalog = client_for(sb, app_token).app_catalogs.teams_apps
        published = await catalog.post(TeamsApp(display_name=f"Poll {tag}", external_id=str(uuid.uuid4()), additional_data={"version": "1.0.0"}))
        app_id = published.id
        assert (await catalog.by_teams_app_id(app_id).get()).display_name == f"Poll {tag}"
        await me.chats.by_chat_id(group.id).installed_apps.post(
            TeamsAppInstallation(additional_data={"teamsApp@odata.bind": f"{sb.graph}/appCatalogs/teamsApps/{app_id}"})
        )
        installed = await me.chats.by_chat_id(group.id).installed_apps.get()
        assert len(installed.value) == 1
        installation = me.chats.by_chat_id(group.id).installed_apps.by_teams_app_installation_id(installed.value[0].id)
        assert (await installation.get()).id == installed.value[0].id
        await installation.delete()
        assert (await me.chats.by_chat_id(group.id).installed_apps.get()).value == []
        with pytest.raises(ODataError) as caught:
            await installation.get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "NotFound"

    asyncio.run(asyncio.wait_for(scenario(), 60))
