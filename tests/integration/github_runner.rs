//! A port of the GitHub Actions runner's own rules, so kvenv's tests can check what a real runner
//! would do with kvenv's `$GITHUB_ENV` blocks and `::add-mask::` lines.
//!
//! Ported from `actions/runner` at commit `258d6c857db3519913f7deb6004b60172f8043ae` (see
//! [`RUNNER_COMMIT`]). Every item names the runner file and the C# member it ports; paths are
//! relative to that repository. Quoted C# is kept to short excerpts in comments.
//!
//! Three pieces:
//!
//! - [`parse_env_file`] / [`process_env_file`]: `SetEnvFileCommand` and `EnvFileKeyValuePairs`
//!   (`src/Runner.Worker/FileCommandManager.cs`), run once after the step ends.
//! - [`run_step_stdout`]: how a step's stdout becomes log lines (`StreamReader.ReadLine` in
//!   `src/Runner.Sdk/ProcessInvoker.cs`, `OutputManager.OnDataReceived` in
//!   `src/Runner.Worker/Handlers/OutputManager.cs`), the workflow-command parser
//!   (`src/Runner.Common/ActionCommand.cs`) and dispatcher (`ActionCommandManager` in
//!   `src/Runner.Worker/ActionCommandManager.cs`), and `ExecutionContext.Write`, which masks.
//! - The [`Masker`]: `SecretMasker` (`src/Sdk/DTLogging/Logging/SecretMasker.cs`, `ValueSecret.cs`)
//!   with the eleven value encoders the runner registers at start
//!   (`src/Runner.Common/HostContext.cs`, `HostContext()`;
//!   `src/Sdk/DTLogging/Logging/ValueEncoders.cs`).
//!
//! The runner works on UTF-16 strings; this port works on UTF-8 `&str`. Substring search, and so
//! masking, gives the same answers on valid text. Where the runner counts lengths (the encoders'
//! minimum lengths, the 4096-character cap on annotations) this port counts UTF-16 code units too.
//!
//! Simplifications, each because it cannot change what kvenv writes or what its tests check:
//!
//! - `IndexOf(string)` / `StartsWith(string)` without a `StringComparison` are culture-sensitive
//!   in .NET (ICU); this port matches ordinally. They differ only when a line has characters ICU
//!   ignores (soft hyphen, zero-width joiners, NUL…) inside `::`, `##[` or `&+`; kvenv's command
//!   lines start with the ASCII `::add-mask::`.
//! - Problem matchers are not run. A job has some only once an action (a `setup-*` one, say)
//!   adds them; they turn a matching line into an annotation, masked all the same.
//! - `set-output`, `save-state`, `add-matcher`, `remove-matcher`: consumed (not printed) as the
//!   runner does; their effects (outputs, state, matchers) are not modelled, nor the deprecation
//!   warning `set-output`/`save-state` print when the server sets
//!   `DistributedTask.DeprecateStepOutputCommands`.
//! - An invalid `stop-commands` token makes the runner throw out of its output loop, ending the
//!   step; the port panics instead.
//! - Case-insensitive comparisons use [`simple_upper`], which equals .NET's ordinal casing for
//!   ASCII names (all that matter here).
//! - `notice` is treated as processed, as on github.com (the runner prints it as a plain line
//!   when the server's `DistributedTask.EnhancedAnnotations` flag is off).
//! - Encoding: the env file is taken as `&str` (UTF-16/UTF-32 files with a BOM, which
//!   `File.ReadAllText` would also decode, are not ported: kvenv writes UTF-8).
//! - The stack traces `context.Error(Exception)` writes as `##[debug]` lines are not produced.

use std::collections::HashSet;

/// The `actions/runner` commit this port was read from.
pub const RUNNER_COMMIT: &str = "258d6c857db3519913f7deb6004b60172f8043ae";

// ---------------------------------------------------------------------------------------------
// $GITHUB_ENV
// ---------------------------------------------------------------------------------------------

/// Which build of the runner reads the file: `EnvFileKeyValuePairs.ReadLine` has an
/// `#if OS_WINDOWS` branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    /// Linux and macOS runners: only LF ends a line; a CR before it stays in the line.
    Unix,
    /// Windows runners: CRLF or LF ends a line.
    Windows,
}

/// The names `SetEnvFileCommand` refuses (`_setEnvBlockList`), compared with
/// `StringComparison.OrdinalIgnoreCase`.
pub const BLOCKED_NAMES: &[&str] = &["NODE_OPTIONS"];

/// What the runner does with one step's `$GITHUB_ENV` file, after the step has ended
/// (`FileCommandManager.ProcessFiles`, called from a `finally` in `ActionRunner.RunAsync`, so
/// also after a failed step).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFileOutcome {
    /// Every `(name, value)` the runner stored in the job's environment, in file order. A name
    /// given twice is listed twice: the runner's dictionary keeps the last value (on Windows the
    /// names are compared ignoring case, `VarUtil.EnvironmentVariableKeyComparer`). Pairs read
    /// before an error are stored: the runner reads the file lazily and stores as it goes.
    pub set: Vec<(String, String)>,
    /// The error annotations, in order, unmasked and without the `##[error]` tag. See
    /// [`EnvFileOutcome::log`] for the lines as printed.
    pub errors: Vec<String>,
    /// The runner marks the step failed (`context.CommandResult = TaskResult.Failed`): the file
    /// could not be read through. A refused name alone does not fail the step.
    pub failed: bool,
}

impl EnvFileOutcome {
    /// The log lines the runner prints for this file: `##[error]` annotations, masked as
    /// `ExecutionContext.AddIssue` then `Write` mask them.
    pub fn log(&self, masks: &Masker) -> Vec<String> {
        self.errors
            .iter()
            .map(|m| issue_line(ERROR_TAG, m, masks))
            .collect()
    }
}

/// What a Linux/macOS runner would set from this `$GITHUB_ENV` text, in order, or the message
/// of the error that makes it fail the step.
///
/// `NODE_OPTIONS` (any case) is dropped: the runner refuses it with an error annotation but goes
/// on (see [`process_env_file`]). A duplicate name is listed each time; the last one wins.
/// On `Err`, the pairs before the bad line were already set (see [`EnvFileOutcome::set`]).
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    parse_env_file_on(Os::Unix, text)
}

/// [`parse_env_file`] for a given runner OS.
pub fn parse_env_file_on(os: Os, text: &str) -> Result<Vec<(String, String)>, String> {
    let outcome = process_env_file_on(os, text);
    if outcome.failed {
        // The exception's message is the last error (after "Unable to process file command").
        Err(outcome.errors.last().cloned().unwrap_or_default())
    } else {
        Ok(outcome.set)
    }
}

/// Everything the runner does with the file, on Linux/macOS: what it sets, the annotations it
/// logs and whether the step fails.
pub fn process_env_file(text: &str) -> EnvFileOutcome {
    process_env_file_on(Os::Unix, text)
}

/// Ports `SetEnvFileCommand.ProcessCommand` plus the `catch` in
/// `FileCommandManager.ProcessFiles` (`src/Runner.Worker/FileCommandManager.cs`).
pub fn process_env_file_on(os: Os, text: &str) -> EnvFileOutcome {
    let mut out = EnvFileOutcome::default();
    let (pairs, parse_error) = env_file_key_value_pairs(os, text);
    let mut error = None;
    for (name, value) in pairs {
        if let Some(blocked) = BLOCKED_NAMES
            .iter()
            .find(|b| ordinal_ignore_case_eq(b, &name))
        {
            // "Can't store {blocked} output parameter using '$GITHUB_ENV' command."
            out.errors.push(format!(
                "Can't store {blocked} output parameter using '$GITHUB_ENV' command."
            ));
            continue;
        }
        // SetEnvironmentVariable: `context.Global.EnvironmentVariables[name] = value;` then
        // `context.SetEnvContext(name, value)`, whose `ArgUtil.NotNullOrEmpty(name, ...)` throws
        // `ArgumentNullException(name)` for an empty name, after the first assignment. (In a
        // composite action, `DeferredEnvironmentVariables` takes the pair and nothing throws.)
        out.set.push((name.clone(), value));
        if name.is_empty() {
            error = Some("Value cannot be null. (Parameter 'name')".to_string());
            break;
        }
    }
    if let Some(e) = error.or(parse_error) {
        // ProcessFiles: context.Error($"Unable to process file command '{ContextName}'
        // successfully."); context.Error(ex); context.CommandResult = TaskResult.Failed;
        out.errors
            .push("Unable to process file command 'env' successfully.".to_string());
        out.errors.push(e);
        out.failed = true;
    }
    out
}

/// Ports `EnvFileKeyValuePairs.GetEnumerator`: the pairs yielded before any error, and the
/// error's message (the C# `Exception.Message`).
fn env_file_key_value_pairs(os: Os, text: &str) -> (Vec<(String, String)>, Option<String>) {
    // `File.ReadAllText(path)` decodes UTF-8 and drops a byte order mark at the start.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(os, text, &mut index) {
        // `if (!string.IsNullOrEmpty(line))`: empty lines are skipped; a line of spaces is not.
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            // Normal style NAME=VALUE: the first `=` comes before any `<<`.
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                // The runner's check here is `string.IsNullOrEmpty(line)` (the whole line, never
                // empty at this point), so an empty name gets through the parser.
                pairs.push((line[..e].to_string(), line[e + 1..].to_string()));
            }
            // Heredoc style NAME<<DELIMITER: the first `<<` comes before any `=`.
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return (
                        pairs,
                        Some(format!(
                            "Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                        )),
                    );
                }
                let start = index;
                let mut end = index;
                loop {
                    match read_line(os, text, &mut index) {
                        // `string.Equals(tempLine, delimiter, StringComparison.Ordinal)`: the
                        // whole line, as split by `read_line` (on Unix a CR before the LF is
                        // part of the line and so must be part of the delimiter to match).
                        Some((l, _)) if l == delimiter => break,
                        None => {
                            return (
                                pairs,
                                Some(format!(
                                    "Invalid value. Matching delimiter not found '{delimiter}'"
                                )),
                            );
                        }
                        Some((_, None)) => {
                            return (
                                pairs,
                                Some("Invalid value. EOF marker missing new line.".to_string()),
                            );
                        }
                        // The value ends before the newline that ends its last line.
                        Some((_, Some(newline))) => end = index - newline.len(),
                    }
                }
                let value = if end > start { &text[start..end] } else { "" };
                pairs.push((name.to_string(), value.to_string()));
            }
            _ => return (pairs, Some(format!("Invalid format '{line}'"))),
        }
    }
    (pairs, None)
}

/// Ports `EnvFileKeyValuePairs.ReadLine(text, ref index, out newline)`: the line from `index`
/// and the newline that ended it (`None` for a last line without one). Only LF ends a line;
/// on Windows builds a CRLF does too. A lone CR never does.
fn read_line<'a>(
    os: Os,
    text: &'a str,
    index: &mut usize,
) -> Option<(&'a str, Option<&'static str>)> {
    if *index >= text.len() {
        return None;
    }
    let start = *index;
    let Some(lf) = text[start..].find('\n').map(|i| start + i) else {
        *index = text.len();
        return Some((&text[start..], None));
    };
    // #if OS_WINDOWS: a "\r\n" found before the LF (so right before it) ends the line.
    if os == Os::Windows && lf > start && text.as_bytes()[lf - 1] == b'\r' {
        *index = lf + 1;
        return Some((&text[start..lf - 1], Some("\r\n")));
    }
    *index = lf + 1;
    Some((&text[start..lf], Some("\n")))
}

/// `string.Equals(a, b, StringComparison.OrdinalIgnoreCase)`: character by character after
/// [`simple_upper`]. Against an ASCII name (`NODE_OPTIONS`, the command names) this is ASCII
/// case-insensitive equality: .NET keeps `ı` and `ſ`, the only letters whose simple upper case
/// is ASCII, out of its ordinal casing table (`GlobalizationNative_InitOrdinalCasingPage` in
/// dotnet/runtime: "Disable Turkish I behavior on Ordinal operations").
fn ordinal_ignore_case_eq(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars()
            .zip(b.chars())
            .all(|(x, y)| simple_upper(x) == simple_upper(y))
}

/// One character upper-cased the way .NET's ordinal casing does: ICU's simple (one to one)
/// mapping, except that `ı` (U+0131) and `ſ` (U+017F) stay as they are. Rust only has the full
/// mapping; where that gives several characters (`ß`, `ﬀ`) the character is kept, which is the
/// simple mapping for all but a few Greek letters with iota subscript, irrelevant here.
fn simple_upper(c: char) -> char {
    if c == '\u{131}' || c == '\u{17f}' {
        return c;
    }
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

// ---------------------------------------------------------------------------------------------
// The step's output: lines, workflow commands, log
// ---------------------------------------------------------------------------------------------

const ERROR_TAG: &str = "##[error]";
const WARNING_TAG: &str = "##[warning]";
const NOTICE_TAG: &str = "##[notice]";
const DEBUG_TAG: &str = "##[debug]";

/// `ExecutionContext._maxIssueMessageLength` (`src/Runner.Worker/ExecutionContext.cs`).
const MAX_ISSUE_MESSAGE_LENGTH: usize = 4096;

/// The commands the runner registers for a step (`ExtensionManager`, key
/// `GitHub.Runner.Worker.IActionCommandExtension`, plus `stop-commands`), minus
/// `internal-set-repo-path`, which `ActionCommandManager.Initialize` leaves unregistered.
const REGISTERED_COMMANDS: &[&str] = &[
    "stop-commands",
    "set-env",
    "set-output",
    "save-state",
    "add-path",
    "add-mask",
    "add-matcher",
    "remove-matcher",
    "warning",
    "error",
    "notice",
    "debug",
    "group",
    "endgroup",
    "echo",
];

/// Splits a child's output into lines exactly as .NET's `StreamReader.ReadLine` does (the
/// runner reads stdout and stderr with it, `ProcessInvoker.StartReadStream` in
/// `src/Runner.Sdk/ProcessInvoker.cs`): a line ends at LF, at CR, or at CRLF; the ending is not
/// part of the line; a last line without an ending is still a line; no line follows a final
/// ending. The stream's reader also drops a byte order mark at its very start
/// (`detectEncodingFromByteOrderMarks: true` in .NET's `Process`).
pub fn split_output_lines(output: &str) -> Vec<&str> {
    let output = output.strip_prefix('\u{feff}').unwrap_or(output);
    let bytes = output.as_bytes();
    let mut lines = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos..].iter().position(|&b| b == b'\n' || b == b'\r') {
            None => {
                lines.push(&output[pos..]);
                break;
            }
            Some(i) => {
                let end = pos + i;
                lines.push(&output[pos..end]);
                pos = if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
                    end + 2
                } else {
                    end + 1
                };
            }
        }
    }
    lines
}

/// What the log shows for one step whose stdout is `stdout`, on a Linux/macOS runner with step
/// debug off: each line as the runner prints it, masked with every secret registered so far
/// (`masks` is the job's masker: secrets added by earlier steps apply, and `::add-mask::` lines
/// here add to it, for this line's successors and for later steps).
///
/// The runner reads stderr the same way, with its own `OutputManager` but the same command
/// manager and masker: commands work there too. Within one read batch it handles stderr lines
/// before stdout lines (`ProcessInvoker.ProcessOutput`), so the two streams' relative order is
/// not kept.
pub fn run_step_stdout(stdout: &str, masks: &mut Masker) -> Vec<String> {
    run_step_stdout_with(stdout, masks, false)
}

/// [`run_step_stdout`] with `ACTIONS_STEP_DEBUG` set or not: it turns on `##[debug]` lines and
/// the echo of commands (`ExecutionContext.InitializeJob`: `EchoOnActionCommand =
/// Global.Variables.Step_Debug`).
pub fn run_step_stdout_with(stdout: &str, masks: &mut Masker, step_debug: bool) -> Vec<String> {
    let mut step = Step {
        log: Vec::new(),
        echo: step_debug,
        debug: step_debug,
        stop_token: None,
    };
    for line in split_output_lines(stdout) {
        step.on_data_received(line, masks);
    }
    step.log
}

/// One step's command manager state (`ActionCommandManager` is created per handler) and log.
struct Step {
    log: Vec<String>,
    /// `context.EchoOnActionCommand`.
    echo: bool,
    /// `context.Global.WriteDebug`.
    debug: bool,
    /// `_stopToken` while `_stopProcessCommand` is set.
    stop_token: Option<String>,
}

impl Step {
    /// `ExecutionContext.Write(null, message)`: the message masked, as one log line.
    fn output(&mut self, message: &str, masks: &Masker) {
        self.log.push(masks.mask(message));
    }

    /// `ExecutionContext.AddIssue` for an error or warning, as logged.
    fn issue(&mut self, tag: &str, message: &str, masks: &Masker) {
        if !message.is_empty() {
            self.log.push(issue_line(tag, message, masks));
        }
    }

    /// The `Debug` extension method: with step debug on, one `##[debug]` line per line of the
    /// message (`Replace("\r\n", "\n").Split("\n")`).
    fn debug(&mut self, message: &str, masks: &Masker) {
        if self.debug {
            for line in message.replace("\r\n", "\n").split('\n') {
                self.log.push(masks.mask(&format!("{DEBUG_TAG}{line}")));
            }
        }
    }

    /// Ports `OutputManager.OnDataReceived` (`src/Runner.Worker/Handlers/OutputManager.cs`),
    /// without problem matchers.
    fn on_data_received(&mut self, line: &str, masks: &mut Masker) {
        if !line.is_empty()
            && (line.contains("##[") || line.contains("::"))
            && self.try_process_command(line, masks)
        {
            return;
        }
        // "Strip runner-controlled markers from user output to prevent injection".
        let line = if line.contains("##[start-action") || line.contains("##[end-action") {
            line.replace("##[start-action", "##[\\start-action")
                .replace("##[end-action", "##[\\end-action")
        } else {
            line.to_string()
        };
        self.output(&line, masks);
    }

    fn is_registered(&self, name: &str) -> bool {
        REGISTERED_COMMANDS
            .iter()
            .any(|c| ordinal_ignore_case_eq(c, name))
            || self
                .stop_token
                .as_deref()
                .is_some_and(|t| ordinal_ignore_case_eq(t, name))
    }

    /// Ports `ActionCommandManager.TryProcessCommand`: true when the line was taken as a command
    /// (and so is not printed as output).
    fn try_process_command(&mut self, input: &str, masks: &mut Masker) -> bool {
        let Some(command) = parse_command_v2(input, |n| self.is_registered(n))
            .or_else(|| parse_command_v1(input, |n| self.is_registered(n)))
        else {
            return false;
        };

        if let Some(token) = self.stop_token.clone() {
            if ordinal_ignore_case_eq(&token, &command.name) {
                self.output(input, masks);
                self.debug("Resume processing commands", masks);
                self.stop_token = None;
                return true;
            }
            self.debug(
                &format!(
                    "Process commands has been stopped and waiting for '##[{token}]' to resume."
                ),
                masks,
            );
            return false;
        }

        let name = command.name.to_ascii_lowercase();
        if name == "stop-commands" {
            // ValidateStopToken throws out of TryProcessCommand, so out of the runner's output
            // loop: the step dies. Not something kvenv emits; the port stops the test instead.
            let token = &command.data;
            if token.is_empty()
                || ordinal_ignore_case_eq(token, "pause-logging")
                || self.is_registered(token)
            {
                panic!(
                    "the runner aborts the step: invalid stop-commands token {token:?} \
                     (unless ACTIONS_ALLOW_UNSECURE_STOPCOMMAND_TOKENS is set)"
                );
            }
            self.stop_token = Some(token.clone());
            if token.encode_utf16().count() > 6 {
                masks.add(token);
            }
            self.output(input, masks);
            self.debug(
                "Paused processing commands until the token you called ::stopCommands:: with is received",
                masks,
            );
            return true;
        }

        // `if (context.EchoOnActionCommand && !extension.OmitEcho) context.Output(input);`
        let omit_echo = matches!(
            name.as_str(),
            "add-mask" | "debug" | "warning" | "error" | "notice"
        );
        if self.echo && !omit_echo {
            self.output(input, masks);
        }
        if let Err(message) = self.run_extension(&name, &command, masks) {
            let information = if omit_echo { name.as_str() } else { input };
            let unable = format!("Unable to process command '{information}' successfully.");
            self.issue(ERROR_TAG, &unable, masks);
            self.issue(ERROR_TAG, &message, masks);
        }
        true
    }

    /// The `ProcessCommand` of each `IActionCommandExtension` in
    /// `src/Runner.Worker/ActionCommandManager.cs`, for what reaches the log. `Err` is the
    /// message of the exception it throws.
    fn run_extension(
        &mut self,
        name: &str,
        command: &Command,
        masks: &mut Masker,
    ) -> Result<(), String> {
        let data = command.data.as_str();
        match name {
            "add-mask" => {
                // AddMaskCommandExtension.ProcessCommand
                if data.trim().is_empty() {
                    self.issue(
                        WARNING_TAG,
                        "Can't add secret mask for empty string in ##[add-mask] command.",
                        masks,
                    );
                } else {
                    if self.echo {
                        self.output("::add-mask::***", masks);
                    }
                    add_mask(masks, data);
                }
                Ok(())
            }
            "warning" => {
                self.issue(WARNING_TAG, data, masks);
                Ok(())
            }
            "error" => {
                self.issue(ERROR_TAG, data, masks);
                Ok(())
            }
            "notice" => {
                self.issue(NOTICE_TAG, data, masks);
                Ok(())
            }
            "debug" => {
                self.debug(data, masks);
                Ok(())
            }
            "group" => {
                self.output(&format!("##[group]{data}"), masks);
                Ok(())
            }
            "endgroup" => {
                self.output("##[endgroup]", masks);
                Ok(())
            }
            "echo" => {
                if data.is_empty() {
                    return Err("Value cannot be null. (Parameter 'value')".to_string());
                }
                // `command.Data.Trim().ToUpperInvariant()`: simple case mapping, char by char
                // (ICU's invariant upper case keeps `ı` too; it maps `ſ` to `S`, this does not).
                let upper: String = data.trim().chars().map(simple_upper).collect();
                match upper.as_str() {
                    "ON" => {
                        self.echo = true;
                        self.debug("Setting echo command value to 'on'", masks);
                    }
                    "OFF" => {
                        self.echo = false;
                        self.debug("Setting echo command value to 'off'", masks);
                    }
                    _ => {
                        return Err(format!(
                            "Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: '{data}'."
                        ));
                    }
                }
                Ok(())
            }
            // Disabled unless ACTIONS_ALLOW_UNSECURE_COMMANDS is true.
            "set-env" | "add-path" => Err(format!(
                "The `{name}` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/"
            )),
            "set-output" | "save-state" => {
                if command.property("name").is_none_or(str::is_empty) {
                    return Err(format!(
                        "Required field 'name' is missing in ##[{name}] command."
                    ));
                }
                Ok(())
            }
            // add-matcher, remove-matcher: effects not modelled.
            _ => Ok(()),
        }
    }
}

/// Ports `AddMaskCommandExtension.ProcessCommand` (after its whitespace check): the whole value,
/// then each piece between CRs and LFs, trimmed, skipping empty pieces
/// (`Split(new[] { '\r', '\n' }, RemoveEmptyEntries | TrimEntries)`).
fn add_mask(masks: &mut Masker, data: &str) {
    masks.add(data);
    for piece in data.split(['\r', '\n']) {
        let piece = piece.trim();
        if !piece.is_empty() {
            masks.add(piece);
        }
    }
}

/// An annotation as `ExecutionContext.AddIssue` logs it: the message masked, cut to 4096
/// UTF-16 units, then `Write(tag, message)`, which masks `tag + message` again.
fn issue_line(tag: &str, message: &str, masks: &Masker) -> String {
    let masked = masks.mask(message);
    let cut = truncate_utf16(&masked, MAX_ISSUE_MESSAGE_LENGTH);
    masks.mask(&format!("{tag}{cut}"))
}

/// The longest prefix of at most `units` UTF-16 code units (C# `s[..units]`, which could split a
/// surrogate pair; this stops before the pair instead).
fn truncate_utf16(s: &str, units: usize) -> &str {
    let mut count = 0;
    for (i, c) in s.char_indices() {
        count += c.len_utf16();
        if count > units {
            return &s[..i];
        }
    }
    s
}

/// A parsed workflow command (`ActionCommand`).
#[derive(Debug, PartialEq, Eq)]
struct Command {
    name: String,
    /// `Properties`: a case-insensitive dictionary; later keys overwrite earlier ones.
    properties: Vec<(String, String)>,
    data: String,
}

impl Command {
    fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| ordinal_ignore_case_eq(k, key))
            .map(|(_, v)| v.as_str())
    }

    fn set_property(&mut self, key: &str, value: String) {
        self.properties
            .retain(|(k, _)| !ordinal_ignore_case_eq(k, key));
        self.properties.push((key.to_string(), value));
    }
}

/// Ports `ActionCommand.TryParseV2` (`src/Runner.Common/ActionCommand.cs`): `::name k=v,k=v::data`
/// after leading white space; the command's name must be registered (ignoring case).
fn parse_command_v2(message: &str, registered: impl Fn(&str) -> bool) -> Option<Command> {
    if message.is_empty() {
        return None;
    }
    let message = message.trim_start();
    if !message.starts_with("::") {
        return None;
    }
    let end = message[2..].find("::")? + 2;
    let info = &message[2..end];
    let space = info.find(' ');
    let name = space.map_or(info, |s| &info[..s]);
    if name.is_empty() || !registered(name) {
        return None;
    }
    let mut command = Command {
        name: name.to_string(),
        properties: Vec::new(),
        data: String::new(),
    };
    if let Some(s) = space.filter(|&s| s > 0) {
        for property in info[s + 1..].trim().split(',').filter(|p| !p.is_empty()) {
            if let [k, v] = split_two_remove_empty(property, '=')[..] {
                command.set_property(k, unescape(v, PROPERTY_ESCAPES));
            }
        }
    }
    command.data = unescape(&message[end + 2..], DATA_ESCAPES);
    Some(command)
}

/// Ports `ActionCommand.TryParse`, the older `##[name k=v;k=v]data` form, found anywhere in the
/// line.
fn parse_command_v1(message: &str, registered: impl Fn(&str) -> bool) -> Option<Command> {
    if message.is_empty() {
        return None;
    }
    let prefix = message.find("##[")?;
    let rb = prefix + message[prefix..].find(']')?;
    let info = &message[prefix + 3..rb];
    let space = info.find(' ');
    let name = space.map_or(info, |s| &info[..s]);
    if name.is_empty() || !registered(name) {
        return None;
    }
    let mut command = Command {
        name: name.to_string(),
        properties: Vec::new(),
        data: String::new(),
    };
    if let Some(s) = space.filter(|&s| s > 0) {
        for property in info[s + 1..].split(';').filter(|p| !p.is_empty()) {
            if let [k, v] = split_two_remove_empty(property, '=')[..] {
                command.set_property(k, unescape(v, LEGACY_ESCAPES));
            }
        }
    }
    command.data = unescape(&message[rb + 1..], LEGACY_ESCAPES);
    Some(command)
}

/// `s.Split(new[] { sep }, count: 2, StringSplitOptions.RemoveEmptyEntries)`: empty pieces are
/// dropped, and once one piece is kept the rest of the string (if not empty) is the second.
fn split_two_remove_empty(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(sep) {
        let piece = &rest[..i];
        rest = &rest[i + sep.len_utf8()..];
        if !piece.is_empty() {
            out.push(piece);
            break;
        }
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// `_escapeDataMappings`, applied in this order by `UnescapeData` (so `%25` last).
const DATA_ESCAPES: &[(&str, &str)] = &[("%0D", "\r"), ("%0A", "\n"), ("%25", "%")];
/// `_escapePropertyMappings`, applied by `UnescapeProperty`.
const PROPERTY_ESCAPES: &[(&str, &str)] = &[
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%3A", ":"),
    ("%2C", ","),
    ("%25", "%"),
];
/// `_escapeMappings`, applied by `Unescape` (the `##[` form).
const LEGACY_ESCAPES: &[(&str, &str)] = &[
    ("%3B", ";"),
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%5D", "]"),
    ("%25", "%"),
];

/// One `string.Replace` per mapping, in order, case-sensitive: `%0a` is not an escape.
fn unescape(s: &str, mappings: &[(&str, &str)]) -> String {
    let mut out = s.to_string();
    for (escaped, token) in mappings {
        out = out.replace(escaped, token);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The secret masker
// ---------------------------------------------------------------------------------------------

/// The job's secret masker: `SecretMasker` (`src/Sdk/DTLogging/Logging/SecretMasker.cs`) with
/// the value encoders `HostContext()` registers (`src/Runner.Common/HostContext.cs`).
///
/// There is no minimum length: a one-character secret masks that character everywhere in every
/// later log line of the job, and its encoded forms (base64 `Mw==` for `3`…) too. The only length
/// limits are inside two encoders (`TrimDoubleQuotes`: more than 8; the PowerShell ones: 6 or
/// more) and for `stop-commands` tokens (more than 6).
#[derive(Clone, Debug)]
pub struct Masker {
    /// `m_originalValueSecrets`: what `add` was given.
    originals: HashSet<String>,
    /// `m_valueSecrets`: those and their encoded forms, each once.
    values: Vec<String>,
    encoders: Vec<(&'static str, Encoder)>,
}

type Encoder = fn(&str) -> String;

/// `HostContext()`'s `AddValueEncoder` calls, in order.
const DEFAULT_ENCODERS: &[(&str, Encoder)] = &[
    ("Base64StringEscape", base64_string_escape),
    ("Base64StringEscapeShift1", |v| {
        base64_string_escape_shift(v, 1)
    }),
    ("Base64StringEscapeShift2", |v| {
        base64_string_escape_shift(v, 2)
    }),
    ("CommandLineArgumentEscape", command_line_argument_escape),
    ("ExpressionStringEscape", expression_string_escape),
    ("JsonStringEscape", json_string_escape),
    ("UriDataEscape", uri_data_escape),
    ("XmlDataEscape", xml_data_escape),
    ("TrimDoubleQuotes", trim_double_quotes),
    (
        "PowerShellPreAmpersandEscape",
        powershell_pre_ampersand_escape,
    ),
    (
        "PowerShellPostAmpersandEscape",
        powershell_post_ampersand_escape,
    ),
];

impl Default for Masker {
    fn default() -> Self {
        Self::new()
    }
}

impl Masker {
    /// A masker as a job starts with: the runner's eleven encoders, no secret. (The job's own
    /// `secrets.*` are added at start by `Worker.InitializeSecretMasker`: trimmed, then whole and
    /// line by line, as `::add-mask::` does.)
    pub fn new() -> Self {
        Masker {
            originals: HashSet::new(),
            values: Vec::new(),
            encoders: DEFAULT_ENCODERS.to_vec(),
        }
    }

    /// A masker without encoders: `new SecretMasker()` alone, as in the SDK's own tests.
    pub fn without_encoders() -> Self {
        Masker {
            encoders: Vec::new(),
            ..Self::new()
        }
    }

    /// Ports `SecretMasker.AddValue`: the value (if not empty and not added before) and every
    /// non-empty encoded form of it. This is the raw masker call; `::add-mask::` also adds each
    /// line of the value (see [`run_step_stdout`]).
    pub fn add(&mut self, value: &str) {
        if value.is_empty() || self.originals.contains(value) {
            return;
        }
        let mut new = vec![value.to_string()];
        for (_, encoder) in &self.encoders {
            let encoded = encoder(value);
            if !encoded.is_empty() {
                new.push(encoded);
            }
        }
        self.originals.insert(value.to_string());
        for v in new {
            if !self.values.contains(&v) {
                self.values.push(v);
            }
        }
    }

    /// Every string this masker replaces: the values added and their encoded forms.
    pub fn secrets(&self) -> &[String] {
        &self.values
    }

    /// Ports `SecretMasker.MaskSecrets`: every occurrence of every secret (overlapping ones too,
    /// `ValueSecret.GetPositions`) is found; ranges that overlap or touch are merged, and each
    /// merged range becomes one `***`.
    pub fn mask(&self, input: &str) -> String {
        if input.is_empty() {
            return String::new();
        }
        let mut positions: Vec<(usize, usize)> = Vec::new();
        for secret in &self.values {
            let mut from = 0;
            while from < input.len() {
                let Some(i) = input[from..].find(secret.as_str()) else {
                    break;
                };
                let start = from + i;
                positions.push((start, start + secret.len()));
                // `++startIndex`: the next match may overlap this one.
                from = start + input[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if positions.is_empty() {
            return input.to_string();
        }
        // `OrderBy(x => x.Start)`, then merge when `Start <= current.End`.
        positions.sort_by_key(|&(start, _)| start);
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (start, end) in positions {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        let mut out = String::new();
        let mut at = 0;
        for (start, end) in merged {
            out.push_str(&input[at..start]);
            out.push_str("***");
            at = end;
        }
        out.push_str(&input[at..]);
        out
    }
}

// `src/Sdk/DTLogging/Logging/ValueEncoders.cs`, one function each.

/// `Base64StringEscape`: standard base64, with padding, of the UTF-8 bytes.
fn base64_string_escape(value: &str) -> String {
    base64(value.as_bytes())
}

/// `Base64StringEscapeShift(value, shift)`: base64 of the bytes after the first `shift` ones
/// (of all of them when there are not more than `shift`), so a secret inside a longer base64
/// text is found whatever its offset modulo 3.
fn base64_string_escape_shift(value: &str, shift: usize) -> String {
    let bytes = value.as_bytes();
    if bytes.len() > shift {
        base64(&bytes[shift..])
    } else {
        base64(bytes)
    }
}

/// `CommandLineArgumentEscape`: `"` becomes `\"`.
fn command_line_argument_escape(value: &str) -> String {
    value.replace('"', "\\\"")
}

/// `ExpressionStringEscape` (`ExpressionUtility.StringEscape`): `'` becomes `''`.
fn expression_string_escape(value: &str) -> String {
    value.replace('\'', "''")
}

/// `JsonStringEscape`: Newtonsoft's `JsonConvert.ToString(value)` without its quotes (default
/// escaping, double quote: `\"`, `\\`, `\b\f\n\r\t`, other controls and U+0085, U+2028, U+2029
/// as `\u` with lower-case hex; `'`, `<`, `>`, `&` and non-ASCII kept).
fn json_string_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{8}' => out.push_str("\\b"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `UriDataEscape` (`Uri.EscapeDataString`, RFC 3986): every UTF-8 byte but `A-Z a-z 0-9 - . _ ~`
/// as `%XX`, upper-case hex. (The runner escapes in 65519-character chunks without splitting a
/// surrogate pair, which gives the same result.)
fn uri_data_escape(value: &str) -> String {
    let mut out = String::new();
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `XmlDataEscape` (`SecurityElement.Escape`): `< > " ' &` as entities.
fn xml_data_escape(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// `TrimDoubleQuotes`: a value of more than 8 UTF-16 units between double quotes, without them.
fn trim_double_quotes(value: &str) -> String {
    if value.encode_utf16().count() > 8 && value.starts_with('"') && value.ends_with('"') {
        value[1..value.len() - 1].to_string()
    } else {
        String::new()
    }
}

/// `PowerShellPreAmpersandEscape`: for a value with `&`, the part up to the first `&+` (if any)
/// or the last `&`, included, when 6 UTF-16 units or more.
fn powershell_pre_ampersand_escape(value: &str) -> String {
    if !value.contains('&') {
        return String::new();
    }
    let section = match value.find("&+") {
        Some(i) => &value[..i + 2],
        None => &value[..value.rfind('&').map_or(0, |i| i + 1)],
    };
    if section.encode_utf16().count() >= 6 {
        section.to_string()
    } else {
        String::new()
    }
}

/// `PowerShellPostAmpersandEscape`: for a value with `&`, the part after the first `&+` minus
/// one more character (if the value is longer than that), or after the last `&`, when 6 UTF-16
/// units or more.
fn powershell_post_ampersand_escape(value: &str) -> String {
    if !value.contains('&') {
        return String::new();
    }
    let section = match value.find("&+") {
        Some(i) => {
            let rest = &value[i + 2..];
            // `value.Length > IndexOf("&+") + 2 + 1`, then `Substring(IndexOf("&+") + 2 + 1)`.
            if rest.encode_utf16().count() > 1 {
                let skip = rest.chars().next().map_or(0, char::len_utf8);
                &rest[skip..]
            } else {
                ""
            }
        }
        None => &value[value.rfind('&').map_or(0, |i| i + 1)..],
    };
    if section.encode_utf16().count() >= 6 {
        section.to_string()
    } else {
        String::new()
    }
}

/// `Convert.ToBase64String`: RFC 4648 alphabet, `=` padding, no line breaks.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// `WriteContent` in the runner's `SetEnvFileCommandL0`: lines joined with the newline and
    /// written as UTF-8 with a BOM.
    fn content(lines: &[&str], newline: &str) -> String {
        format!("\u{feff}{}", lines.join(newline))
    }

    // --- src/Test/L0/Worker/SetEnvFileCommandL0.cs (Linux: Environment.NewLine is "\n") ---

    #[test]
    fn l0_empty_file() {
        assert_eq!(parse_env_file(&content(&[], "\n")), Ok(vec![]));
        assert_eq!(parse_env_file(""), Ok(vec![]));
    }

    #[test]
    fn l0_simple() {
        let text = content(&["MY_ENV=MY VALUE"], "\n");
        assert_eq!(parse_env_file(&text), Ok(pairs(&[("MY_ENV", "MY VALUE")])));
    }

    #[test]
    fn l0_simple_skip_empty_lines() {
        let text = content(
            &["", "MY_ENV=my value", "", "MY_ENV_2=my second value", ""],
            "\n",
        );
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[
                ("MY_ENV", "my value"),
                ("MY_ENV_2", "my second value")
            ]))
        );
    }

    #[test]
    fn l0_simple_empty_value() {
        assert_eq!(
            parse_env_file(&content(&["MY_ENV="], "\n")),
            Ok(pairs(&[("MY_ENV", "")]))
        );
    }

    #[test]
    fn l0_simple_multiple_values() {
        let text = content(
            &["MY_ENV=my value", "MY_ENV_2=", "MY_ENV_3=my third value"],
            "\n",
        );
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[
                ("MY_ENV", "my value"),
                ("MY_ENV_2", ""),
                ("MY_ENV_3", "my third value")
            ]))
        );
    }

    #[test]
    fn l0_simple_special_characters() {
        let text = content(&["MY_ENV==abc", "MY_ENV_2=def=ghi", "MY_ENV_3=jkl="], "\n");
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[
                ("MY_ENV", "=abc"),
                ("MY_ENV_2", "def=ghi"),
                ("MY_ENV_3", "jkl=")
            ]))
        );
    }

    #[test]
    fn l0_block_list_items_filtered() {
        for text in [
            content(&["NODE_OPTIONS=asdf"], "\n"),
            content(&["NODE_OPTIONS<<EOF", "asdf", "EOF"], "\n"),
        ] {
            let outcome = process_env_file(&text);
            assert_eq!(outcome.set, vec![]);
            assert_eq!(
                outcome.errors,
                ["Can't store NODE_OPTIONS output parameter using '$GITHUB_ENV' command."]
            );
            assert!(!outcome.failed);
            assert_eq!(parse_env_file(&text), Ok(vec![]));
        }
    }

    #[test]
    fn l0_heredoc() {
        let text = content(
            &["MY_ENV<<EOF", "line one", "line two", "line three", "EOF"],
            "\n",
        );
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[("MY_ENV", "line one\nline two\nline three")]))
        );
    }

    #[test]
    fn l0_heredoc_empty_value() {
        let text = content(&["MY_ENV<<EOF", "EOF"], "\n");
        assert_eq!(parse_env_file(&text), Ok(pairs(&[("MY_ENV", "")])));
    }

    #[test]
    fn l0_heredoc_skip_empty_lines() {
        let text = content(
            &[
                "",
                "MY_ENV<<EOF",
                "hello",
                "world",
                "EOF",
                "",
                "MY_ENV_2<<EOF",
                "HELLO",
                "AGAIN",
                "EOF",
                "",
            ],
            "\n",
        );
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[
                ("MY_ENV", "hello\nworld"),
                ("MY_ENV_2", "HELLO\nAGAIN")
            ]))
        );
    }

    #[test]
    fn l0_heredoc_special_characters() {
        let text = content(
            &[
                "MY_ENV<<=EOF",
                "hello",
                "one",
                "=EOF",
                "MY_ENV_2<<<EOF",
                "hello",
                "two",
                "<EOF",
                "MY_ENV_3<<EOF",
                "hello",
                "",
                "three",
                "",
                "EOF",
                "MY_ENV_4<<EOF",
                "hello=four",
                "EOF",
                "MY_ENV_5<<EOF",
                " EOF",
                "EOF",
            ],
            "\n",
        );
        assert_eq!(
            parse_env_file(&text),
            Ok(pairs(&[
                ("MY_ENV", "hello\none"),
                ("MY_ENV_2", "hello\ntwo"),
                ("MY_ENV_3", "hello\n\nthree\n"),
                ("MY_ENV_4", "hello=four"),
                ("MY_ENV_5", " EOF"),
            ]))
        );
    }

    #[test]
    fn l0_heredoc_missing_new_line() {
        let text = content(
            &["MY_ENV<<EOF", "line one", "line two", "line three", "EOF"],
            " ",
        );
        let err = parse_env_file(&text).unwrap_err();
        assert!(err.contains("Matching delimiter not found"), "{err}");
        assert_eq!(
            err,
            "Invalid value. Matching delimiter not found 'EOF line one line two line three EOF'"
        );
    }

    #[test]
    fn l0_heredoc_missing_new_line_multiple_lines_env() {
        let text = content(
            &[
                "MY_ENV<<EOF",
                "line one\n                    line two\n                    line three",
                "EOF",
            ],
            " ",
        );
        assert_eq!(
            parse_env_file(&text),
            Err("Invalid value. EOF marker missing new line.".to_string())
        );
    }

    /// `SetEnvFileCommand_Heredoc_PreservesNewline` (Windows only): LF files work there too.
    #[test]
    fn l0_heredoc_preserves_newline_on_windows() {
        let text = content(&["MY_ENV<<EOF", "hello", "world", "EOF"], "\n");
        assert_eq!(
            parse_env_file_on(Os::Windows, &text),
            Ok(pairs(&[("MY_ENV", "hello\nworld")]))
        );
        // And the Windows L0 tests, whose Environment.NewLine is CRLF.
        let text = content(&["MY_ENV<<EOF", "hello", "world", "EOF"], "\r\n");
        assert_eq!(
            parse_env_file_on(Os::Windows, &text),
            Ok(pairs(&[("MY_ENV", "hello\r\nworld")]))
        );
    }

    // --- The env file: cases for kvenv ---

    /// A value with LF, CRLF and a lone CR inside, written as `NAME<<D`, value, LF, `D`, LF:
    /// on Linux/macOS every byte comes back.
    #[test]
    fn heredoc_keeps_lf_crlf_and_cr_on_unix() {
        let value = "a\nb\r\nc\rd\r";
        let text = format!("V<<D\n{value}\nD\n");
        assert_eq!(parse_env_file(&text), Ok(pairs(&[("V", value)])));
    }

    /// On Windows a CR right before an LF is part of the line ending: the CR of a CRLF inside
    /// the value survives (the value is cut from the text), but a CR at the very end of the
    /// value is taken with the newline that ends the block's last line.
    #[test]
    fn windows_loses_a_final_cr() {
        let text = "V<<D\na\r\nb\r\nD\n";
        assert_eq!(
            parse_env_file_on(Os::Windows, text),
            Ok(pairs(&[("V", "a\r\nb")]))
        );
        assert_eq!(
            parse_env_file_on(Os::Unix, text),
            Ok(pairs(&[("V", "a\r\nb\r")]))
        );
        // And a delimiter line ending in CR matches there, not on Unix.
        assert_eq!(
            parse_env_file_on(Os::Windows, "V<<D\nx\nD\r\n"),
            Ok(pairs(&[("V", "x")]))
        );
        assert_eq!(
            parse_env_file_on(Os::Unix, "V<<D\nx\nD\r\n"),
            Err("Invalid value. Matching delimiter not found 'D'".to_string())
        );
    }

    /// `NAME=value` with CRLF endings: on Unix the CR stays in the value.
    #[test]
    fn equals_form_keeps_the_cr_of_crlf_on_unix() {
        assert_eq!(parse_env_file("A=1\r\n"), Ok(pairs(&[("A", "1\r")])));
        assert_eq!(
            parse_env_file_on(Os::Windows, "A=1\r\n"),
            Ok(pairs(&[("A", "1")]))
        );
        // A lone CR never ends a line.
        assert_eq!(parse_env_file("A=1\rB=2\n"), Ok(pairs(&[("A", "1\rB=2")])));
    }

    /// Every value, including an empty one and one ending in LF, comes back from
    /// `NAME<<D`, value, LF, `D`, LF, as long as no line of it is `D`.
    #[test]
    fn heredoc_round_trips_empty_and_trailing_newlines() {
        for value in [
            "", "\n", "\n\n", "x\n", "x", " ", "%", "50%25%0A", "=", "<<", "D ",
        ] {
            let text = format!("V<<D\n{value}\nD\n");
            assert_eq!(
                parse_env_file(&text),
                Ok(pairs(&[("V", value)])),
                "{value:?}"
            );
        }
        // `NAME<<D` directly followed by `D` is also empty.
        assert_eq!(parse_env_file("V<<D\nD\n"), Ok(pairs(&[("V", "")])));
        // The closing delimiter may be the last line without a newline.
        assert_eq!(parse_env_file("V<<D\nx\nD"), Ok(pairs(&[("V", "x")])));
    }

    /// A value line equal to the delimiter ends the block early; the rest is read as more of
    /// the file: here it injects a variable.
    #[test]
    fn a_value_line_equal_to_the_delimiter_ends_the_block() {
        let text = "V<<D\nsafe\nD\nINJECTED=1\nD\n";
        assert_eq!(parse_env_file(text), Err("Invalid format 'D'".to_string()));
        let outcome = process_env_file(text);
        assert_eq!(outcome.set, pairs(&[("V", "safe"), ("INJECTED", "1")]));
        assert!(outcome.failed);
        // Only the whole line matters: the delimiter inside a line, or with spaces, is a value.
        assert_eq!(
            parse_env_file("V<<D\nD D\n D\nD \nD\n"),
            Ok(pairs(&[("V", "D D\n D\nD ")]))
        );
    }

    /// `::add-mask::` lines written into the env file (today's `>> "$GITHUB_ENV"`): an error
    /// that prints the line, or with an `=` in the value a strange variable and no mask.
    #[test]
    fn add_mask_lines_in_the_env_file() {
        assert_eq!(
            parse_env_file("::add-mask::hunter2\n"),
            Err("Invalid format '::add-mask::hunter2'".to_string())
        );
        assert_eq!(
            parse_env_file("::add-mask::a=b\n"),
            Ok(pairs(&[("::add-mask::a", "b")]))
        );
    }

    /// `%` and the workflow-command escapes mean nothing in the env file.
    #[test]
    fn percent_is_literal_in_the_env_file() {
        assert_eq!(
            parse_env_file("A=100%25%0A\nB<<D\n%0D%\nD\n"),
            Ok(pairs(&[("A", "100%25%0A"), ("B", "%0D%")]))
        );
    }

    /// A line with neither `=` nor `<<` fails the step, and the runner's message quotes the
    /// line: a value line there would be logged (masked only if it was added as a mask).
    #[test]
    fn a_line_with_neither_equals_nor_heredoc() {
        let text = "A=1\nhunter2-secret-line\nB=2\n";
        assert_eq!(
            parse_env_file(text),
            Err("Invalid format 'hunter2-secret-line'".to_string())
        );
        let outcome = process_env_file(text);
        assert_eq!(
            outcome.set,
            pairs(&[("A", "1")]),
            "set before the error; B never"
        );
        assert!(outcome.failed);
        let mut masks = Masker::new();
        assert_eq!(
            outcome.log(&masks),
            [
                "##[error]Unable to process file command 'env' successfully.",
                "##[error]Invalid format 'hunter2-secret-line'",
            ]
        );
        masks.add("hunter2-secret-line");
        assert_eq!(outcome.log(&masks)[1], "##[error]Invalid format '***'");
        // A line of spaces is not skipped.
        assert_eq!(
            parse_env_file("A=1\n \n"),
            Err("Invalid format ' '".to_string())
        );
    }

    #[test]
    fn heredoc_errors() {
        assert_eq!(
            parse_env_file("<<EOF\nx\nEOF\n"),
            Err(
                "Invalid format '<<EOF'. Name must not be empty and delimiter must not be empty"
                    .to_string()
            )
        );
        assert_eq!(
            parse_env_file("A<<\nx\n\n"),
            Err(
                "Invalid format 'A<<'. Name must not be empty and delimiter must not be empty"
                    .to_string()
            )
        );
        assert_eq!(
            parse_env_file("A<<EOF\nx\n"),
            Err("Invalid value. Matching delimiter not found 'EOF'".to_string())
        );
        assert_eq!(
            parse_env_file("A<<EOF\nx"),
            Err("Invalid value. EOF marker missing new line.".to_string())
        );
    }

    /// The parser lets an empty name through (`=value`), then storing it throws.
    #[test]
    fn an_empty_name() {
        let outcome = process_env_file("=v\nB=2\n");
        assert_eq!(outcome.set, pairs(&[("", "v")]));
        assert_eq!(
            outcome.errors,
            [
                "Unable to process file command 'env' successfully.",
                "Value cannot be null. (Parameter 'name')"
            ]
        );
        assert!(outcome.failed);
    }

    /// Names are not trimmed nor checked: spaces, `export `, lower case are all names.
    #[test]
    fn names_are_taken_as_written() {
        assert_eq!(
            parse_env_file("export A=1\n B =2\nlower=3\nA-B.C=4\n"),
            Ok(pairs(&[
                ("export A", "1"),
                (" B ", "2"),
                ("lower", "3"),
                ("A-B.C", "4")
            ]))
        );
        // `=` before `<<` makes a NAME=VALUE line, `<<` before `=` a heredoc.
        assert_eq!(parse_env_file("A=x<<y\n"), Ok(pairs(&[("A", "x<<y")])));
        assert_eq!(parse_env_file("A<<B=C\nv\nB=C\n"), Ok(pairs(&[("A", "v")])));
    }

    #[test]
    fn duplicates_are_all_set_in_order() {
        assert_eq!(
            parse_env_file("A=1\nA=2\n"),
            Ok(pairs(&[("A", "1"), ("A", "2")]))
        );
    }

    /// `OrdinalIgnoreCase` blocks `node_options` too, and the others go on being set.
    #[test]
    fn node_options_in_any_case() {
        let outcome = process_env_file("a=1\nnode_Options=--x\nb=2\n");
        assert_eq!(outcome.set, pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(outcome.errors.len(), 1);
        assert!(!outcome.failed);
        assert!(!ordinal_ignore_case_eq("NODE_OPTIONS", "node_optıons"));
        assert_eq!(
            parse_env_file("NODE_OPTıONS=x\n"),
            Ok(pairs(&[("NODE_OPTıONS", "x")]))
        );
    }

    #[test]
    fn a_bom_is_dropped_only_at_the_start() {
        assert_eq!(parse_env_file("\u{feff}A=1\n"), Ok(pairs(&[("A", "1")])));
        assert_eq!(
            parse_env_file("A=1\n\u{feff}B=2\n"),
            Ok(pairs(&[("A", "1"), ("\u{feff}B", "2")]))
        );
    }

    // --- Output lines ---

    #[test]
    fn output_splits_at_lf_cr_and_crlf() {
        assert_eq!(split_output_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(split_output_lines("a\r\r\nb\n\n"), ["a", "", "b", ""]);
        assert_eq!(split_output_lines("\n"), [""]);
        assert_eq!(split_output_lines(""), Vec::<&str>::new());
        assert_eq!(split_output_lines("\u{feff}x\n"), ["x"]);
    }

    // --- src/Test/L0/Worker/ActionCommandL0.cs ---

    #[test]
    fn l0_command_parser_test() {
        let reg = |n: &str| n == "do-something";
        let c = parse_command_v1("##[do-something k1=v1;]msg", reg).unwrap();
        assert_eq!((c.property("k1"), c.data.as_str()), (Some("v1"), "msg"));
        let c = parse_command_v1("##[do-something]", reg).unwrap();
        assert_eq!((c.properties.len(), c.data.as_str()), (0, ""));
        let c =
            parse_command_v1("##[do-something k1=%3B=%0D=%0A=%5D;]%3B-%0D-%0A-%5D", reg).unwrap();
        assert_eq!(c.property("k1"), Some(";=\r=\n=]"));
        assert_eq!(c.data, ";-\r-\n-]");
        let c = parse_command_v1(
            "##[do-something k1=%253B=%250D=%250A=%255D;]%253B-%250D-%250A-%255D",
            reg,
        )
        .unwrap();
        assert_eq!(c.property("k1"), Some("%3B=%0D=%0A=%5D"));
        assert_eq!(c.data, "%3B-%0D-%0A-%5D");
        let c = parse_command_v1("##[do-something k1=;k2=;]", reg).unwrap();
        assert_eq!(c.properties.len(), 0);
        let c = parse_command_v1(">>>   ##[do-something k1=v1;]msg", reg).unwrap();
        assert_eq!((c.property("k1"), c.data.as_str()), (Some("v1"), "msg"));
    }

    #[test]
    fn l0_command_parser_v2_test() {
        let reg = |n: &str| n == "do-something";
        let c = parse_command_v2("::do-something k1=v1,::msg", reg).unwrap();
        assert_eq!((c.property("k1"), c.data.as_str()), (Some("v1"), "msg"));
        let c = parse_command_v2("::do-something::", reg).unwrap();
        assert_eq!((c.properties.len(), c.data.as_str()), (0, ""));
        let c = parse_command_v2(
            "::do-something k1=;=%2C=%0D=%0A=]=%3A,::;-%0D-%0A-]-:-,",
            reg,
        )
        .unwrap();
        assert_eq!(c.property("k1"), Some(";=,=\r=\n=]=:"));
        assert_eq!(c.data, ";-\r-\n-]-:-,");
        let c = parse_command_v2(
            "::do-something k1=;=%252C=%250D=%250A=]=%253A,::;-%250D-%250A-]-:-,",
            reg,
        )
        .unwrap();
        assert_eq!(c.property("k1"), Some(";=%2C=%0D=%0A=]=%3A"));
        assert_eq!(c.data, ";-%0D-%0A-]-:-,");
        let c = parse_command_v2("::do-something k1=,k2=,::", reg).unwrap();
        assert_eq!(c.properties.len(), 0);
        let c = parse_command_v2("::do-something k1=v1::", reg).unwrap();
        assert_eq!(c.property("k1"), Some("v1"));
        let c = parse_command_v2("   ::do-something k1=v1,::msg", reg).unwrap();
        assert_eq!((c.property("k1"), c.data.as_str()), (Some("v1"), "msg"));
        assert_eq!(
            parse_command_v2("   >>>   ::do-something k1=v1,::msg", reg),
            None
        );
    }

    // --- src/Test/L0/Worker/ActionCommandManagerL0.cs ---

    /// `AddMaskWithMultilineValue`.
    #[test]
    fn l0_add_mask_with_multiline_value() {
        let mut masks = Masker::new();
        let log = run_step_stdout(
            "::add-mask::abc%0Ddef%0Aghi%0D%0Ajkl\n::add-mask:: %0D  %0A   %0D%0A    %0D\n",
            &mut masks,
        );
        for s in ["abc", "def", "ghi", "jkl", "abc\rdef\nghi\r\njkl"] {
            assert_eq!(masks.mask(s), "***", "{s:?}");
        }
        for s in ["", " ", "  ", "   ", "    "] {
            assert_eq!(masks.mask(s), s);
        }
        // The second line is only white space once unescaped: a warning, no mask.
        assert_eq!(
            log,
            ["##[warning]Can't add secret mask for empty string in ##[add-mask] command."]
        );
    }

    /// `StopProcessCommand`, `StopProcessCommandAcceptsValidToken`,
    /// `StopProcessCommandMasksValidTokenForEntireRun`.
    #[test]
    fn l0_stop_process_command() {
        let mut masks = Masker::new();
        let log = run_step_stdout(
            "::stop-commands::randomToken\n::add-mask::not-a-mask\n::randomToken::\n::add-mask::now-a-mask\nnot-a-mask now-a-mask\n",
            &mut masks,
        );
        // The token (more than 6 characters) is masked, even in the lines that echo it.
        assert_eq!(
            log,
            [
                "::stop-commands::***",
                "::add-mask::not-a-mask",
                "::***::",
                "not-a-mask ***"
            ]
        );
        assert_eq!(masks.mask("randomToken"), "***");
        // The old form, and a token of 6 characters or fewer, which is not masked.
        let mut masks = Masker::new();
        let log = run_step_stdout(
            "##[stop-commands]stopTk\n::warning::x\n##[stopTk]\n",
            &mut masks,
        );
        assert_eq!(
            log,
            ["##[stop-commands]stopTk", "::warning::x", "##[stopTk]"]
        );
    }

    #[test]
    #[should_panic(expected = "invalid stop-commands token")]
    fn l0_stop_process_command_fail_on_invalid_stop_tokens() {
        run_step_stdout("::stop-commands::set-env\n", &mut Masker::new());
    }

    /// `EchoProcessCommand`, `EchoProcessCommandInvalid`.
    #[test]
    fn l0_echo_process_command() {
        let mut masks = Masker::new();
        let log = run_step_stdout(
            "::echo::on\n::group::g\n::add-mask::secret1\nsecret1\n::echo::Off   \n::group::h\n::echo::invalid\n::echo::\n",
            &mut masks,
        );
        assert_eq!(
            log,
            [
                "::group::g",
                "##[group]g",
                "::add-mask::***",
                "***",
                "::echo::Off   ",
                "##[group]h",
                "##[error]Unable to process command '::echo::invalid' successfully.",
                "##[error]Invalid echo command value. Possible values can be: 'on', 'off'. Current value is: 'invalid'.",
                "##[error]Unable to process command '::echo::' successfully.",
                "##[error]Value cannot be null. (Parameter 'value')",
            ]
        );
    }

    // --- src/Test/L0/Worker/OutputManagerL0.cs ---

    /// `StripCompositeMarkers_*`.
    #[test]
    fn l0_strip_composite_markers() {
        let log = run_step_stdout(
            "##[start-action display=Fake;id=fake]\n##[end-action id=fake;outcome=success]\nSome text ##[start-action display=fake;id=fake] more text\n",
            &mut Masker::new(),
        );
        assert_eq!(
            log,
            [
                "##[\\start-action display=Fake;id=fake]",
                "##[\\end-action id=fake;outcome=success]",
                "Some text ##[\\start-action display=fake;id=fake] more text",
            ]
        );
    }

    // --- src/Test/L0/HostContextL0.cs ---

    /// `DefaultSecretMaskers`.
    #[test]
    fn l0_default_secret_maskers() {
        let mut m = Masker::new();
        for s in [
            "Password123!",
            "Pass\"word\"123!",
            "Pass word 123!",
            "Pass<word>123!",
            "Pass'word'123!",
            "\"Password123!!\"",
            "\"short\"",
        ] {
            m.add(s);
        }
        assert_eq!(m.mask("123Password123!123"), "123***123");
        assert_eq!(m.mask("password123"), "password123");
        assert_eq!(m.mask("123Pass\\\"word\\\"123!123"), "123***123");
        assert_eq!(m.mask("123Pass%20word%20123%21123"), "123***123");
        assert_eq!(m.mask("123Pass&lt;word&gt;123!123"), "123***123");
        assert_eq!(m.mask("123Pass''word''123!123"), "123***123");
        assert_eq!(m.mask(&base64(b":Password123!")), "OlBh***");
        assert_eq!(m.mask(&base64(b"a:Password123!")), "YTpQ***");
        assert_eq!(m.mask(&base64(b"ab:Password123!")), "YWI6***");
        assert_eq!(m.mask(&base64(b"abc:Password123!")), "YWJjOlBh***");
        assert_eq!(m.mask(&base64(b"abcd:Password123!")), "YWJjZDpQ***");
        assert_eq!(m.mask(&base64(b"abcde:Password123!")), "YWJjZGU6***");
        assert_eq!(m.mask("123Password123!!123"), "123***123");
        assert_eq!(m.mask("123short123"), "123short123");
        assert_eq!(m.mask("123\"short\"123"), "123***123");
    }

    /// `SecretSectionMasking`. The C# cases write `\x0033`, which C# reads as U+0033 (`3`), not
    /// ESC: the strings below are what the runner's test really checks.
    #[test]
    fn l0_secret_section_masking() {
        for (secret, raw, masked) in [
            (
                "secret&secret&secret",
                "secret&secret&3[96msecret3[0m",
                "***3[96m***3[0m",
            ),
            (
                "secret&secret+secret",
                "secret&3[96msecret+secret3[0m",
                "***3[96m***3[0m",
            ),
            (
                "secret+secret&secret",
                "secret+secret&3[96msecret3[0m",
                "***3[96m***3[0m",
            ),
            (
                "secret&secret&+secretsecret",
                "secret&secret&+3[96ms3[0mecretsecret",
                "***3[96ms3[0m***",
            ),
            (
                "secret&+secret&secret",
                "secret&+3[96ms3[0mecret&secret",
                "***3[96ms3[0m***",
            ),
            (
                "secret&+secret&+secret",
                "secret&+3[96ms3[0mecret&+secret",
                "***3[96ms3[0m***",
            ),
            (
                "secret&+secret&secret&+secret",
                "secret&+3[96ms3[0mecret&secret&+secret",
                "***3[96ms3[0m***",
            ),
            (
                "secret&secret&+",
                "secret&secret&+3[96m3[0m",
                "***3[96m3[0m",
            ),
        ] {
            let mut m = Masker::new();
            m.add(secret);
            assert_eq!(m.mask(raw), masked, "{secret}");
        }
    }

    // --- The masker: cases for kvenv ---

    #[test]
    fn overlapping_and_adjacent_matches_become_one_mask() {
        let mut m = Masker::without_encoders();
        m.add("abc");
        m.add("cde");
        assert_eq!(m.mask("xabcdex abcabc ab"), "x***x *** ab");
        m.add("aa");
        assert_eq!(m.mask("aaa"), "***");
    }

    /// No minimum length: a 1–3 character secret blanks every occurrence in later lines, and
    /// its base64 forms too.
    #[test]
    fn short_masks_blank_common_text() {
        let mut m = Masker::new();
        let log = run_step_stdout(
            "::add-mask::3\n::add-mask::false\n::add-mask::on\nversion 1.23.4\nenabled: false\nJSON: {\"on\":false}\nMw== ZmFsc2U= bHNl\nconnection\n",
            &mut m,
        );
        assert_eq!(
            log,
            [
                "versi*** 1.2***.4",
                "enabled: ***",
                "JSON: {\"***\":***}",
                "*** *** ***",
                "c***necti***",
            ]
        );
        // base64 of "false", of "alse" and of "lse" are all secrets now.
        for s in ["ZmFsc2U=", "YWxzZQ==", "bHNl", "Mw==", "b24="] {
            assert!(m.secrets().iter().any(|x| x == s), "{s}");
        }
    }

    /// A multi-line secret: the runner prints it line by line (CR, LF and CRLF all end lines)
    /// and masks each line, because `::add-mask::` also adds every line (trimmed) of its value.
    #[test]
    fn a_multi_line_secret_is_masked_line_by_line() {
        let secret = "line-one\r\n  line-two  \rline-three\nline-four";
        let escaped = secret
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        let mut m = Masker::new();
        let stdout = format!("::add-mask::{escaped}\n{secret}\nafter\n");
        assert_eq!(
            run_step_stdout(&stdout, &mut m),
            ["***", "  ***  ", "***", "***", "after"]
        );
    }

    /// Masking lines one by one is enough too, but only with the CR split: a mask of
    /// `a\rb` as one piece never matches a log line, since the log has `a` and `b`.
    #[test]
    fn masks_must_be_cut_at_cr_as_well_as_lf() {
        let mut m = Masker::new();
        m.add("secret-a\rsecret-b");
        assert_eq!(
            run_step_stdout("secret-a\rsecret-b\n", &mut m),
            ["secret-a", "secret-b"]
        );
        let mut m = Masker::new();
        let log = run_step_stdout(
            "::add-mask::secret-a%0Dsecret-b\nsecret-a\rsecret-b\n",
            &mut m,
        );
        assert_eq!(log, ["***", "***"]);
    }

    /// `%` must be written `%25` in the data: `%0A` etc. are unescaped, anything else is kept.
    #[test]
    fn percent_in_add_mask_data() {
        let mut m = Masker::new();
        run_step_stdout("::add-mask::50%25off%0Atail\n", &mut m);
        assert_eq!(m.mask("50%off"), "***");
        let mut m = Masker::new();
        run_step_stdout("::add-mask::50%off %zz %0a\n", &mut m);
        assert_eq!(m.mask("50%off %zz %0a"), "***");
        // The value's URI-escaped form is a secret too: here it is the escaped command data.
        let mut m = Masker::new();
        run_step_stdout("::add-mask::a-secret%0Abits\n", &mut m);
        assert_eq!(m.mask("a-secret%0Abits"), "***");
    }

    /// An empty or blank value: the runner warns, and the warning is all the log shows.
    #[test]
    fn empty_add_mask() {
        let mut m = Masker::new();
        let log = run_step_stdout("::add-mask::\n::add-mask::   \n", &mut m);
        assert_eq!(
            log,
            ["##[warning]Can't add secret mask for empty string in ##[add-mask] command."; 2]
        );
        assert!(m.secrets().is_empty());
    }

    /// Command names ignore case, leading white space is allowed, the old form works anywhere in
    /// a line, and unknown commands are printed as they are.
    #[test]
    fn command_forms() {
        let mut m = Masker::new();
        let log = run_step_stdout(
            "  ::ADD-MASK::upper-secret\nx ##[add-mask]old-secret\n::unknown::upper-secret old-secret\n::add-mask\n",
            &mut m,
        );
        assert_eq!(log, ["::unknown::*** ***", "::add-mask"]);
    }

    /// Other commands: what lands in the log by default.
    #[test]
    fn other_commands() {
        let mut m = Masker::new();
        m.add("s3cr3t");
        let log = run_step_stdout(
            "::warning file=a.rs,line=1::bad s3cr3t\n::error::e\n::notice::n\n::debug::d\n::endgroup::\n::set-env name=A::1\n::set-output name=o::v\n::save-state::v\n::add-matcher::m.json\n",
            &mut m,
        );
        assert_eq!(
            log,
            [
                "##[warning]bad ***",
                "##[error]e",
                "##[notice]n",
                "##[endgroup]",
                "##[error]Unable to process command '::set-env name=A::1' successfully.",
                "##[error]The `set-env` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the `ACTIONS_ALLOW_UNSECURE_COMMANDS` environment variable to `true`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/",
                "##[error]Unable to process command '::save-state::v' successfully.",
                "##[error]Required field 'name' is missing in ##[save-state] command.",
            ]
        );
        let log = run_step_stdout_with("::debug::a%0Ab\n", &mut m, true);
        assert_eq!(log, ["##[debug]a", "##[debug]b"]);
    }

    /// The protocol kvenv means to follow: masks on stdout first, then the blocks in the file.
    /// Every line of every value is masked in the log, and every value comes back exactly.
    #[test]
    fn masks_on_stdout_then_heredocs_in_the_file() {
        let values = [("A", "one\r\ntwo\rthree\n"), ("B", "50%"), ("C", "")];
        let mut stdout = String::new();
        let mut file = String::new();
        for (name, value) in values {
            if !value.trim().is_empty() {
                let escaped = value
                    .replace('%', "%25")
                    .replace('\r', "%0D")
                    .replace('\n', "%0A");
                stdout.push_str(&format!("::add-mask::{escaped}\n"));
            }
            file.push_str(&format!(
                "{name}<<ghadelimiter_1\n{value}\nghadelimiter_1\n"
            ));
        }
        let mut m = Masker::new();
        assert_eq!(run_step_stdout(&stdout, &mut m), Vec::<String>::new());
        assert_eq!(parse_env_file(&file), Ok(pairs(&values)));
        let printed = run_step_stdout("one\r\ntwo\rthree\n50%\n", &mut m);
        assert_eq!(printed, ["***", "***", "***", "***"]);
    }

    #[test]
    fn issue_messages_are_cut_at_4096_units() {
        let m = Masker::new();
        let line = issue_line(ERROR_TAG, &"x".repeat(5000), &m);
        assert_eq!(line.len(), ERROR_TAG.len() + 4096);
    }

    #[test]
    fn encoders() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64_string_escape_shift("ab", 2), "YWI=");
        assert_eq!(
            json_string_escape("a\"b\\c\n\u{1}\u{2028}'<é"),
            "a\\\"b\\\\c\\n\\u0001\\u2028'<é"
        );
        assert_eq!(uri_data_escape("a b/é~"), "a%20b%2F%C3%A9~");
        assert_eq!(xml_data_escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
        assert_eq!(trim_double_quotes("\"1234567\""), "1234567");
        assert_eq!(trim_double_quotes("\"123456\""), "");
        assert_eq!(powershell_pre_ampersand_escape("ab&c"), "");
        assert_eq!(powershell_post_ampersand_escape("abcdefgh&+xyz"), "");
    }
}
