//! Where the APIs live. An app is created in one region and must be called there; the region
//! picks the host of all three services.

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

    /// The Conversation API's base URL in this region (without the project path).
    pub fn base_url(self) -> String {
        self.url(Service::Conversation)
    }

    /// The Template Management API's base URL in this region.
    pub fn templates_url(self) -> String {
        self.url(Service::Templates)
    }

    /// The Conversation Batch API's base URL in this region.
    pub fn batch_url(self) -> String {
        self.url(Service::Batch)
    }

    pub(crate) fn url(self, service: Service) -> String {
        format!("https://{}.{}.api.sinch.com", self.as_str(), service.host())
    }
}

/// The APIs one client reaches, each on its own host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Conversation,
    Templates,
    Batch,
}

impl Service {
    pub(crate) const ALL: [Service; 3] =
        [Service::Conversation, Service::Templates, Service::Batch];

    /// The service's name in its host (and in the shared pace's keys).
    pub(crate) fn host(self) -> &'static str {
        match self {
            Service::Conversation => "conversation",
            Service::Templates => "template",
            Service::Batch => "conversationbatch",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
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
