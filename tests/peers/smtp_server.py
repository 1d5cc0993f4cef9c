"""A real SMTP server on loopback for the mail tests (aiosmtpd from PyPI).

Usage: smtp_server.py PORT FOLDER
Listens on 127.0.0.1:PORT and writes every message it accepts to FOLDER as N.eml (the raw
message as received, in order of arrival), then prints "ready" once listening. Stops on SIGTERM
or when its standard input closes.
"""
import asyncio
import os
import signal
import sys

from aiosmtpd.controller import Controller


class Folder:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = os.path.join(self.folder, f"{self.count:04d}.eml")
        with open(name + ".part", "wb") as out:
            out.write(envelope.original_content or envelope.content)
        os.replace(name + ".part", name)
        return "250 OK"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Folder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
