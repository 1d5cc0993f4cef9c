"""A small ILS for the relay tests: pysip2's SIP2Server (PyPI) with handlers of its own.

Usage: python ils_upstream.py PORT LOGIN PASSWORD [IDLE_TIMEOUT]

Listens on 127.0.0.1:PORT (0 picks one), prints "listening PORT" once ready, and prints one line
per frame it receives: "recv CODE ad=yes|no az=yes|no" (never a field's value), and "connection
open" / "connection closed". Answers 93 (CN/CO must be LOGIN/PASSWORD), 99, 11, 09, 29, 37, 17
and 63/23. Item "SLOW" (17) is answered after 3 s.
"""

import logging
import sys

import anyio
from pysip2 import (
    CHECKIN, CHECKOUT, FEE_PAID, ITEM_INFORMATION, LOGIN, PATRON_INFORMATION, PATRON_STATUS,
    RENEW, CheckinResponse, CheckoutResponse, FeePaidResponse, ItemInformationResponse,
    LoginResponse, PatronInformationResponse, PatronStatusResponse, RenewResponse, SIP2Server,
)

NOW = "20250314    093000"


def say(line):
    print(line, flush=True)


class LoggedServer(SIP2Server):
    """Says which messages arrived, and whether they carried AD and a trailer."""

    async def _process_frame(self, stream, state, frame):
        body = frame.rstrip(b"\r\n")
        has_ad = b"|AD" in body
        has_az = b"AZ" in body[-6:-4] if len(body) >= 6 else False
        say(f"recv {body[:2].decode('ascii', 'replace')} ad={'yes' if has_ad else 'no'} "
            f"az={'yes' if has_az else 'no'}")
        await super()._process_frame(stream, state, frame)


class Say(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        if message.startswith("connection open"):
            say("connection open")
        elif message.startswith("connection closed"):
            say("connection closed")


def app(login, password, idle_timeout):
    logger = logging.getLogger("ils")
    logger.setLevel(logging.INFO)
    logger.addHandler(Say())
    server = LoggedServer(encoding="utf-8", institution_id="MAIN", library_name="Test ILS",
                          idle_timeout=idle_timeout, logger=logger)

    @server.route(LOGIN)
    def _login(req, ctx):
        ok = req.login_user_id == login and req.login_password == password
        return LoginResponse(ok="1" if ok else "0")

    @server.route(CHECKOUT)
    def _checkout(req, ctx):
        return CheckoutResponse(
            ok="1", renewal_ok="N", magnetic_media="N", desensitize="Y",
            transaction_date=NOW, institution_id=req.institution_id,
            patron_identifier=req.patron_identifier, item_identifier=req.item_identifier,
            title_identifier="Relayed Title", due_date="20250404",
            screen_message=("Checked out at the ILS",))

    @server.route(CHECKIN)
    def _checkin(req, ctx):
        return CheckinResponse(
            ok="1", resensitize="Y", magnetic_media="N", alert="N",
            transaction_date=NOW, institution_id=req.institution_id,
            item_identifier=req.item_identifier, permanent_location="Main shelves",
            screen_message=("Checked in at the ILS",))

    @server.route(RENEW)
    def _renew(req, ctx):
        return RenewResponse(
            ok="1", renewal_ok="Y", magnetic_media="N", desensitize="U",
            transaction_date=NOW, institution_id=req.institution_id,
            patron_identifier=req.patron_identifier, item_identifier=req.item_identifier or "",
            title_identifier="Relayed Title", due_date="20250418")

    @server.route(FEE_PAID)
    def _fee_paid(req, ctx):
        return FeePaidResponse(
            payment_accepted="Y", transaction_date=NOW, institution_id=req.institution_id,
            patron_identifier=req.patron_identifier, transaction_id="TX1")

    @server.route(ITEM_INFORMATION)
    async def _item(req, ctx):
        if req.item_identifier == "SLOW":
            await anyio.sleep(3)
        return ItemInformationResponse(
            circulation_status="03", security_marker="02", fee_type="01",
            transaction_date=NOW, item_identifier=req.item_identifier,
            title_identifier="Item Title \u00e9")

    @server.route(PATRON_INFORMATION)
    def _patron_information(req, ctx):
        return PatronInformationResponse(
            patron_status="              ", language="001", transaction_date=NOW,
            hold_items_count="0000", overdue_items_count="0000", charged_items_count="0001",
            fine_items_count="0001", recall_items_count="0000", unavailable_holds_count="0000",
            institution_id=req.institution_id, patron_identifier=req.patron_identifier,
            personal_name="Name From ILS", valid_patron="N", valid_patron_password="N",
            fee_amount="2.50", charged_items=("ILS-ITEM-1",))

    @server.route(PATRON_STATUS)
    def _patron_status(req, ctx):
        return PatronStatusResponse(
            patron_status="              ", language="001", transaction_date=NOW,
            institution_id=req.institution_id, patron_identifier=req.patron_identifier,
            personal_name="Name From ILS", valid_patron="N", valid_patron_password="N",
            fee_amount="2.50")

    return server


async def main():
    port = int(sys.argv[1])
    login, password = sys.argv[2], sys.argv[3]
    idle_timeout = float(sys.argv[4]) if len(sys.argv) > 4 else None
    server = app(login, password, idle_timeout)
    async with server.start(port=port) as bound:
        say(f"listening {bound}")
        await anyio.sleep_forever()


if __name__ == "__main__":
    anyio.run(main)
