"""A TLS front for the relay tests: accepts TLS on a free loopback port with the given
certificate and key, and pipes each connection in plain text to the ILS on BACKEND_PORT (pysip2's
server speaks no TLS). Prints "listening PORT" once bound. Python's own ssl module, no packages.

Usage: tls_front.py BACKEND_PORT CERT_PEM KEY_PEM
"""

import asyncio
import ssl
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(4096):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    backend = int(sys.argv[1])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[2], sys.argv[3])

    async def front(client_reader, client_writer):
        try:
            ils_reader, ils_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, ils_writer), pipe(ils_reader, client_writer))

    server = await asyncio.start_server(front, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
