#!/usr/bin/env python3
"""Writes the hand-made seed inputs of each fuzz target into corpus/<target>/seed-*.

The committed corpus is these seeds plus what `run.sh --update-corpus` merged in. Run this once
after changing a seed; file names are stable, so rerunning it does not add duplicates.
"""
import base64
import json
import pathlib

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
    return out


def main() -> None:
    for target, files in seeds().items():
        directory = HERE / "corpus" / target
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (directory / f"seed-{name}").write_bytes(data)


if __name__ == "__main__":
    main()
