"""A SIP2 exchange over TLS with Python's `ssl` module, optionally presenting a client
certificate.

Usage: ssl_client.py HOST PORT CA_FILE [CLIENT_CERT CLIENT_KEY] < messages
Sends each line of standard input as one SIP2 message (CR-terminated) and prints each response
on a line of its own, then the negotiated TLS version as the last line. The server certificate
is verified against CA_FILE, host name included.
"""
import socket
import ssl
import sys

host, port, ca_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca_file)
context.minimum_version = ssl.TLSVersion.TLSv1_2
if len(sys.argv) > 5:
    context.load_cert_chain(sys.argv[4], sys.argv[5])

with socket.create_connection((host, port), timeout=10) as raw:
    with context.wrap_socket(raw, server_hostname=host) as tls:
        for line in sys.stdin.read().splitlines():
            tls.sendall(line.encode() + b"\r")
            response = b""
            while not response.endswith(b"\r"):
                chunk = tls.recv(1)
                if not chunk:
                    break
                response += chunk
            print(response.decode(errors="replace").rstrip("\r") or "<closed>")
        print(tls.version())
