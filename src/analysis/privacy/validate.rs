//! Checksums and structural rules behind the detectors: Luhn (payment cards), ISO 13616 IBAN
//! (mod-97 and per-country lengths), US SSN area/group/serial rules, IPv4 octets, IPv6 forms.

/// Luhn (mod 10) check of a string of ASCII digits (other bytes make it fail).
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Whether 13-19 card digits start with an issuer prefix in use (Visa 4; Mastercard 51-55 and
/// 2221-2720; American Express 34/37; Discover 6011, 644-649, 65; JCB 35 (3528-3589 assigned, the whole 35 range accepted); Diners Club
/// 300-305, 36, 38-39; Maestro 50, 56-69; UnionPay 62; JCB's older 1800/2131 and Maestro's
/// 0604) and have a length that issuer uses.
/// Source: the ISO/IEC 7812 issuer ranges as published by the networks (Wikipedia, "Payment card
/// number", issuer identification number table).
pub fn card_issuer(digits: &[u8]) -> bool {
    let n = digits.len();
    if !(12..=19).contains(&n) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let p = |k: usize| -> u32 {
        digits[..k]
            .iter()
            .fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'))
    };
    let (p1, p2, p3, p4) = (p(1), p(2), p(3), p(4));
    match p1 {
        4 => matches!(n, 13 | 16 | 19),
        2 if n == 16 => (2221..=2720).contains(&p4),
        3 => {
            ((p2 == 34 || p2 == 37) && n == 15)
                || (p2 == 35 && (16..=19).contains(&n))
                || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39)
                    && (14..=19).contains(&n))
        }
        5 => ((51..=55).contains(&p2) && n == 16) || p2 == 50 || p2 >= 56,
        // Discover, Maestro, UnionPay, RuPay: every length from 12 to 19.
        6 => true,
        // JCB's older 15-digit ranges.
        1 | 2 if n == 15 => p4 == 1800 || p4 == 2131,
        // Maestro's 0604 range.
        0 => p4 == 604,
        _ => false,
    }
}

/// IBAN lengths per country (ISO 13616 registry, SWIFT IBAN Registry release 99, 2024).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The IBAN length of a country code, if the country uses IBANs.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|&(_, n)| n)
}

/// ISO 13616 check of a compact IBAN (upper-case letters and digits, no spaces): the country's
/// length and mod-97 of the rearranged number equal to 1.
pub fn iban(compact: &[u8]) -> bool {
    if compact.len() < 5 || iban_length(&compact[..2]) != Some(compact.len()) {
        return false;
    }
    if !compact[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut rem = 0u32;
    for &b in compact[4..].iter().chain(&compact[..4]) {
        match b {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// US social security number rules (SSA): area 001-899 except 666, group 01-99, serial
/// 0001-9999; also refused: numbers the SSA lists as never issued in advertising (078-05-1120,
/// 219-09-9999) and the all-same-digit / 123-45-6789 placeholders.
pub fn ssn(area: u32, group: u32, serial: u32) -> bool {
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    if (area, group, serial) == (78, 5, 1120) || (area, group, serial) == (219, 9, 9999) {
        return false;
    }
    if (area, group, serial) == (123, 45, 6789) {
        return false;
    }
    let d = area % 10;
    !(area == d * 111 && group == d * 11 && serial == d * 1111)
}

/// A dotted-quad IPv4 address: four decimal octets 0-255 without leading zeros.
pub fn ipv4(s: &[u8]) -> bool {
    let mut parts = 0;
    for part in s.split(|&b| b == b'.') {
        parts += 1;
        if parts > 4 || part.is_empty() || part.len() > 3 || !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        if part.len() > 1 && part[0] == b'0' {
            return false;
        }
        let v = part.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0'));
        if v > 255 {
            return false;
        }
    }
    parts == 4
}

/// An IPv6 address in any RFC 4291 text form (full, `::`-compressed, with an embedded IPv4
/// tail), with at least three groups written out (so `a::b` in prose or code is not one).
pub fn ipv6(s: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(s) else {
        return false;
    };
    if text.parse::<std::net::Ipv6Addr>().is_err() {
        return false;
    }
    let groups = text.split([':', '.']).filter(|g| !g.is_empty()).count();
    groups >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_cards() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(luhn(b"5555555555554444"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
        assert!(!luhn(b"41111x1111111111"));
        assert!(card_issuer(b"4111111111111111"));
        assert!(card_issuer(b"378282246310005"));
        assert!(card_issuer(b"2223003122003222"));
        // An order number that happens to pass Luhn but starts with 9.
        assert!(luhn(b"9000000000000001"));
        assert!(!card_issuer(b"9000000000000001"));
        // A 13-digit millisecond timestamp.
        assert!(!card_issuer(b"1700000000000"));
    }

    #[test]
    fn iban_checksums() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(iban(b"FR1420041010050500013M02606"));
        assert!(iban(b"NO9386011117947"));
        assert!(!iban(b"GB82WEST12345698765433"));
        // Right checksum but a length Germany does not use.
        assert!(!iban(b"DE8937040044053201300"));
        assert!(!iban(b"XX82WEST12345698765432"));
        assert!(!iban(b"DE"));
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn(536, 22, 1234));
        assert!(!ssn(0, 22, 1234));
        assert!(!ssn(666, 22, 1234));
        assert!(!ssn(912, 22, 1234));
        assert!(!ssn(536, 0, 1234));
        assert!(!ssn(536, 22, 0));
        assert!(!ssn(78, 5, 1120));
        assert!(!ssn(123, 45, 6789));
        assert!(!ssn(111, 11, 1111));
    }

    #[test]
    fn ip_forms() {
        assert!(ipv4(b"192.168.0.1"));
        assert!(ipv4(b"0.0.0.0"));
        assert!(!ipv4(b"256.1.1.1"));
        assert!(!ipv4(b"1.2.3"));
        assert!(!ipv4(b"1.2.3.4.5"));
        assert!(!ipv4(b"01.2.3.4"));
        assert!(ipv6(b"2001:db8::8a2e:370:7334"));
        assert!(ipv6(b"2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
        assert!(ipv6(b"::ffff:192.0.2.1"));
        assert!(ipv6(b"fe80::1:2"));
        assert!(!ipv6(b"12:30:45"));
        assert!(!ipv6(b"00:1a:2b:3c:4d:5e"));
        assert!(!ipv6(b"a::b"));
        assert!(!ipv6(b"::"));
    }
}
