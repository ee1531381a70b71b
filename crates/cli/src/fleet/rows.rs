//! Reading the fleet CSV: one device per row, empty cells taken from the command line.

use std::fmt;
use std::path::Path;

use protocomm::Secret;
use wifiprov_device::files;

/// The columns a fleet CSV may have, in their usual order.
pub const COLUMNS: [&str; 8] = [
    "service_name",
    "transport",
    "sec_ver",
    "pop",
    "sec2_username",
    "sec2_pwd",
    "ssid",
    "passphrase",
];

/// The most problems reported for one file before giving up on listing them.
const MAX_PROBLEMS: usize = 20;

/// The largest fleet file read, in bytes (a line per device; a million devices fit).
pub const MAX_FILE_LEN: u64 = 64 * 1024 * 1024;

/// Transports fleet mode can drive.
const HTTP_TRANSPORTS: [&str; 3] = ["softap", "httpd", "http"];

/// Values used for cells left empty (from the `provision` flags).
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// `--transport`; `softap` when absent.
    pub transport: Option<String>,
    /// `--sec_ver`; `None` means "as the device's proto-ver says".
    pub sec_ver: Option<u8>,
    /// `--pop`.
    pub pop: Option<Secret>,
    /// `--sec2_username`.
    pub sec2_username: Option<String>,
    /// `--sec2_pwd`.
    pub sec2_pwd: Option<Secret>,
    /// `--ssid`.
    pub ssid: Option<String>,
    /// `--passphrase`.
    pub passphrase: Option<Secret>,
}

/// One device to provision, with the defaults applied.
#[derive(Clone)]
pub struct Row {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    /// `host:port` of the device's HTTP server.
    pub service_name: String,
    /// The transport, lower case (`softap`, `httpd`, or one fleet mode cannot drive).
    pub transport: String,
    /// The security scheme, or `None` to follow the device.
    pub sec_ver: Option<u8>,
    /// Proof of possession.
    pub pop: Option<Secret>,
    /// SRP username.
    pub sec2_username: Option<String>,
    /// SRP password.
    pub sec2_pwd: Option<Secret>,
    /// The network to join.
    pub ssid: String,
    /// Its passphrase (empty for open networks, which must be asked for explicitly).
    pub passphrase: Secret,
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets are Secret (redacted) already; list the rest plainly.
        f.debug_struct("Row")
            .field("line", &self.line)
            .field("service_name", &self.service_name)
            .field("transport", &self.transport)
            .field("sec_ver", &self.sec_ver)
            .field("ssid", &self.ssid)
            .finish_non_exhaustive()
    }
}

impl Row {
    /// Whether fleet mode can reach the device over this row's transport.
    pub fn uses_http(&self) -> bool {
        HTTP_TRANSPORTS.contains(&self.transport.as_str())
    }
}

/// What is wrong with a fleet file: every problem found (up to a limit), each naming its
/// line and, where it applies, its column.
#[derive(Debug)]
pub struct CsvError {
    /// One message per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for CsvError {}

/// Collects problems, each prefixed with the file name.
struct Problems<'a> {
    file: &'a str,
    list: Vec<String>,
}

impl Problems<'_> {
    fn at(&mut self, line: u64, column: Option<(usize, &str)>, problem: impl fmt::Display) {
        if self.list.len() >= MAX_PROBLEMS {
            return;
        }
        let place = match column {
            Some((index, name)) => format!("line {line}, column {} ({name})", index + 1),
            None => format!("line {line}"),
        };
        self.list.push(format!("{}: {place}: {problem}", self.file));
        if self.list.len() == MAX_PROBLEMS {
            self.list
                .push(format!("{}: (further problems not listed)", self.file));
        }
    }
}

/// Where each known column sits in the header.
#[derive(Default)]
struct Layout {
    positions: [Option<usize>; COLUMNS.len()],
    /// The header's names, as written.
    names: Vec<String>,
}

impl Layout {
    fn index_of(&self, name: &str) -> Option<usize> {
        let slot = COLUMNS.iter().position(|c| *c == name)?;
        self.positions.get(slot).copied().flatten()
    }

    /// The header's name of column `index` (0-based).
    fn name_of(&self, index: usize) -> &str {
        self.names.get(index).map_or("?", String::as_str)
    }
}

/// Reads and checks a fleet file. Nothing is contacted if anything is wrong.
pub fn read(path: &Path, defaults: &Defaults) -> Result<Vec<Row>, CsvError> {
    let file = path.display().to_string();
    let text = files::read_input_bounded(path, MAX_FILE_LEN).map_err(|e| CsvError {
        problems: vec![format!("cannot read {file}: {e}")],
    })?;
    parse(&file, &text, defaults)
}

/// The 1-based line where the record at `position` starts in `text`.
///
/// The parser's line count ignores blank lines, and its byte offset points at any blank
/// lines before the record; so the line is counted here, past those blank lines.
fn line_at(text: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else {
        return 0;
    };
    let mut offset = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    while let Some(b'\r' | b'\n') = text.get(offset) {
        offset = offset.saturating_add(1);
    }
    let before = text.get(..offset).unwrap_or(text);
    let newlines = before.iter().filter(|b| **b == b'\n').count();
    u64::try_from(newlines)
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// Parses fleet CSV `text`; `file` names it in messages.
pub fn parse(file: &str, text: &[u8], defaults: &Defaults) -> Result<Vec<Row>, CsvError> {
    let mut problems = Problems {
        file,
        list: Vec::new(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text);
    let layout = match reader.headers() {
        Ok(header) => header_layout(header, &mut problems),
        Err(e) => {
            report_csv_error(&e, text, &Layout::default(), &mut problems);
            Layout::default()
        }
    };
    if layout.index_of("service_name").is_none() && problems.list.is_empty() {
        problems.at(
            1,
            None,
            "the header has no service_name column (the first row must name the columns, \
             e.g. service_name,ssid,passphrase)",
        );
    }
    if !problems.list.is_empty() {
        return Err(CsvError {
            problems: problems.list,
        });
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_at(text, record.position());
                if let Some(row) = build_row(line, &record, &layout, defaults, &mut problems) {
                    rows.push(row);
                }
            }
            Err(e) => {
                let fatal = !matches!(
                    e.kind(),
                    csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
                );
                report_csv_error(&e, text, &layout, &mut problems);
                if fatal {
                    break;
                }
            }
        }
    }
    if rows.is_empty() && problems.list.is_empty() {
        problems.at(1, None, "no devices: the file has a header but no rows");
    }
    if problems.list.is_empty() {
        Ok(rows)
    } else {
        Err(CsvError {
            problems: problems.list,
        })
    }
}

/// Maps header names to columns, reporting unknown and repeated names.
fn header_layout(header: &csv::StringRecord, problems: &mut Problems<'_>) -> Layout {
    let mut layout = Layout {
        names: header.iter().map(|name| name.trim().to_owned()).collect(),
        ..Layout::default()
    };
    for (index, raw) in header.iter().enumerate() {
        let name = raw.trim().to_ascii_lowercase().replace('-', "_");
        let Some(slot) = COLUMNS.iter().position(|c| *c == name) else {
            problems.at(
                1,
                Some((index, raw.trim())),
                format_args!("unknown column; expected some of {}", COLUMNS.join(", ")),
            );
            continue;
        };
        match layout.positions.get_mut(slot) {
            Some(Some(_)) => problems.at(1, Some((index, raw.trim())), "the column is repeated"),
            Some(position) => *position = Some(index),
            None => {}
        }
    }
    layout
}

/// Turns a parser error into a problem naming the line (and column, when known).
fn report_csv_error(error: &csv::Error, text: &[u8], layout: &Layout, problems: &mut Problems<'_>) {
    let line = line_at(text, error.position());
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => problems.at(
            line,
            None,
            format_args!("{len} cells, but the header has {expected_len} columns"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => problems.at(
            line,
            Some((err.field(), layout.name_of(err.field()))),
            "the cell is not valid UTF-8",
        ),
        csv::ErrorKind::Io(e) => problems.at(line, None, format_args!("cannot read: {e}")),
        _ => problems.at(line, None, "unreadable CSV"),
    }
}

/// One data row, with empty cells taken from the defaults; `None` (and a problem) when the
/// row is unusable.
fn build_row(
    line: u64,
    record: &csv::StringRecord,
    layout: &Layout,
    defaults: &Defaults,
    problems: &mut Problems<'_>,
) -> Option<Row> {
    // A cell, or None when the column is absent or the cell empty.
    let cell = |name: &'static str| -> Option<(usize, &str)> {
        let index = layout.index_of(name)?;
        record
            .get(index)
            .filter(|value| !value.is_empty())
            .map(|value| (index, value))
    };
    let before = problems.list.len();

    let service_name = match cell("service_name").map(|(i, v)| (i, v.trim())) {
        Some((_, name)) if !name.is_empty() => name.to_owned(),
        found => {
            let index =
                found.map_or_else(|| layout.index_of("service_name").unwrap_or(0), |(i, _)| i);
            problems.at(
                line,
                Some((index, "service_name")),
                "empty: give the device's host:port",
            );
            String::new()
        }
    };
    let transport = match cell("transport") {
        Some((_, value)) if !value.trim().is_empty() => value.trim().to_ascii_lowercase(),
        _ => defaults
            .transport
            .as_deref()
            .unwrap_or("softap")
            .to_ascii_lowercase(),
    };
    let sec_ver = match cell("sec_ver") {
        Some((index, value)) if !value.trim().is_empty() => match value.trim() {
            "0" => Some(0),
            "1" => Some(1),
            "2" => Some(2),
            other => {
                problems.at(
                    line,
                    Some((index, "sec_ver")),
                    format_args!(
                        "{other:?} is not a security scheme (0, 1 or 2; empty follows the device)"
                    ),
                );
                None
            }
        },
        _ => defaults.sec_ver,
    };
    let secret = |name: &'static str, fallback: &Option<Secret>| {
        cell(name).map_or_else(|| fallback.clone(), |(_, v)| Some(Secret::from(v)))
    };
    let pop = secret("pop", &defaults.pop);
    let sec2_pwd = secret("sec2_pwd", &defaults.sec2_pwd);
    let passphrase = secret("passphrase", &defaults.passphrase).unwrap_or_else(|| {
        // An open network is asked for explicitly (`--passphrase ''`), as in single mode.
        let index = layout.index_of("passphrase");
        problems.at(
            line,
            index.map(|i| (i, "passphrase")),
            "no passphrase: fill the passphrase cell or pass --passphrase ('' for an open \
             network)",
        );
        Secret::from("")
    });
    let sec2_username = cell("sec2_username")
        .map(|(_, v)| v.to_owned())
        .or_else(|| defaults.sec2_username.clone());
    let ssid = match cell("ssid") {
        Some((_, value)) => value.to_owned(),
        None => match &defaults.ssid {
            Some(ssid) if !ssid.is_empty() => ssid.clone(),
            _ => {
                let index = layout.index_of("ssid");
                problems.at(
                    line,
                    index.map(|i| (i, "ssid")),
                    "no SSID: fill the ssid cell or pass --ssid",
                );
                String::new()
            }
        },
    };
    if problems.list.len() > before {
        return None;
    }
    Some(Row {
        line,
        service_name,
        transport,
        sec_ver,
        pop,
        sec2_username,
        sec2_pwd,
        ssid,
        passphrase,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    fn rows(text: &str, defaults: &Defaults) -> Result<Vec<Row>, CsvError> {
        parse("devices.csv", text.as_bytes(), defaults)
    }

    /// Defaults giving only an (open network's) empty passphrase.
    fn open_network() -> Defaults {
        Defaults {
            passphrase: Some(Secret::from("")),
            ..Defaults::default()
        }
    }

    #[test]
    fn empty_cells_take_the_defaults() {
        let defaults = Defaults {
            ssid: Some("HomeNet".into()),
            passphrase: Some(Secret::from("correct-horse")),
            pop: Some(Secret::from("abcd1234")),
            ..Defaults::default()
        };
        let list = rows(
            "service_name,sec_ver,pop,ssid,passphrase\n\
             10.0.0.1:80,,,,\n\
             \n\
             10.0.0.2:80,1,other-pop,Guest, spaced \n",
            &defaults,
        )
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].line, 2);
        assert_eq!(list[0].transport, "softap");
        assert_eq!(list[0].sec_ver, None);
        assert_eq!(list[0].ssid, "HomeNet");
        assert_eq!(list[0].passphrase.expose(), b"correct-horse");
        assert_eq!(list[0].pop.as_ref().unwrap().expose(), b"abcd1234");
        assert_eq!(list[1].line, 4);
        assert_eq!(list[1].sec_ver, Some(1));
        assert_eq!(list[1].ssid, "Guest");
        // Secrets are taken byte for byte, spaces included.
        assert_eq!(list[1].passphrase.expose(), b" spaced ");
        assert_eq!(list[1].pop.as_ref().unwrap().expose(), b"other-pop");
    }

    #[test]
    fn problems_name_line_and_column() {
        let err = rows(
            "service_name,sec_ver,ssid\n\
             10.0.0.1:80,3,HomeNet\n\
             ,1,HomeNet\n\
             10.0.0.3:80,1\n\
             10.0.0.4:80,,\n\
             \n\
             \"10.0.0.5:80\",1,\"Home\nNet\"\n\
             10.0.0.6:80,x,HomeNet\n",
            &open_network(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(
                "devices.csv: line 2, column 2 (sec_ver): \"3\" is not a security scheme"
            ),
            "{text}"
        );
        assert!(
            text.contains("line 3, column 1 (service_name): empty"),
            "{text}"
        );
        assert!(
            text.contains("line 4: 2 cells, but the header has 3 columns"),
            "{text}"
        );
        assert!(text.contains("line 5, column 3 (ssid): no SSID"), "{text}");
        // Blank lines and line breaks inside quoted cells count.
        assert!(text.contains("line 9, column 2 (sec_ver): \"x\""), "{text}");
        let list = rows(
            "service_name,ssid\n\n\n10.0.0.1:80,\"Home\nNet\"\r\n\r\n10.0.0.2:80,N\n",
            &open_network(),
        )
        .unwrap();
        assert_eq!((list[0].line, list[1].line), (4, 7));
    }

    #[test]
    fn a_passphrase_must_be_given_somewhere() {
        let err = rows(
            "service_name,ssid,passphrase\n1.2.3.4:80,N,\n",
            &Defaults::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 2, column 3 (passphrase): no passphrase"),
            "{err}"
        );
        let list = rows("service_name,ssid\n1.2.3.4:80,N\n", &open_network()).unwrap();
        assert!(list[0].passphrase.is_empty());
    }

    #[test]
    fn headers_are_checked() {
        let err = rows("service_name,pasphrase\n1.2.3.4:80,x\n", &open_network())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1, column 2 (pasphrase): unknown column"),
            "{err}"
        );
        let err = rows("ssid\nHomeNet\n", &open_network())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no service_name column"), "{err}");
        let err = rows("service_name,ssid,SSID\n", &open_network())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("column 3 (SSID): the column is repeated"),
            "{err}"
        );
        let err = rows("service_name\n", &open_network())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no devices"), "{err}");
    }

    #[test]
    fn spreadsheet_exports_are_read() {
        // A UTF-8 byte order mark and CRLF line ends, as spreadsheets write them.
        let list = rows(
            "\u{feff}Service_Name,SSID\r\n10.0.0.1:80,HomeNet\r\n",
            &open_network(),
        )
        .unwrap();
        assert_eq!(list[0].service_name, "10.0.0.1:80");
        assert_eq!(list[0].ssid, "HomeNet");
        assert_eq!(list[0].line, 2);
    }

    #[test]
    fn transports_are_normalised() {
        let list = rows(
            "service_name,transport,ssid\n1.2.3.4:80,SoftAP,N\n1.2.3.5:80,ble,N\n",
            &open_network(),
        )
        .unwrap();
        assert!(list[0].uses_http());
        assert_eq!(list[1].transport, "ble");
        assert!(!list[1].uses_http());
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let list = rows(
            "service_name,pop,ssid,passphrase\n1.2.3.4:80,pop-secret,N,pass-secret\n",
            &open_network(),
        )
        .unwrap();
        let debug = format!("{:?}", list[0]);
        assert!(
            !debug.contains("pop-secret") && !debug.contains("pass-secret"),
            "{debug}"
        );
    }

    #[test]
    fn an_endless_file_is_refused_at_the_size_limit() {
        let e = read(Path::new("/dev/zero"), &open_network()).unwrap_err();
        assert_eq!(
            e.problems,
            [format!(
                "cannot read /dev/zero: /dev/zero is larger than {MAX_FILE_LEN} bytes; \
                 refusing to read it"
            )]
        );
    }
}
