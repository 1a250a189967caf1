//! URLs that carry credentials (`user:password@` in the authority, or a token, key, secret,
//! password or signature in the query) and IPv6 addresses (anchored on `:`).

use super::{Finding, Kind, boundary_after, boundary_before, validate};

/// Query parameter names whose values are credentials (compared in lower case, `-` as `_`).
const SECRET_PARAMS: &[&[u8]] = &[
    b"token",
    b"access_token",
    b"refresh_token",
    b"id_token",
    b"auth",
    b"auth_token",
    b"api_key",
    b"apikey",
    b"key",
    b"secret",
    b"client_secret",
    b"password",
    b"passwd",
    b"pwd",
    b"pass",
    b"sig",
    b"signature",
    b"x_amz_signature",
    b"x_amz_credential",
    b"x_amz_security_token",
    b"session",
    b"sessionid",
    b"session_id",
    b"private_token",
];

#[inline]
fn url_char(b: u8) -> bool {
    b > b' ' && b < 0x7f && !matches!(b, b'"' | b'<' | b'>' | b'`' | b'\\' | b'{' | b'}' | b'|')
}

fn secret_param(name: &[u8]) -> bool {
    if name.len() > 24 {
        return false;
    }
    let mut buf = [0u8; 24];
    for (d, &b) in buf.iter_mut().zip(name) {
        *d = if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        };
    }
    SECRET_PARAMS.contains(&&buf[..name.len()])
}

pub(super) fn find_urls(t: &[u8], out: &mut Vec<Finding>) {
    let finder = memchr::memmem::Finder::new(b"://");
    let mut next = 0;
    for at in finder.find_iter(t) {
        if at < next {
            continue;
        }
        // The scheme: a letter then letters, digits, `+`, `-`, `.`.
        let mut s = at;
        while s > 0 && (t[s - 1].is_ascii_alphanumeric() || matches!(t[s - 1], b'+' | b'-' | b'.'))
        {
            s -= 1;
        }
        while s < at && !t[s].is_ascii_alphabetic() {
            s += 1;
        }
        if at - s < 2 || !boundary_before(t, s) {
            continue;
        }
        let body = at + 3;
        let mut e = body;
        while e < t.len() && url_char(t[e]) && e - s < 8192 {
            e += 1;
        }
        while e > body && matches!(t[e - 1], b'.' | b',' | b';' | b'!' | b'?' | b')' | b'\'') {
            e -= 1;
        }
        let url = &t[body..e];
        let auth_end = url
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(url.len());
        let authority = &url[..auth_end];
        let creds = match memchr::memrchr(b'@', authority) {
            Some(a) => {
                let user_info = &authority[..a];
                matches!(memchr::memchr(b':', user_info), Some(c) if c + 1 < user_info.len())
                    && a + 1 < authority.len()
            }
            None => false,
        };
        let token = !creds
            && url[auth_end..]
                .iter()
                .position(|&b| b == b'?')
                .is_some_and(|q| {
                    let query = &url[auth_end + q + 1..];
                    let query = query.split(|&b| b == b'#').next().unwrap_or_default();
                    query.split(|&b| b == b'&' || b == b';').any(|pair| {
                        match memchr::memchr(b'=', pair) {
                            Some(eq) => secret_param(&pair[..eq]) && pair.len() - eq > 4,
                            None => false,
                        }
                    })
                });
        if creds || token {
            out.push(Finding {
                kind: Kind::UrlCredentials,
                start: s,
                end: e,
            });
            next = e;
        }
    }
}

#[inline]
fn v6_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

pub(super) fn find_ipv6(t: &[u8], out: &mut Vec<Finding>) {
    let mut next = 0;
    for c in memchr::memchr_iter(b':', t) {
        if c < next {
            continue;
        }
        let mut s = c;
        while s > 0 && v6_char(t[s - 1]) && c - s < 40 {
            s -= 1;
        }
        let mut e = c + 1;
        while e < t.len() && v6_char(t[e]) && e - s < 45 {
            e += 1;
        }
        next = e;
        while e > s && t[e - 1] == b'.' {
            e -= 1;
        }
        while s < e && t[s] == b'.' {
            s += 1;
        }
        // `addr: text`: one colon that ends the span is punctuation.
        if e - s > 2 && t[e - 1] == b':' && t[e - 2] != b':' {
            e -= 1;
        }
        if e - s < 6 || !boundary_before(t, s) || !boundary_after(t, e) {
            continue;
        }
        if validate::ipv6(&t[s..e]) {
            out.push(Finding {
                kind: Kind::Ip,
                start: s,
                end: e,
            });
        }
    }
}
