"""How the scenarios get their SDK clients, as graph-sdk-clients.md §2 tells an app to: a token from
Switchboard's token endpoint, handed to the SDK by a static token provider, and the SDK's own
GraphRequestAdapter (its middleware and options) on an httpx client that trusts the server's
certificate. The only set-up besides the base URL and the token source."""

import ssl
from typing import Any

import httpx
import requests
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from msgraph_core import GraphClientFactory

PASSWORD = "Switchboard-Test-1"
APP_SCOPE = "https://graph.microsoft.com/.default"


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


def app_token(sb) -> str:
    return token(sb, grant_type="client_credentials", scope=APP_SCOPE)


def user_token(sb, upn: str) -> str:
    return token(sb, grant_type="password", username=upn, password=PASSWORD, scope=".default")


def beta_client(sb, access_token: str):
    """msgraph-beta-sdk's GraphServiceClient on `{base}/beta`."""
    from msgraph_beta import GraphRequestAdapter, GraphServiceClient
    from msgraph_beta.graph_request_adapter import apiVersion, options

    http = GraphClientFactory.create_with_default_middleware(
        api_version=apiVersion,
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.cert)),
        options=options,
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(access_token)), client=http)
    adapter.base_url = f"{sb.base}/beta"
    return GraphServiceClient(request_adapter=adapter)


def v1_client(sb, access_token: str):
    """msgraph-sdk's GraphServiceClient on `{base}/v1.0`."""
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options

    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=sb.cert)), options=options
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticTokenProvider(access_token)), client=http)
    adapter.base_url = sb.graph
    return GraphServiceClient(request_adapter=adapter)


def create_users(sb, aliases: list[str], display_prefix: str) -> list:
    """Users made through msgraph-sdk as an application (`POST /users`), before a scenario runs
    (its own event loop: an httpx client stays on the loop it was made on)."""
    import asyncio

    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.user import User

    async def create():
        app = v1_client(sb, app_token(sb))
        return [
            await app.users.post(
                User(
                    account_enabled=True,
                    display_name=f"{display_prefix} {alias}",
                    mail_nickname=alias,
                    user_principal_name=f"{alias}@{sb.domain}",
                    password_profile=PasswordProfile(force_change_password_next_sign_in=False, password=PASSWORD),
                )
            )
            for alias in aliases
        ]

    return asyncio.run(create())
