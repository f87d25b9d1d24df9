"""What the exchange stored, per agent: time series values, events, files, and one record per
exchange request with the outcome of each item; diagnostic activations and recoverable records
(docs/protocol.md §9, §14).

Kept in memory (and, with --state, written beside the state file on stop). One lock; a
condition on it wakes the admin API's long polls whenever something is recorded.
"""

import base64
import hashlib
import itertools
import json
import os
import threading
import time
import uuid

from .files import write_private

MAX_ACTIVATIONS_PER_TENANT = 5  # MC-OAS (docs/protocol.md §9)
DATA_FORMAT = 1


class AgentData:
    def __init__(self):
        # (dataPointId, timestamp) -> {"value", "qualityCode", "configurationId", "correlationId"}
        self.values = {}
        self.events = {}      # id -> {"event", "duplicates", "correlationId", "version"}
        self.files = {}       # fileName -> {"details", "content" (bytes), "correlationId"}
        self.exchanges = []   # one record per exchange request


class DataStore:
    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._agents = {}
        self._seq = itertools.count(1)
        self.activations = {}  # id -> {"id", "agentId", "status", "messages": [...]}
        self.recoverable = {}  # id -> {"id", "correlationId", "agentId", "requestTime", ...}

    def agent(self, agent_id):
        """Caller holds the lock."""
        data = self._agents.get(agent_id)
        if data is None:
            data = self._agents[agent_id] = AgentData()
        return data

    def next_seq(self):
        return next(self._seq)

    def notify(self):
        """Caller holds the lock."""
        self.changed.notify_all()

    # --- time series ---------------------------------------------------------------------

    def store_entry(self, agent_id, configuration_id, timestamp, values, points, correlation,
                    whole_record):
        """Store the accepted values of one entry. whole_record: the values of this
        configuration at this timestamp are replaced as a whole (docs/protocol.md §14: a record
        with the same timestamp completely overwrites the old one). Caller holds the lock."""
        data = self.agent(agent_id)
        if whole_record:
            for point in points:
                data.values.pop((point, timestamp), None)
        for value in values:
            data.values[(value["dataPointId"], timestamp)] = {
                "value": value["value"], "qualityCode": value["qualityCode"],
                "configurationId": configuration_id, "correlationId": correlation}

    def timeseries(self, agent_id, data_point=None, start=None, end=None):
        """Stored values ordered by timestamp, then data point; start inclusive, end exclusive
        (timestamps in the fixed exchange form compare as strings)."""
        with self.lock:
            data = self._agents.get(agent_id)
            items = list(data.values.items()) if data else []
        out = []
        for (point, timestamp), stored in items:
            if data_point is not None and point != data_point:
                continue
            if start is not None and timestamp < start:
                continue
            if end is not None and timestamp >= end:
                continue
            out.append(dict({"dataPointId": point, "timestamp": timestamp}, **stored))
        out.sort(key=lambda v: (v["timestamp"], v["dataPointId"]))
        return out

    # --- events and files ----------------------------------------------------------------

    def store_event(self, agent_id, event, version, correlation):
        """Last write wins; a repeated id counts as a duplicate. Caller holds the lock."""
        events = self.agent(agent_id).events
        previous = events.get(event["id"])
        events[event["id"]] = {"event": event, "version": version, "correlationId": correlation,
                               "duplicates": previous["duplicates"] + 1 if previous else 0}

    def events(self, agent_id):
        with self.lock:
            data = self._agents.get(agent_id)
            stored = list(data.events.values()) if data else []
        return [dict(e["event"], _duplicates=e["duplicates"], _version=e["version"],
                     _correlationId=e["correlationId"]) for e in stored]

    def store_file(self, agent_id, details, content, correlation):
        self.agent(agent_id).files[details["fileName"]] = {
            "details": details, "content": content, "correlationId": correlation}

    def files(self, agent_id):
        with self.lock:
            data = self._agents.get(agent_id)
            stored = list(data.files.values()) if data else []
        return [dict(f["details"], size=len(f["content"]),
                     sha256=hashlib.sha256(f["content"]).hexdigest(),
                     content=base64.b64encode(f["content"]).decode("ascii"),
                     correlationId=f["correlationId"]) for f in stored]

    # --- exchange records ----------------------------------------------------------------

    def add_exchange(self, agent_id, record):
        """Caller holds the lock."""
        self.agent(agent_id).exchanges.append(record)
        now = record["time"]
        for item in record["items"]:
            for drop in item.get("drops", []):
                rid = str(uuid.uuid4())
                self.recoverable[rid] = {
                    "id": rid, "correlationId": record["correlationId"], "agentId": agent_id,
                    "requestTime": _iso(now), "dropReason": drop["reason"],
                    "detail": drop["detail"], "itemIndex": item["index"]}
        for activation in self.activations.values():
            if activation["agentId"] == agent_id and activation["status"] == "ACTIVE":
                activation["messages"].extend(_messages(agent_id, record))

    def exchanges(self, agent_id=None, correlation=None, since=0):
        with self.lock:
            if agent_id is None:
                records = [r for d in self._agents.values() for r in d.exchanges]
            else:
                data = self._agents.get(agent_id)
                records = list(data.exchanges) if data else []
        records = [r for r in records if r["seq"] >= since
                   and (correlation is None or r["correlationId"] == correlation)]
        return sorted(records, key=lambda r: r["seq"])

    def counts(self, agent_id):
        """Caller holds the lock or accepts a snapshot."""
        data = self._agents.get(agent_id)
        if data is None:
            return {"values": 0, "events": 0, "files": 0, "exchanges": 0, "duplicates": 0}
        return {"values": len(data.values), "events": len(data.events),
                "files": len(data.files), "exchanges": len(data.exchanges),
                "duplicates": sum(e["duplicates"] for e in data.events.values())}

    def wait_for(self, agent_id, minimum, timeout):
        """Block until every count named in `minimum` reaches its value or the timeout
        passes; returns (counts, reached)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                counts = self.counts(agent_id)
                reached = all(counts[k] >= n for k, n in minimum.items())
                left = deadline - time.monotonic()
                if reached or left <= 0:
                    return counts, reached
                self.changed.wait(left)

    def clear(self, agent_id):
        with self.lock:
            self._agents.pop(agent_id, None)
            self.recoverable = {k: r for k, r in self.recoverable.items()
                                if r["agentId"] != agent_id}
            self.notify()

    # --- persistence (on stop only: the data can be large) -------------------------------

    def save(self, path):
        with self.lock:
            agents = {}
            for agent_id, data in self._agents.items():
                agents[agent_id] = {
                    "values": [[p, t, v] for (p, t), v in data.values.items()],
                    "events": data.events,
                    "files": {name: dict(f, content=base64.b64encode(f["content"]).decode())
                              for name, f in data.files.items()},
                    "exchanges": data.exchanges}
            text = json.dumps({"format": DATA_FORMAT, "agents": agents,
                               "activations": self.activations,
                               "recoverable": self.recoverable})
        write_private(path, text)

    def load(self, path):
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if raw.get("format") != DATA_FORMAT:
            raise ValueError("unknown data format %r" % raw.get("format"))
        with self.lock:
            top = 0
            for agent_id, saved in raw["agents"].items():
                data = self.agent(agent_id)
                data.values = {(p, t): v for p, t, v in saved["values"]}
                data.events = saved["events"]
                data.files = {name: dict(f, content=base64.b64decode(f["content"]))
                              for name, f in saved["files"].items()}
                data.exchanges = saved["exchanges"]
                top = max([top] + [r["seq"] for r in data.exchanges])
            self.activations = raw.get("activations", {})
            self.recoverable = raw.get("recoverable", {})
            self._seq = itertools.count(top + 1)


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + ".%03dZ" % (
        int(epoch * 1000) % 1000)


_SOURCES = {"standardTimeSeries": "TIMESERIES", "businessEvent": "EVENT", "file": "FILE",
            "dataSourceConfiguration": "DATASOURCECONFIGURATION"}


def _messages(agent_id, record):
    """DiagnosticInformationMessage entries (MC-OAS) for one exchange, one per item: FINISHED
    (INFO) when all of it was stored, DROPPED (WARN when part of it was stored, else ERROR)
    naming the reasons."""
    out = []
    for item in record["items"]:
        reasons = sorted({d["reason"] for d in item["drops"]})
        text = "[%s] item %d (%s %s): %d stored, %d dropped" % (
            "Finished" if item["outcome"] == "stored" else "Dropped", item["index"],
            item["type"], item["version"], item["stored"], item["dropped"])
        if reasons:
            text += ": " + ", ".join(reasons)
        out.append({"correlationId": record["correlationId"],
                    "severity": {"stored": "INFO", "partial": "WARN"}.get(item["outcome"],
                                                                          "ERROR"),
                    "message": text, "source": _SOURCES.get(item["type"], "EXCHANGE"),
                    "state": "FINISHED" if item["outcome"] == "stored" else "DROPPED",
                    "timestamp": _iso(record["time"])})
    return out
