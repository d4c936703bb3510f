"""The schema-fidelity checker itself (graph_fidelity.py), on bodies made here: it must catch what
it is there to catch, and pass what Graph really sends. No server involved."""

import json

import graph_fidelity
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.chat import Chat
from msgraph.generated.models.chat_message import ChatMessage
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

GRAPH_CHAT = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#chats/$entity",
    "id": "19:1c5b01696d2e4a179c292bc9cf04e63b@thread.v2",
    "topic": "Group chat title",
    "createdDateTime": "2020-12-04T23:11:16.175Z",
    "lastUpdatedDateTime": "2020-12-04T23:11:16.175Z",
    "chatType": "group",
    "webUrl": "https://teams.microsoft.com/l/chat/19%3A1c5b...%40thread.v2/0?tenantId=...",
    "tenantId": "2432b57b-0abd-43db-aa7b-16eadd115d34",
    "onlineMeetingInfo": None,
    "viewpoint": {"isHidden": False, "lastMessageReadDateTime": "2021-06-04T05:34:23.712Z"},
    "isHiddenForAllMembers": False,
}


def findings_of(body: dict, model) -> list[str]:
    graph_fidelity.findings.clear()
    JsonParseNode(json.loads(json.dumps(body))).get_object_value(model)
    found, graph_fidelity.findings[:] = list(graph_fidelity.findings), []
    return found


def test_graphs_own_chat_passes():
    assert findings_of(GRAPH_CHAT, Chat) == []


def test_a_property_the_model_lacks_is_caught():
    (finding,) = findings_of({**GRAPH_CHAT, "chatViewpoint": {}}, Chat)
    assert "properties the SDK's model lacks: ['chatViewpoint']" in finding


def test_a_missing_default_property_is_caught_but_null_is_fine():
    body = {k: v for k, v in GRAPH_CHAT.items() if k != "webUrl"}
    (finding,) = findings_of(body, Chat)
    assert "default properties missing" in finding and "webUrl" in finding
    assert findings_of({**GRAPH_CHAT, "webUrl": None}, Chat) == []


def test_enum_spelling_and_unknown_members_are_caught():
    (finding,) = findings_of({**GRAPH_CHAT, "chatType": "Group"}, Chat)
    assert "'Group' is not spelled as Graph's enum member 'group'" in finding
    (finding,) = findings_of({**GRAPH_CHAT, "chatType": "channel"}, Chat)
    assert "chatType: the SDK cannot read 'channel'" in finding


def test_dates_must_be_utc_with_z():
    (finding,) = findings_of({**GRAPH_CHAT, "createdDateTime": "2020-12-04T23:11:16.175+00:00"}, Chat)
    assert "createdDateTime" in finding and "not a date as Graph writes it" in finding


def test_nested_objects_and_flag_enums_are_checked():
    message = {
        "id": "1616991463150", "replyToId": None, "etag": "1616991463150", "messageType": "message",
        "createdDateTime": "2021-03-29T04:17:43.15Z", "lastModifiedDateTime": "2021-03-29T04:17:43.15Z",
        "lastEditedDateTime": None, "deletedDateTime": None, "subject": None, "summary": None,
        "chatId": "19:2da4c29f6d7041eca70b638b43d45437@thread.v2", "importance": "normal", "locale": "en-us",
        "webUrl": None, "channelIdentity": None, "policyViolation": None, "eventDetail": None,
        "from": {"application": None, "device": None, "user": {
            "@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2",
            "displayName": "Robin Kline", "userIdentityType": "aadUser", "tenantId": "e61ef81e-8bd8-476a-92e8-4a62f8426fca"}},
        "body": {"contentType": "text", "content": "Hello World"},
        "attachments": [], "mentions": [], "reactions": [],
        "messageHistory": [{"modifiedDateTime": "2021-03-29T04:18:43.15Z", "actions": "reactionAdded", "reaction": None}],
    }
    assert findings_of(message, ChatMessage) == []  # tenantId on the identity: an open-type extra Graph sends
    message["body"] = {"contentType": "TEXT", "content": "Hello World"}
    message["messageHistory"][0]["actions"] = "reactionAdded,bogus"
    found = findings_of(message, ChatMessage)
    assert any("ItemBody" in f and "'TEXT'" in f for f in found), found
    assert any("ChatMessageHistoryItem" in f and "actions" in f for f in found), found


def test_error_bodies_keep_innererror_dates_without_z():
    error = {"error": {"code": "NotFound", "message": "No.", "innerError": {
        "date": "2021-04-20T17:22:30", "request-id": "f58cc4de-b427-41de-b37c-46ee4925a26d",
        "client-request-id": "f58cc4de-b427-41de-b37c-46ee4925a26d"}}}
    assert findings_of(error, ODataError) == []
    error["error"]["innerError"]["date"] = "2021-04-20T17:22:30Z"
    (finding,) = findings_of(error, ODataError)
    assert "InnerError (msgraph).date" in finding
