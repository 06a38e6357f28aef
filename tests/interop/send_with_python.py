#!/usr/bin/env python3
"""A client in another language against the standalone fake (cargo run --example fake_server).

Standard library only: gets an OAuth2 token, sends a text message, reads it back and lists the
messages, as any HTTP client or SDK pointed at the fake would. Usage:
    send_with_python.py BASE_URL PROJECT_ID KEY_ID KEY_SECRET APP_ID
"""
import base64
import json
import sys
import urllib.request

base, project, key_id, key_secret, app = sys.argv[1:6]


def call(method, url, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


basic = base64.b64encode(f"{key_id}:{key_secret}".encode()).decode()
token = call("POST", f"{base}/oauth2/token", b"grant_type=client_credentials",
             {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
auth = {"Authorization": f"Bearer {token['access_token']}", "Content-Type": "application/json"}
api = f"{base}/v1/projects/{project}"
sent = call("POST", f"{api}/messages:send", {
    "app_id": app,
    "recipient": {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": "+15557654321"}]}},
    "message": {"text_message": {"text": "Hello from Python"}},
}, auth)
message = call("GET", f"{api}/messages/{sent['message_id']}", headers=auth)
listed = call("GET", f"{api}/messages?app_id={app}", headers=auth)
assert message["app_message"]["text_message"]["text"] == "Hello from Python", message
assert any(m["id"] == sent["message_id"] for m in listed["messages"]), listed
print(f"python client: sent {sent['message_id']}, read it back, listed {len(listed['messages'])} message(s)")
