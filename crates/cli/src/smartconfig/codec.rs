//! `wifiprov smartconfig encode` and `decode`.

use std::io::BufRead;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use smartconfig::net::encode_schedule;
use smartconfig::{Observation, ScType};

use super::{MessageArgs, decoded_json, open_input};
use crate::exit::{Exit, ExitContext};
use crate::output::{out, outln};

/// `wifiprov smartconfig encode` flags.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    #[command(flatten)]
    message: MessageArgs,
    /// ESPTouch v1: the phone address to encode.
    #[arg(long, value_name = "IPV4", default_value = "192.168.1.2")]
    phone_ip: Ipv4Addr,
    /// ESPTouch v2: the port mark to encode (0..=3).
    #[arg(long, value_name = "0..3", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3))]
    port_mark: u8,
    /// Print one JSON object (lengths, pauses, count, duration) instead of one length per line.
    #[arg(long)]
    json: bool,
}

/// `wifiprov smartconfig decode` flags.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// File with one observed length per line, optionally preceded by source and destination
    /// columns ("LEN" or "SOURCE DESTINATION LEN"); `-` reads standard input. Blank lines and
    /// lines starting with # are skipped.
    #[arg(long, value_name = "FILE|-")]
    lengths: PathBuf,
    /// What to look for: esptouch, airkiss, esptouch-airkiss or esptouch-v2 [default: all].
    #[arg(long = "type", value_name = "TYPE", value_parser = super::parse_type)]
    sc_type: Option<ScType>,
    #[command(flatten)]
    key: super::ReceiverKey,
    /// Print the result as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Include the passphrase in the output.
    #[arg(long = "show-passphrase", alias = "show-password")]
    show_password: bool,
}

/// Runs `encode`.
pub fn encode(args: EncodeArgs) -> Result<Exit> {
    let request = args.message.request()?;
    let schedule = encode_schedule(&request, args.port_mark, args.phone_ip)?;
    if args.json {
        let lengths: Vec<u16> = schedule.iter().map(|t| t.length).collect();
        let gaps: Vec<u32> = schedule.iter().map(|t| t.gap_us).collect();
        let duration_us: u64 = gaps.iter().map(|g| u64::from(*g)).sum();
        let out = serde_json::json!({
            "protocol": request.protocol.name(),
            "datagrams": lengths.len(),
            "duration_us": duration_us,
            "lengths": lengths,
            "gaps_us": gaps,
        });
        outln!("{out}")?;
    } else {
        let mut text = String::with_capacity(schedule.len() * 5);
        for t in &schedule {
            text.push_str(&t.length.to_string());
            text.push('\n');
        }
        out!("{text}")?;
    }
    Ok(Exit::Ok)
}

/// Runs `decode`.
pub fn decode(args: DecodeArgs) -> Result<Exit> {
    let input = open_input(&args.lengths)?;
    let observations = parse_lengths(input)
        .with_context(|| format!("{}", args.lengths.display()))
        .exit(Exit::Config)?;
    let key = args.key.bytes()?;
    let types = match args.sc_type {
        Some(t) => vec![t],
        None => vec![ScType::EspTouchAirKiss, ScType::EspTouchV2],
    };
    let outcome = smartconfig::net::decode_observations(&observations, &types, key.as_ref());
    let read = observations.len();
    match outcome {
        Ok(received) => {
            let decoded = &received.decoded;
            if args.json {
                let mut out = decoded_json(&received, args.show_password);
                if let Some(obj) = out.as_object_mut() {
                    obj.insert("decoded".into(), true.into());
                    obj.insert("lengths_read".into(), read.into());
                }
                outln!("{out}")?;
            } else {
                let ssid = format!("{:?}", String::from_utf8_lossy(received.ssid()));
                outln!("protocol: {}", decoded.protocol.name())?;
                outln!("ssid: {ssid}")?;
                if args.show_password {
                    outln!(
                        "password: {:?}",
                        String::from_utf8_lossy(decoded.password.expose())
                    )?;
                } else {
                    outln!("password: ({} bytes, redacted)", decoded.password.len())?;
                }
                if let Some(b) = received.bssid {
                    outln!("bssid: {}", super::mac_text(b))?;
                }
                if !decoded.reserved.is_empty() {
                    outln!("reserved: {}", hex::encode(&decoded.reserved))?;
                }
                outln!("offset: {}", decoded.offset)?;
            }
            Ok(Exit::Ok)
        }
        Err(reason) => {
            if args.json {
                let out = serde_json::json!({
                    "decoded": false,
                    "reason": reason,
                    "lengths_read": read,
                });
                outln!("{out}")?;
            } else {
                eprintln!("nothing decoded: {reason}");
            }
            Ok(Exit::NothingReceived)
        }
    }
}

/// The most lengths `decode` reads (a SmartConfig run of minutes is tens of thousands).
pub const MAX_LENGTHS: usize = 1_000_000;
/// The longest line `decode` reads, in bytes (two MAC addresses and a length need ~40).
pub const MAX_LINE_LEN: usize = 256;
/// The most bytes `decode` reads, comments and blank lines included.
pub const MAX_INPUT_LEN: u64 = 64 * 1024 * 1024;

/// Reads "LEN" or "SOURCE DESTINATION LEN" lines (whitespace or commas between columns),
/// streaming: at most [`MAX_LENGTHS`] lengths, lines of at most [`MAX_LINE_LEN`] bytes and
/// [`MAX_INPUT_LEN`] bytes in all, so an endless input (`/dev/zero`, a pipe that never
/// closes with data) ends in an error instead of filling memory.
fn parse_lengths(input: impl std::io::BufRead) -> Result<Vec<Observation>> {
    parse_lengths_within(input, MAX_LENGTHS, MAX_INPUT_LEN)
}

/// [`parse_lengths`] with the count and size limits given.
fn parse_lengths_within(
    mut input: impl std::io::BufRead,
    max_lengths: usize,
    max_input_len: u64,
) -> Result<Vec<Observation>> {
    let mut out = Vec::new();
    let mut raw = Vec::with_capacity(MAX_LINE_LEN + 1);
    let mut total: u64 = 0;
    let mut number: usize = 0;
    loop {
        raw.clear();
        let limit = u64::try_from(MAX_LINE_LEN).unwrap_or(u64::MAX) + 1;
        let n = std::io::Read::take(&mut input, limit)
            .read_until(b'\n', &mut raw)
            .context("cannot read the input")?;
        if n == 0 {
            break;
        }
        number += 1;
        total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        if total > max_input_len {
            bail!("input exceeds {max_input_len} bytes");
        }
        if raw.last() != Some(&b'\n') && n > MAX_LINE_LEN {
            bail!("line {number} is longer than {MAX_LINE_LEN} bytes");
        }
        let Ok(line) = std::str::from_utf8(&raw) else {
            bail!("line {number} is not UTF-8 text");
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if out.len() >= max_lengths {
            bail!("input exceeds {max_lengths} lengths");
        }
        let cols: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|c| !c.is_empty())
            .collect();
        let (source, destination, length) = match cols.as_slice() {
            [len] => ([0u8; 6], [0xff; 6], *len),
            [src, dst, len] => (address(src), address(dst), *len),
            _ => bail!("line {number}: expected LEN or SOURCE DESTINATION LEN, got {line:?}"),
        };
        let Ok(length) = length.parse::<u16>() else {
            bail!("line {number}: {length:?} is not a length");
        };
        let time_us = u64::try_from(out.len()).unwrap_or(u64::MAX);
        let mut observation = Observation::direct(time_us, source, length);
        observation.destination = destination;
        out.push(observation);
    }
    Ok(out)
}

/// A MAC address column as its bytes; any other text as six bytes of a hash of it.
fn address(text: &str) -> [u8; 6] {
    if let Ok(mac) = super::parse_mac(text) {
        return mac;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    let [_, _, a, b, c, d, e, f] = hash.to_be_bytes();
    [a, b, c, d, e, f]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_lines() {
        let obs = parse_lengths(
            "# a comment\n515\n\naa:bb:cc:dd:ee:ff ff:ff:ff:ff:ff:ff 514\nphone,bcast,513\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(obs.len(), 3);
        assert_eq!(obs[0].length, 515);
        assert_eq!(obs[1].source, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]);
        assert_eq!(obs[1].destination, [0xff; 6]);
        assert_eq!(obs[2].source, address("phone"));
        assert_ne!(address("phone"), address("phone2"));
        assert!(parse_lengths(&b"1 2\n"[..]).is_err());
        assert!(parse_lengths(&b"x\n"[..]).is_err());
        assert!(parse_lengths(&b"70000\n"[..]).is_err());
    }

    #[test]
    fn endless_or_huge_input_is_cut_short() {
        // /dev/zero: one line that never ends.
        let zeros = std::io::BufReader::new(std::io::repeat(0));
        let e = parse_lengths(zeros).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("line 1 is longer than {MAX_LINE_LEN} bytes")
        );
        // Endless valid lines: stopped at the count.
        let lines = std::io::BufReader::new(RepeatLine(b"515\n", 0));
        let e = parse_lengths_within(lines, 1000, MAX_INPUT_LEN).unwrap_err();
        assert_eq!(e.to_string(), "input exceeds 1000 lengths");
        // Endless comments: stopped at the byte count.
        let comments = std::io::BufReader::new(RepeatLine(b"#\n", 0));
        let e = parse_lengths_within(comments, MAX_LENGTHS, 10_000).unwrap_err();
        assert_eq!(e.to_string(), "input exceeds 10000 bytes");
        // A line of exactly the longest length is fine.
        let mut long = vec![b' '; MAX_LINE_LEN - 4];
        long.extend_from_slice(b"515\n");
        assert_eq!(parse_lengths(&long[..]).unwrap().len(), 1);
        assert!(parse_lengths(&[0xff, b'\n'][..]).is_err());
    }

    /// Endless copies of one line.
    struct RepeatLine(&'static [u8], usize);

    impl std::io::Read for RepeatLine {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let mut n = 0;
            while n < buf.len() {
                buf[n] = self.0[self.1 % self.0.len()];
                self.1 += 1;
                n += 1;
            }
            Ok(n)
        }
    }
}
