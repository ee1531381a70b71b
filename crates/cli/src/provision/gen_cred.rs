//! `--sec2_gen_cred`: a security 2 salt and verifier for a device, as C arrays for ESP-IDF
//! firmware (the layout esp_prov prints) and as hex for `wifiprov device --salt/--verifier`.

use crate::exit::Exit;
use protocomm::{Sec2Credentials, Secret, VerifierOptions};
use serde::Serialize;

use super::args::ProvisionArgs;
use super::prompt;
use super::qr::QrPayload;
use super::report::Failure;
use super::ui;

/// Bytes per line of the C arrays.
const PER_LINE: usize = 16;

/// Asks for what is missing, then generates and prints the credentials.
pub async fn run(args: &ProvisionArgs) -> Result<(), Failure> {
    let interactive = prompt::interactive();
    let qr = match &args.conn.qr_payload {
        Some(text) => QrPayload::parse(text)?,
        None => QrPayload::default(),
    };
    let username = match args.conn.sec2_username.as_ref().or(qr.username.as_ref()) {
        Some(name) => name.clone(),
        None if interactive => prompt::ask("SRP username: ".into()).await?,
        None => return Err(prompt::missing("the SRP username", "--sec2_username")),
    };
    let password = match args.conn.sec2_pwd.as_ref().or(qr.pop.as_ref()) {
        Some(pw) => Secret::from(pw.as_str()),
        None if interactive => {
            let first = prompt::ask_secret(format!("SRP password for {username}: ")).await?;
            let again = prompt::ask_secret("Repeat the password: ".into()).await?;
            if first != again {
                return Err(Failure::usage("the passwords differ"));
            }
            Secret::from(first.as_str())
        }
        None => return Err(prompt::missing("the SRP password", "--sec2_pwd")),
    };
    let options = VerifierOptions {
        salt_len: usize::from(args.sec2_salt_len),
        allow_esp_prov_incompatible: false,
    };
    let credentials = Sec2Credentials::generate_with(
        username.as_bytes(),
        &password,
        options,
        &mut protocomm::rand_core::UnwrapErr(getrandom::SysRng),
    )
    .map_err(|e| {
        Failure::new(Exit::Usage, format!("cannot generate the credentials: {e}")).hint(
            "about one username/password pair in 256 hashes to a value that esp_prov and \
             ESP-IDF treat differently; choose another password",
        )
    })?;
    let salt = credentials.salt();
    let verifier = credentials.verifier().expose();
    if args.json {
        #[derive(Serialize)]
        struct Generated<'a> {
            username: &'a str,
            salt: String,
            verifier: String,
        }
        let out = Generated {
            username: &username,
            salt: hex::encode(salt),
            verifier: hex::encode(verifier),
        };
        let json =
            serde_json::to_string(&out).map_err(|e| Failure::new(Exit::Usage, e.to_string()))?;
        ui::out(&format!("{json}\n"))?;
        return Ok(());
    }
    ui::out(&format!(
        "==== Salt-verifier for security scheme 2 (SRP6a) ====\n{}\n{}\n\
         For `wifiprov device` (username {username:?}):\n  \
         --username {} --salt {} --verifier {}\n",
        c_array("sec2_salt", salt),
        c_array("sec2_verifier", verifier),
        shell_word(&username),
        hex::encode(salt),
        hex::encode(verifier)
    ))
}

/// `static const char NAME[] = { 0x.., … };` with 16 bytes per line, then a blank line.
fn c_array(name: &str, bytes: &[u8]) -> String {
    let lines: Vec<String> = bytes
        .chunks(PER_LINE)
        .map(|chunk| {
            let items: Vec<String> = chunk.iter().map(|b| format!("{b:#04x}")).collect();
            format!("    {}", items.join(", "))
        })
        .collect();
    format!(
        "static const char {name}[] = {{\n{}\n}};\n",
        lines.join(",\n")
    )
}

/// Quotes `word` for a POSIX shell when needed.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@%+=:,/".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_arrays_look_like_esp_prov_output() {
        let bytes: Vec<u8> = (0u8..20).collect();
        assert_eq!(
            c_array("sec2_salt", &bytes),
            "static const char sec2_salt[] = {\n    \
             0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,\n    \
             0x10, 0x11, 0x12, 0x13\n};\n"
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("wifiprov"), "wifiprov");
        assert_eq!(shell_word("it's me"), "'it'\\''s me'");
    }
}
