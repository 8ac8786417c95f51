//! The crate's errors. Input errors carry a file, a location and the source text, so the
//! CLI can print `file:line:column: message` and miette can draw the snippet.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use crate::yaml::{Loc, StrictError};

/// A problem in an input file, at a location. Boxed, so results stay small.
#[derive(Debug, Clone)]
pub struct LocatedError(Box<Located>);

/// The fields of a [`LocatedError`].
#[derive(Debug, Clone)]
pub struct Located {
    pub file: PathBuf,
    pub loc: Loc,
    pub message: String,
    pub help: Option<String>,
    /// The whole source text, for the snippet.
    pub source_text: Arc<str>,
    /// The same text, titled with the file name for miette.
    named: NamedSource<Arc<str>>,
}

impl std::ops::Deref for LocatedError {
    type Target = Located;

    fn deref(&self) -> &Located {
        &self.0
    }
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.loc.line,
            self.loc.column,
            self.message
        )
    }
}

impl std::error::Error for LocatedError {}

impl LocatedError {
    pub fn new(file: &Path, src: &Arc<str>, loc: Loc, message: impl Into<String>) -> Self {
        LocatedError(Box::new(Located {
            file: file.to_path_buf(),
            loc,
            message: message.into(),
            help: None,
            source_text: Arc::clone(src),
            named: NamedSource::new(file.display().to_string(), Arc::clone(src)),
        }))
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.0.help = help;
        self
    }

    /// A serde-saphyr error (syntax, unknown field, wrong type, duplicate key ...).
    pub fn from_yaml(file: &Path, src: &Arc<str>, err: &serde_saphyr::Error) -> Self {
        let loc = err
            .location()
            .map(|l| Loc::from_saphyr(&l, src))
            .unwrap_or(Loc {
                line: 1,
                column: 1,
                offset: 0,
                len: 0,
            });
        LocatedError::new(file, src, loc, plain_message(err))
    }

    /// A strict-deserialization error inside an embedded object; `fallback` locates errors
    /// the deserializer could not place.
    pub fn from_strict(file: &Path, src: &Arc<str>, err: StrictError, fallback: Loc) -> Self {
        LocatedError::new(file, src, err.loc.unwrap_or(fallback), err.message).with_help(err.help)
    }

    /// A miette report for the terminal (graphical, with the snippet titled by the file).
    pub fn report(&self) -> miette::Report {
        miette::Report::new(self.clone())
    }
}

/// The message of a serde-saphyr error without its ` at line L, column C` suffix (our
/// Display adds `file:line:column:` in front instead).
fn plain_message(err: &serde_saphyr::Error) -> String {
    if let Some(limit) = crate::limits::yaml_limit_message(err) {
        return limit;
    }
    let opts = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let text = err.render_with_options(opts);
    match text.rfind(" at line ") {
        Some(i) if text[i..].contains(", column ") => text[..i].to_owned(),
        _ => text,
    }
}

impl Diagnostic for LocatedError {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.named as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = LabeledSpan::new(
            Some(self.message.clone()),
            self.loc.offset,
            self.loc.len.max(1),
        );
        Some(Box::new(std::iter::once(span)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
}

/// Everything that can go wrong before trials run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Located(#[from] LocatedError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn located(err: LocatedError) -> Self {
        Error::Located(err)
    }

    /// A printable report: graphical with the snippet for located errors.
    pub fn report(&self) -> miette::Report {
        match self {
            Error::Located(e) => e.report(),
            other => miette::Report::msg(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
