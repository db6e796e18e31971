"""Run wrk (the Debian package `wrk`) with the suite's requests and read its figures back
in the shape `loadgen.py` reports, so that the suite can use either.

The requests (the same JSON entries `loadgen.py --requests` reads) are written to a file
that a Lua script reads: each wrk thread sends them in turn, starting at a different
place, with `{unique}` in a header value replaced by a new token per request. wrk cannot
keep a sequence on one connection (its `request()` is per thread), so the suite uses the
load generator for the checkout, whose cart must be filled and checked out by the same
buyer in order.

Differences from `loadgen.py`, said beside the figures: wrk's latency percentiles include
every response (not only the 2xx ones), and it has no warm-up of its own (the suite runs
it once for the warm-up, then again for the measured window).
"""

from __future__ import annotations

import json
import math
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WRK_THREADS = 2
LUA_TEMPLATE = r"""
-- The requests, one a line: method, path, headers ("Name: value" separated by \31), body,
-- and "1" when a header holds {unique}; fields separated by tabs.
local source = "{REQUESTS}"
local nonce = "{NONCE}"
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function split(text, separator)
  local parts = {}
  for part in (text .. separator):gmatch("(.-)" .. separator) do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  codes = {}
  turn = (id or 0) * 7919
  entries = {}
  prepared = {}
  for line in io.lines(source) do
    local fields = split(line, "\t")
    local headers = {}
    if fields[3] ~= "" then
      for _, header in ipairs(split(fields[3], "\31")) do
        local name, value = header:match("^([^:]+): (.*)$")
        headers[name] = value
      end
    end
    local body = nil
    if fields[4] ~= "" then body = fields[4] end
    local entry = {fields[1], fields[2], headers, body, fields[5] == "1"}
    table.insert(entries, entry)
    if not entry[5] then
      prepared[#entries] = wrk.format(entry[1], entry[2], entry[3], entry[4])
    end
  end
end

function request()
  turn = turn + 1
  local index = turn % #entries + 1
  local entry = entries[index]
  if prepared[index] then
    return prepared[index]
  end
  local headers = {}
  for name, value in pairs(entry[3]) do
    headers[name] = (value:gsub("{unique}", nonce .. "-" .. id .. "-" .. turn))
  end
  return wrk.format(entry[1], entry[2], headers, entry[4])
end

function response(status, headers, body)
  local key = tostring(status)
  codes[key] = (codes[key] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counted = thread:get("codes")
    for code, count in pairs(counted) do
      totals[code] = (totals[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', code, count))
  end
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "codes": {%s}, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50": %f, "p95": %f, "p99": %f, "max": %f}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _flatten(entries: list[Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for entry in entries:
        flat.extend(entry if isinstance(entry, list) else [entry])
    return flat


def request_lines(target: str, entries: list[Any]) -> str:
    """The requests in the line format the Lua script reads."""
    lines = []
    for spec in _flatten(entries) or [{}]:
        headers = dict(spec.get("headers", {}))
        body = spec.get("body")
        if body is not None:
            headers["Content-Type"] = "application/json"
        unique = any("{unique}" in str(value) for value in headers.values())
        fields = [
            spec.get("method", "GET"),
            spec.get("path", target),
            "\x1f".join(f"{name}: {value}" for name, value in headers.items()),
            json.dumps(body) if body is not None else "",
            "1" if unique else "0",
        ]
        if any("\t" in field or "\n" in field for field in fields):
            raise ValueError(f"a request field holds a tab or a newline: {fields}")
        lines.append("\t".join(fields))
    return "\n".join(lines) + "\n"


def run(
    url: str, entries: list[Any], connections: int, duration: float, timeout: float
) -> dict[str, Any]:
    """One wrk run; the report in `loadgen.py`'s shape (latency of every response)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as directory:
        requests = Path(directory) / "requests.txt"
        requests.write_text(request_lines(target, entries))
        script = Path(directory) / "requests.lua"
        script.write_text(
            LUA_TEMPLATE.replace("{REQUESTS}", str(requests)).replace(
                "{NONCE}", secrets.token_hex(6)
            )
        )
        command = [
            "wrk",
            "--threads",
            str(min(WRK_THREADS, connections)),
            "--connections",
            str(connections),
            "--duration",
            f"{max(round(duration), 1)}s",
            "--timeout",
            f"{int(timeout)}s",
            "--script",
            str(script),
            url,
        ]
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=duration + timeout + 30,
            check=False,
        )
    if completed.returncode != 0:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stderr.decode(errors='replace')}"
        )
    output = completed.stdout.decode(errors="replace").strip().splitlines()
    try:
        raw = json.loads(output[-1])
    except (IndexError, ValueError):
        raise RuntimeError(
            f"wrk printed no figures: {completed.stdout.decode(errors='replace')[-500:]} "
            f"{completed.stderr.decode(errors='replace')[-500:]}"
        ) from None
    seconds = raw["duration_us"] / 1e6
    codes: dict[str, int] = dict(raw["codes"])
    ok = sum(count for code, count in codes.items() if code.startswith("2"))
    errors = {name: raw[name] for name in ("connect", "read", "write", "timeout") if raw[name]}
    return {
        "url": url,
        "connections": connections,
        "duration_seconds": round(seconds, 3),
        "requests": ok,
        "requests_per_second": round(ok / seconds, 1) if seconds else 0.0,
        # No answer in the window: no latency to show (wrk would say 0).
        "latency_ms": {
            name: round(raw[name] / 1000, 3) if raw["requests"] else math.nan
            for name in ("p50", "p95", "p99", "max")
        },
        "non_2xx": {
            code: count for code, count in sorted(codes.items()) if not code.startswith("2")
        },
        "errors": errors,
        "loadgen": "wrk",
    }
