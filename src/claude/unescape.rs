//! JSON string unescaping into a `String` of exactly the right size, in one pass.
//!
//! serde_json decodes an escaped string into a reusable scratch buffer and then copies it into
//! the `String` it hands out; for a 200 MB answer that is a third copy beside the line and the
//! result. Here the raw JSON text of the string (borrowed from the line, already validated by
//! serde_json) is decoded straight into its final allocation.

use serde_json::value::RawValue;

/// The string a raw JSON value holds; `None` when the value is not a string.
pub fn json_string(raw: &RawValue) -> Option<String> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

/// Decodes the escapes of a JSON string body (without its quotes). Input that serde_json
/// accepted decodes exactly as serde_json would; an escape it should not have let through
/// (a lone surrogate) becomes U+FFFD rather than an error.
pub fn unescape(body: &str) -> String {
    let bytes = body.as_bytes();
    let Some(first) = memchr::memchr(b'\\', bytes) else {
        return body.to_owned();
    };
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..first]);
    let mut i = first;
    while i < bytes.len() {
        // `i` is at a backslash.
        let Some(&esc) = bytes.get(i + 1) else {
            out.push('\u{FFFD}');
            break;
        };
        i += 2;
        match esc {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let (c, used) = unicode_escape(&bytes[i..]);
                out.push(c);
                i += used;
            }
            _ => out.push('\u{FFFD}'),
        }
        // Copy the run up to the next backslash in one go.
        let next = memchr::memchr(b'\\', &bytes[i..]).map_or(bytes.len(), |n| i + n);
        out.push_str(&body[i..next]);
        i = next;
    }
    out
}

/// Decodes `XXXX` (after `\u`), and a following `\uXXXX` when the first is a high surrogate.
/// Returns the character and how many bytes it used.
fn unicode_escape(rest: &[u8]) -> (char, usize) {
    let Some(hi) = hex4(rest) else {
        return ('\u{FFFD}', 0);
    };
    if !(0xD800..0xDC00).contains(&hi) {
        return (char::from_u32(hi).unwrap_or('\u{FFFD}'), 4);
    }
    // A high surrogate must be followed by `\u` and a low one.
    if rest.get(4..6) == Some(b"\\u")
        && let Some(lo) = rest.get(6..).and_then(hex4)
        && (0xDC00..0xE000).contains(&lo)
    {
        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
        return (char::from_u32(c).unwrap_or('\u{FFFD}'), 10);
    }
    ('\u{FFFD}', 4)
}

fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    let mut n = 0u32;
    for &d in digits {
        n = n * 16 + (d as char).to_digit(16)?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn every_escape_decodes_like_serde_json() {
        let json = r#""a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\u20ac\ud83d\ude00 end""#;
        let ours = json_string(&raw(json)).unwrap();
        let theirs: String = serde_json::from_str(json).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(json_string(&raw(r#""plain""#)).as_deref(), Some("plain"));
        assert_eq!(json_string(&raw("42")), None);
        assert_eq!(json_string(&raw("null")), None);
    }

    #[test]
    fn a_lone_surrogate_becomes_a_replacement_character() {
        assert_eq!(unescape(r"x\ud800y"), "x\u{FFFD}y");
        assert_eq!(unescape(r"\udc00"), "\u{FFFD}");
        assert_eq!(unescape(r"\ud800\u0041"), "\u{FFFD}A");
        assert_eq!(unescape("trailing\\"), "trailing\u{FFFD}");
    }

    proptest! {
        /// Any string, serialized by serde_json (which escapes quotes, backslashes, controls),
        /// comes back identical.
        #[test]
        fn round_trips_what_serde_json_writes(s in any::<String>()) {
            let json = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(json_string(&raw(&json)).unwrap(), s);
        }

        /// Escapes serde_json never writes itself (`\/`, `\uXXXX` for anything, surrogate
        /// pairs) decode as serde_json decodes them.
        #[test]
        fn decodes_every_escape_serde_json_accepts(chars in proptest::collection::vec(any::<char>(), 0..40), style in 0u8..3) {
            let mut json = String::from("\"");
            for c in &chars {
                match style {
                    0 => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            json.push_str(&format!("\\u{u:04x}"));
                        }
                    }
                    1 if *c == '/' => json.push_str("\\/"),
                    _ => {
                        let quoted = serde_json::to_string(&c.to_string()).unwrap();
                        json.push_str(&quoted[1..quoted.len() - 1]);
                    }
                }
            }
            json.push('"');
            let theirs: String = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(json_string(&raw(&json)).unwrap(), theirs);
        }
    }
}
