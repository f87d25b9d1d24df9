#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into corpus/<target>/seed-*.

The committed corpus is these seeds plus what `run.sh --update-corpus` merged in. Run this once
after changing a seed; file names are stable, so rerunning it does not add duplicates.
"""
import base64
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "AgentTests" / "Fixtures" / "datasources"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict, header: dict | None = None, signature: bytes = b"\x01" * 32) -> str:
    header = header or {"kid": "key-id-1", "alg": "HS256", "typ": "JWT"}
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


IAT = jwt({"iss": "https://southgate.example.test/api/agentmanagement/", "sub": "5d06988ac50a44758ed0d9bff9edc4a0",
           "jti": "iat-1", "iat": 1799990000, "exp": 1800604800})


def boarding(**overrides) -> bytes:
    content = {"baseUrl": "https://southgate.example.test", "iat": IAT, "clientCredentialProfile": ["SHARED_SECRET"],
               "clientId": "5d06988ac50a44758ed0d9bff9edc4a0", "tenant": "castidev"}
    expiration = overrides.pop("expiration", "2027-01-22T08:00:00.000Z")
    content.update(overrides)
    document = {"content": content}
    if expiration is not None:
        document["expiration"] = expiration
    return json.dumps(document, indent=2).encode()


def seeds() -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    out["fuzz-boarding"] = {
        "shared-secret": boarding(),
        "rsa": boarding(clientCredentialProfile=["RSA_3072"], expiration="2027-01-22T09:00:00+01:00"),
        "bare-profile": boarding(clientCredentialProfile="SHARED_SECRET", expiration=None),
        "base-path": boarding(baseUrl="https://gateway.eu1.mindsphere.io/", expiration="2027-01-22T08:00:00Z"),
        "json-escapes": b'{"a":"\\u00e9\\ud83d\\ude00\\n\\"","b":[1,-0.5,2e10,true,false,null],"c":{}}',
        "json-bom": b'\xef\xbb\xbf{"content":{}}',
        "json-number": b"[0,-1,1.5e+300,123456789012345678]",
        "date": b"2019-05-23T11:42:24.000Z",
    }
    out["fuzz-datasources"] = {}
    for path in sorted(FIXTURES.glob("good_*.yaml")):
        out["fuzz-datasources"][path.stem] = path.read_bytes()
    out["fuzz-datasources"]["minimal"] = b"dataSources:\n  - name: s\n    dataPoints:\n      - name: p\n        type: INT\n        unit: ''\n"
    out["fuzz-jwt"] = {
        "iat": IAT.encode(),
        "padded-standard": (base64.b64encode(b'{"alg":"HS256"}').decode() + "." +
                            base64.b64encode(b'{"exp":1.5e9,"aud":["a","b"],"scope":"x"}').decode() + ".+/+/").encode(),
        "access-token": jwt({"iss": "https://castidev.piam.eu1.mindsphere.io/oauth/token", "ten": "castidev",
                             "schemas": ["urn:x"], "scope": ["mdsp:core:Agent"], "aud": "southgate", "nbf": 1700000000,
                             "exp": 1700003600.75}, {"alg": "RS256"}).encode(),
        "empty-signature": jwt({"sub": "x"}, signature=b"").encode(),
    }
    identifier = {"client_id": "5d06988ac50a44758ed0d9bff9edc4a0", "client_secret": "s3cr3t-value-XYZ-0123456789",
                  "client_secret_expires_at": 1811020133, "registration_access_token": "eyJh.rat-value-0123456789.sig",
                  "registration_client_uri": "https://southgate.example.test/api/agentmanagement/v3/register/5d06988ac50a44758ed0d9bff9edc4a0"}

    def response(operation: int, status: int, headers: dict, body: bytes) -> bytes:
        head = f"{status}\n" + "".join(f"{k}: {v}\n" for k, v in headers.items())
        return bytes([operation]) + head.encode() + b"\n" + body

    date = {"Date": "Sat, 28 Nov 2026 04:45:55 GMT"}
    out["fuzz-southgate"] = {
        "register-201": response(0, 201, {"Server-Time": "1800000000"}, json.dumps(identifier).encode()),
        "register-rsa-201": response(1, 201, date, json.dumps({k: v for k, v in identifier.items() if k != "client_secret"}).encode()),
        "rotate-200": response(2, 200, date, json.dumps(identifier).encode()),
        "token-200": response(3, 200, {"Server-Time": "1800000000.25", "Content-Type": "application/json"},
                              b'{"access_token":"eyJ.token-0123456789.sig","token_type":"Bearer","expires_in":3600}'),
        "token-400": response(3, 400, date, b'{"error":"invalid_client","error_description":"bad assertion"}'),
        "dsc-get-200": response(4, 200, {}, b'{"configurationId":"c","dataSources":[],"eTag":"3","id":"x"}'),
        "dsc-put-412": response(5, 412, {}, b'{"message":"eTag mismatch"}'),
        "rate-limited": response(0, 429, {"Retry-After": "120", **date}, b'{"message":"slow down"}'),
        "retry-date": response(3, 503, {"Retry-After": "Sat, 28 Nov 2026 04:45:55 GMT"}, b""),
    }
    out["fuzz-local-http"] = {
        "token": b"GET /token HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "status": b"GET /status HTTP/1.0\r\n\r\n",
        "curl": b"GET /token HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        "post-body": b"POST /token HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
        "partial": b"GET /tok",
    }
    ts = "2026-12-03T10:45:00.000Z"
    out["fuzz-ingest"] = {
        "bulk": json.dumps([{"timestamp": ts, "values": [
            {"dataPointId": "dp-temp", "value": "21.5", "qualityCode": "0"},
            {"dataPointId": "Press/Count", "value": -12, "qualityCode": 12189696}]}]).encode(),
        "bulk-types": json.dumps([
            {"timestamp": "2026-12-03T11:45:00+01:00", "values": [
                {"dataPointId": "dp-total", "value": "9223372036854775807"},
                {"dataPointId": "dp-run", "value": True}, {"dataPointId": "dp-label", "value": 12.50},
                {"dataPointId": "dp-log", "value": "x" * 300}, {"dataPointId": "dp-stamp", "value": 1796294700000},
                {"dataPointId": "Press/Température", "value": 1e-5}]},
            {"timestamp": 1796294640000, "values": [{"dataPointId": "a/b/c", "value": 1}]},
            {"timestamp": ts, "values": [{"dataPointId": "x1", "value": 2}, {"dataPointId": "Line/P1", "value": 3}]},
        ]).encode(),
        "escapes": b'[{"values":[{"dataPointId":"dp-label","value":"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9'
                   b'\\ud83d\\ude00"}],"timestamp":0}]'.replace(b"\\\\", b"\\"),
        "ndjson": b'{"dataPointId":"dp-total","value":9223372036854775807}\n{"dataPointId":"dp-run","value":true}\r\n'
                  b'\n{"dataPointId":"dp-count","value":"7","timestamp":"2026-12-03T10:44:59.999Z","qualityCode":"1"}\n',
        "ndjson-bom": b'\xef\xbb\xbf{"dataPointId":"dp-\xc3\xa9","value":-0.0,"timestamp":1796294700000}',
        "duplicate": b'[{"timestamp":0,"values":[{"dataPointId":"dp-temp","value":1}]},'
                     b'{"timestamp":"1970-01-01T00:00:00Z","values":[{"dataPointId":"Press/Temperature","value":2}]}]',
        "future": b'{"dataPointId":"dp-temp","value":1,"timestamp":"9999-12-31T23:59:59.999Z"}',
        # JSONValue and the request reader both stop at 64 levels.
        "deep-64": b"[" * 64 + b"]" * 64,
        "deep-65": b"[" * 65 + b"]" * 65,
    }
    out["fuzz-events"] = {
        "full": json.dumps({"severity": "warning", "type": "ThresholdExceeded", "timestamp": ts,
                            "description": "Temperature above 80 °C", "correlationId": "c-42",
                            "details": {"value": 81.5, "limit": 80, "tags": ["a", None, True]}}).encode(),
        "numeric": b'{"severity":20,"timestamp":1796294700000}',
        "minimal": b'\xef\xbb\xbf{"severity":"INFO"}',
        "long-description": json.dumps({"severity": "error", "description": "\U0001F600" * 127 + "x"}).encode(),
        "errors": b'{"severity":"fatal","id":"x","severity":null,"details":[],"timestamp":1e300}',
    }
    out["fuzz-codec"] = {
        "timeseries": codec_timeseries([("cfg-1", 1796294700000, [("dp-temp", 1, struct.pack("<d", 21.5), 0),
                                                                  ("dp-count", 0, zigzag(-12), 12189696),
                                                                  ("dp-run", 3, b"", 0)]),
                                        ("cfg-1", 1796294640000, [("dp-label", 4, text(b"caf\xc3\xa9"), 0),
                                                                  ("dp-stamp", 5, zigzag(1796294700000), 1)])]),
        "event": b"\x45" + zigzag(1796294700000) + bytes([30, 7]) + text(b"0f8fad5b-d9cb-469f-a165-70867728950e")
                 + text(b"ThresholdExceeded") + text(b"Temperature above 80") + text(b"c-42")
                 + text(b'{"value":81.5,"tags":["a",null,true]}'),
        "empty-event": b"\x45\x00\x14\x00\x00" + text(b"{}"),
    }
    # Journal inputs: byte 0 the mode (bit 0: built) and first segment name, byte 1 the name step.
    frames = frame(1, 1, 1000, b"\x54payload") + frame(2, 3, 2000, b"") + frame(5, 1, 3000, b"x" * 40)
    out["fuzz-journal"] = {
        "raw-one": b"\x00\x05" + frames,
        "raw-two": b"\x00\x06" + frames + b"SEG!" + frame(6, 2, 4000, b"yz"),
        "raw-torn": b"\x00\x01" + frames[:-7] + b"SEG!" + frame(2, 1, 1, b""),
        "raw-zeroes": b"\x00\x01" + frames + b"\x00" * 64,
        "raw-high": b"\x06\x01" + frame(2**64 - 2, 2, 0, b"max"),
        "built": bytes([1, 0, 0, 1, 0, 3, 0xAA, 0xBB, 0xCC, 0, 7, 1, 2, 0, 0, 2, 7, 0, 0, 0, 4, 0, 40, 0x10,
                        5, 3, 6, 8, 1, 7, 0, 5, 0, 0]),
        "built-high": bytes([7, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]),
    }
    out["fuzz-exchange"] = {
        "mixed": bytes(range(8)) + bytes([6, 1, 0, 0, 3, 0, 1, 1, 0, 0, 1, 0, 1, 2, 0, 1, 0, 0, 8, 2, 1, 1, 0, 0,
                                          0, 0, 0, 0, 5, 0, 9, 0, 3, 1, 1, 1, 14]) + b'{"a":[1,2.5,"x"]}',
        "texts": bytes(8) + bytes([3, 1, 250, 5]) + b"a\r\nb" + bytes([3, 2, 250, 6]) + b"--\"\\\x00" + bytes([5, 7])
                 + b"\xf0\x9f\x98\x80" * 4,
    }
    return out


def zigzag(value: int) -> bytes:
    return varint((value << 1) ^ (value >> 63))


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


def text(data: bytes) -> bytes:
    return varint(len(data)) + data


def codec_timeseries(entries) -> bytes:
    table: list[str] = []
    for configuration, _, values in entries:
        for name in [configuration] + [v[0] for v in values]:
            if name not in table:
                table.append(name)
    out = b"\x54" + varint(len(table)) + b"".join(text(t.encode()) for t in table) + varint(len(entries))
    previous = 0
    for configuration, timestamp, values in entries:
        out += varint(table.index(configuration)) + zigzag(timestamp - previous) + varint(len(values))
        previous = timestamp
        for name, tag, payload, quality in values:
            out += varint(table.index(name)) + bytes([tag | (0x80 if quality else 0)]) + payload
            if quality:
                out += varint(quality)
    return out


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def frame(first: int, count: int, ingest_time: int, payload: bytes) -> bytes:
    checked = struct.pack("<QIq", first, count, ingest_time) + payload
    return b"\xa1" + struct.pack("<II", len(payload), crc32c(checked)) + checked


def main() -> None:
    for target, files in seeds().items():
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (directory / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
