"""What a queued email may add to its headers: the mailing-list ones and Auto-Submitted, nothing that names
the sender, the recipient or the message. Delivered to a local SMTP server."""

from __future__ import annotations

import re

import pytest

from tests.fakes.smtp import running_mailbox
from warroom.config import Settings
from warroom.notify.channels import Delivery, DeliveryFailed, deliver, message_id


def _email(headers: dict[str, str]) -> Delivery:
    return Delivery(
        channel="email",
        address="reader@example.com",
        subject="[Status] Investigating: Login failures",
        body="We are looking into it.",
        idempotency_key="statuspage:1:1",
        ack_url="",
        alert_url="",
        payload={"headers": headers},
    )


async def test_list_headers_reach_the_recipient() -> None:
    headers = {
        "List-Unsubscribe": "<https://status.example.com/u?token=t>",
        "Auto-Submitted": "auto-generated",
    }
    with running_mailbox() as box:
        await deliver(_email(headers), Settings(smtp_host="127.0.0.1", smtp_port=box.port))
    (received,) = box.messages
    assert received.mail["List-Unsubscribe"] == headers["List-Unsubscribe"]
    assert received.mail["Auto-Submitted"] == "auto-generated"
    assert received.mail["Message-ID"] == message_id("statuspage:1:1")  # the whole id, as sent
    assert re.fullmatch(r"<[0-9a-f]{32}@warroom>", message_id("statuspage:1:1"))


@pytest.mark.parametrize("name", ["From", "To", "Message-ID", "Bcc"])
async def test_a_header_outside_the_list_is_refused_and_nothing_is_sent(name: str) -> None:
    with running_mailbox() as box:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=box.port)
        with pytest.raises(DeliveryFailed, match=f"header '{name}' may not be set"):
            await deliver(_email({name: "someone@example.org"}), settings)
    assert box.messages == []
