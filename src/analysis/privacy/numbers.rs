//! Kinds made of digits: phone numbers, payment cards, US SSNs, IPv4 addresses and IBANs. One
//! walk over the digit runs: each run at a word boundary is read with the separators a number is
//! written with (space, `-`, `.`, `/`, brackets) into groups, then classified by shape and
//! checked (Luhn, SSN rules, octets); a run right after two capital letters is tried as an IBAN.
//! Dates (`2024-01-15`, `15.01.2024`, `01/15/2024`) and version strings are passed over.

use super::{Finding, Kind, alnum, boundary_after, boundary_before, validate};

/// Most digits read into one number.
const MAX_DIGITS: usize = 24;
/// Most groups read into one number.
const MAX_GROUPS: usize = 12;

#[inline]
fn sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// A number as written: its digits, groups (digit counts) and separators between groups.
struct Number {
    digits: [u8; MAX_DIGITS],
    n: usize,
    groups: [(u8, u8); MAX_GROUPS],
    /// The separator bytes between group g-1 and g (up to 3, `seps[g]`), zero-padded.
    seps: [[u8; 3]; MAX_GROUPS],
    g: usize,
    /// Each group's start and end in the text.
    pos: [(usize, usize); MAX_GROUPS],
    /// The span in the text (a leading `+` or `(` included).
    start: usize,
    end: usize,
    plus: bool,
    lead_paren: bool,
}

impl Number {
    fn digits(&self) -> &[u8] {
        &self.digits[..self.n]
    }

    fn group_len(&self, g: usize) -> usize {
        usize::from(self.groups[g].1)
    }

    fn value(&self, g: usize) -> u32 {
        let (off, len) = self.groups[g];
        self.digits[usize::from(off)..usize::from(off + len)]
            .iter()
            .fold(0u32, |a, &b| {
                a.saturating_mul(10).saturating_add(u32::from(b - b'0'))
            })
    }

    /// The one separator byte between groups g-1 and g, if it is a single byte.
    fn single_sep(&self, g: usize) -> Option<u8> {
        let s = self.seps[g];
        (s[0] != 0 && s[1] == 0).then_some(s[0])
    }

    /// Whether every separator is this one byte.
    fn all_seps(&self, b: u8) -> bool {
        (1..self.g).all(|g| self.single_sep(g) == Some(b))
    }
}

/// Reads the number whose first digit is at `i` (at most [`MAX_DIGITS`] digits in
/// [`MAX_GROUPS`] groups); None if its first group is longer or it follows a word.
fn read(t: &[u8], i: usize) -> Option<Number> {
    let mut num = Number {
        digits: [0; MAX_DIGITS],
        n: 0,
        groups: [(0, 0); MAX_GROUPS],
        seps: [[0; 3]; MAX_GROUPS],
        g: 0,
        pos: [(0, 0); MAX_GROUPS],
        start: i,
        end: i,
        plus: false,
        lead_paren: false,
    };
    if i > 0 && t[i - 1] == b'(' {
        num.lead_paren = true;
        num.start = i - 1;
        if num.start > 0 && t[num.start - 1] == b'+' {
            num.start -= 1;
            num.plus = true;
        }
    } else if i > 0 && t[i - 1] == b'+' {
        num.plus = true;
        num.start = i - 1;
        if num.start > 0 && t[num.start - 1] == b'(' {
            num.start -= 1;
            num.lead_paren = true;
        }
    }
    if num.start < i && !boundary_before(t, num.start) {
        return None;
    }
    let mut p = i;
    loop {
        let off = num.n;
        let from = p;
        while p < t.len() && t[p].is_ascii_digit() {
            if num.n == MAX_DIGITS {
                // Too long: the groups read so far (a first group this long is nothing).
                num.n = off;
                return (num.g > 0).then_some(num);
            }
            num.digits[num.n] = t[p];
            num.n += 1;
            p += 1;
        }
        num.groups[num.g] = (off as u8, (num.n - off) as u8);
        num.pos[num.g] = (from, p);
        num.g += 1;
        num.end = p;
        // Up to three separator bytes, then a digit.
        let mut q = p;
        while q < t.len() && q - p < 3 && sep(t[q]) {
            q += 1;
        }
        if q == p || q >= t.len() || !t[q].is_ascii_digit() || num.g == MAX_GROUPS {
            break;
        }
        num.seps[num.g][..q - p].copy_from_slice(&t[p..q]);
        p = q;
    }
    Some(num)
}

impl Number {
    /// The number made of the first `g` groups.
    fn prefix(&self, g: usize) -> Number {
        let mut p = Number { ..*self };
        let (off, len) = self.groups[g - 1];
        p.n = usize::from(off + len);
        p.g = g;
        p.end = self.pos[g - 1].1;
        p
    }

    /// A bracket before the first digit or between the groups.
    fn paren(&self) -> bool {
        self.lead_paren
            || self.seps[1..self.g]
                .iter()
                .any(|s| s.contains(&b'(') || s.contains(&b')'))
    }
}

/// Whether the three first groups are a calendar date (y-m-d, d.m.y, m/d/y).
fn date(num: &Number) -> bool {
    if num.g < 3 {
        return false;
    }
    let (Some(a), Some(b)) = (num.single_sep(1), num.single_sep(2)) else {
        return false;
    };
    if a != b || !matches!(a, b'-' | b'/' | b'.') {
        return false;
    }
    let (l0, l1, l2) = (num.group_len(0), num.group_len(1), num.group_len(2));
    let (v0, v1, v2) = (num.value(0), num.value(1), num.value(2));
    let md = |m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d);
    if l0 == 4 && l1 <= 2 && l2 <= 2 {
        return md(v1, v2);
    }
    if l0 <= 2 && l1 <= 2 && (l2 == 4 || l2 == 2) {
        return md(v1, v0) || md(v0, v1);
    }
    false
}

/// The word before `s` (skipping spaces and `:`, `.`, `(`, `#`), lower-cased, up to 12 bytes.
fn word_before(t: &[u8], s: usize) -> ([u8; 12], usize) {
    let mut e = s;
    while e > 0 && s - e < 4 && matches!(t[e - 1], b' ' | b':' | b'.' | b'(' | b'#') {
        e -= 1;
    }
    let mut b = e;
    while b > 0 && t[b - 1].is_ascii_alphabetic() && e - b < 12 {
        b -= 1;
    }
    let mut w = [0u8; 12];
    for (d, &c) in w.iter_mut().zip(&t[b..e]) {
        *d = c.to_ascii_lowercase();
    }
    (w, e - b)
}

fn after_version_word(t: &[u8], s: usize) -> bool {
    let (w, n) = word_before(t, s);
    matches!(
        &w[..n],
        b"version" | b"ver" | b"v" | b"release" | b"build" | b"firmware" | b"oid" | b"section"
    )
}

/// Whether a word that introduces a phone number comes right before `s`.
fn after_phone_word(t: &[u8], s: usize) -> bool {
    let (w, n) = word_before(t, s);
    matches!(
        &w[..n],
        b"tel"
            | b"phone"
            | b"call"
            | b"mobile"
            | b"cell"
            | b"fax"
            | b"ph"
            | b"telephone"
            | b"telefon"
            | b"telefono"
            | b"whatsapp"
            | b"sms"
    )
}

/// A phone number's shape (the digits and groups of an international or national number).
fn phone(t: &[u8], num: &Number) -> bool {
    let d = num.n;
    if date(num) || (num.g > 4 && num.all_seps(b'.')) {
        return false;
    }
    if !(7..=15).contains(&d) {
        return false;
    }
    let paren = num.paren();
    let x = num.digits();
    if num.g == 1 {
        // Bare digits: `+` international; a national number with its trunk 0 (9-11 digits);
        // a North American 10-digit number (area and exchange start 2-9); any after a word
        // such as "tel" or "call".
        return (num.plus && d >= 8)
            || (x[0] == b'0' && (9..=11).contains(&d) && x[1] != b'0')
            || (x[0] == b'0' && x[1] == b'0' && (10..=15).contains(&d))
            || (d == 10 && (b'2'..=b'9').contains(&x[0]) && (b'2'..=b'9').contains(&x[3]))
            || (d >= 8 && after_phone_word(t, num.start));
    }
    // A decimal or a lone dotted pair is no phone number.
    if num.g == 2 && num.all_seps(b'.') {
        return false;
    }
    if num.group_len(num.g - 1) < 2 {
        return false;
    }
    // Two groups without `+` or brackets: a postcode (`58601-137`) or a range of years
    // (`1979-1989`) is not one.
    let year = |g: usize| num.group_len(g) == 4 && (1000..2100).contains(&num.value(g));
    if num.g == 2 && !num.plus && !paren && (num.group_len(1) < 4 || (year(0) && year(1))) {
        return false;
    }
    // The US SSN layout is not a phone layout (an SSN that fails its rules is nothing).
    if num.g == 3 && num.group_len(0) == 3 && num.group_len(1) == 2 && num.group_len(2) == 4 {
        return false;
    }
    let singles = (0..num.g).filter(|&g| num.group_len(g) == 1).count();
    if singles > 2 {
        return false;
    }
    // Fractions and paths.
    if (1..num.g).any(|g| num.seps[g].contains(&b'/')) {
        return false;
    }
    num.plus || d >= 8 || (paren && d >= 7)
}

/// The compact IBAN starting at `s` (two capital letters then check digits), if it is one.
fn iban_at(t: &[u8], s: usize) -> Option<usize> {
    let len = validate::iban_length(&t[s..s + 2])?;
    let mut compact = [0u8; 34];
    let mut n = 0;
    let mut p = s;
    while p < t.len() && n < len {
        let b = t[p];
        if b.is_ascii_digit() || b.is_ascii_uppercase() {
            compact[n] = b;
            n += 1;
            p += 1;
        } else if b == b' ' && n.is_multiple_of(4) && p + 1 < t.len() && alnum(t[p + 1]) {
            p += 1;
        } else {
            break;
        }
    }
    (n == len && boundary_after(t, p) && validate::iban(&compact[..n])).then_some(p)
}

/// The first ASCII digit at or after `i`: eight bytes at a time (a byte `b` is a digit when
/// `b ^ 0x30 < 10`; the test for "some byte below 10" is exact for whether one exists).
fn next_digit(t: &[u8], mut i: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while i + 8 <= t.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&t[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ (ONES * 0x30);
        // Bytes >= 0x80 have their high bit set and are excluded by `!x`.
        if x.wrapping_sub(ONES * 10) & !x & HIGH != 0 {
            break;
        }
        i += 8;
    }
    t[i..].iter().position(u8::is_ascii_digit).map(|p| i + p)
}

pub(super) fn find(t: &[u8], out: &mut Vec<Finding>) {
    let mut i = 0;
    while let Some(d) = next_digit(t, i) {
        i = at(t, d, out).max(d + 1);
    }
}

/// Skips the word run (letters, digits, `_`) from `i`.
fn skip_word(t: &[u8], mut i: usize) -> usize {
    while i < t.len() && (alnum(t[i]) || t[i] == b'_') {
        i += 1;
    }
    i
}

/// Whether the byte at `i` joins a number to a word before it (`a4bc-7784`, `v1.2`, `x/12`).
fn joined_before(t: &[u8], i: usize) -> bool {
    i >= 2 && matches!(t[i - 1], b'-' | b'.' | b'/') && alnum(t[i - 2])
}

/// Whether a number ending at `e` is joined to a word after it (`7784-a4bc`).
fn joined_after(t: &[u8], e: usize) -> bool {
    e + 1 < t.len() && matches!(t[e], b'-' | b'.' | b'/') && t[e + 1].is_ascii_alphabetic()
}

/// Classifies the number whose first digit is at `i`; returns where to go on.
fn at(t: &[u8], i: usize, out: &mut Vec<Finding>) -> usize {
    if i >= 2
        && t[i - 2].is_ascii_uppercase()
        && t[i - 1].is_ascii_uppercase()
        && boundary_before(t, i - 2)
        && let Some(e) = iban_at(t, i - 2)
    {
        out.push(Finding {
            kind: Kind::Iban,
            start: i - 2,
            end: e,
        });
        return e;
    }
    if !boundary_before(t, i) || joined_before(t, i) {
        return skip_word(t, i);
    }
    let Some(num) = read(t, i) else {
        return skip_word(t, i);
    };
    // The whole number, then shorter ones cut where a separator holds a space (a number
    // followed by another: `SSN 536-22-1234 1999`): first as a checksum-backed kind, then as a
    // phone number.
    for phones in [false, true] {
        for g in (1..=num.g).rev() {
            if g < num.g && !num.seps[g].contains(&b' ') {
                continue;
            }
            let cand = num.prefix(g);
            let mut e = cand.end;
            let ext = g == num.g && e + 1 < t.len() && t[e] == b'x' && t[e + 1].is_ascii_digit();
            if g == num.g && ((!boundary_after(t, e) && !ext) || joined_after(t, e)) {
                continue;
            }
            let kind = if phones {
                phone(t, &cand).then_some(Kind::Phone)
            } else {
                checked(t, &cand)
            };
            let Some(kind) = kind else {
                continue;
            };
            if ext {
                if kind != Kind::Phone {
                    continue;
                }
                e = skip_word(t, e + 1);
                if !boundary_after(t, e) {
                    continue;
                }
            }
            let start = if kind == Kind::Phone { cand.start } else { i };
            out.push(Finding {
                kind,
                start,
                end: e,
            });
            return e;
        }
    }
    // Nothing: go on after the first space inside it, or after it.
    match (1..num.g).find(|&g| num.seps[g].contains(&b' ')) {
        Some(g) => num.pos[g].0,
        None => skip_word(t, num.end),
    }
}

/// The checksum-backed kinds: an IPv4 address, a US SSN, a payment card; None for dates and
/// dotted version numbers.
fn checked(t: &[u8], num: &Number) -> Option<Kind> {
    let d = num.n;
    let bare = !num.plus && !num.paren();
    if bare && num.g == 4 && num.all_seps(b'.') {
        let span = &t[num.start..num.end];
        return (validate::ipv4(span) && !after_version_word(t, num.start)).then_some(Kind::Ip);
    }
    if num.g > 4 && num.all_seps(b'.') {
        return None;
    }
    if date(num) {
        return None;
    }
    if bare && num.g == 3 && d == 9 && num.group_len(0) == 3 && num.group_len(1) == 2 {
        let s = num.single_sep(1);
        if s == num.single_sep(2) && matches!(s, Some(b'-' | b' ')) {
            return validate::ssn(num.value(0), num.value(1), num.value(2)).then_some(Kind::UsSsn);
        }
    }
    if bare && (12..=19).contains(&d) && card_grouping(num) {
        let x = num.digits();
        if validate::luhn(x) && validate::card_issuer(x) {
            return Some(Kind::PaymentCard);
        }
    }
    None
}

/// Card digits written as one run, in fours (the last group shorter), or 4-6-5 / 4-6-4.
fn card_grouping(num: &Number) -> bool {
    if num.g == 1 {
        return true;
    }
    let s = num.single_sep(1);
    if !matches!(s, Some(b' ' | b'-')) || !(1..num.g).all(|g| num.single_sep(g) == s) {
        return false;
    }
    let last = num.group_len(num.g - 1);
    let fours = (0..num.g - 1).all(|g| num.group_len(g) == 4) && (1..=4).contains(&last);
    let amex =
        num.g == 3 && num.group_len(0) == 4 && num.group_len(1) == 6 && (4..=5).contains(&last);
    fours || amex
}
