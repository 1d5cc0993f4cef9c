"""Drives the PyPI `Sip2` client the way an integrator would: default settings (TLS tried
first, self-signed certificates accepted), a 93 login, then a 23 patron status check.

Usage: sip2_client.py HOST PORT LOGIN PASSWORD CARD PIN
Prints one JSON object: the transport the client ended up on, the 94 ok flag and the 24's
valid-patron and valid-password fields.
"""
import json
import ssl
import sys

from Sip2.sip2 import Sip2

host, port, login, password, card, pin = sys.argv[1:7]
client = Sip2()
client.hostName = host
client.hostPort = int(port)
client.socketTimeout = 10
client.connect()
transport = "tls" if isinstance(client._socket, ssl.SSLSocket) else "plain"
client.sip_login_response(client.get_response(client.sip_login_request(login, password)))
logged_in = client.last_response_parsed["fixed"]["Ok"]
client.patron = card
client.patronpwd = pin
client.sip_patron_status_response(client.get_response(client.sip_patron_status_request()))
variable = client.last_response_parsed["variable"]
print(json.dumps({
    "transport": transport,
    "login": logged_in,
    "valid_patron": variable.get("BL", [""])[0],
    "valid_pin": variable.get("CQ", [""])[0],
}))
