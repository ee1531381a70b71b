//! Shell completions and man pages generated from the command-line definitions (hidden
//! subcommands `completions` and `man`, used when packaging).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use clap_complete::Shell;

use crate::exit::{Exit, ExitContext};

/// `wifiprov completions` flags.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `wifiprov man` flags.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Where the pages go (created if missing): `wifiprov.1` and one `wifiprov-<subcommand>.1`
    /// per subcommand.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Prints the completion script for `args.shell` on stdout.
pub fn completions(mut command: clap::Command, args: &CompletionsArgs) -> Result<Exit> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    crate::output::out!("{}", String::from_utf8_lossy(&script))?;
    Ok(Exit::Ok)
}

/// Writes a man page per (visible) command into `args.dir` and lists the files written.
pub fn man(command: clap::Command, args: &ManArgs) -> Result<Exit> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))
        .exit(Exit::Config)?;
    let source = format!(
        "{} {}",
        command.get_name(),
        command.get_version().unwrap_or_default()
    );
    let mut command = command.disable_help_subcommand(true);
    command.build();
    for path in write_pages(command, &source, &args.dir)? {
        crate::output::outln!("{}", path.display())?;
    }
    Ok(Exit::Ok)
}

/// Writes the pages of `command` and its visible subcommands, depth first.
fn write_pages(command: clap::Command, source: &str, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.extend(write_pages(sub.clone(), source, dir)?);
    }
    let page = clap_mangen::Man::new(command)
        .source(source)
        .manual("wifiprov manual");
    let path = page
        .generate_to(dir)
        .with_context(|| format!("cannot write a man page in {}", dir.display()))
        .exit(Exit::Config)?;
    written.push(path);
    Ok(written)
}
