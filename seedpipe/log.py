"""Logging set-up for the CLI and services: structured lines, text or JSON."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from datetime import UTC, datetime

# LogRecord's own attributes, plus uvicorn's ANSI-coloured duplicate of the message.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Bidirectional overrides and isolates reorder what a reader sees: as dangerous as a newline.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape_char(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a non-UTF-8 name kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` on one line: control, separator and bidi characters (and undecodable bytes) as
    escapes, so a string from outside can never start a line of its own or reorder one."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch == " " or (
            ch not in _BIDI and unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")
        ):
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def _indent(text: str) -> str:
    # A traceback keeps its lines, each indented: none can pass for a log line of its own.
    return "\n".join("  " + escape(line) for line in text.splitlines())


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        # ensure_ascii: control characters and undecodable bytes stay escapes inside one string.
        return json.dumps(doc, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``, one line a record: every string that may come
    from outside (message arguments, extras, exception text) is escaped here, once."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={escape(str(v))}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        )
        line = (
            f"{datetime.fromtimestamp(record.created, UTC).strftime('%H:%M:%S.%f')[:-3]} "
            f"{record.levelname:<7} {record.name}: {escape(record.getMessage())}"
        )
        if extras:
            line += " " + extras
        if record.exc_info:
            line += "\n" + _indent(self.formatException(record.exc_info))
        elif record.stack_info:
            line += "\n" + _indent(record.stack_info)
        return line


# Libraries that log every request at INFO: held at WARNING or above.
QUIET_LOGGERS = ("aiokafka", "kafka", "botocore", "boto3", "urllib3", "elastic_transport")


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once; only the CLI calls this."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
