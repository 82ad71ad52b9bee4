//! One error type for the whole core. Every message names the problem in words a user can act
//! on; the CLI prints it on one line and the wasm facade turns it into a JS `Error` once.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The input could not be read as any supported light-curve format.
    #[error("{0}")]
    Format(String),
    /// A value in the input is wrong: the message says which row and column.
    #[error("{0}")]
    Value(String),
    /// The input is valid but too large for the stated limits.
    #[error("{0}")]
    Limit(String),
    /// An option given by the caller is not valid.
    #[error("{0}")]
    Option(String),
    /// The compute backend failed.
    #[error("{0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, Error>;
