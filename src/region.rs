//! Where the API lives. An app is created in one region and must be called there.

use std::fmt;
use std::str::FromStr;

/// A Conversation API region: `https://{region}.conversation.api.sinch.com`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// United States (the default).
    #[default]
    Us,
    /// European Union.
    Eu,
    /// Brazil.
    Br,
}

impl Region {
    /// The region's code as used in the host name.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Br => "br",
        }
    }

    /// The region's base URL (without the project path).
    pub fn base_url(self) -> String {
        format!("https://{}.conversation.api.sinch.com", self.as_str())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Region::Us),
            "eu" => Ok(Region::Eu),
            "br" => Ok(Region::Br),
            other => Err(crate::Error::Config(format!(
                "unknown region {other:?}; expected us, eu or br"
            ))),
        }
    }
}
