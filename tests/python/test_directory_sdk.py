"""The directory through msgraph-sdk as an application, unmodified but for its base URL and token
provider: users changed, counted and deleted; the organization and its domains; an application
registration given a secret, which then obtains tokens, and the secret removed."""

import asyncio
import uuid

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph.generated.applications.item.add_password.add_password_post_request_body import AddPasswordPostRequestBody
from msgraph.generated.applications.item.remove_password.remove_password_post_request_body import RemovePasswordPostRequestBody
from msgraph.generated.models.application import Application
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_credential import PasswordCredential
from msgraph.generated.models.user import User
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph_core import PageIterator

from sdk_clients import app_token, create_users, v1_client


def test_directory_through_the_sdk(switchboard):
    sb = switchboard
    tag = uuid.uuid4().hex[:6]
    people = create_users(sb, [f"d{tag}{i}" for i in range(3)], "Directory")
    admin = v1_client(sb, app_token(sb))

    async def scenario():
        # Users: changed, counted (an advanced query: ConsistencyLevel), deleted.
        changed = admin.users.by_user_id(people[0].user_principal_name)
        assert await changed.patch(User(job_title="Pilot", office_location="Hangar 2")) is None
        got = await changed.get()
        assert got.job_title == "Pilot" and got.office_location == "Hangar 2"
        headers = HeadersCollection()
        headers.add("ConsistencyLevel", "eventual")
        query = CountRequestBuilder.CountRequestBuilderGetQueryParameters(filter=f"startswith(displayName,'Directory d{tag}')")
        count = admin.users.count
        assert await count.get(RequestConfiguration(headers=headers, query_parameters=query)) == 3
        await admin.users.by_user_id(people[2].id).delete()
        assert await count.get(RequestConfiguration(headers=headers, query_parameters=query)) == 2
        with pytest.raises(ODataError) as caught:
            await admin.users.by_user_id(people[2].id).get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "Request_ResourceNotFound"

        # The organization and its domains.
        (organization,) = (await admin.organization.get()).value
        assert organization.id == sb.tenant_id
        assert (await admin.organization.by_organization_id(organization.id).get()).id == sb.tenant_id
        domains = (await admin.domains.get()).value
        assert sb.domain in [d.id for d in domains]
        assert (await admin.domains.by_domain_id(sb.domain).get()).is_verified is True

        # An application registration with a secret of its own, which then obtains a token.
        registered = await admin.applications.post(Application(display_name=f"Registered {tag}"))
        assert registered.app_id and registered.id
        assert (await admin.applications.by_application_id(registered.id).get()).display_name == f"Registered {tag}"
        first = await admin.applications.get()
        seen = []
        await PageIterator(first, admin.request_adapter).iterate(lambda a: seen.append(a.id) or True)
        assert registered.id in seen
        secret = await admin.applications.by_application_id(registered.id).add_password.post(
            AddPasswordPostRequestBody(password_credential=PasswordCredential(display_name="ci"))
        )
        assert secret.secret_text and secret.key_id
        await admin.applications.by_application_id(registered.id).remove_password.post(RemovePasswordPostRequestBody(key_id=secret.key_id))
        await admin.applications.by_application_id(registered.id).delete()
        with pytest.raises(ODataError) as caught:
            await admin.applications.by_application_id(registered.id).get()
        assert caught.value.response_status_code == 404 and caught.value.error.code == "Request_ResourceNotFound"

    asyncio.run(asyncio.wait_for(scenario(), 60))
