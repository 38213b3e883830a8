"""OAuth through the SDK: grant-code exchange, the FileStore row it writes, refresh."""

import time

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.users import UsersOperations, GetUsersParam, ResponseWrapper as UsersWrapper
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations, ResponseWrapper as OrgWrapper

from conftest import FULL_SCOPES
from sdkutil import obj


def current_user():
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "CurrentUser")
    users = obj(UsersOperations().get_users(pm), UsersWrapper, 200).get_users()
    assert len(users) == 1
    return users[0]


def test_token_generation_from_grant_code(sdk):
    """Token: grant code -> access/refresh token, saved in the FileStore"""
    creds = sdk.server.self_client(FULL_SCOPES)
    store = sdk.new_store()
    token = OAuthToken(client_id=creds["client_id"], client_secret=creds["client_secret"],
                       grant_token=creds["code"])
    before_ms = int(time.time() * 1000)
    with sdk.acting_as(token, store):
        # Initializer.initialize exchanged the code and ran the implicit users/org look-ups.
        assert token.get_access_token(), "no access token after initialize"
        assert token.get_refresh_token(), "no refresh token from the authorization_code grant"
        assert token.get_access_token() != token.get_refresh_token()
        # expires_in (seconds) became an absolute epoch-ms expiry about an hour ahead.
        expiry = int(token.get_expires_in())
        assert before_ms + 60_000 < expiry <= int(time.time() * 1000) + 3_700_000, expiry
        # api_domain must be our own base URL, otherwise the SDK would switch to a Zoho DC.
        assert token.get_api_domain() == sdk.server.url

        rows = store.get_tokens()
        assert len(rows) == 1
        row = rows[0]
        assert row.get_access_token() == token.get_access_token()
        assert row.get_refresh_token() == token.get_refresh_token()
        assert row.get_client_id() == creds["client_id"]
        assert row.get_api_domain() == sdk.server.url
        # The SDK names a stored token "<CurrentUser email>:<org zgid>" (users + org look-ups).
        me = current_user()
        org = obj(OrgOperations().get_organization(), OrgWrapper, 200).get_org()[0]
        assert row.get_user_signature() is not None, "users?type=CurrentUser or org look-up failed"
        assert row.get_user_signature().get_name() == "%s:%s" % (me.get_email(), org.get_zgid())

        # And the token works for a call.
        assert "@" in me.get_email()


def test_token_refresh_through_store(sdk):
    """Token: refresh an expired access token via the token store"""
    creds = sdk.server.self_client(FULL_SCOPES)
    store = sdk.new_store()
    first = OAuthToken(client_id=creds["client_id"], client_secret=creds["client_secret"],
                       grant_token=creds["code"])
    with sdk.acting_as(first, store):
        old_access = first.get_access_token()
        refresh = first.get_refresh_token()
        assert old_access and refresh

    # Mark the stored access token as expired, through the store's own API.
    row = store.get_tokens()[0]
    row.set_expires_in(str(int(time.time() * 1000) - 60_000))
    store.save_token(row)

    # A token known only by its refresh token: the SDK finds the row, sees the expiry and refreshes.
    again = OAuthToken(client_id=creds["client_id"], client_secret=creds["client_secret"],
                       refresh_token=refresh)
    with sdk.acting_as(again, store):
        new_access = again.get_access_token()
        assert new_access and new_access != old_access
        assert again.get_refresh_token() == refresh, "the refresh grant must not replace the refresh token"
        assert int(again.get_expires_in()) > int(time.time() * 1000) + 60_000
        saved = store.get_tokens()
        assert len(saved) == 1
        assert saved[0].get_access_token() == new_access
        assert saved[0].get_api_domain() == sdk.server.url
        me = current_user()
        assert "@" in me.get_email()
