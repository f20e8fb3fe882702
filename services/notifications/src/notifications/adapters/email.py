"""Emails: messages with plain text and HTML bodies and RFC 8058 one-click unsubscribe
headers, sent through any SMTP relay with aiosmtplib (``NOTIFICATIONS_SMTP_URL``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from html import escape
from urllib.parse import quote, unquote, urlsplit

import aiosmtplib

from ..domain import tokens
from ..domain.classes import describe
from ..domain.digest import Line


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = False

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        u = urlsplit(url)
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise ValueError(f"NOTIFICATIONS_SMTP_URL must be smtp://host:port, not {url!r}")
        return cls(
            host=u.hostname,
            port=u.port or (465 if u.scheme == "smtps" else 25),
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            use_tls=u.scheme == "smtps",
            start_tls="starttls=1" in u.query,
        )


class Mailer:
    def __init__(
        self, smtp_url: str, sender: str, public_url: str, app_url: str, secret: str
    ) -> None:
        self.target = SmtpTarget.parse(smtp_url)
        self.sender = sender
        self.public_url = public_url.rstrip("/")
        self.app_url = app_url.rstrip("/")
        self.secret = secret

    def unsubscribe_url(self, member: str, kind: str) -> str:
        return (
            f"{self.public_url}/unsubscribe?token={quote(tokens.sign(self.secret, member, kind))}"
        )

    def _message(
        self,
        *,
        to: str,
        member: str,
        kind: str,
        subject: str,
        text: str,
        html: str,
        message_id: str,
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        # deterministic: a resend after a crash between SMTP and "sent" is recognisable
        msg["Message-ID"] = f"<{message_id}@notifications.community>"
        link = self.unsubscribe_url(member, kind)
        msg["List-Unsubscribe"] = f"<{link}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["X-Community-Kind"] = kind
        footer = f'\n\nUnsubscribe from "{describe(kind)}": {link}\n'
        msg.set_content(text + footer)
        msg.add_alternative(
            f'<html><body>{html}<hr><p style="font-size:small">'
            f'<a href="{escape(link, quote=True)}">Unsubscribe from '
            f"&ldquo;{escape(describe(kind))}&rdquo;</a></p></body></html>",
            subtype="html",
        )
        return msg

    def notification(
        self, *, nid: str, to: str, member: str, kind: str, text: str, link: str
    ) -> EmailMessage:
        url = f"{self.app_url}{link}"
        return self._message(
            to=to,
            member=member,
            kind=kind,
            subject=text,
            message_id=nid,
            text=f"{text}\n\n{url}",
            html=f'<p>{escape(text)}</p><p><a href="{escape(url, quote=True)}">Open</a></p>',
        )

    def digest(
        self, *, did: str, to: str, member: str, period: str, lines: Sequence[Line], more: int
    ) -> EmailMessage:
        n = sum(ln.count for ln in lines) + more
        subject = f"Your community digest: {n} update{'s' if n != 1 else ''}"
        text_lines = [f"- {ln.text}  {self.app_url}{ln.link}" for ln in lines]
        html_lines = [
            f'<li><a href="{escape(self.app_url + ln.link, quote=True)}">{escape(ln.text)}</a></li>'
            for ln in lines
        ]
        if more:
            text_lines.append(f"... and {more} more")
            html_lines.append(f"<li>... and {more} more</li>")
        return self._message(
            to=to,
            member=member,
            kind="digest",
            subject=subject,
            message_id=did,
            text=f"What you missed ({period}):\n" + "\n".join(text_lines),
            html=f"<p>What you missed ({escape(period)}):</p><ul>{''.join(html_lines)}</ul>",
        )

    async def send(self, msg: EmailMessage) -> None:
        t = self.target
        await aiosmtplib.send(
            msg,
            hostname=t.host,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            timeout=30,
        )
