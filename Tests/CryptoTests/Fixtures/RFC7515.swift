@testable import Crypto

/// Known-answer vectors from RFC 7515 Appendix A (checked against Python `cryptography`).
enum RFC7515 {
    /// A.1: the protected header, with the RFC's CR LF and space, so its encoding matches.
    static let hs256Header = Array("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}".utf8)
    /// A.1 and A.2: the payload, again byte for byte.
    static let payload = Array(
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}".utf8)
    /// A.1: the HMAC key, the JWK `k` value.
    static let hs256KeyBase64URL =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
    /// A.1.1: the complete JWS.
    static let hs256Token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    /// A.2: the protected header `{"alg":"RS256"}`.
    static let rs256Header = Array(#"{"alg":"RS256"}"#.utf8)
    /// A.2: the key's public JWK members.
    static let rs256N =
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZ"
        + "S-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WT"
        + "BEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethF"
        + "kMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
    static let rs256E = "AQAB"
    /// A.2.1: the complete JWS (PKCS#1 v1.5 is deterministic, so we must reproduce it exactly).
    static let rs256Token =
        "eyJhbGciOiJSUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9"
        + "CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383L"
        + "cOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIh"
        + "WkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

    /// A.2: the RFC's private key (n, e, d, p, q, dp, dq, qi) as PKCS#8 PEM, converted offline
    /// with Python `cryptography` (`RSAPrivateNumbers(...).private_bytes(PEM, PKCS8)`). It is a
    /// 2048-bit key, so it also serves as the "too small for RSA_3072" example.
    static let rs256PrivateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCh+BYK4uPJtGXO
        jS1lYmM2K5J9vinh8CR3/BYlzJChNuOL2TSXxbbqY913EeZ8dCn5VrD7io8ImtxL
        aYk8wTM/U+3QGbh3hCUv7JFP5IV3aVlL6kKA0ywPVb9ilE8TA5a8bpvfbr3SvaNn
        juygxmj3AbONv/s4yDQs4v5tJ/reSlpIdJed1LnPmt7Ex1sFhSwsD174pcF1A5L5
        ROjtZMEQxrZHYJqkeDrrnGya11UxMFBji4NmXG9veoKjlnAqH2QbgtPr8jkiGUkf
        toaHLFcW9Qr4NY2ai50Xw0Byj3+H2JoY2PyrZ62EWQwuz3WTOTY8BwNNb2BvniHg
        VFbK5emhAgMBAAECggEAEq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyW
        PEAeP88vLNO97IjlA7/GQ5sLKMgvfTeXZx9SE+7YwVol2NXOoAJe46sui395IW/G
        O+pWJ1O0BkTGoVEn2bKVRUCgu+GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzj
        kn439X0M/V51gfpRLI9JYanrC4D4qAdGcopV/0ZHHzQlBjudU2QvXt4ehNYTCBr6
        XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl/x/jTj3ccPDVZFD9pIuhLhBOneufuBiB
        4cS98l2SR/RQyGWSeWjnczT0QU91p1DhOVRuOopznQKBgQDgHMQQ60imZV1URk0K
        pLttoLhyt3SmqdEf/kgHePDdtzEafpAu+cS191R2JiuoF2yzWXnwFDcqGigp5BNr
        0AHQfD8/Lk8l1Mk09jxxCfui5nYooNyac8YFjm3vItzVCVDnEd3BbVWG8qf6deqE
        lMGAg+C2V0L4oNXnP7LZcPAZRwKBgQC5A8R+CZW2MvRTLLHzwZkUXV866cff7tx6
        kqa0finGG0KgeqlaZPxgCZnFp7AeAcCMtiynVlJ7vMVgePsLq6XtON4tB5kP9jAP
        rq3rbAOal78eUH5OcED6eNuCV8ixEu1eWcPNCS/l1OW1EnXUEoEHKl54Xrrz2uNw
        kgMTP1FZ1wKBgAcCn1dwJKufzBWQxWQp1vsM5fggqPN1qGb5y0MAk3g7/Ls5bkUp
        5u9SN0Ai3Ya6hNnvWJMb7sXQX6U/zyO2M/hTip7tUeh7CXgwo59dkpN75gJLVds2
        9+DAncu3KXU4f2Fa+7bLNrur53k8KwPOq2bbuTG69QtV7Jr5MR0AHWKNAoGBAIf/
        evpitUf+4JYbLpvNXWcY052Mpz22aR84mY3nh3F2LF2mjMJDpTg7FmuyPcVw6EcG
        yoAe9fa65iNqCq+jdw6PVNGo2hxfjSiZ8IIzHdsPXI89//pMjZcQK9r+CCoRjaZj
        OYiIDktVWZzmevJuv6WywUqd57LE3Zar3dLSIkx1AoGAIYd7DHOhrWvxkwPQsRM2
        tOgrjbcrfvtQJipd+DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd/QJQ3
        ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp/gh6A56
        03k2+ZQwVK0JKSHuLFkuQ3U=
        -----END PRIVATE KEY-----

        """
}

/// The SHARED_SECRET test vector of docs/protocol.md §6.2 (MCL style, `aud` as a string).
enum ProtocolVector {
    static let clientSecret = "e8KgU3uK0lq2cR8x1x0e6XoQw6bV0m2cYt9sZp4nHkA"
    static let header = Array(#"{"typ":"JWT","alg":"HS256"}"#.utf8)
    static let payload = Array(
        (#"{"iss":"5d06988ac50a44758ed0d9bff9edc4a0","sub":"5d06988ac50a44758ed0d9bff9edc4a0","aud":"southgate","#
            + #""iat":1700000000,"nbf":1700000000,"exp":1700086400,"schemas":["urn:siemens:mindsphere:v1"],"#
            + #""ten":"castidev","jti":"3f2b8c1e-7d4a-4e9b-9c61-0a5f2d8e4b17"}"#).utf8)
    /// The "MCL (padded)" line: every segment keeps its `=` padding.
    static let mclPadded =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
        + "eyJpc3MiOiI1ZDA2OTg4YWM1MGE0NDc1OGVkMGQ5YmZmOWVkYzRhMCIsInN1YiI6IjVkMDY5ODhhYzUwYTQ0NzU4ZWQwZDliZmY5ZWR"
        + "jNGEwIiwiYXVkIjoic291dGhnYXRlIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMC"
        + "wic2NoZW1hcyI6WyJ1cm46c2llbWVuczptaW5kc3BoZXJlOnYxIl0sInRlbiI6ImNhc3RpZGV2IiwianRpIjoiM2YyYjhjM"
        + "WUtN2Q0YS00ZTliLTljNjEtMGE1ZjJkOGU0YjE3In0=.Mxo8N4_AX2L-X2xe8fmMkuxn8uUd-GPNA0yRsH82eR4="
    /// The "standard:" line: unpadded base64url.
    static let standard =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
        + "eyJpc3MiOiI1ZDA2OTg4YWM1MGE0NDc1OGVkMGQ5YmZmOWVkYzRhMCIsInN1YiI6IjVkMDY5ODhhYzUwYTQ0NzU4ZWQwZDliZmY5ZWR"
        + "jNGEwIiwiYXVkIjoic291dGhnYXRlIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMC"
        + "wic2NoZW1hcyI6WyJ1cm46c2llbWVuczptaW5kc3BoZXJlOnYxIl0sInRlbiI6ImNhc3RpZGV2IiwianRpIjoiM2YyYjhjM"
        + "WUtN2Q0YS00ZTliLTljNjEtMGE1ZjJkOGU0YjE3In0.BiQeFFBhTleGgg4YHzKUIi8aWd0Lc0I_inSeOnWgwHU"
}

/// Throwaway keys that must be refused, generated for these tests only.
enum RefusedKeys {
    /// A P-256 EC key in PKCS#8: valid PEM, but not RSA.
    static let ecPrivateKeyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6Cs51j6vVPxnk200
        wYi6k9U2TnUzJI8cywvKu4JuUomhRANCAARZvHa64qM1kvXQmLj73Hvr3fF81492
        eISm+9C0s7/Bx7rFZPu+e1PxXTvy3nU01LnWSg4ko489qDkgG2FVuNBW
        -----END PRIVATE KEY-----

        """

    /// The same EC key, password-encrypted PKCS#8: must fail at once, never prompt.
    static let encryptedPrivateKeyPEM = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIH0MF8GCSqGSIb3DQEFDTBSMDEGCSqGSIb3DQEFDDAkBBC+JWGybQrDwFz643EU
        9ZTXAgIIADAMBggqhkiG9w0CCQUAMB0GCWCGSAFlAwQBKgQQpx5U3A3xz43KYnwP
        rQqErwSBkP5xTbhHBT/RFxwaT76uf+sIBy9o0PqNpl+PVSzflj0h45shnj3EcEys
        E+E3vDPwQW6nXED+n8/FagvuyDaIR/tuRL5a+Pb1RAZDYqXWO5Dmoa+4BQbikAiI
        Mm/8d3m7U1kZMa0++YKHS6Cbfsil3xJs8m8L4tAe/Yznl+Og4V1JfQ9sy7P8E3bG
        5ggleLGOkA==
        -----END ENCRYPTED PRIVATE KEY-----

        """
}

/// One RSA-3072 key for the whole test run: generation takes about a second.
enum SharedTestKey {
    static let generated = Result { () throws(CryptoError) in try RSAPrivateKey.generate() }
    static func get() throws -> RSAPrivateKey { try generated.get() }
}
