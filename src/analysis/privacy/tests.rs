use super::*;

/// The (kind, text) of every finding in `s`.
fn found(s: &str) -> Vec<(Kind, &str)> {
    scan(s)
        .into_iter()
        .map(|f| (f.kind, &s[f.start..f.end]))
        .collect()
}

fn one(s: &str, kind: Kind, text: &str) {
    assert_eq!(found(s), vec![(kind, text)], "in {s:?}");
}

fn none(s: &str) {
    assert_eq!(found(s), vec![], "in {s:?}");
}

#[test]
fn emails() {
    one(
        "write to john.smith@example.com.",
        Kind::Email,
        "john.smith@example.com",
    );
    one(
        "<a.b+tag@mail.example.co.uk>",
        Kind::Email,
        "a.b+tag@mail.example.co.uk",
    );
    one(
        "o'brien@example.ie, thanks",
        Kind::Email,
        "o'brien@example.ie",
    );
    none("@handle on twitter");
    none("user@localhost");
    none("a@b.c");
    none("meet @ 5pm");
    none("email@123.123.123.123x");
}

#[test]
fn phones() {
    one("call (555) 555-0199 now", Kind::Phone, "(555) 555-0199");
    one(
        "tel +1-202-555-0143x123",
        Kind::Phone,
        "+1-202-555-0143x123",
    );
    one("tel: +44 20 7946 0958", Kind::Phone, "+44 20 7946 0958");
    one(
        "Tél. +33 (0)1 23 45 67 89.",
        Kind::Phone,
        "+33 (0)1 23 45 67 89",
    );
    one("ruf 030 12345678 an", Kind::Phone, "030 12345678");
    one("2025550143", Kind::Phone, "2025550143");
    one("001-202-555-0143", Kind::Phone, "001-202-555-0143");
    one("090-1234-5678", Kind::Phone, "090-1234-5678");
}

#[test]
fn phone_hard_negatives() {
    // Dates, times, timestamps, versions, decimals, order numbers, ISBNs, fractions, years.
    none("on 2024-01-15 at 10:30:00");
    none("on 15.01.2024 or 01/15/2024");
    none("2024-01-15 10:30");
    none("at 1700000000 seconds");
    none("version 1.2.3 of 3.14159265");
    none("ISBN 978-3-16-148410-0");
    none("order #1234567");
    none("pages 1811-1813, 1820");
    none("costs 1,234,567.89 dollars");
    none("12/345678 is a fraction");
    none("1234567890");
}

#[test]
fn cards() {
    one(
        "card 4111 1111 1111 1111 exp",
        Kind::PaymentCard,
        "4111 1111 1111 1111",
    );
    one("amex 378282246310005", Kind::PaymentCard, "378282246310005");
    one(
        "mc 5555-5555-5555-4444",
        Kind::PaymentCard,
        "5555-5555-5555-4444",
    );
    one(
        "amex 3782 822463 10005",
        Kind::PaymentCard,
        "3782 822463 10005",
    );
    // Luhn fails: an order number of card length, read as nothing.
    none("ref 4111111111111112");
    // Luhn holds but no issuer starts with 9; a 13-digit millisecond timestamp.
    none("id 9000000000000001 at 1700000000000");
    // Digits inside a word or a hash.
    none("sha 4111111111111111ab");
}

#[test]
fn ibans() {
    one(
        "IBAN DE89370400440532013000 paid",
        Kind::Iban,
        "DE89370400440532013000",
    );
    one(
        "IBAN: GB82 WEST 1234 5698 7654 32.",
        Kind::Iban,
        "GB82 WEST 1234 5698 7654 32",
    );
    one(
        "FR1420041010050500013M02606",
        Kind::Iban,
        "FR1420041010050500013M02606",
    );
    // A wrong check digit, a wrong length, an unknown country.
    none("DE88370400440532013000");
    none("DE8937040044053201300");
    none("ZZ89370400440532013000");
}

#[test]
fn ssns() {
    one("SSN 536-22-1234.", Kind::UsSsn, "536-22-1234");
    one("ssn 536 22 1234", Kind::UsSsn, "536 22 1234");
    none("000-12-3456 666-12-3456 912-12-3456 536-00-1234 536-22-0000");
    none("078-05-1120");
}

#[test]
fn ips() {
    one("from 192.168.10.1:8080", Kind::Ip, "192.168.10.1");
    one(
        "host 2001:db8::8a2e:370:7334 up",
        Kind::Ip,
        "2001:db8::8a2e:370:7334",
    );
    one(
        "fe80::1ff:fe23:4567:890a, then",
        Kind::Ip,
        "fe80::1ff:fe23:4567:890a",
    );
    one("[2001:db8::1]:443", Kind::Ip, "2001:db8::1");
    one("::ffff:192.0.2.128", Kind::Ip, "::ffff:192.0.2.128");
    none("256.1.1.1 and 1.2.3.4.5");
    none("version 1.2.3.4");
    none("at 12:30:45, mac 00:1a:2b:3c:4d:5e");
    none("std::io::Result and a::b");
}

#[test]
fn urls_with_credentials() {
    one(
        "see https://admin:hunter22@db.example.com/x.",
        Kind::UrlCredentials,
        "https://admin:hunter22@db.example.com/x",
    );
    one(
        "postgres://app:s3cr3t@10.0.0.5:5432/db",
        Kind::UrlCredentials,
        "postgres://app:s3cr3t@10.0.0.5:5432/db",
    );
    one(
        "https://api.example.com/v1?user=3&access_token=abc123def456",
        Kind::UrlCredentials,
        "https://api.example.com/v1?user=3&access_token=abc123def456",
    );
    none("https://www.example.com/path?page=2&q=hello");
    none("ftp://anonymous@ftp.example.org/pub");
}

#[test]
fn secrets() {
    one(
        "key AKIAIOSFODNN7EXAMPLE in",
        Kind::Secret,
        "AKIAIOSFODNN7EXAMPLE",
    );
    one(
        "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",
        Kind::Secret,
        "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",
    );
    one(
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        Kind::Secret,
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    );
    one("password=Tr0ub4dor&3", Kind::Secret, "Tr0ub4dor&3");
    one("\"api_key\": \"a8F3kL9qZ2\"", Kind::Secret, "a8F3kL9qZ2");
    one(
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        Kind::Secret,
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    );
    one(
        "x 9fK2pQ7zR4mW8xT1vB6nY3hJ5 y",
        Kind::Secret,
        "9fK2pQ7zR4mW8xT1vB6nY3hJ5",
    );
    one(
        "-----BEGIN RSA PRIVATE KEY-----",
        Kind::Secret,
        "-----BEGIN RSA PRIVATE KEY-----",
    );
}

#[test]
fn secret_hard_negatives() {
    // Hashes, UUIDs, identifiers, paths, long words, prose after "password".
    none("commit 3f9a2b7c4d5e6f708192a3b4c5d6e7f8091a2b3c");
    none("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    none("id 123e4567-e89b-12d3-a456-426614174000");
    none("ThisIsALongCamelCaseIdentifierName and getElementsByTagName");
    none("/usr/local/lib/python3/site-packages/Module");
    none("antidisestablishmentarianism");
    none("the password: is secret");
    none("a hyphenated-state-of-the-art-approach");
}

#[test]
fn overlaps_keep_the_longest() {
    // The e-mail and IP inside the URL's credentials are not found twice.
    let f = found("https://bob:pa55word@10.1.2.3/x and mail bob@example.org");
    assert_eq!(
        f,
        vec![
            (Kind::UrlCredentials, "https://bob:pa55word@10.1.2.3/x"),
            (Kind::Email, "bob@example.org")
        ]
    );
}

#[test]
fn masks_never_show_the_value() {
    assert_eq!(mask(Kind::Email, "john.smith@example.com"), "j***@e***.com");
    assert_eq!(
        mask(Kind::PaymentCard, "4111 1111 1111 1111"),
        "**** **** **** 1111"
    );
    assert_eq!(mask(Kind::UsSsn, "536-22-1234"), "***-**-****");
    assert_eq!(mask(Kind::Phone, "+44 20 7946 0958"), "+** ** **** **58");
    assert_eq!(
        mask(Kind::Iban, "DE89370400440532013000"),
        "DE********************"
    );
    assert_eq!(mask(Kind::Ip, "192.168.10.1"), "192.*.*.*");
    assert_eq!(mask(Kind::Ip, "2001:db8::1"), "2001:***");
    assert_eq!(
        mask(
            Kind::UrlCredentials,
            "https://admin:hunter22@db.example.com/x"
        ),
        "https://***@d***.com/***"
    );
    assert_eq!(
        mask(Kind::Secret, "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"),
        "ghp_***"
    );
    assert_eq!(mask(Kind::Secret, "AKIAIOSFODNN7EXAMPLE"), "A***");
}

#[test]
fn parallel_matches_sequential() {
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!(
            "line {i}: mail u{i}@example.com, card 4111 1111 1111 1111, ip 10.0.{}.{}\n",
            i % 250,
            i % 200
        ));
    }
    let seq = scan(&text);
    assert_eq!(seq.len(), 9000);
    assert_eq!(scan_parallel(text.as_bytes(), 4096), seq);
}

#[test]
fn no_panic_on_edges() {
    for s in [
        "",
        "@",
        "://",
        ":",
        "+",
        "(",
        "1",
        "DE",
        "DE8",
        "eyJ.",
        "x@y.",
        "::",
        "1.2.3.4.",
        "+(",
        "-----BEGIN ",
        "password=",
        "ghp_",
        "\u{fffd}@\u{fffd}.com",
        "9\u{e9}1",
    ] {
        let _ = scan(s);
    }
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let _ = scan_bytes(&bytes);
}

#[test]
fn redact_masks_every_finding_and_leaves_the_rest() {
    let mut kinds = Vec::new();
    let s = "mail john.smith@example.com or call +44 20 7946 0958, card 4111 1111 1111 1111.";
    let r = redact(s, |k| kinds.push(k));
    assert_eq!(
        r,
        "mail j***@e***.com or call +** ** **** **58, card **** **** **** 1111."
    );
    assert_eq!(kinds, vec![Kind::Email, Kind::Phone, Kind::PaymentCard]);
    // Nothing found: the text itself, not a copy.
    let plain = "nothing to see here";
    assert!(matches!(
        redact(plain, |_| panic!("no finding")),
        std::borrow::Cow::Borrowed(_)
    ));
    // Masked text holds no finding of its own.
    for text in [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789 at 10.1.2.3, ssn 536-22-1234",
        "https://admin:hunter22@db.example.com/x and DE89370400440532013000",
    ] {
        let once = redact(text, |_| {});
        assert!(scan(&once).is_empty(), "{once}");
    }
}
