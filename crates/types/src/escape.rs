//! Showing peer-chosen bytes safely.

use core::fmt;

/// Shows bytes as text with everything that could mislead a reader escaped: printable UTF-8
/// stays as it is; `\` becomes `\\`; control characters (newline, escape, …), DEL and bytes that
/// are not UTF-8 become `\xNN`. The result is one line that cannot forge a log entry or move a
/// terminal's cursor.
///
/// ```
/// use wifiprov_types::Escaped;
/// assert_eq!(Escaped(b"Caf\xc3\xa9").to_string(), "Café");
/// assert_eq!(Escaped(b"a\nb\x1b[2J\xff").to_string(), "a\\x0ab\\x1b[2J\\xff");
/// ```
#[derive(Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c == '\\' {
                    f.write_str("\\\\")?;
                } else if c.is_control() {
                    // Every control character is at most U+009F; two hex digits do not suffice
                    // only for the C1 range, which is written as its UTF-8 bytes.
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        write!(f, "\\x{b:02x}")?;
                    }
                } else {
                    fmt::Write::write_char(f, c)?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn escapes_what_could_mislead() {
        assert_eq!(Escaped(b"plain").to_string(), "plain");
        assert_eq!(Escaped(b"back\\slash").to_string(), "back\\\\slash");
        assert_eq!(Escaped(b"\r\n\t\x7f").to_string(), "\\x0d\\x0a\\x09\\x7f");
        assert_eq!(Escaped("\u{85}".as_bytes()).to_string(), "\\xc2\\x85");
        assert_eq!(Escaped(b"\xe2\x82").to_string(), "\\xe2\\x82");
        assert_eq!(Escaped(b"x\"y").to_string(), "x\"y");
        assert_eq!(alloc::format!("{:?}", Escaped(b"a\n")), "\"a\\x0a\"");
    }

    proptest::proptest! {
        #[test]
        fn output_is_one_printable_line(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let shown = Escaped(&bytes).to_string();
            proptest::prop_assert!(!shown.chars().any(char::is_control), "{shown:?}");
        }
    }
}
