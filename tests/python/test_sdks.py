"""The official Python SDKs against a real `switchboard serve --tls`, set up as docs/tls-and-sdks.md
tells users to: azure-identity and MSAL for tokens, msgraph-sdk for Graph. Nothing here works
around the server; if a test needs a workaround, the server is what deviates."""

import asyncio
import ssl
import uuid

import httpx
import msal
import pytest
import requests
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory, PageIterator

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
PASSWORD = "Switchboard-Test-1"


def run(coroutine, timeout=60):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def credential(sb) -> ClientSecretCredential:
    return ClientSecretCredential(
        sb.tenant_id,
        sb.client_id,
        sb.client_secret,
        authority=sb.base,  # https://127.0.0.1:PORT
        disable_instance_discovery=True,  # else MSAL asks login.microsoftonline.com
        connection_verify=sb.cert,
    )


def new_user(sb, alias: str, display_name: str) -> User:
    return User(
        account_enabled=True,
        display_name=display_name,
        mail_nickname=alias,
        user_principal_name=f"{alias}@{sb.domain}",
        password_profile=PasswordProfile(force_change_password_next_sign_in=False, password=PASSWORD),
    )


def graph_client_trusting(sb, cred) -> GraphServiceClient:
    """GraphServiceClient with an httpx client of our own that trusts the server's certificate
    (Graph's default middleware kept), no environment variables involved."""
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.cert), http2=True)
    )
    adapter = GraphRequestAdapter(AzureIdentityAuthenticationProvider(cred, scopes=[GRAPH_SCOPE]), client=http)
    adapter.base_url = sb.graph
    return GraphServiceClient(request_adapter=adapter)


def test_azure_identity_token(switchboard):
    token = credential(switchboard).get_token(GRAPH_SCOPE)
    assert token.token.count(".") == 2
    assert token.expires_on > 0


def test_graph_service_client_with_credentials(switchboard, monkeypatch):
    """The SDK's one-line construction; httpx is told to trust cert.pem through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", switchboard.cert)
    client = GraphServiceClient(credentials=credential(switchboard), scopes=[GRAPH_SCOPE])
    client.request_adapter.base_url = switchboard.graph

    async def scenario():
        created = await client.users.post(new_user(switchboard, "adele", "Adele Vance"))
        assert created.id
        assert created.user_principal_name == f"adele@{switchboard.domain}"
        listed = await client.users.get()
        assert any(u.id == created.id for u in listed.value)
        got = await client.users.by_user_id(f"adele@{switchboard.domain}").get()
        assert got.display_name == "Adele Vance"

    run(scenario())


def test_page_iterator_follows_next_links(switchboard):
    client = graph_client_trusting(switchboard, credential(switchboard))
    prefix = f"Pager {uuid.uuid4().hex[:6]}"

    async def scenario():
        for i in range(5):
            await client.users.post(new_user(switchboard, f"pager{prefix[-6:]}{i}", f"{prefix} {i}"))
        config = RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                top=2, filter=f"startswith(displayName,'{prefix}')", select=["id", "displayName"]
            )
        )
        first = await client.users.get(request_configuration=config)
        assert len(first.value) == 2
        assert first.odata_next_link.startswith(f"{switchboard.graph}/users?")
        seen = []
        iterator = PageIterator(first, client.request_adapter)
        await iterator.iterate(lambda user: seen.append(user.display_name) or True)
        assert sorted(seen) == [f"{prefix} {i}" for i in range(5)]

    run(scenario())


def test_errors_surface_as_odata_error(switchboard):
    client = graph_client_trusting(switchboard, credential(switchboard))

    async def scenario():
        with pytest.raises(ODataError) as caught:
            await client.users.by_user_id(f"nobody-{uuid.uuid4().hex[:8]}@{switchboard.domain}").get()
        return caught.value

    error = run(scenario())
    assert error.response_status_code == 404
    assert error.error.code == "Request_ResourceNotFound"
    assert error.error.message
    assert error.error.inner_error.request_id


def msal_app(sb, secret: str) -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.verify = sb.cert
    session.trust_env = False  # else REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify
    return msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential=secret,
        authority=f"{sb.base}/{sb.tenant_id}",
        instance_discovery=False,
        http_client=session,
    )


def test_msal_client_credentials(switchboard):
    result = msal_app(switchboard, switchboard.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    assert result["token_type"].lower() == "bearer"
    # The token works on Graph.
    r = requests.get(
        f"{switchboard.graph}/users?$top=1",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        verify=switchboard.cert,
    )
    assert r.status_code == 200, r.text


def test_msal_wrong_secret_is_invalid_client(switchboard):
    result = msal_app(switchboard, "not-the-secret").acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" not in result
    assert result["error"] == "invalid_client", result
    assert "AADSTS" in result["error_description"]


def test_msal_instance_discovery_on_switchboard(switchboard):
    """MSAL's authority validation pointed at Switchboard's own discovery endpoint (docs/tls-and-sdks.md)."""
    sb = switchboard
    session = requests.Session()
    session.verify = sb.cert
    session.trust_env = False
    app = msal.ConfidentialClientApplication(
        sb.client_id,
        client_credential=sb.client_secret,
        authority=f"{sb.base}/{sb.tenant_id}",
        instance_discovery=f"{sb.base}/common/discovery/instance",
        http_client=session,
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
