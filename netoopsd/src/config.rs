//! The configuration file of `listen --config FILE` and `serve --config FILE` (TOML).
//!
//! The file's keys are the long flags of the subcommand, with the same names and the same
//! value syntax: `partial-timeout = 10` is `--partial-timeout 10`, `listen = ["[::]:6667",
//! "0.0.0.0:7000"]` is `--listen` twice, `verbose = true` is `--verbose`, `db = "/var/lib/..."`
//! is the global `--db`. Numbers may be written as TOML numbers or as strings.
//!
//! How it works, and why adding a flag needs nothing here: the file is turned into
//! `--key=value` arguments (one per value) that are appended to the command line and parsed
//! by the same clap definition as the flags, so every flag of `ListenArgs`/`ServeArgs` in
//! `main.rs` is a key, with the flag's own parser and checks. A new flag (say the caps'
//! `--max-partials-per-source`) is one field there, and `max-partials-per-source = 8` works in
//! the file at once. Keys are found by asking clap for the subcommand's long flags
//! ([`flags`]); `help`, `version`, `config` and `check-config` are not keys. A setting that
//! SIGHUP should change without a restart is one more step: carry it in [`Reloaded`] (built by
//! `reloadable()` in `main.rs`, which reads the same `ListenArgs`) and apply it in
//! `listen::reload`; every other setting is taken at start only.
//!
//! Precedence: a flag given on the command line (or by its environment variable, e.g.
//! `$NETOOPSD_DB`) wins over the file; for a repeatable flag (`--listen`), the command line's
//! values replace the file's. One file can serve both subcommands: keys that are flags of the
//! other subcommand only (`listen` for `serve`, `debug-dir` for `listen`) are ignored.
//!
//! Errors name the file, the key and the value: a key that is no flag, a value of the wrong
//! TOML type, a value the flag refuses (each key is checked on its own, so the error is
//! about that key). Every key is checked, even one the command line overrides: a file with an
//! error is refused whole. Checks made after parsing (e.g. a negative timeout) use
//! [`FromFile::name`] to say `FILE: key` instead of `--key` when the value came from the file.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};

/// Subcommands that take `--config`.
pub const SUBCOMMANDS: &[&str] = &["listen", "serve"];

/// Flags that are not configuration keys.
const NOT_KEYS: &[&str] = &["help", "version", "config", "check-config"];

/// A long flag of a subcommand (or a global flag).
#[derive(Debug, Clone)]
pub struct Flag {
    /// clap's id of the argument.
    pub id: String,
    /// Takes a value (else it is a switch: `key = true`).
    pub takes_value: bool,
    /// Repeatable (`key = [..]`).
    pub repeatable: bool,
}

/// The long flags of subcommand `sub` of `cmd`, including the global ones, by long name.
pub fn flags(cmd: &Command, sub: &str) -> BTreeMap<String, Flag> {
    let mut out = BTreeMap::new();
    let globals = cmd.get_arguments().filter(|a| a.is_global_set());
    let Some(subcmd) = cmd.get_subcommands().find(|c| c.get_name() == sub) else {
        return out;
    };
    for a in globals.chain(subcmd.get_arguments()) {
        let Some(long) = a.get_long() else { continue };
        if NOT_KEYS.contains(&long) {
            continue;
        }
        let action = a.get_action();
        out.insert(
            long.to_string(),
            Flag {
                id: a.get_id().to_string(),
                takes_value: action.takes_values(),
                repeatable: matches!(action, ArgAction::Append),
            },
        );
    }
    out
}

/// What the file set.
#[derive(Debug, Clone, Default)]
pub struct FromFile {
    /// The file.
    pub path: PathBuf,
    /// Arguments to append to the command line (`--key=value`).
    pub args: Vec<OsString>,
    /// Keys whose value came from the file (not overridden by the command line).
    pub keys: BTreeSet<String>,
    /// Keys ignored: flags of another subcommand.
    pub ignored: BTreeSet<String>,
}

impl FromFile {
    /// How to name the setting `key` in an error: `FILE: key` when the file set it, else
    /// `--key`.
    pub fn name(&self, key: &str) -> String {
        if self.keys.contains(key) {
            format!("{}: {key}", self.path.display())
        } else {
            format!("--{key}")
        }
    }
}

/// How to name `key` in an error when there may be no file.
pub fn name(file: Option<&FromFile>, key: &str) -> String {
    file.map_or_else(|| format!("--{key}"), |f| f.name(key))
}

/// A TOML scalar as the flag's text, or why it cannot be one.
fn scalar(v: &toml::Value) -> Result<String, &'static str> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(_) => Err("expected a value, not true or false"),
        toml::Value::Datetime(_) => Err("expected a value as the flag takes it, not a date"),
        toml::Value::Array(_) => Err("takes one value, not a list"),
        toml::Value::Table(_) => Err("expected a value, not a table"),
    }
}

/// The arguments that give `key` the value `v`.
fn args_of(key: &str, flag: &Flag, v: &toml::Value) -> Result<Vec<String>, &'static str> {
    if !flag.takes_value {
        return match v {
            toml::Value::Boolean(true) => Ok(vec![format!("--{key}")]),
            toml::Value::Boolean(false) => Ok(vec![]),
            _ => Err("expected true or false"),
        };
    }
    match v {
        toml::Value::Array(items) if flag.repeatable => items
            .iter()
            .map(|i| match i {
                toml::Value::Array(_) => Err("expected a list of values, not of lists"),
                _ => scalar(i).map(|s| format!("--{key}={s}")),
            })
            .collect(),
        _ => scalar(v).map(|s| vec![format!("--{key}={s}")]),
    }
}

/// The part of a clap error that says what is wrong with the value.
fn clap_reason(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.rsplit_once("': ") {
        Some((_, why)) => why.to_string(),
        None => first.to_string(),
    }
}

/// Reads `path` and turns it into arguments for subcommand `sub` of `cmd`, leaving out the
/// keys that `matches` (the subcommand's matches from the command line) already has from the
/// command line or the environment.
pub fn load(
    cmd: &Command,
    sub: &str,
    matches: &ArgMatches,
    path: &Path,
) -> Result<FromFile, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration file {file}: {e}"))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{file}: not a valid TOML file: {e}"))?;
    let mine = flags(cmd, sub);
    let others: BTreeSet<String> = SUBCOMMANDS
        .iter()
        .filter(|s| **s != sub)
        .flat_map(|s| flags(cmd, s).into_keys())
        .collect();
    let mut out = FromFile {
        path: path.to_path_buf(),
        ..FromFile::default()
    };
    for (key, value) in &table {
        let Some(flag) = mine.get(key) else {
            if others.contains(key) {
                out.ignored.insert(key.clone());
                continue;
            }
            let known: Vec<&str> = mine.keys().map(String::as_str).collect();
            return Err(format!(
                "{file}: unknown key {key:?} (= {value}): the keys of `{sub}` are its long flags: {}",
                known.join(", ")
            ));
        };
        let bad = |why: String| format!("{file}: {key} = {value}: {why}");
        let args = args_of(key, flag, value).map_err(|why| bad(why.to_string()))?;
        // Check the value with the flag's own parser, alone, so that an error is about it.
        let mut alone = vec![cmd.get_name().to_string(), sub.to_string()];
        alone.extend(args.iter().cloned());
        if let Err(e) = cmd.clone().try_get_matches_from(&alone) {
            return Err(bad(clap_reason(&e)));
        }
        let given = matches!(
            matches.value_source(&flag.id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if given {
            continue;
        }
        out.keys.insert(key.clone());
        out.args.extend(args.into_iter().map(OsString::from));
    }
    Ok(out)
}

/// Parses `argv` with `cmd`; when the subcommand has `--config FILE`, parses again with the
/// file's settings appended. Returns the matches and what the file set. Errors are clap's
/// (`Err(Ok(e))`, for clap to print) or about the file (`Err(Err(message))`).
pub fn matches_with_config(
    cmd: &Command,
    argv: &[OsString],
) -> Result<(ArgMatches, Option<FromFile>), Result<clap::Error, String>> {
    let m = cmd.clone().try_get_matches_from(argv).map_err(Ok)?;
    let Some((sub, sm)) = m.subcommand() else {
        return Ok((m, None));
    };
    if !SUBCOMMANDS.contains(&sub) {
        return Ok((m, None));
    }
    let Some(path) = sm.get_one::<PathBuf>("config").cloned() else {
        return Ok((m, None));
    };
    let file = load(cmd, sub, sm, &path).map_err(Err)?;
    let mut all = argv.to_vec();
    all.extend(file.args.iter().cloned());
    let m = cmd
        .clone()
        .try_get_matches_from(&all)
        .map_err(|e| Err(format!("{}: {}", path.display(), clap_reason(&e))))?;
    Ok((m, Some(file)))
}

/// What a reload (SIGHUP) changes in a running `listen`: what can change without binding
/// sockets or opening the database again.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// Reassembly limits and the partial timeout.
    pub limits: crate::live::Limits,
    /// Sealing keys (the key file is read again).
    pub keys: Option<crate::keys::Keys>,
    /// Report every dropped packet.
    pub verbose: bool,
    /// Settings that changed but take effect only at the next start.
    pub need_restart: Vec<String>,
}

/// Reads the settings again for a reload; `source` names them (the file) in the log line.
#[derive(Clone)]
pub struct Reload {
    /// What is read again: the configuration file, or the command line's key file.
    pub source: String,
    /// Reads them.
    pub read: std::sync::Arc<dyn Fn() -> Result<Reloaded, String> + Send + Sync>,
}

impl std::fmt::Debug for Reload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reload({})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};

    fn cmd() -> Command {
        Command::new("netoopsd")
            .arg(
                Arg::new("db")
                    .long("db")
                    .global(true)
                    .env("NETOOPSD_TEST_DB_UNSET")
                    .default_value("netoops.db")
                    .value_parser(clap::value_parser!(PathBuf)),
            )
            .subcommand(
                Command::new("listen")
                    .arg(
                        Arg::new("addrs")
                            .long("listen")
                            .action(ArgAction::Append)
                            .value_parser(clap::value_parser!(std::net::SocketAddr)),
                    )
                    .arg(
                        Arg::new("partial_timeout")
                            .long("partial-timeout")
                            .default_value("10")
                            .value_parser(clap::value_parser!(f64)),
                    )
                    .arg(
                        Arg::new("verbose")
                            .long("verbose")
                            .action(ArgAction::SetTrue),
                    )
                    .arg(
                        Arg::new("config")
                            .long("config")
                            .value_parser(clap::value_parser!(PathBuf)),
                    ),
            )
            .subcommand(
                Command::new("serve")
                    .arg(Arg::new("debug_dir").long("debug-dir"))
                    .arg(
                        Arg::new("config")
                            .long("config")
                            .value_parser(clap::value_parser!(PathBuf)),
                    ),
            )
    }

    fn with(text: &str, args: &[&str]) -> Result<(ArgMatches, FromFile), String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(&path, text).unwrap();
        let mut argv: Vec<OsString> = vec!["netoopsd".into(), "listen".into()];
        argv.push(format!("--config={}", path.display()).into());
        argv.extend(args.iter().map(OsString::from));
        match matches_with_config(&cmd(), &argv) {
            Ok((m, f)) => Ok((m, f.unwrap())),
            Err(Ok(e)) => Err(format!("clap: {e}")),
            Err(Err(e)) => Err(e.replace(&path.display().to_string(), "FILE")),
        }
    }

    #[test]
    fn keys_are_flags_and_the_command_line_wins() {
        let (m, f) = with(
            "db = \"/var/lib/x.db\"\nlisten = [\"127.0.0.1:1\", \"[::1]:2\"]\npartial-timeout = 2.5\nverbose = true\ndebug-dir = \"/x\"\n",
            &["--partial-timeout", "7"],
        )
        .unwrap();
        let (_, sm) = m.subcommand().unwrap();
        assert_eq!(
            sm.get_one::<PathBuf>("db").unwrap(),
            &PathBuf::from("/var/lib/x.db")
        );
        let addrs: Vec<String> = sm
            .get_many::<std::net::SocketAddr>("addrs")
            .unwrap()
            .map(|a| a.to_string())
            .collect();
        assert_eq!(addrs, ["127.0.0.1:1", "[::1]:2"]);
        assert_eq!(sm.get_one::<f64>("partial_timeout"), Some(&7.0));
        assert!(sm.get_flag("verbose"));
        assert!(f.ignored.contains("debug-dir"));
        assert!(!f.keys.contains("partial-timeout"));
        assert_eq!(f.name("partial-timeout"), "--partial-timeout");
        assert!(f.name("db").ends_with(": db"));
        // A repeatable flag on the command line replaces the file's values.
        let (m, _) = with(
            "listen = [\"127.0.0.1:1\", \"[::1]:2\"]\n",
            &["--listen=[::1]:9"],
        )
        .unwrap();
        let (_, sm) = m.subcommand().unwrap();
        assert_eq!(
            sm.get_many::<std::net::SocketAddr>("addrs")
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_the_value() {
        let e = with("partial-timeout = \"soon\"\n", &[]).unwrap_err();
        assert_eq!(e, "FILE: partial-timeout = \"soon\": invalid float literal");
        let e = with("listen = \"localhost\"\n", &[]).unwrap_err();
        assert!(e.starts_with("FILE: listen = \"localhost\": "), "{e}");
        let e = with("verbose = \"yes\"\n", &[]).unwrap_err();
        assert_eq!(e, "FILE: verbose = \"yes\": expected true or false");
        let e = with("partial-timeout = [1, 2]\n", &[]).unwrap_err();
        assert_eq!(
            e,
            "FILE: partial-timeout = [1, 2]: takes one value, not a list"
        );
        let e = with("partial_timeout = 3\n", &[]).unwrap_err();
        assert!(
            e.starts_with("FILE: unknown key \"partial_timeout\" (= 3): the keys of `listen` are its long flags: db, listen, partial-timeout, verbose"),
            "{e}"
        );
        let e = with("config = \"other.toml\"\n", &[]).unwrap_err();
        assert!(e.starts_with("FILE: unknown key \"config\""), "{e}");
        let e = with("partial-timeout = \n", &[]).unwrap_err();
        assert!(e.starts_with("FILE: not a valid TOML file: "), "{e}");
    }
}
