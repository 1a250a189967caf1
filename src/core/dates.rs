//! Dates in metadata: ISO-8601 dates and date-times read as seconds since 1970-01-01 00:00 UTC
//! (the metadata filter's date charts, drift splits by date), and written back.

/// An ISO-8601 date or date-time as seconds since 1970-01-01 00:00 UTC: `YYYY-MM`,
/// `YYYY-MM-DD`, then optionally `T` (or `t` or a space) `HH:MM`, `:SS`, a fraction (`.` or
/// `,` and digits), and a zone (`Z`, `±HH`, `±HHMM`, `±HH:MM`; none means UTC). Surrounding
/// blanks are ignored. Calendar checked (month lengths, leap years); years 0000-9999.
pub fn parse_datetime(s: &str) -> Option<f64> {
    let s = s.trim().as_bytes();
    let mut p = Cursor { s, at: 0 };
    let year = p.digits(4)?;
    p.byte(b'-')?;
    let month = p.digits(2)?;
    let day = if p.at == s.len() {
        1
    } else {
        p.byte(b'-')?;
        p.digits(2)?
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) as f64 * 86_400.0;
    if p.at == s.len() {
        return Some(secs);
    }
    if !matches!(p.next()?, b'T' | b't' | b' ') {
        return None;
    }
    let hour = p.digits(2)?;
    p.byte(b':')?;
    let minute = p.digits(2)?;
    let mut second = 0.0;
    if p.peek() == Some(b':') {
        p.at += 1;
        second = p.digits(2)? as f64;
        if matches!(p.peek(), Some(b'.' | b',')) {
            p.at += 1;
            let start = p.at;
            let mut scale = 0.1;
            while let Some(d) = p.peek().filter(u8::is_ascii_digit) {
                second += f64::from(d - b'0') * scale;
                scale /= 10.0;
                p.at += 1;
            }
            if p.at == start {
                return None;
            }
        }
    }
    if hour > 23 || minute > 59 || second >= 60.0 {
        return None;
    }
    secs += (hour * 3600 + minute * 60) as f64 + second;
    match p.next() {
        None => Some(secs),
        Some(b'Z' | b'z') if p.at == s.len() => Some(secs),
        Some(sign @ (b'+' | b'-')) => {
            let oh = p.digits(2)?;
            let om = match p.peek() {
                None => 0,
                Some(b':') => {
                    p.at += 1;
                    p.digits(2)?
                }
                Some(_) => p.digits(2)?,
            };
            if p.at != s.len() || oh > 23 || om > 59 {
                return None;
            }
            let offset = (oh * 3600 + om * 60) as f64;
            Some(if sign == b'+' {
                secs - offset
            } else {
                secs + offset
            })
        }
        Some(_) => None,
    }
}

/// Seconds since the epoch as `YYYY-MM-DD`, or `YYYY-MM-DD HH:MM` when `with_time` (UTC).
pub fn format_datetime(secs: f64, with_time: bool) -> String {
    if !secs.is_finite() {
        return String::new();
    }
    let total = secs.floor() as i64;
    let days = total.div_euclid(86_400);
    let in_day = total.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if with_time {
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}",
            in_day / 3600,
            (in_day % 3600) / 60
        )
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn byte(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let ds = self.s.get(self.at..self.at + n)?;
        if !ds.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.at += n;
        Some(ds.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date: counted in 400-year eras of 146,097
/// days, with years starting in March so that the leap day ends the year.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (m + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let d = day_of_year - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = year_of_era + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
